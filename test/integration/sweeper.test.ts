// The expiry sweep with a real SQLite store and the Graph emulator over HTTP; only the delivery
// (sendReminder) is faked, so a test can make it fail, hang (a process dying mid-send) or race.
// Proves invariant 7: each keyId × threshold is delivered at most once and, across crashes and
// restarts, at least once.

import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSweeper } from "../../src/domain/sweep/createSweeper";
import type { ReminderNotice, SweepDeps } from "../../src/domain/sweep/sweepTypes";
import { ORPHAN_MIN_AGE_MS } from "../../src/domain/sweep/sweepOrphans";
import type { DocumentStore } from "../../src/domain/documentStore";
import type { ConversationRef, RegistrationRecord, RequestRecord } from "../../src/domain/records";
import type { SecretRecord } from "../../src/domain/secretRecord";
import { createRepository, type Repository } from "../../src/domain/repository";
import { MANAGED_TAG } from "../../src/domain/spec";
import { createGraphDirectory } from "../../src/graph/createGraphDirectory";
import { silentLogger } from "../../src/logger";
import { createSqliteStore } from "../../src/store/createSqliteStore";
import { type GraphEmulator, startGraphEmulator } from "../emulators/graphEmulator";
import { seededRegistration } from "../support/fixtures";

const TENANT = "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f";
const DAY = 86_400_000;
// The Graph emulator refuses secrets that end in the past, so the test's "now" follows the real one.
const T0 = new Date(Math.floor(Date.now() / 60_000) * 60_000);

let graph: GraphEmulator;
let dbPath: string;
let stores: DocumentStore[];
let clock: { t: number; now(): Date };

beforeEach(async () => {
  graph = await startGraphEmulator({ tenantId: TENANT });
  dbPath = join(mkdtempSync(join(tmpdir(), "syncbot-sweep-")), "syncbot.db");
  stores = [];
  clock = {
    t: T0.getTime(),
    now() {
      return new Date(this.t);
    },
  };
});
afterEach(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  await graph.close();
});

/** A new "process": its own store handle on the shared SQLite file. */
function openRepo(): Repository {
  const store = createSqliteStore({ path: dbPath });
  stores.push(store);
  return createRepository(store);
}

interface Sent {
  conversation: ConversationRef;
  notice: ReminderNotice;
  by: string;
}

function makeSweeper(repo: Repository, sent: Sent[], overrides: Partial<SweepDeps> = {}) {
  const instanceId = overrides.instanceId ?? randomUUID();
  return createSweeper({
    directory: createGraphDirectory({
      baseUrl: graph.graphBaseUrl,
      credential: null,
      retry: { baseDelayMs: 5, notFoundBaseDelayMs: 5 },
    }),
    repo,
    clock,
    logger: silentLogger,
    reminderDays: [60, 30, 14, 7, 1],
    instanceId,
    // Megan is an approver here; the e2e tests check the live role check and refusals over HTTP.
    mayApprove: async (actor) =>
      actor.id === "22222222-2222-4222-8222-222222222222"
        ? { eligible: true, via: "allow-list" }
        : { eligible: false, reason: `${actor.name} is not an eligible approver.` },
    sendReminder: async (conversation, notice) => {
      sent.push({ conversation, notice, by: instanceId });
    },
    ...overrides,
  });
}

