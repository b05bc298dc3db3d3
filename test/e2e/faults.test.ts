// Upstream faults end to end: Graph throttling (429/503/504 with Retry-After), replication lag (404 on
// a just-created id), 4xx that retrying cannot fix, UMP outages, UMP 412 and the token endpoint's
// propagation delay, and two runs for one customer at once. Each run ends either succeeded with the
// invariants intact or failed with the upstream's code, message and what to do, and no secret in
// Entra that UMP does not hold.

import { LEAST_PRIVILEGE } from "../emulators/graphEmulator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { expectConsistent } from "../support/invariants";
import { cardText, fact, expectNoSecretIn, runFinished, type Stack, startStack, USERS } from "../support/stack";

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  // Success or failure, no secret value reached a message, card, log line or the database.
  expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  await stack.stop();
});

const finished = runFinished;

const review = (customer = "contoso", inputs: Record<string, unknown> = {}) => stack.reviewPlan(customer, { inputs });

async function provision(customer = "contoso", inputs: Record<string, unknown> = {}) {
  const { activityId, card } = await stack.provision(customer, { inputs });
  return { activityId, card, text: cardText(card) };
}

/** Everything the card of that message ever showed (every update the connector received). */
const cardHistory = (activityId: string) =>
  stack.connector.activities
    .filter((a) => a.activityId === activityId)
    .map((a) => JSON.stringify(a.activity))
    .join("\n");

const consistent = async (customer = "contoso", extraAudit: string[] = []) =>
  expectConsistent({ graph: stack.graph, ump: stack.ump, repo: stack.bot.repo }, customer, { extraAudit });

/** After a failed run: nothing in Entra that UMP does not hold. */
function expectNoUndeliveredSecret(customer = "contoso") {
  const umpFp = stack.ump.settings(`ump-${customer}`).syncApp.clientSecret.fingerprint;
  for (const app of stack.graph.applications())
    for (const p of app.passwordCredentials) expect(stack.graph.secretFingerprint(app.id, p.keyId)).toBe(umpFp);
}

