// How a run creates the app Review plan did not find: POST /applications with its uniqueName, unread,
// which Graph refuses when the name is taken. An app someone made meanwhile stops the run before any
// write (invariant 2); a create whose answer was lost (504 after Graph applied it) ends with one app
// (invariant 4); UMP changed meanwhile stops the run before Graph is written.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildSpec } from "../../src/domain/spec";
import { expectConsistent } from "../support/invariants";
import { cardText, expectNoSecretIn, runFinished, type Stack, startStack, USERS } from "../support/stack";

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  await stack.stop();
});

const CREATE = { method: "POST", path: "/v1.0/applications" };
const graphCalls = (from: number) =>
  stack.graph.requests
    .slice(from)
    .filter((r) => r.path.startsWith("/v1.0/") && !r.path.includes("/roleManagement/"))
    .map((r) => `${r.method} ${r.status} ${r.path.replace(/[0-9a-f-]{36}/g, "{id}")}`);

/** Review plan, then `meanwhile`, then Approve; the card once the run is over and the Graph calls after Approve. */
async function approveAfter(meanwhile: () => void | Promise<void>) {
  const { activityId } = await stack.reviewPlan("contoso");
  await meanwhile();
  await stack.seesButton(USERS.approver, activityId, "Approve");
  const from = stack.graph.requests.length;
  await stack.press(activityId, "Approve", { user: USERS.approver });
  const card = await stack.waitForCard(activityId, runFinished);
  return { card, text: cardText(card), calls: graphCalls(from) };
}

describe("the run creates the app Review plan did not find", () => {
  it("with one POST /applications and no read before it", async () => {
    const { card, calls } = await approveAfter(() => undefined);
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    expect(calls.slice(0, 2)).toEqual(["POST 201 /v1.0/applications", "POST 201 /v1.0/servicePrincipals"]);
    expect(calls.filter((c) => c.includes("/applications(uniqueName="))).toEqual([]);
    const create = stack.graph.requests.find((r) => r.method === "POST" && r.path === CREATE.path)!;
    expect(create.body).toMatchObject({ uniqueName: "syncbot-contoso", displayName: expect.any(String) });
    await expectConsistent({ graph: stack.graph, ump: stack.ump, repo: stack.bot.repo }, "contoso");
  });

  it("an app someone created after Review plan: Graph refuses the name, the run stops and writes nothing", async () => {
    let foreignId = "";
    const { card, text, calls } = await approveAfter(() => {
      const [seeded] = stack.graph.seedApplications([
        { displayName: "Made by hand", uniqueName: "syncbot-contoso", tags: ["hand"] },
      ]);
      foreignId = seeded!.id;
    });
    expect(card.body[0].text).toBe("Provision for contoso: failed");
    expect(text).toMatch(/changed since this plan was approved, so nothing was applied/);
    expect(text).toMatch(/Press Review plan again/);
    // Refused create, the read that judges the change; no write after it.
    expect(calls[0]).toBe("POST 400 /v1.0/applications");
    expect(calls).toContain("GET 200 /v1.0/applications(uniqueName='syncbot-contoso')");
    expect(calls.filter((c) => !c.startsWith("GET ")).length).toBe(1);
    expect(stack.graph.applications()).toHaveLength(1);
    const app = stack.graph.application(foreignId)!;
    expect(app.displayName).toBe("Made by hand");
    expect(app.tags).toEqual(["hand"]);
    expect(app.passwordCredentials).toHaveLength(0);
    expect(stack.graph.servicePrincipals().filter((sp) => sp.appId === app.appId)).toHaveLength(0);
    expect(stack.ump.settings("ump-contoso").syncApp.clientSecret.isSet).toBe(false);
  });

  it("a create Graph applied but answered 504: the retry finds the name taken, the run takes its own app and succeeds", async () => {
    const { card, calls } = await approveAfter(() =>
      stack.graph.injectFault({ status: 504, phase: "after", retryAfterSeconds: 0, match: CREATE }),
    );
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    expect(calls.slice(0, 3)).toEqual([
      "POST 504 /v1.0/applications",
      "POST 400 /v1.0/applications",
      "GET 200 /v1.0/applications(uniqueName='syncbot-contoso')",
    ]);
    expect(stack.graph.applications().filter((a) => a.uniqueName === "syncbot-contoso")).toHaveLength(1);
    await expectConsistent({ graph: stack.graph, ump: stack.ump, repo: stack.bot.repo }, "contoso");
  });

  it("UMP changed after Review plan: the run stops before writing Graph", async () => {
    const { card, text, calls } = await approveAfter(async () => {
      // Someone set UMP's redirect URI to the desired one: the plan no longer writes it, its hash differs.
      const request = (await stack.bot.repo.listRequests()).find((r) => r.customer === "contoso")!;
      stack.ump.mutate("ump-contoso", (s) => {
        s.syncApp.redirectUri = buildSpec(request.params).redirectUrl;
      });
    });
    expect(card.body[0].text).toBe("Provision for contoso: failed");
    expect(text).toMatch(/changed since this plan was approved, so nothing was applied/);
    expect(calls.filter((c) => !c.startsWith("GET "))).toEqual([]);
    expect(stack.graph.applications()).toHaveLength(0);
  });
});
