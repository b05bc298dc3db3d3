// Crash and resume: the real bot runs as a child process and is killed with SIGKILL (no exception, no
// finally, no clean shutdown) at each point of a provisioning run where half-done work could be left
// behind. The emulators hold the chosen request (applied, answer not sent) so the kill lands exactly
// there. Started again on the same SQLite file, the bot resumes the run by itself and ends with one
// application, UMP holding a secret that exists in Entra, no orphaned secret and a full audit trail.
// One process chain serves all crash points (one customer each): a bot start costs seconds.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { holdWhen, type ProcessStack, startProcessStack } from "../support/botProcess";
import { expectConsistent } from "../support/invariants";
import { expectNoSecretIn, findAction, USERS } from "../support/stack";

type Hook = Parameters<typeof holdWhen>[1];
interface Point {
  customer: string;
  name: string;
  on: "graph" | "ump";
  match: () => Hook;
  expectRemovedOrphan?: boolean;
}

const POINTS: Point[] = [
  {
    customer: "contoso",
    name: "after the app's create (created in Entra, never recorded)",
    on: "graph",
    match: () => (r) => r.phase === "after" && r.method === "POST" && r.path === "/v1.0/applications",
  },
  {
    customer: "adatum",
    name: "after the app is created and before its service principal (Graph never saw the POST)",
    on: "graph",
    match: () => (r) => r.phase === "before" && r.method === "POST" && r.path === "/v1.0/servicePrincipals",
  },
  {
    customer: "litware",
    name: "after the service principal was created (answer lost, the step not recorded)",
    on: "graph",
    match: () => (r) => r.phase === "after" && r.method === "POST" && r.path === "/v1.0/servicePrincipals",
  },
  {
    customer: "fabrikam",
    name: "between addPassword and the store write (secret in Entra, keyId never recorded)",
    on: "graph",
    match: () => (r) => r.phase === "after" && r.method === "POST" && r.path.endsWith("/addPassword"),
    expectRemovedOrphan: true,
  },
  {
    customer: "northwind",
    name: "after the UMP PATCH (UMP holds the secret, the step is not recorded)",
    on: "ump",
    match: () => (r) => r.phase === "after" && r.method === "PATCH" && r.path.includes("/sync-app"),
  },
  {
    customer: "tailspin",
    name: "during the portal validation",
    on: "ump",
    match: () => (r) => r.phase === "after" && r.method === "GET" && r.path.includes("/operations/"),
  },
  {
    customer: "wingtip",
    name: "during verification (the new secret proven, the step and tidy not yet recorded)",
    on: "graph",
    // Verification reads back Graph and UMP and proves the secret side by side; the proof is its last
    // request, and tidy makes none when there is nothing to remove: crash as the proof is answered.
    match: () => (r) => r.phase === "after" && r.method === "POST" && r.path.endsWith("/oauth2/v2.0/token"),
  },
];

let s: ProcessStack;
beforeAll(async () => {
  s = await startProcessStack(
    {},
    POINTS.map((p) => p.customer),
  );
  await s.start();
}, 60_000);
afterAll(async () => {
  // Killed processes included: no secret value reached a message, log line or the database.
  if (s) expectNoSecretIn(s.everything(), s.graph.issuedSecrets());
  await s?.stop();
});

describe("SIGKILL at each step, then restart", () => {
  POINTS.forEach((point, i) => {
    it(`resumes a run killed ${point.name}`, async () => {
      const { customer } = point;
      await s.say(`provision ${customer}`);
      const { activityId } = s.lastCardMessage();
      await s.press(activityId, "Review plan");
      // The approver sees the plan in the channel message (not only the requester's answer).
      const plan = await s.waitForView(
        USERS.approver,
        activityId,
        (c) => findAction(c, "Approve") !== undefined,
        10_000,
      );
      expect(JSON.stringify(plan)).toContain("approval needed");

      const held = holdWhen(point.on === "graph" ? s.graph : s.ump, point.match());
      await s.press(activityId, "Approve", { user: USERS.approver });
      await held;
      await s.crash();
      s.graph.onRequest(null);
      s.ump.onRequest(null);
      const before = await s.withRepo(
        async (repo) => (await repo.listRequests()).find((r) => r.customer === customer)!,
      );
      expect(before.state).toBe("running");

      // Started again: the run resumes by itself (on start-up, or once the dead process's lease expires).
      await s.start();
      const card = await s.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text), 25_000);
      expect(card.body[0].text).toBe(`Provision for ${customer}: succeeded`);

      await s.withRepo(async (repo) => {
        const { actions } = await expectConsistent({ graph: s.graph, ump: s.ump, repo }, customer, {
          extraAudit: ["run.started", "run.resumed"],
        });
        const request = (await repo.listRequests()).find((r) => r.customer === customer)!;
        expect(request.state).toBe("succeeded");
        expect(request.run!.steps.every((st) => st.status === "done" || st.status === "skipped")).toBe(true);
        if (point.expectRemovedOrphan) expect(actions).toContain("secret.removed");
      });
      // One application per customer ever: the resumed run found the one it created by its stable key.
      expect(s.graph.applications()).toHaveLength(i + 1);
      // ... and exactly one service principal for it, which the token proof needed.
      const app = s.graph.applications().find((a) => a.uniqueName === `syncbot-${customer}`)!;
      expect(s.graph.servicePrincipals().filter((sp) => sp.appId === app.appId)).toHaveLength(1);
      expect(s.logs().join("\n")).not.toMatch(/"level":"error"/);
    }, 60_000);
  });
});