describe("Graph throttling and replication lag are waited out", () => {
  it("a 429 storm on addPassword: waits (visible on the card as retry n of 5) and succeeds", async () => {
    // Real Retry-After waits here (3 × 1 s): each notice stays on the card while its wait lasts, as an
    // operator would see it, instead of being replaced within the harness's shortened sleeps.
    await stack.stop();
    stack = await startStack({ overrides: { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) } });
    stack.graph.injectFault({
      status: 429,
      count: 3,
      retryAfterSeconds: 1,
      match: { method: "POST", pathIncludes: "addPassword" },
    });
    const { activityId, card } = await provision();
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    expect(cardHistory(activityId)).toMatch(/waiting for Graph \(HTTP 429\), retry 2 of 5/);
    const throttled = stack.graph.requests.filter((r) => r.path.endsWith("/addPassword") && r.status === 429);
    expect(throttled).toHaveLength(3);
    await consistent();
  });

  it("random 429s on 30% of all Graph requests", async () => {
    stack.graph.setThrottleRate(0.3, { retryAfterSeconds: 0, seed: 7 });
    const { card } = await provision();
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    expect(stack.graph.requests.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    await consistent();
  });

  it("503 on the app's create and 504 on the read-back, both with Retry-After", async () => {
    stack.graph.injectFault({
      status: 503,
      count: 2,
      retryAfterSeconds: 1,
      match: { method: "POST", path: "/v1.0/applications" },
    });
    stack.graph.injectFault({
      status: 504,
      count: 2,
      retryAfterSeconds: 1,
      match: { method: "GET", pathIncludes: "/applications/" },
    });
    const { activityId, card } = await provision();
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    expect(cardHistory(activityId)).toMatch(/waiting for Graph \(HTTP 503\), retry 1 of 5/);
    await consistent();
  });

  it("404 on the id a create just returned is retried", async () => {
    stack.graph.setNotFoundAfterCreate(3);
    const { card } = await provision();
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    expect(stack.graph.requests.filter((r) => r.status === 404).length).toBeGreaterThanOrEqual(3);
    await consistent();
  });

  it("throttling beyond the budget stops the run (bounded) and leaves no secret behind", async () => {
    stack.graph.injectFault({
      status: 429,
      count: 50,
      retryAfterSeconds: 0,
      match: { method: "POST", pathIncludes: "addPassword" },
    });
    const { text, card } = await provision();
    expect(card.body[0].text).toBe("Provision for contoso: failed");
    expect(text).toMatch(/Client secret" failed \(throttled\): Graph TooManyRequests/);
    expect(text).toMatch(/What to do: .*try again/);
    expect(stack.graph.requests.filter((r) => r.path.endsWith("/addPassword")).length).toBe(6); // 1 + 5 retries
    expectNoUndeliveredSecret();
    const actions = (await stack.bot.repo.listAudit("contoso", { limit: 100 })).events.map((e) => e.action);
    expect(actions).toContain("run.failed");
  });
});

describe("4xx that retrying cannot fix stop the run with Graph's code, message and what to do", () => {
  it("403 on the app's create", async () => {
    stack.graph.injectFault({ status: 403, match: { method: "POST", path: "/v1.0/applications" } });
    const { text, card } = await provision();
    expect(card.body[0].text).toBe("Provision for contoso: failed");
    expect(text).toMatch(
      /Entra app registration" failed \(upstream_rejected\): Graph Authorization_RequestDenied: Insufficient privileges/,
    );
    expect(text).toMatch(/What to do: grant the bot's identity/);
    // not retried (the other 403s are the strict emulator refusing reads least privilege does not cover)
    expect(stack.graph.requests.filter((r) => r.status === 403 && r.method === "POST")).toHaveLength(1);
    expect(stack.graph.applications()).toHaveLength(0);
  });

  it("400 on addPassword: no secret, UMP untouched", async () => {
    stack.graph.injectFault({
      status: 400,
      code: "BadRequest",
      message: "Invalid value for passwordCredential.",
      match: { pathIncludes: "addPassword" },
    });
    const { text } = await provision();
    expect(text).toMatch(/failed \(upstream_rejected\): Graph BadRequest: Invalid value for passwordCredential/);
    expect(stack.graph.applications()[0]!.passwordCredentials).toHaveLength(0);
    expect(stack.ump.settings("ump-contoso").syncApp.clientSecret.isSet).toBe(false);
  });

  it("an app management policy refusing the lifetime; a shorter lifetime then succeeds", async () => {
    stack.graph.setPasswordLifetimePolicy(180);
    const first = await provision();
    expect(first.text).toMatch(/Graph CredentialInvalidLifetimeAsPerAppPolicy: Credential lifetime exceeds/);
    expect(first.text).toMatch(/What to do: .*lower secretLifetimeMonths/);
    expectNoUndeliveredSecret();
    const second = await provision("contoso", { secretLifetimeMonths: "5" });
    expect(second.card.body[0].text).toBe("Provision for contoso: succeeded");
    await consistent();
  });
});

describe("UMP faults", () => {
  it("503 then recovery: the write is retried and succeeds", async () => {
    stack.ump.injectFault({ status: 503, count: 2, retryAfterSeconds: 0, match: { method: "PATCH" } });
    const { activityId, card } = await provision();
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    expect(cardHistory(activityId)).toMatch(/waiting for UMP \(HTTP 503\), retry 1 of 4/);
    await consistent();
  });

  it("503 after UMP applied the write (answer lost): the retry is a replay, one secret", async () => {
    stack.ump.injectFault({ status: 503, count: 1, retryAfterSeconds: 0, phase: "after", match: { method: "PATCH" } });
    const { card } = await provision();
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    const { ump } = await consistent();
    expect(ump.syncApp.clientSecret.version).toBe(1);
  });

  it("UMP down beyond the budget: the run fails and the undelivered secret is removed from Entra", async () => {
    stack.ump.injectFault({ status: 503, count: 50, retryAfterSeconds: 0, match: { method: "PATCH" } });
    const { text } = await provision();
    expect(text).toMatch(/UMP sync-app settings" failed/);
    expect(stack.graph.applications()[0]!.passwordCredentials).toHaveLength(0);
    expectNoUndeliveredSecret();
    expect((await stack.bot.repo.getRegistration("contoso"))?.secrets ?? []).toHaveLength(0);
  });

  it("412: someone edited UMP meanwhile; syncbot re-reads and writes only what still differs", async () => {
    let edited = false;
    stack.ump.onRequest((r) => {
      if (!edited && r.phase === "before" && r.method === "PATCH" && r.path.includes("sync-app")) {
        edited = true;
        // The operator typed the redirect URI in UMP's own page a moment before syncbot's write.
        stack.ump.mutate("ump-contoso", (d) => {
          d.syncApp.redirectUri = "https://contoso.ump.example.net/authenticate/OAuth2Callback";
        });
      }
    });
    const { card } = await provision();
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    const patches = stack.ump.requests.filter((r) => r.method === "PATCH");
    expect(patches.map((p) => p.status)).toEqual([412, 200]);
    expect(Object.keys(patches[1]!.body as object)).not.toContain("redirectUri");
    expect(patches[1]!.headers["if-match"]).not.toBe(patches[0]!.headers["if-match"]);
    await consistent("contoso", ["ump.syncApp.conflict"]);
  });
});

describe("verification", () => {
  it("retries the token proof through Entra's propagation delay and says verified", async () => {
    // The token service learns of the secret 300 ms after the first proof (whatever the machine's load).
    let addedAt = 0;
    stack.graph.onRequest((r) => {
      if (r.phase === "after" && r.path.endsWith("/addPassword")) addedAt = Date.now();
      if (r.phase === "before" && addedAt && r.path.endsWith("/oauth2/v2.0/token")) {
        stack.graph.setPropagationDelay(Date.now() - addedAt + 300);
        addedAt = 0;
      }
    });
    const { card } = await provision();
    expect(fact(card, "Verification result")).toBe("verified (token proof ok)");
    const proofs = stack.graph.requests.filter((r) => r.path.endsWith("/oauth2/v2.0/token"));
    expect(proofs.length).toBeGreaterThan(1);
    expect(proofs[0]!.status).toBe(401);
    expect(proofs[proofs.length - 1]!.status).toBe(200);
    await consistent();
  });

  it("lists what differs when the secret never works and the app was changed under it", async () => {
    stack.graph.setPropagationDelay(600_000);
    let tampered = false;
    // Someone switches public client flows off in the portal while syncbot is busy with UMP.
    stack.ump.onRequest((r) => {
      if (!tampered && r.phase === "before" && r.method === "PUT") {
        tampered = true;
        const app = stack.graph.applications()[0]!;
        stack.graph.mutateApplication(app.id, (a) => {
          a.isFallbackPublicClient = false;
        });
      }
    });
    const { card, text } = await provision();
    expect(card.body[0].text).toBe("Provision for contoso: succeeded");
    expect(text).toMatch(/Verification found differences/);
    const result = fact(card, "Verification result")!;
    expect(result).toMatch(/Entra isFallbackPublicClient: is false, expected true/);
    expect(result).toMatch(/the token endpoint did not accept the new secret \(invalid_client/);
  });
});

describe("two provision runs for the same customer at once", () => {
  it("end with one application; the second is refused with a clear message", async () => {
    // The second approver holds the role through a group: syncbot may read membership here.
    stack.graph.setStrict(true, [...LEAST_PRIVILEGE, "GroupMember.Read.All"]);
    stack.graph.setLatency(20);
    const a = await review();
    const b = await review();
    expect(cardText(a.card)).toMatch(/approval needed/);
    expect(cardText(b.card)).toMatch(/approval needed/);
    await stack.seesButton(USERS.approver, a.activityId, "Approve");
    await stack.seesButton(USERS.groupAdmin, b.activityId, "Approve");
    await Promise.all([
      stack.press(a.activityId, "Approve", { user: USERS.approver }),
      stack.press(b.activityId, "Approve", { user: USERS.groupAdmin }),
    ]);
    const cards = await Promise.all([
      stack.waitForCard(a.activityId, finished),
      stack.waitForCard(b.activityId, finished),
    ]);
    const states = cards.map((c) => c.body[0].text).sort();
    expect(states).toEqual(["Provision for contoso: failed", "Provision for contoso: succeeded"]);
    const loser = cardText(cards.find((c) => /failed$/.test(c.body[0].text)));
    expect(loser).toMatch(/Another run for contoso is in progress|changed since this plan was approved/);
    expect(loser).toMatch(/Nothing was changed|nothing was applied/);
    stack.graph.setLatency(0);
    await consistent();
  });
});