/** Seeds one managed app per customer in Graph plus syncbot's registration record for it. */
async function seedCustomers(repo: Repository, customers: Array<{ customer: string; daysLeft: number }>) {
  const apps = graph.seedApplications(
    customers.map((c) => ({
      uniqueName: `syncbot-${c.customer}`,
      displayName: `UMP-365 Delegated Token Sync - ${c.customer}`,
      tags: [MANAGED_TAG, `syncbot-customer:${c.customer}`],
      passwordCredentials: [
        {
          displayName: `syncbot:ump:run-${c.customer}`,
          hint: c.customer.slice(0, 3),
          endDateTime: new Date(T0.getTime() + c.daysLeft * DAY).toISOString(),
        },
      ],
    })),
  );
  for (const [i, app] of apps.entries()) {
    const c = customers[i]!;
    const p = app.passwordCredentials[0]!;
    const secret: SecretRecord = {
      keyId: p.keyId,
      service: "ump",
      runId: `run-${c.customer}`,
      displayName: p.displayName!,
      hint: p.hint!,
      endDateTime: p.endDateTime!,
      fingerprint: "sha256:0000000000000000",
      createdAt: T0.toISOString(),
      status: "active",
    };
    await repo.saveRegistration(c.customer, () => registration(c.customer, app.id, app.appId, [secret]));
  }
  return apps;
}

function registration(customer: string, objectId: string, appId: string, secrets: SecretRecord[]): RegistrationRecord {
  return seededRegistration(customer, {
    objectId,
    appId,
    secrets,
    at: T0.toISOString(),
    conversation: { conversation: { id: `conv-${customer}` } },
  });
}

const key = (s: Sent) => `${s.notice.keyId}|${s.notice.threshold}`;

