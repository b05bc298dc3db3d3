// Issue 20 over HTTP, findings 2, 4 and 5 and the batch list's size: the batch card shows a pasted
// Markdown link as typed; a batch Retry re-checks the recorded approver live; only an approver or the
// registration's requester may snooze, audited; the SQLite store is private to syncbot's user; and a
// pasted list of the documented 500 customers is taken whole.

import { statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cardText, JOBS_KEY, manualClock, type Stack, startStack, USERS } from "../support/stack";

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

async function start(options?: Parameters<typeof startStack>[0]) {
  stack = await startStack(options);
  return stack;
}

const title = (card: any) => String(card?.body?.[0]?.text ?? "");

describe("the batch card", () => {
  it("shows a pasted Markdown link as typed, never as a link", async () => {
    const s = await start();
    await s.say("provision contoso fabrikam");
    const { activityId } = s.lastCardMessage();
    await s.press(activityId, "Review plan", {
      user: USERS.bystander,
      inputs: { customers: "[Approve-here](https://attacker.example/login)\ncontoso" },
    });
    const card = await s.waitForCard(activityId, (c) => /^Batch of 2 customers: waiting/.test(title(c)), 20_000);
    const text = cardText(card);
    expect(text).toContain("\\[approve-here\\](https://attacker.example/login)");
    expect(text).not.toMatch(/(^|[^\\])\[approve-here\]\(/i);
  });

  it("Retry after the approver lost the Global Administrator role: refused with the reason, the line needs its own approval", async () => {
    const s = await start({ overrides: { batchCardIntervalMs: 50 } });
    await s.say("provision contoso fabrikam");
    const { activityId } = s.lastCardMessage();
    await s.press(activityId, "Review plan");
    await s.waitForCard(activityId, (c) => /waiting for approval/.test(title(c)), 20_000);
    s.graph.injectFault({
      status: 403,
      count: 20,
      match: { method: "POST", path: "/v1.0/applications", bodyIncludes: '"syncbot-fabrikam"' },
    });
    s.graph.injectFault({ status: 403, count: 20, match: { method: "PATCH", pathIncludes: "syncbot-fabrikam" } });
    await s.press(activityId, "Approve", { user: USERS.approver });
    await s.waitForCard(activityId, (c) => /1 done · 0 running · 1 failed/.test(cardText(c)), 30_000);
    s.graph.clearFaults();
    s.graph.revokeGlobalAdmin(USERS.approver.aadObjectId);

    await s.press(activityId, "Retry", { user: USERS.bystander });
    const after = await s.waitForCard(
      activityId,
      (c) => /fabrikam\*\*: needs its own approval/.test(cardText(c)),
      20_000,
    );
    expect(cardText(after)).toMatch(
      /batch approval of Megan Bowen has lapsed: Megan Bowen's Global Administrator role/,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(s.graph.applications().filter((a) => a.uniqueName === "syncbot-fabrikam")).toHaveLength(0);
    const fabrikam = (await s.bot.repo.listRequests()).filter((r) => r.customer === "fabrikam");
    expect(fabrikam.some((r) => r.state === "approved" || r.state === "running" || r.state === "succeeded")).toBe(
      false,
    );
    const events = (await s.bot.repo.listAudit("fabrikam", { limit: 50 })).events;
    expect(events.some((e) => e.action === "approval.lapsed" && e.outcome === "refused")).toBe(true);
  }, 60_000);
});

describe("a batch member run", () => {
  it("re-checks the approver before it starts: a role removed mid-batch stops the next customer", async () => {
    const s = await start({ env: { BATCH_CONCURRENCY: "1" }, overrides: { batchCardIntervalMs: 50 } });
    await s.say("provision contoso fabrikam");
    const { activityId } = s.lastCardMessage();
    await s.press(activityId, "Review plan");
    await s.waitForCard(activityId, (c) => /waiting for approval/.test(title(c)), 20_000);
    // The role goes while the first customer's app is being created, before the second one starts.
    s.graph.onRequest((r) => {
      if (r.method === "POST" && r.path === "/v1.0/applications" && r.phase === "before")
        s.graph.revokeGlobalAdmin(USERS.approver.aadObjectId);
    });
    await s.press(activityId, "Approve", { user: USERS.approver });
    const after = await s.waitForCard(
      activityId,
      (c) => /needs its own approval \(The batch approval/.test(cardText(c)),
      30_000,
    );
    expect(cardText(after)).toMatch(/1 done/);
    expect(s.graph.applications().filter((a) => a.uniqueName?.startsWith("syncbot-"))).toHaveLength(1);
    const audit = [
      ...(await s.bot.repo.listAudit("contoso", { limit: 50 })).events,
      ...(await s.bot.repo.listAudit("fabrikam", { limit: 50 })).events,
    ];
    expect(audit.filter((e) => e.action === "approval.lapsed")).toHaveLength(1);
  }, 60_000);
});

describe("Snooze", () => {
  it("is refused to a bystander (audited), and taken from the registration's requester", async () => {
    const clock = manualClock();
    const s = await start({ clock });
    await s.provision("contoso");
    const secret = s.graph.applications()[0]!.passwordCredentials[0]!;
    clock.t = Date.parse(secret.endDateTime!) - 29 * 86_400_000;
    await fetch(`${s.url}/api/jobs/expiry-sweep`, { method: "POST", headers: { "x-jobs-key": JOBS_KEY } });
    const { activityId } = s.lastCardMessage();
    expect(title(s.cardOf(activityId))).toMatch(/secret of contoso expires/);

    const refused = await s.press(activityId, "Snooze", { user: USERS.bystander });
    expect(refused.text).toMatch(/may not snooze/);
    expect(await s.bot.repo.getSnooze(secret.keyId)).toBeNull();
    const audit = (await s.bot.repo.listAudit("contoso", { limit: 50 })).events;
    expect(audit.find((e) => e.action === "reminder.snooze-refused")?.actor).toBe(USERS.bystander.name);

    const ok = await s.press(activityId, "Snooze", { user: USERS.requester });
    expect(cardText(ok.card)).toContain(`by ${USERS.requester.name}.`);
    expect((await s.bot.repo.getSnooze(secret.keyId))?.by.id).toBe(USERS.requester.aadObjectId);
  });
});

describe("the SQLite store", () => {
  it("is created in a 0700 folder, the database and its -wal/-shm files 0600", async () => {
    const probe = await startStack();
    const dir = join(probe.dataDir, "private", "store");
    await probe.stop();
    const s = await start({ sqlitePath: join(dir, "syncbot.db") });
    expect((await s.say("provision contoso")).status).toBe(200);
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(probe.dataDir, "private"))).toBe(0o700);
    for (const f of ["syncbot.db", "syncbot.db-wal", "syncbot.db-shm"]) expect(mode(join(dir, f)), f).toBe(0o600);
  });
});

describe("a pasted list of 500 customers", () => {
  it("is taken whole, and every card stays within Teams' size limit", async () => {
    const s = await start({ overrides: { batchCardIntervalMs: 200 } });
    await s.say("provision a b");
    const { activityId } = s.lastCardMessage();
    const lines = Array.from({ length: 500 }, (_, i) => `customer-${String(i + 1).padStart(3, "0")}`);
    const answer = await s.press(activityId, "Review plan", { inputs: { customers: lines.join("\n") } });
    expect(answer.status).toBe(200);
    expect(title(answer.card)).toMatch(/^Batch of 500 customers/);
    const batch = (await s.bot.repo.store.list<any>("batches"))[0]!.value;
    expect(batch.members).toHaveLength(500);
    expect(batch.members[499].customer).toBe("customer-500");
    const planned = await s.waitForCard(
      activityId,
      (c) => /^Batch of 500 customers: (?!reading)/.test(title(c)),
      150_000,
    );
    expect(cardText(planned)).toMatch(/500 line\(s\) not planned|customer\(s\) to change/);
    expect(s.largestSent().activityBytes).toBeLessThan(28_000);
    expect(s.largestSent().invokeBytes).toBeLessThan(28_000);

    // Longer than the bound: refused with the reason, no batch written (no line is silently cut).
    await s.say("provision a b");
    const second = s.lastCardMessage().activityId;
    const tooLong = await s.press(second, "Review plan", { inputs: { customers: "customer-x\n".repeat(6_000) } });
    expect(tooLong.text).toMatch(/longer than 64,000 characters.*Nothing was changed/);
    expect(await s.bot.repo.store.list("batches")).toHaveLength(1);
  }, 180_000);
});
