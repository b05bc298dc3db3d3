// Issue 11 over HTTP: a request stays bound to the card it was created in whoever approves from where;
// a run stalled past its lease keeps a second run for the customer out; a store failure right after
// addPassword leaves no unrecorded secret; `history` right after a success shows it; and one UMP
// instance serves one customer. Each test performs the attack or fault against the running stack.

import { afterEach, describe, expect, it } from "vitest";
import type { DocumentStore } from "../../src/domain/documentStore";
import { memoryStore } from "../support/memoryStore";
import { activityBase, cardActionActivity } from "../support/teamsActivity";
import {
  cardText,
  collectInputs,
  expectNoSecretIn,
  findAction,
  runFinished,
  type Stack,
  startStack,
  TENANT,
  USERS,
} from "../support/stack";

let stack: Stack;
afterEach(async () => {
  expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  await stack.stop();
});

describe("Approve from another conversation", () => {
  it("is refused with nothing changed (issue 20: a message syncbot did not post there shows no request)", async () => {
    stack = await startStack();
    const { activityId } = await stack.reviewPlan("contoso");
    const card = stack.cardOf(activityId);
    const action = findAction(card, "Approve");
    // The approver presses Approve on a copy of the card in their personal chat (another conversation).
    const base = activityBase({
      serviceUrl: stack.connector.url,
      user: USERS.approver,
      tenantId: TENANT,
      conversation: "personal",
    });
    const res = await fetch(`${stack.url}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(
        cardActionActivity(base, "forwarded-copy-1", {
          title: action.title,
          verb: action.verb,
          data: { ...action.data, ...collectInputs(card) },
        }),
      ),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).value).toMatch(/nothing was changed/);
    const request = (await stack.bot.repo.listRequests()).find((r) => r.customer === "contoso")!;
    expect(request.state).toBe("planned");
    expect(request.cardActivityId).toBe(activityId);
    expect(JSON.stringify(request.conversation)).toContain("ops-channel");
    expect(stack.connector.activities.filter((a) => a.activityId === "forwarded-copy-1")).toHaveLength(0);
    expect(stack.graph.writes()).toHaveLength(0);
    // On the channel card itself the approval goes through, and the run shows there.
    await stack.press(activityId, "Approve", { user: USERS.approver });
    const done = await stack.waitForCard(activityId, runFinished);
    expect(done.body[0].text).toBe("Provision for contoso: succeeded");
  });
});

describe("the per-customer lock under a stalled run", () => {
  it("two rotations, the first stalled by Graph throttling longer than the lease: only one succeeds", async () => {
    // Real waits: Graph's Retry-After (2 × 3 s) stalls the first run well past RUN_LEASE_SECONDS=2.
    stack = await startStack({ overrides: { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) } });
    expect((await stack.provision("contoso")).card.body[0].text).toBe("Provision for contoso: succeeded");
    await stack.say("rotate contoso");
    const first = stack.lastCardMessage().activityId;
    await stack.say("rotate contoso");
    const second = stack.lastCardMessage().activityId;
    expect(second).not.toBe(first);
    stack.graph.injectFault({
      status: 429,
      count: 2,
      retryAfterSeconds: 3,
      match: { method: "POST", pathIncludes: "addPassword" },
    });
    await stack.press(first, "Approve", { user: USERS.approver });
    await stack.waitForCard(first, (c) => /waiting for Graph \(HTTP 429\), retry 2/.test(cardText(c)), 10_000);
    // The first run has been stalled longer than its lease by now; the second is approved.
    await stack.press(second, "Approve", { user: USERS.approver });
    const cards = await Promise.all([
      stack.waitForCard(first, runFinished, 20_000),
      stack.waitForCard(second, runFinished, 20_000),
    ]);
    expect(cards[0].body[0].text).toBe("Rotate the secret for contoso: succeeded");
    expect(cards[1].body[0].text).toBe("Rotate the secret for contoso: failed");
    expect(cardText(cards[1])).toMatch(/Another run for contoso is in progress/);
    // One new secret: UMP holds it, the old one is in its grace period, nothing else.
    const app = stack.graph.applications()[0]!;
    expect(app.passwordCredentials).toHaveLength(2);
    const umpFp = stack.ump.settings("ump-contoso").syncApp.clientSecret.fingerprint;
    const reg = (await stack.bot.repo.getRegistration("contoso"))!;
    const active = reg.secrets.filter((s) => s.status === "active");
    expect(active).toHaveLength(1);
    expect(stack.graph.secretFingerprint(app.id, active[0]!.keyId)).toBe(umpFp);
  }, 40_000);
});

describe("store failure right after addPassword", () => {
  it("leaves no unrecorded secret in Entra", async () => {
    const inner = memoryStore();
    let armed = false;
    const failing = <T>(c: string, write: () => Promise<T>) => {
      if (armed && c === "registrations") {
        armed = false;
        return Promise.reject(new Error("store unavailable"));
      }
      return write();
    };
    const store: DocumentStore = {
      ...inner,
      insert: (c, k, v) => failing(c, () => inner.insert(c, k, v)),
      replace: (c, k, v, version) => failing(c, () => inner.replace(c, k, v, version)),
    };
    stack = await startStack({ overrides: { store } });
    stack.graph.onRequest((r) => {
      if (r.phase === "after" && r.path.endsWith("/addPassword")) armed = true;
    });
    const { card } = await stack.provision("contoso");
    expect(card.body[0].text).toBe("Provision for contoso: failed");
    expect(cardText(card)).toMatch(/Client secret" failed/);
    const app = stack.graph.applications()[0]!;
    expect(stack.graph.requests.filter((r) => r.path.endsWith("/addPassword") && r.status === 200)).toHaveLength(1);
    expect(app.passwordCredentials).toHaveLength(0);
    expect(stack.ump.settings("ump-contoso").syncApp.clientSecret.isSet).toBe(false);
    const actions = (await stack.bot.repo.listAudit("contoso", { limit: 100 })).events.map((e) => e.action);
    expect(actions).toContain("secret.removed");
  });
});

describe("the audit trail is written before the card shows the outcome", () => {
  it("history, asked the moment the card says succeeded, shows run.succeeded first", async () => {
    stack = await startStack();
    for (const customer of ["contoso", "fabrikam"]) {
      await stack.provision(customer);
      await stack.say(`history ${customer}`);
      const lines: string[] = stack
        .lastCardMessage()
        .card.body.slice(1)
        .map((b: any) => b.text);
      expect(lines[0]).toMatch(/run\.succeeded/);
    }
  });
});

describe("one UMP instance, one customer", () => {
  it("provision fabrikam with contoso's UMP instance is refused at Review plan, naming contoso", async () => {
    stack = await startStack();
    await stack.provision("contoso");
    const writes = stack.graph.writes().length;
    const umpBefore = stack.ump.settings("ump-contoso");
    const { answer } = await stack.reviewPlan("fabrikam", { inputs: { umpInstance: "ump-contoso" } });
    expect(cardText(answer.card)).toMatch(/UMP instance "ump-contoso" is already used by customer contoso/);
    expect(findAction(answer.card, "Approve")).toBeUndefined();
    expect(stack.graph.writes()).toHaveLength(writes);
    expect(stack.ump.settings("ump-contoso")).toEqual(umpBefore);
    expect((await stack.bot.repo.listRequests()).filter((r) => r.customer === "fabrikam")).toHaveLength(0);
  });
});
