// Ambiguous UMP writes (issue 11, DOMAIN invariant 9): the sync-app PATCH answers 500/502/504, times out
// or loses its connection, for provisioning and for rotation. Whether UMP applied it or not, the run
// reads UMP back and ends with UMP's fingerprint matching a live Entra secret and no orphan. When UMP
// cannot be read back either, the run waits in "needs attention" with every secret kept, visible on the
// card and in `status`, and `check` or a restart settles it.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { UmpSettingsApi } from "../../src/domain/ports";
import { createUmpApiClient } from "../../src/ump/createUmpApiClient";
import type { UmpFault } from "../emulators/umpEmulator";
import { expectConsistent } from "../support/invariants";
import { cardText, expectNoSecretIn, JOBS_KEY, type Stack, startStack, UMP_TOKEN, USERS } from "../support/stack";

let stack: Stack;
beforeEach(async () => {
  // The real UMP client with a short per-attempt timeout, so a hanging UMP costs a second, not minutes.
  let client: UmpSettingsApi | undefined;
  const ump: UmpSettingsApi = {
    getSettings: (...a) => client!.getSettings(...a),
    patchSyncApp: (...a) => client!.patchSyncApp(...a),
    putPortalUrl: (...a) => client!.putPortalUrl(...a),
    getOperation: (...a) => client!.getOperation(...a),
  };
  stack = await startStack({ overrides: { ump } });
  client = createUmpApiClient({
    baseUrl: stack.ump.url,
    token: UMP_TOKEN,
    timeoutMs: 300,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
  });
});
afterEach(async () => {
  // Every path: no secret value reached a message, card, log line, UMP request record or the database.
  expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  await stack.stop();
});

type Kind = "500" | "502" | "504" | "timeout" | "reset";
const KINDS: Kind[] = ["500", "502", "504", "timeout", "reset"];
const SYNC_APP = { method: "PATCH", pathIncludes: "/sync-app" };

/** Every attempt of the sync-app write fails this way (the client's retries included). */
function fault(kind: Kind, phase: "before" | "after"): UmpFault {
  const mode = kind === "timeout" ? "hang" : kind === "reset" ? "reset" : "answer";
  return { status: mode === "answer" ? Number(kind) : 0, mode, phase, count: 20, match: SYNC_APP };
}

const finishedOrParked = (c: any) => /: (succeeded|failed|needs attention)$/.test(c?.body?.[0]?.text ?? "");

/** Invariant 5 and 9: every live secret is recorded, UMP holds one of them, the only active one. */
async function expectNoOrphan(customer = "contoso") {
  const app = stack.graph.applications().find((a) => a.uniqueName === `syncbot-${customer}`)!;
  const live = app.passwordCredentials.map((p) => p.keyId).sort();
  const reg = (await stack.bot.repo.getRegistration(customer))!;
  expect(reg.secrets.map((s) => s.keyId).sort()).toEqual(live);
  const umpFp = stack.ump.settings(`ump-${customer}`).syncApp.clientSecret.fingerprint;
  const held = live.filter((k) => stack.graph.secretFingerprint(app.id, k) === umpFp);
  expect(held, "UMP holds a live Entra secret").toHaveLength(1);
  const active = reg.secrets.filter((s) => s.status === "active").map((s) => s.keyId);
  expect(active).toEqual(held);
  return { app, heldKey: held[0]! };
}

async function provisionOk() {
  const { card } = await stack.provision("contoso");
  expect(card.body[0].text).toBe("Provision for contoso: succeeded");
  return stack.graph.applications()[0]!.passwordCredentials[0]!.keyId;
}

async function rotateWith(f: UmpFault | null) {
  await stack.say("rotate contoso");
  const { activityId } = stack.lastCardMessage();
  if (f) stack.ump.injectFault(f);
  await stack.press(activityId, "Approve", { user: USERS.approver });
  const card = await stack.waitForCard(activityId, finishedOrParked);
  return { activityId, card, text: cardText(card) };
}