describe("with the default lease (RUN_LEASE_SECONDS unset)", () => {
  let d: ProcessStack;
  afterAll(async () => {
    if (d) expectNoSecretIn(d.everything(), d.graph.issuedSecrets());
    await d?.stop();
  });

  it("a restarted syncbot resumes the interrupted run within 20 s of becoming healthy", async () => {
    d = await startProcessStack({ RUN_LEASE_SECONDS: "" }, ["litware"]);
    await d.start();
    await d.say("provision litware");
    const { activityId } = d.lastCardMessage();
    await d.press(activityId, "Review plan");
    // Killed after UMP applied the write: the dead process's lease still runs when the next one starts.
    const held = holdWhen(d.ump, (r) => r.phase === "after" && r.method === "PATCH" && r.path.includes("/sync-app"));
    await d.press(activityId, "Approve", { user: USERS.approver });
    await held;
    await d.crash();
    d.ump.onRequest(null);

    await d.start();
    const healthyAt = Date.now();
    // Bounded wait: fails at 20 s instead of waiting for however long the resume takes.
    const card = await d.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text), 20_000);
    expect(card.body[0].text).toBe("Provision for litware: succeeded");
    const resumedAt = await d.withRepo(async (repo) => {
      const events = (await repo.listAudit("litware", { limit: 100 })).events;
      return Date.parse(events.find((e) => e.action === "run.resumed")!.at);
    });
    expect(resumedAt - healthyAt).toBeLessThan(20_000);
    await d.withRepo((repo) =>
      expectConsistent({ graph: d.graph, ump: d.ump, repo }, "litware", { extraAudit: ["run.resumed"] }),
    );
  }, 90_000);
});

describe("killed while waiting for Entra to replicate", () => {
  let r: ProcessStack;
  afterAll(async () => {
    if (r) expectNoSecretIn(r.everything(), r.graph.issuedSecrets());
    await r?.stop();
  });

  it("resumes the wait after a restart: one application, one service principal, no failed step, token proof ok", async () => {
    r = await startProcessStack(
      {
        ENTRA_REPLICATION_WAIT_SECONDS: "120",
        ENTRA_REPLICATION_FIRST_DELAY_MS: "500",
        ENTRA_REPLICATION_MAX_DELAY_MS: "4000",
      },
      ["contoso"],
    );
    r.graph.setReplicationWindow(20_000);
    await r.start();
    await r.say("provision contoso");
    const { activityId } = r.lastCardMessage();
    await r.press(activityId, "Review plan");
    await r.waitForView(USERS.approver, activityId, (c) => findAction(c, "Approve") !== undefined, 10_000);
    // Killed in the middle of the wait: as its third service principal create arrives (two were refused).
    let posts = 0;
    const held = holdWhen(
      r.graph,
      (q) => q.phase === "before" && q.method === "POST" && q.path === "/v1.0/servicePrincipals" && ++posts === 3,
    );
    await r.press(activityId, "Approve", { user: USERS.approver });
    await held;
    const waiting = JSON.stringify(r.cardOf(activityId));
    expect(waiting).toMatch(/waiting for Entra to replicate/);
    await r.crash();
    r.graph.onRequest(null);
    const refused = r.graph.requests.filter((q) => q.method === "POST" && q.path === "/v1.0/servicePrincipals");
    expect(refused.map((q) => q.status)).toEqual([400, 400, 0]);

    await r.start();
    const card = await r.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text), 90_000);
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    await r.withRepo(async (repo) => {
      await expectConsistent({ graph: r.graph, ump: r.ump, repo }, "contoso", {
        extraAudit: ["run.started", "run.resumed"],
      });
      const request = (await repo.listRequests())[0]!;
      expect(request.run!.steps.every((st) => st.status === "done" || st.status === "skipped")).toBe(true);
      expect(request.run!.verification?.tokenProof).toBe("ok");
    });
    expect(r.graph.applications()).toHaveLength(1);
    const app = r.graph.applications()[0]!;
    expect(r.graph.servicePrincipals().filter((sp) => sp.appId === app.appId)).toHaveLength(1);
    expect(r.logs().join("\n")).not.toMatch(/"level":"error"/);
  }, 150_000);
});
