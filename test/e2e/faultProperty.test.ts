// Property: whatever mix of upstream faults a provisioning run meets (Graph 429/503/504 storms, 404
// after create, a create applied but answered 504, a refusing 403, UMP 429/503 before or after
// applying, UMP 412), it ends with at most one application (exactly one when it succeeded), no secret
// in Entra that UMP does not hold, a record that matches Entra, and an audit trail that says how it
// ended. One stack serves every run (a fresh customer each), so the whole property stays within a few
// seconds per run.

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultSpec } from "../emulators/graphEmulator";
import type { UmpFault } from "../emulators/umpEmulator";
import { expectConsistent } from "../support/invariants";
import { allActionTitles, cardText, expectNoSecretIn, type Stack, startStack, USERS } from "../support/stack";

const RUNS = 15;
const customers = Array.from({ length: RUNS + 5 }, (_, i) => `prop${i}`);
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ umpInstances: customers.map((c) => `ump-${c}`) });
});
afterAll(async () => {
  // Across every fault schedule, no secret value reached a message, card, log line or the database.
  expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  await stack.stop();
});

const graphPaths = [
  { method: "POST", path: "/v1.0/applications" },
  { method: "POST", pathIncludes: "addPassword" },
  { method: "GET", pathIncludes: "/applications/" },
  { method: "GET", pathIncludes: "/applications(" },
  { method: "POST", pathIncludes: "/oauth2/v2.0/token" },
];
const umpPaths = [
  { method: "PATCH", pathIncludes: "sync-app" },
  { method: "PUT", pathIncludes: "portal-url" },
  { method: "GET", pathIncludes: "system-settings" },
  { method: "GET", pathIncludes: "/operations/" },
];

const graphFault: fc.Arbitrary<FaultSpec> = fc.record({
  status: fc.constantFrom(429, 503, 504),
  count: fc.integer({ min: 1, max: 3 }),
  retryAfterSeconds: fc.constantFrom(0, 1),
  match: fc.constantFrom(...graphPaths),
});
const umpFault: fc.Arbitrary<UmpFault> = fc.record({
  status: fc.constantFrom(429, 503),
  count: fc.integer({ min: 1, max: 2 }),
  retryAfterSeconds: fc.constant(0),
  phase: fc.constantFrom("before" as const, "after" as const),
  match: fc.constantFrom(...umpPaths),
});
const schedule = fc.record({
  graph: fc.array(graphFault, { maxLength: 3 }),
  ump: fc.array(umpFault, { maxLength: 3 }),
  ump412: fc.integer({ min: 0, max: 2 }),
  notFoundAfterCreate: fc.integer({ min: 0, max: 3 }),
  throttleRate: fc.constantFrom(0, 0, 0.1, 0.2),
  // Now and then the app's create is applied but answered 504: the retry finds the name taken.
  lostCreate: fc.constantFrom(false, false, true),
  // Now and then a refusal retrying cannot fix, somewhere in the run.
  fatal: fc.option(
    fc.record({ status: fc.constantFrom(400, 403), match: fc.constantFrom(...graphPaths.slice(0, 2)) }),
    { freq: 4 },
  ),
});

describe("random fault schedules", () => {
  it("never two registrations, never an orphaned secret, always an audit trail", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(schedule, async (s) => {
        const customer = customers[n++]!;
        stack.graph.clearFaults();
        stack.ump.clearFaults();
        stack.graph.setNotFoundAfterCreate(s.notFoundAfterCreate);
        if (s.throttleRate > 0) stack.graph.setThrottleRate(s.throttleRate, { retryAfterSeconds: 0, seed: n });
        for (const f of s.graph) stack.graph.injectFault(f);
        for (const f of s.ump) stack.ump.injectFault(f);
        if (s.ump412 > 0) stack.ump.injectFault({ status: 412, count: s.ump412, match: { method: "PATCH" } });
        if (s.fatal) stack.graph.injectFault(s.fatal);
        if (s.lostCreate)
          stack.graph.injectFault({
            status: 504,
            phase: "after",
            retryAfterSeconds: 0,
            match: { method: "POST", path: "/v1.0/applications" },
          });

        await stack.say(`provision ${customer}`);
        const { activityId } = stack.lastCardMessage();
        await stack.press(activityId, "Review plan");
        // What the requester sees once the live reads are over: the plan, or the form saying why not.
        const reviewed = await stack.waitForView(
          USERS.requester,
          activityId,
          (c) => allActionTitles(c).length > 0,
          20_000,
        );
        if (!/approval needed/.test(cardText(reviewed))) {
          // Throttled beyond the budget while reading the live state: nothing may have been written.
          expect(cardText(reviewed)).toMatch(/Could not read the live state/);
          expect(stack.graph.applications().filter((a) => a.uniqueName === `syncbot-${customer}`)).toHaveLength(0);
          return;
        }
        await stack.seesButton(USERS.approver, activityId, "Approve");
        await stack.press(activityId, "Approve", { user: USERS.approver });
        const card = await stack.waitForCard(activityId, (c) => /: (succeeded|failed)$/.test(c.body[0].text), 20_000);
        stack.graph.clearFaults();
        stack.ump.clearFaults();

        const apps = stack.graph.applications().filter((a) => a.uniqueName === `syncbot-${customer}`);
        expect(apps.length).toBeLessThanOrEqual(1);
        if (card.body[0].text.endsWith("succeeded")) {
          await expectConsistent({ graph: stack.graph, ump: stack.ump, repo: stack.bot.repo }, customer);
        } else {
          // Failed: said why, and left nothing in Entra that UMP does not hold.
          expect(cardText(card)).toMatch(/failed \([a-z_]+\): .+ Correlation id/);
          const umpFp = stack.ump.settings(`ump-${customer}`).syncApp.clientSecret.fingerprint;
          for (const app of apps)
            for (const p of app.passwordCredentials) expect(stack.graph.secretFingerprint(app.id, p.keyId)).toBe(umpFp);
          const reg = await stack.bot.repo.getRegistration(customer);
          const live = new Set(apps.flatMap((a) => a.passwordCredentials.map((p) => p.keyId)));
          for (const sec of reg?.secrets ?? []) expect(live.has(sec.keyId)).toBe(true);
          const actions = (await stack.bot.repo.listAudit(customer, { limit: 200 })).events.map((e) => e.action);
          for (const a of ["provision.requested", "approval.approved", "run.started", "run.failed"])
            expect(actions).toContain(a);
        }
        expect(stack.bot.provisioning.heldSecretCount()).toBe(0);
      }),
      { numRuns: RUNS, seed: Number(process.env.FC_SEED ?? 20240611), endOnFailure: true },
    );
  }, 120_000);
});