describe("UMP applied the write but the answer was lost: read back, keep the new secret, carry on", () => {
  for (const kind of KINDS) {
    it(`provisioning, ${kind}`, async () => {
      stack.ump.injectFault(fault(kind, "after"));
      const { card } = await stack.provision("contoso");
      expect(card.body[0].text).toBe("Provision for contoso: succeeded");
      expect(cardText(card)).toMatch(/UMP sync-app settings: done: UMP revision \d+ \(confirmed by read-back\)/);
      const patches = stack.ump.requests.filter((r) => r.method === "PATCH");
      expect(patches[0]!.status).toBe(kind === "timeout" || kind === "reset" ? 0 : Number(kind));
      await expectConsistent({ graph: stack.graph, ump: stack.ump, repo: stack.bot.repo });
      await expectNoOrphan();
    });

    it(`rotation, ${kind}`, async () => {
      const oldKey = await provisionOk();
      const { card, text } = await rotateWith(fault(kind, "after"));
      expect(card.body[0].text).toBe("Rotate the secret for contoso: succeeded");
      expect(text).toMatch(/confirmed by read-back/);
      const { app, heldKey } = await expectNoOrphan();
      expect(heldKey).not.toBe(oldKey);
      // The old secret stays through the grace period, as after any rotation.
      expect(app.passwordCredentials.map((p) => p.keyId).sort()).toEqual([oldKey, heldKey].sort());
    });
  }
});

describe("the portal URL write follows the same rule", () => {
  for (const kind of ["502", "reset"] as const) {
    it(`${kind} after UMP took the URL: read back, replay for the operation id, validated`, async () => {
      // Every attempt of the client's own call fails (5 for a reset, 1 for a 502, which it does not repeat).
      const match = { method: "PUT", pathIncludes: "/customer-authentication-portal-url" };
      stack.ump.injectFault({ ...fault(kind, "after"), count: kind === "reset" ? 5 : 1, match });
      const { card } = await stack.provision("contoso");
      expect(card.body[0].text).toBe("Provision for contoso: succeeded");
      const puts = stack.ump.requests.filter((r) => r.method === "PUT");
      // One submission; the rest are replays of it (same Idempotency-Key), not new validations.
      expect(new Set(puts.map((p) => p.headers["idempotency-key"])).size).toBe(1);
      await expectConsistent({ graph: stack.graph, ump: stack.ump, repo: stack.bot.repo });
    });
  }
});

describe("UMP did not apply the write: read back, remove only the new secret", () => {
  for (const kind of KINDS) {
    it(`rotation, ${kind}`, async () => {
      const oldKey = await provisionOk();
      const umpBefore = stack.ump.settings("ump-contoso");
      const { card, text } = await rotateWith(fault(kind, "before"));
      expect(card.body[0].text).toBe("Rotate the secret for contoso: failed");
      expect(text).toMatch(/UMP does not hold the new values/);
      expect(text).toMatch(/removed again, UMP read back holds the previous secret/);
      expect(stack.ump.settings("ump-contoso").revision).toBe(umpBefore.revision);
      const { app, heldKey } = await expectNoOrphan();
      expect(heldKey).toBe(oldKey);
      expect(app.passwordCredentials.map((p) => p.keyId)).toEqual([oldKey]);
    });
  }

  it("provisioning, 502: nothing stays in Entra (UMP holds no secret)", async () => {
    stack.ump.injectFault(fault("502", "before"));
    const { card } = await stack.provision("contoso");
    expect(card.body[0].text).toBe("Provision for contoso: failed");
    expect(stack.ump.settings("ump-contoso").syncApp.clientSecret.isSet).toBe(false);
    expect(stack.graph.applications()[0]!.passwordCredentials).toHaveLength(0);
  });
});