describe("expiry sweep", () => {
  it("sends each threshold exactly once over a secret's last 70 days, then once after expiry", async () => {
    const repo = openRepo();
    const [app] = await seedCustomers(repo, [{ customer: "contoso", daysLeft: 70 }]);
    const sent: Sent[] = [];
    const sweeper = makeSweeper(repo, sent);
    // Daily for 75 days of the clock; a sweep repeated right after one that sent must add nothing.
    for (let t = T0.getTime(); t <= T0.getTime() + 75 * DAY; t += DAY) {
      clock.t = t;
      const first = await sweeper.sweep();
      if (first.sent > 0) expect((await sweeper.sweep()).sent).toBe(0);
    }
    expect(sent.map((s) => s.notice.threshold)).toEqual(["60", "30", "14", "7", "1", "expired"]);
    expect(sent.map((s) => s.notice.daysLeft)).toEqual([60, 30, 14, 7, 1, -1]);
    const first = sent[0]!;
    expect(first.conversation).toEqual({ conversation: { id: "conv-contoso" } });
    expect(first.notice).toMatchObject({
      customer: "contoso",
      service: "ump",
      clientId: app!.appId,
      keyId: app!.passwordCredentials[0]!.keyId,
      hint: "con",
    });
    const audit = await repo.listAudit("contoso", { limit: 50 });
    expect(audit.events.filter((e) => e.action === "reminder.sent")).toHaveLength(6);
  });

  it("a dry run lists what is due and sends and records nothing", async () => {
    const repo = openRepo();
    await seedCustomers(repo, [
      { customer: "contoso", daysLeft: 59 },
      { customer: "fabrikam", daysLeft: 200 },
    ]);
    const sent: Sent[] = [];
    const sweeper = makeSweeper(repo, sent);
    const dry = await sweeper.sweep({ dryRun: true });
    expect(dry.due.map((n) => `${n.customer}:${n.threshold}`)).toEqual(["contoso:60"]);
    expect(sent).toHaveLength(0);
    expect(await repo.listReminders(dry.due[0]!.keyId)).toHaveLength(0);
    const real = await sweeper.sweep();
    expect(real.sent).toBe(1);
    expect(sent).toHaveLength(1);
  });

  it("a sweep that died halfway is finished by the next one: the rest exactly once, the interrupted one after its claim goes stale", async () => {
    const customers = Array.from({ length: 6 }, (_, i) => ({ customer: `customer-${i}`, daysLeft: 20 }));
    const repoA = openRepo();
    await seedCustomers(repoA, customers);
    const delivered: Sent[] = [];
    let calls = 0;
    let reachedThird!: () => void;
    const third = new Promise<void>((r) => {
      reachedThird = r;
    });
    // Process A delivers two, then dies at its third delivery: that one and every delivery it had in
    // flight (it sends a few at a time) never complete.
    const a = makeSweeper(repoA, delivered, {
      sendReminder: async (conversation, notice) => {
        calls++;
        if (calls >= 3) {
          if (calls === 3) reachedThird();
          await new Promise(() => undefined);
        }
        delivered.push({ conversation, notice, by: "A" });
      },
    });
    void a.sweep();
    await third;
    await new Promise((r) => setTimeout(r, 100)); // let A's other in-flight deliveries reach their claims
    expect(delivered).toHaveLength(2);
    // A claims every due reminder while it reads the fleet and delivers them once the scan is done
    // (grouped by conversation, issue 17): the four it never delivered are claimed and frozen.
    const frozen = 6 - 2;
    expect(calls).toBe(3);

    // Process B starts (new instance id, its own store handle) and sweeps: those A claimed and froze on
    // stay untouched while their claims are fresh.
    const repoB = openRepo();
    const b = makeSweeper(repoB, delivered, { instanceId: "B" });
    const first = await b.sweep();
    expect(first.skipped.alreadySent).toBe(2);
    expect(first.skipped.inFlight).toBe(frozen);
    expect(first.sent).toBe(6 - 2 - frozen);
    expect(delivered).toHaveLength(6 - frozen);
    expect((await b.sweep()).sent).toBe(0);

    // Ten minutes later A's claims are stale: B takes them over and delivers each once.
    clock.t += 11 * 60_000;
    const later = await b.sweep();
    expect(later.sent).toBe(frozen);
    expect(delivered).toHaveLength(6);
    expect(new Set(delivered.map(key)).size).toBe(6);
    expect((await b.sweep()).sent).toBe(0);
  });

  it("a delivery that fails is retried by the next sweep, and only that one", async () => {
    const repo = openRepo();
    await seedCustomers(
      repo,
      Array.from({ length: 4 }, (_, i) => ({ customer: `c-${i}`, daysLeft: 6 })),
    );
    const delivered: Sent[] = [];
    let calls = 0;
    const flaky = makeSweeper(repo, delivered, {
      sendReminder: async (conversation, notice) => {
        if (++calls === 2) throw new Error("connector answered 502");
        delivered.push({ conversation, notice, by: "x" });
      },
    });
    const first = await flaky.sweep();
    expect(first.sent).toBe(3);
    expect(first.failures).toHaveLength(1);
    expect(first.failures[0]).toMatch(/^c-1\//);
    const second = await flaky.sweep();
    expect(second.sent).toBe(1);
    expect(second.failures).toHaveLength(0);
    expect(new Set(delivered.map(key)).size).toBe(4);
    expect(delivered).toHaveLength(4);
  });

  it("two instances sweeping at once deliver each reminder once", async () => {
    const customers = Array.from({ length: 40 }, (_, i) => ({ customer: `race-${i}`, daysLeft: 1 + (i % 60) }));
    await seedCustomers(openRepo(), customers);
    const delivered: Sent[] = [];
    const slow = (by: string) => async (conversation: ConversationRef, notice: ReminderNotice) => {
      await new Promise((r) => setTimeout(r, 2));
      delivered.push({ conversation, notice, by });
    };
    const x = makeSweeper(openRepo(), delivered, { instanceId: "X", sendReminder: slow("X") });
    const y = makeSweeper(openRepo(), delivered, { instanceId: "Y", sendReminder: slow("Y") });
    const [rx, ry] = await Promise.all([x.sweep(), y.sweep()]);
    expect(delivered).toHaveLength(40);
    expect(new Set(delivered.map(key)).size).toBe(40);
    expect(rx.sent + ry.sent).toBe(40);
    expect(rx.due.length + ry.due.length).toBe(40);
  });

  it("reads expiry from Graph: a secret rotated by hand stops the old reminders", async () => {
    const repo = openRepo();
    const [app] = await seedCustomers(repo, [{ customer: "contoso", daysLeft: 59 }]);
    const oldKey = app!.passwordCredentials[0]!.keyId;
    const sent: Sent[] = [];
    const sweeper = makeSweeper(repo, sent);
    await sweeper.sweep();
    expect(sent.map((s) => `${s.notice.keyId}:${s.notice.threshold}`)).toEqual([`${oldKey}:60`]);
    // An operator rotates in the portal: new secret for two years, the old one deleted.
    const fresh = graph.addPasswordByHand(app!.id, {
      displayName: "rotated by hand",
      endDateTime: new Date(T0.getTime() + 730 * DAY).toISOString(),
    });
    graph.removePasswordByHand(app!.id, oldKey);
    for (const d of [30, 14, 7, 1, 60]) await sweeper.sweep({ at: new Date(T0.getTime() + (59 - d) * DAY + 1000) });
    expect(sent).toHaveLength(1);
    // The hand-made secret is seen too, when its time comes (service unknown to syncbot's records).
    await sweeper.sweep({ at: new Date(T0.getTime() + 700 * DAY) });
    expect(sent.map((s) => `${s.notice.keyId}:${s.notice.threshold}:${s.notice.service}`)).toEqual([
      `${oldKey}:60:ump`,
      `${fresh.keyId}:30:unmanaged`,
    ]);
  });

  it("an expiry changed by hand in Graph moves the reminders with it", async () => {
    const repo = openRepo();
    const [app] = await seedCustomers(repo, [{ customer: "contoso", daysLeft: 300 }]);
    const sent: Sent[] = [];
    const sweeper = makeSweeper(repo, sent);
    expect((await sweeper.sweep()).sent).toBe(0);
    graph.mutateApplication(app!.id, (a) => {
      a.passwordCredentials[0]!.endDateTime = new Date(T0.getTime() + 10 * DAY).toISOString();
    });
    await sweeper.sweep();
    expect(sent.map((s) => s.notice.threshold)).toEqual(["14"]);
  });

  it("snooze holds reminders back for a week, records who asked, then they resume", async () => {
    const repo = openRepo();
    const [app] = await seedCustomers(repo, [{ customer: "contoso", daysLeft: 15 }]);
    const keyId = app!.passwordCredentials[0]!.keyId;
    const sent: Sent[] = [];
    const sweeper = makeSweeper(repo, sent);
    await sweeper.sweep();
    expect(sent.map((s) => s.notice.threshold)).toEqual(["30"]);
    const who = { id: "22222222-2222-4222-8222-222222222222", name: "Megan Bowen" };
    const snoozed = await sweeper.snooze("contoso", keyId, who);
    expect(snoozed.ok).toBe(true);
    expect((await repo.getSnooze(keyId))?.by).toEqual(who);
    // Day 14 and day 8 fall inside the snooze: nothing.
    clock.t = T0.getTime() + 1 * DAY + 1000;
    expect((await sweeper.sweep()).skipped.snoozed).toBe(1);
    clock.t = T0.getTime() + 6 * DAY;
    await sweeper.sweep();
    expect(sent).toHaveLength(1);
    // After the week (8 days left → the 14 threshold never sent, now 7 is due at 7 days left).
    clock.t = T0.getTime() + 8 * DAY;
    await sweeper.sweep();
    expect(sent.map((s) => s.notice.threshold)).toEqual(["30", "7"]);
    const audit = await repo.listAudit("contoso", { limit: 10 });
    expect(audit.events.find((e) => e.action === "reminder.snoozed")?.actor).toBe("Megan Bowen");
    // A keyId of another customer's registration cannot be snoozed through this one.
    expect((await sweeper.snooze("contoso", randomUUID(), who)).ok).toBe(false);
  });

  it("removes a superseded secret whose grace period passed while syncbot was down, once, even with two sweepers", async () => {
    const repo = openRepo();
    const [app] = await seedCustomers(repo, [{ customer: "contoso", daysLeft: 700 }]);
    const extra = graph.addPasswordByHand(app!.id, {
      displayName: "syncbot:ump:old-run",
      endDateTime: new Date(T0.getTime() + 20 * DAY).toISOString(),
    });
    await repo.saveRegistration("contoso", (cur) => ({
      ...cur!,
      secrets: [
        ...cur!.secrets,
        {
          keyId: extra.keyId,
          service: "ump",
          runId: "old-run",
          displayName: "syncbot:ump:old-run",
          hint: extra.hint,
          endDateTime: extra.endDateTime,
          fingerprint: "sha256:1111111111111111",
          createdAt: T0.toISOString(),
          status: "superseded",
          removeAfter: new Date(T0.getTime() - 3 * DAY).toISOString(),
        },
      ],
    }));
    const notices: string[] = [];
    const sent: Sent[] = [];
    const sendNotice = async (_c: ConversationRef, text: string) => {
      notices.push(text);
    };
    const dry = await makeSweeper(repo, sent, { sendNotice }).sweep({ dryRun: true });
    expect(dry.wouldRemoveSuperseded).toEqual([extra.keyId]);
    expect(graph.application(app!.id)!.passwordCredentials).toHaveLength(2);

    const [r1, r2] = await Promise.all([
      makeSweeper(openRepo(), sent, { sendNotice }).sweep(),
      makeSweeper(openRepo(), sent, { sendNotice }).sweep(),
    ]);
    expect([...r1.removedSuperseded, ...r2.removedSuperseded]).toEqual([extra.keyId]);
    expect(graph.application(app!.id)!.passwordCredentials.map((p) => p.keyId)).not.toContain(extra.keyId);
    expect((await repo.getRegistration("contoso"))!.secrets.map((s) => s.keyId)).not.toContain(extra.keyId);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/old secret .* was removed after its grace period/);
    // The superseded secret (20 days left) got no reminder: it is on its way out.
    expect(sent).toHaveLength(0);
  });

  it("a sweep at a simulated instant keeps its reminders apart and removes superseded secrets by the real clock", async () => {
    const repo = openRepo();
    const [app] = await seedCustomers(repo, [{ customer: "contoso", daysLeft: 59 }]);
    const keyId = app!.passwordCredentials[0]!.keyId;
    const old = graph.addPasswordByHand(app!.id, {
      displayName: "syncbot:ump:old-run",
      endDateTime: new Date(T0.getTime() + 400 * DAY).toISOString(),
    });
    await repo.saveRegistration("contoso", (cur) => ({
      ...cur!,
      secrets: [
        ...cur!.secrets,
        {
          keyId: old.keyId,
          service: "ump",
          runId: "old-run",
          displayName: "syncbot:ump:old-run",
          hint: old.hint,
          endDateTime: old.endDateTime,
          fingerprint: "sha256:1111111111111111",
          createdAt: T0.toISOString(),
          status: "superseded",
          removeAfter: new Date(T0.getTime() + 5 * DAY).toISOString(),
        },
      ],
    }));
    const sent: Sent[] = [];
    const sweeper = makeSweeper(repo, sent);

    // Ten days ahead: the grace period is over there, but not on the real clock.
    const simulated = await sweeper.sweep({ at: new Date(T0.getTime() + 10 * DAY) });
    expect(simulated).toMatchObject({ simulated: true, sent: 1, removedSuperseded: [] });
    expect(sent.map((s) => `${s.notice.keyId}:${s.notice.threshold}:${s.notice.daysLeft}`)).toEqual([`${keyId}:60:49`]);
    expect(graph.application(app!.id)!.passwordCredentials.map((p) => p.keyId)).toContain(old.keyId);
    // At most once per simulated threshold too, so a repeated what-if does not spam the channel.
    expect((await sweeper.sweep({ at: new Date(T0.getTime() + 10 * DAY) })).sent).toBe(0);
    // Not recorded as the real reminder: the real sweep sends it, and the audit tells them apart.
    expect(await repo.listReminders(keyId)).toEqual([]);
    const real = await sweeper.sweep();
    expect(real).toMatchObject({ simulated: false, sent: 1, removedSuperseded: [] });
    expect(sent.map((s) => s.notice.daysLeft)).toEqual([49, 59]);
    const actions = (await repo.listAudit("contoso", { limit: 20 })).events.map((e) => e.action);
    expect(actions.filter((a) => a === "reminder.sent")).toHaveLength(1);
    expect(actions.filter((a) => a === "reminder.simulated")).toHaveLength(1);

    // Once the real clock passes the grace period, even a sweep "at" an earlier instant removes it.
    clock.t = T0.getTime() + 6 * DAY;
    const later = await sweeper.sweep({ at: T0 });
    expect(later.removedSuperseded).toEqual([old.keyId]);
    expect(graph.application(app!.id)!.passwordCredentials.map((p) => p.keyId)).not.toContain(old.keyId);
  });

  describe("orphan secrets", () => {
    /** contoso with UMP recorded as holding its (recorded) secret, and a `syncbot:` secret nobody recorded. */
    async function withOrphan(runId = randomUUID()) {
      const repo = openRepo();
      const [app] = await seedCustomers(repo, [{ customer: "contoso", daysLeft: 400 }]);
      await repo.saveRegistration("contoso", (cur) => ({
        ...cur!,
        ump: { revision: 3, fingerprint: cur!.secrets[0]!.fingerprint, portalValidated: true, at: T0.toISOString() },
      }));
      const orphan = graph.addPasswordByHand(app!.id, {
        displayName: `syncbot:ump:${runId}`,
        endDateTime: new Date(T0.getTime() + 700 * DAY).toISOString(),
      });
      const live = () => graph.application(app!.id)!.passwordCredentials.map((p) => p.keyId);
      return { repo, app: app!, orphan, live, runId };
    }

    it("removes an unclaimed syncbot: secret once it is older than the safety age, not before, with an audit event", async () => {
      const { repo, orphan, live, runId } = await withOrphan();
      const sweeper = makeSweeper(repo, []);
      expect((await sweeper.sweep()).removedOrphans).toEqual([]);
      clock.t += ORPHAN_MIN_AGE_MS - 120_000;
      expect((await sweeper.sweep()).removedOrphans).toEqual([]);
      expect(live()).toContain(orphan.keyId);

      clock.t += 180_000;
      const dry = await sweeper.sweep({ dryRun: true });
      expect(dry.wouldRemoveOrphans).toEqual([orphan.keyId]);
      expect(live()).toContain(orphan.keyId);
      const real = await sweeper.sweep();
      expect(real.removedOrphans).toEqual([orphan.keyId]);
      expect(real.failures).toEqual([]);
      expect(live()).not.toContain(orphan.keyId);
      // The recorded secret (the one UMP holds) is untouched.
      expect(live()).toHaveLength(1);
      const removed = (await repo.listAudit("contoso", { limit: 20 })).events.filter(
        (e) => e.action === "secret.removed",
      );
      expect(removed).toHaveLength(1);
      expect(removed[0]!.detail).toContain(`${orphan.keyId} (orphan named after run ${runId}`);
      expect((await sweeper.sweep()).removedOrphans).toEqual([]);
    });

    it("keeps a secret claimed by a running run, and one a finished run recorded as its new secret", async () => {
      const { repo, orphan, live, runId, app } = await withOrphan();
      const request = (id: string, state: RequestRecord["state"], run: Partial<RequestRecord["run"]>) =>
        // Only the fields the sweep reads are meaningful here.
        ({
          id,
          customer: "contoso",
          state,
          run: {
            id: randomUUID(),
            startedAt: T0.toISOString(),
            owner: "x",
            leaseUntil: T0.toISOString(),
            steps: [],
            ...run,
          },
        }) as unknown as RequestRecord;
      await repo.createRequest(request("running-req", "running", { id: runId }));
      const other = graph.addPasswordByHand(app.id, {
        displayName: `syncbot:ump:${randomUUID()}`,
        endDateTime: new Date(T0.getTime() + 700 * DAY).toISOString(),
      });
      await repo.createRequest(
        request("failed-req", "failed", {
          newSecret: {
            keyId: other.keyId,
            displayName: "x",
            hint: other.hint,
            endDateTime: other.endDateTime,
            fingerprint: "f",
          },
        }),
      );
      clock.t += ORPHAN_MIN_AGE_MS + 120_000;
      const sweeper = makeSweeper(repo, []);
      expect((await sweeper.sweep()).removedOrphans).toEqual([]);
      expect(live()).toEqual(expect.arrayContaining([orphan.keyId, other.keyId]));

      // The run finishes (failed, without recording it): the orphan goes; the recorded one stays.
      await repo.updateRequest("running-req", (r) => ({ ...r, state: "failed" }));
      expect((await sweeper.sweep()).removedOrphans).toEqual([orphan.keyId]);
      expect(live()).toContain(other.keyId);
    });

    it("never removes one when it cannot tell that UMP holds another secret", async () => {
      const { repo, orphan, live } = await withOrphan();
      clock.t += ORPHAN_MIN_AGE_MS + 120_000;
      // Recorded fingerprint unknown (a hand-off): kept.
      await repo.saveRegistration("contoso", (cur) => ({ ...cur!, ump: undefined }));
      const unknown = await makeSweeper(repo, []).sweep();
      expect(unknown.removedOrphans).toEqual([]);
      expect(unknown.skipped.orphanUmpUnclear).toBe(1);
      // UMP read live: unreachable, or holding a secret syncbot has no record of (maybe the orphan): kept.
      const unreachable = makeSweeper(repo, [], {
        umpFingerprint: async () => {
          throw new Error("UMP answered 503");
        },
      });
      expect((await unreachable.sweep()).removedOrphans).toEqual([]);
      const strange = makeSweeper(repo, [], { umpFingerprint: async () => "sha256:ffffffffffffffff" });
      expect((await strange.sweep()).removedOrphans).toEqual([]);
      expect(live()).toContain(orphan.keyId);
      // UMP says it holds the recorded secret: now it goes.
      const reg = (await repo.getRegistration("contoso"))!;
      const known = makeSweeper(repo, [], { umpFingerprint: async () => reg.secrets[0]!.fingerprint });
      expect((await known.sweep()).removedOrphans).toEqual([orphan.keyId]);
      expect(live()).not.toContain(orphan.keyId);
    });

    it("keeps a superseded secret whose grace is over while UMP still holds it", async () => {
      const { repo, app } = await withOrphan();
      const reg = (await repo.getRegistration("contoso"))!;
      await repo.saveRegistration("contoso", (cur) => ({
        ...cur!,
        secrets: [{ ...cur!.secrets[0]!, status: "superseded", removeAfter: T0.toISOString() }],
      }));
      const held = makeSweeper(repo, [], { umpFingerprint: async () => reg.secrets[0]!.fingerprint });
      expect((await held.sweep()).removedSuperseded).toEqual([]);
      expect(graph.application(app.id)!.passwordCredentials.map((p) => p.keyId)).toContain(reg.secrets[0]!.keyId);
      const moved = makeSweeper(repo, [], { umpFingerprint: async () => "sha256:2222222222222222" });
      expect((await moved.sweep()).removedSuperseded).toEqual([reg.secrets[0]!.keyId]);
    });
  });

  it("sweeps 10,000 applications with 11 paged Graph requests, selecting only what it needs", async () => {
    const end = new Date(T0.getTime() + 400 * DAY).toISOString();
    graph.seedApplications(
      Array.from({ length: 10_000 }, (_, i) => ({
        tags: [MANAGED_TAG, `syncbot-customer:bulk-${i}`],
        passwordCredentials: [{ endDateTime: end, displayName: `syncbot:ump:r${i}` }],
      })),
    );
    graph.seedApplications(20); // unmanaged apps: never read
    const repo = openRepo();
    const sweeper = makeSweeper(repo, []);
    graph.resetRequests();
    const started = performance.now();
    const result = await sweeper.sweep();
    const ms = performance.now() - started;
    expect(result.applications).toBe(10_000);
    expect(result.secrets).toBe(10_000);
    const reqs = graph.requests.filter((r) => r.path.startsWith("/v1.0"));
    expect(reqs).toHaveLength(11);
    for (const r of reqs) {
      expect(r.method).toBe("GET");
      expect(r.query["$top"]).toBe("999");
      expect(r.query["$select"]?.split(",").sort()).toEqual([
        "appId",
        "id",
        "passwordCredentials",
        "tags",
        "uniqueName",
      ]);
    }
    console.log(`sweep of 10,000: ${Math.round(ms)} ms`);
    expect(ms).toBeLessThan(5000);
  });
});