describe("UMP unreachable after the ambiguous write: needs attention, every secret kept, settled later", () => {
  /** The write is applied and its answer lost; from then on UMP answers no read either. */
  function umpGoesDown() {
    stack.ump.injectFault(fault("502", "after"));
    let down = false;
    stack.ump.onRequest((r) => {
      if (!down && r.phase === "after" && r.method === "PATCH") {
        down = true;
        stack.ump.injectFault({ status: 503, retryAfterSeconds: 0, count: 1000, match: { method: "GET" } });
      }
    });
  }

  it("rotation: the card and status say so; `check` reads UMP again, keeps the new secret and finishes", async () => {
    const oldKey = await provisionOk();
    umpGoesDown();
    const { activityId, card, text } = await rotateWith(null);
    expect(card.body[0].text).toBe("Rotate the secret for contoso: needs attention");
    expect(text).toMatch(/Every secret is kept/);
    expect(text).toMatch(/UMP sync-app settings: running: needs attention: .*could not be read back/);
    // Both secrets stay in Entra: UMP may hold either.
    const app = stack.graph.applications()[0]!;
    expect(stack.graph.application(app.id)!.passwordCredentials).toHaveLength(2);
    await stack.say("status contoso");
    expect(cardText(stack.lastCardMessage().card)).toMatch(/NEEDS ATTENTION: .*check contoso settles it/);

    // UMP is back: `check` settles the run from UMP's fingerprint (it holds the new secret).
    stack.ump.clearFaults();
    stack.ump.onRequest(null);
    await stack.say("check contoso");
    const done = await stack.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text));
    expect(done.body[0].text).toBe("Rotate the secret for contoso: succeeded");
    expect(cardText(done)).toMatch(/holds the new values \(read back\)/);
    const { heldKey } = await expectNoOrphan();
    expect(heldKey).not.toBe(oldKey);
    expect((await stack.bot.repo.getRegistration("contoso"))!.attention).toBeUndefined();
    await stack.say("status contoso");
    expect(cardText(stack.lastCardMessage().card)).not.toMatch(/NEEDS ATTENTION/);
    const actions = (await stack.bot.repo.listAudit("contoso", { limit: 200 })).events.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["run.attention", "run.resumed", "run.settled", "run.succeeded"]));
  });

  it("provisioning: a restart reads UMP again and finishes the run", async () => {
    umpGoesDown();
    const { activityId } = await stack.reviewPlan("contoso");
    await stack.press(activityId, "Approve", { user: USERS.approver });
    const parked = await stack.waitForCard(activityId, finishedOrParked);
    expect(parked.body[0].text).toBe("Provision for contoso: needs attention");
    expect(stack.graph.applications()[0]!.passwordCredentials).toHaveLength(1);
    stack.ump.clearFaults();
    stack.ump.onRequest(null);
    await stack.restart();
    const done = await stack.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text));
    expect(done.body[0].text).toBe("Provision for contoso: succeeded");
    await expectConsistent({ graph: stack.graph, ump: stack.ump, repo: stack.bot.repo }, "contoso", {
      extraAudit: ["run.attention", "run.settled"],
    });
  });

  it("rotation: the expiry sweep reads UMP again and finishes the run (no chat command, no restart)", async () => {
    const oldKey = await provisionOk();
    umpGoesDown();
    const { activityId, card } = await rotateWith(null);
    expect(card.body[0].text).toBe("Rotate the secret for contoso: needs attention");
    stack.ump.clearFaults();
    stack.ump.onRequest(null);
    // A dry run or a what-if instant settles nothing; the real sweep does.
    const dry = await fetch(`${stack.url}/api/jobs/expiry-sweep?dryRun=true`, {
      method: "POST",
      headers: { "x-jobs-key": JOBS_KEY },
    });
    expect(dry.status).toBe(200);
    expect(((await dry.json()) as { settledParked?: string[] }).settledParked ?? []).toEqual([]);
    expect((await stack.bot.repo.listRequests()).some((r) => r.state === "attention")).toBe(true);
    const res = await fetch(`${stack.url}/api/jobs/expiry-sweep`, {
      method: "POST",
      headers: { "x-jobs-key": JOBS_KEY },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { settledParked?: string[] }).settledParked).toHaveLength(1);
    const done = await stack.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text));
    expect(done.body[0].text).toBe("Rotate the secret for contoso: succeeded");
    const { heldKey } = await expectNoOrphan();
    expect(heldKey).not.toBe(oldKey);
  });

  it("UMP holds the old secret when it answers again: the new one is removed, the old one stays", async () => {
    const oldKey = await provisionOk();
    // The write never reaches UMP (dropped before it), and the reads fail after it.
    stack.ump.injectFault(fault("reset", "before"));
    stack.ump.onRequest((r) => {
      if (r.phase === "before" && r.method === "PATCH")
        stack.ump.injectFault({ status: 503, retryAfterSeconds: 0, count: 1000, match: { method: "GET" } });
    });
    const { activityId, card } = await rotateWith(null);
    expect(card.body[0].text).toBe("Rotate the secret for contoso: needs attention");
    expect(stack.graph.applications()[0]!.passwordCredentials).toHaveLength(2);
    stack.ump.clearFaults();
    stack.ump.onRequest(null);
    await stack.say("check contoso");
    const done = await stack.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text));
    expect(done.body[0].text).toBe("Rotate the secret for contoso: failed");
    expect(cardText(done)).toMatch(/UMP still holds the previous secret/);
    const { app, heldKey } = await expectNoOrphan();
    expect(heldKey).toBe(oldKey);
    expect(app.passwordCredentials.map((p) => p.keyId)).toEqual([oldKey]);
  });
});