describe("digests (issue 17)", () => {
  /** Moves each customer's registration into `conversationId` (a reply chain of one channel). */
  async function moveTo(repo: Repository, customers: string[], conversationId: (i: number) => string) {
    for (const [i, c] of customers.entries())
      await repo.saveRegistration(c, (r) => ({ ...r!, conversation: { conversation: { id: conversationId(i) } } }));
  }

  it("groups a channel's reply chains into one digest, soonest first; a dry run lists it and sends nothing; one per day", async () => {
    const repo = openRepo();
    const customers = ["c-a", "c-b", "c-c", "c-lone"];
    await seedCustomers(
      repo,
      customers.map((customer, i) => ({ customer, daysLeft: 29 - i })),
    );
    await moveTo(repo, customers.slice(0, 3), (i) => `19:ops@thread.tacv2;messageid=${i}`);
    const sent: Sent[] = [];
    const digests: Array<{ conversation: ConversationRef; notices: ReminderNotice[] }> = [];
    const sweeper = makeSweeper(repo, sent, {
      sendDigest: async (conversation, notices) => {
        digests.push({ conversation, notices });
        return `digest-${digests.length}`;
      },
    });

    const dry = await sweeper.sweep({ dryRun: true });
    expect(dry.digests).toEqual([{ conversation: "19:ops@thread.tacv2", listed: 3, customers: ["c-c", "c-b", "c-a"] }]);
    expect(digests).toHaveLength(0);
    expect(sent).toHaveLength(0);

    const real = await sweeper.sweep();
    expect(real.sent).toBe(4);
    expect(digests).toHaveLength(1);
    expect(digests[0]!.notices.map((n) => n.customer)).toEqual(["c-c", "c-b", "c-a"]);
    // The lone registration of its own conversation keeps its reminder card.
    expect(sent.map((s) => s.notice.customer)).toEqual(["c-lone"]);
    for (const n of digests[0]!.notices) {
      const claims = await repo.listReminders(n.keyId);
      expect(claims.map((c) => c.state)).toEqual(["sent"]);
    }

    // Two more come due later the same day in that channel: they wait for tomorrow's digest.
    const more = ["c-d", "c-e"];
    await seedCustomers(
      repo,
      more.map((customer) => ({ customer, daysLeft: 29.5 })),
    );
    await moveTo(repo, more, () => "19:ops@thread.tacv2;messageid=9");
    const sameDay = await sweeper.sweep();
    expect(sameDay.sent).toBe(0);
    expect(sameDay.skipped.deferred).toBe(2);
    expect(digests).toHaveLength(1);
    clock.t += DAY;
    const nextDay = await sweeper.sweep();
    expect(nextDay.sent).toBe(2);
    expect(digests).toHaveLength(2);
    expect(digests[1]!.notices.map((n) => n.customer).sort()).toEqual(more);
  });
});
