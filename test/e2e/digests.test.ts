// End to end: reminder digests (issue 17, CONTRACT section 4 "Reminders in a fleet", DOMAIN invariants
// 7 and 14). Many registrations provisioned from one channel come due the same day: the sweep posts one
// digest there, soonest first, paged with Next page, each line with Rotate secret and Snooze, and the
// digest with Rotate all; every registration is listed exactly once; a refused digest is sent again.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CHANNEL,
  cardText,
  findAction,
  JOBS_KEY,
  manualClock,
  type Stack,
  startStack,
  USERS,
  walk,
} from "../support/stack";
import { fillChannelBudget } from "../support/busyChannel";

const DAY = 86_400_000;
let stack: Stack;
const clock = manualClock();

beforeEach(async () => {
  clock.t = Date.now();
  stack = await startStack({ clock });
});
afterEach(async () => {
  await stack.stop();
});

async function sweepNow() {
  const res = await fetch(`${stack.url}/api/jobs/expiry-sweep`, {
    method: "POST",
    headers: { "x-jobs-key": JOBS_KEY },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as any;
}

/** `count` registrations whose secrets end 25 days from now, a minute apart (the 30-day threshold). */
async function seedDue(count: number) {
  const base = clock.t + 25 * DAY;
  // Seeded in reverse order of expiry: the digest's order cannot come from the seeding order.
  return stack.seedRegistrations(count, {
    endDateTime: (i) => new Date(base + (count - i) * 60_000).toISOString(),
  });
}

const digestCards = () =>
  stack.connector.activities.filter(
    (a) => a.op === "create" && /need attention/.test(a.activity?.attachments?.[0]?.content?.body?.[0]?.text ?? ""),
  );

/** The customers a digest page lists, in order (each line starts with the bold customer). */
function listed(card: any): string[] {
  const out: string[] = [];
  walk(card, (n) => {
    if (n?.type === "TextBlock" && typeof n.text === "string") {
      const m = /^\*\*([a-z0-9-]+)\*\* · /.exec(n.text);
      if (m) out.push(m[1]!);
    }
  });
  return out;
}

/** Every page of a digest, by pressing Next page as a person would, until it wraps to the first. */
async function readAllPages(activityId: string) {
  const pages: any[] = [stack.cardOf(activityId)];
  for (let i = 0; i < 100; i++) {
    const next = findAction(pages.at(-1), "Next page");
    if (!next) break;
    const answer = await stack.press(activityId, "Next page");
    expect(answer.status).toBe(200);
    pages.push(answer.card);
  }
  return pages;
}

describe("reminder digests", () => {
  it("300 due in one channel: one digest, every registration listed exactly once across its pages, soonest first, no 429 after the first", async () => {
    const seeded = await seedDue(300);
    // Other traffic of the bot has just used the channel's 60 messages per 30 s: the digest meets a
    // 429 it could not foresee, waits out its Retry-After, and nothing it sends meets another.
    const busy = `${CHANNEL.channelId};messageid=busy`;
    await fillChannelBudget(stack.connector.url, busy, 60);
    const before = stack.connector.activities.length;
    const result = await sweepNow();
    const ours = () => stack.connector.throttled.filter((t) => t.conversationId !== busy);
    expect(ours()).toHaveLength(1);
    expect(ours()[0]).toMatchObject({ afterFirst: false, method: "POST" });
    expect(result).toMatchObject({ due: 300, sent: 300, failures: [] });
    // One message into the channel (not 300 cards).
    const posted = stack.connector.activities.slice(before).filter((a) => a.op === "create");
    expect(posted).toHaveLength(1);
    expect(posted[0]!.conversationId).toContain(CHANNEL.channelId);
    const [digest] = digestCards();
    const first = digest!.activity.attachments[0].content;
    expect(first.body[0].text).toBe("300 secrets in this conversation need attention");
    expect(first.actions.map((a: any) => a.title)).toEqual(["Next page", "Rotate all"]);

    const pages = await readAllPages(digest!.activityId);
    expect(pages.length).toBeGreaterThan(1);
    const all = pages.flatMap(listed);
    const soonestFirst = [...seeded].sort((a, b) => a.endDateTime.localeCompare(b.endDateTime)).map((s) => s.customer);
    expect(all).toEqual(soonestFirst);
    expect(new Set(all).size).toBe(300);
    for (const page of pages) {
      // Each line: Rotate secret and Snooze.
      let rotate = 0;
      let snooze = 0;
      walk(page, (n) => {
        if (n?.title === "Rotate secret") rotate++;
        if (n?.title === "Snooze") snooze++;
      });
      expect(rotate).toBe(listed(page).length);
      expect(snooze).toBe(listed(page).length);
    }
    // Counted as sent once, for each registration (invariant 7), and never listed again.
    const audits = await Promise.all(
      seeded.slice(0, 5).map((s) => stack.bot.repo.listAudit(s.customer, { limit: 20 })),
    );
    for (const a of audits) expect(a.events.filter((e) => e.action === "reminder.sent")).toHaveLength(1);
    expect(await sweepNow()).toMatchObject({ sent: 0 });
    clock.t += DAY;
    expect(await sweepNow()).toMatchObject({ sent: 0 });
    expect(digestCards()).toHaveLength(1);
    expect(stack.connector.refused).toHaveLength(0);
    // The page updates (Next page, pressed in quick succession) went through the same queue.
    expect(ours()).toHaveLength(1);
    expect(stack.connector.throttledAfterFirst()).toBe(0);
  }, 120_000);

  it("a digest refused by the connector (503) is delivered by the next sweep, listing each registration once", async () => {
    await seedDue(4);
    stack.connector.failNextPosts(100, 503);
    const refused = await sweepNow();
    stack.connector.failNextPosts(0);
    expect(refused).toMatchObject({ due: 4, sent: 0 });
    expect(refused.failures.join(" ")).toMatch(/digest of 4 reminders/);
    expect(digestCards()).toHaveLength(0);

    const again = await sweepNow();
    expect(again).toMatchObject({ due: 4, sent: 4, failures: [] });
    expect(digestCards()).toHaveLength(1);
    expect(listed(digestCards()[0]!.activity.attachments[0].content)).toHaveLength(4);
    expect(await sweepNow()).toMatchObject({ sent: 0 });
    expect(digestCards()).toHaveLength(1);
  });

  it("a single due registration keeps the reminder card", async () => {
    await seedDue(1);
    expect(await sweepNow()).toMatchObject({ sent: 1 });
    expect(digestCards()).toHaveLength(0);
    expect(stack.lastCardMessage().card.body[0].text).toMatch(/^The ump secret of cust-001 expires in 26 days$/);
  });

  it("Snooze on a digest line snoozes that secret only, and everyone sees the line marked", async () => {
    const seeded = await seedDue(3);
    await sweepNow();
    const [digest] = digestCards();
    const soonest = [...seeded].sort((a, b) => a.endDateTime.localeCompare(b.endDateTime))[0]!;
    // A bystander (neither an approver nor the registration's requester) may not snooze (issue 20).
    const refused = await stack.press(digest!.activityId, "Snooze", { user: USERS.bystander });
    expect(refused.text ?? cardText(refused.card)).toMatch(/approver|requester/i);
    expect(await stack.bot.repo.getSnooze(soonest.keyId)).toBeNull();
    const answer = await stack.press(digest!.activityId, "Snooze", { user: USERS.approver });
    expect(answer.status).toBe(200);
    const until = new Date(clock.t + 7 * DAY).toISOString().slice(0, 10);
    expect(cardText(answer.card)).toContain(`${USERS.approver.name} snoozed ${soonest.customer} until ${until}.`);
    expect(cardText(answer.card)).toMatch(
      new RegExp(`${soonest.customer}.* snoozed until ${until} by ${USERS.approver.name}`),
    );
    // Everyone: the shared card was updated.
    const shared = await stack.waitForCard(digest!.activityId, (c) => /snoozed until/.test(cardText(c)));
    expect(listed(shared)).toHaveLength(3);
    const record = await stack.bot.repo.getSnooze(soonest.keyId);
    expect(record?.by).toMatchObject({ id: USERS.approver.aadObjectId });
    const others = seeded.filter((s) => s.keyId !== soonest.keyId);
    for (const o of others) expect(await stack.bot.repo.getSnooze(o.keyId)).toBeNull();
    const audit = await stack.bot.repo.listAudit(soonest.customer, { limit: 20 });
    expect(audit.events.some((e) => e.action === "reminder.snoozed" && e.actor === USERS.approver.name)).toBe(true);

    // A forged line (a keyId of another customer) is refused, and nothing is written.
    const forged = await stack.press(digest!.activityId, "Snooze", {
      data: {
        digestId: findAction(shared, "Rotate all").data.digestId,
        page: 1,
        customer: others[0]!.customer,
        keyId: soonest.keyId,
      },
    });
    expect(forged.text).toMatch(/lists no such secret/);
    expect(await stack.bot.repo.getSnooze(others[0]!.keyId)).toBeNull();
  });

  it("non-ASCII display names: every digest page and Next page answer stays within 28 KB of JSON and 40 KB as UTF-16", async () => {
    const seeded = await seedDue(120);
    const names = [
      "Ünïcødé GmbH — Zürich",
      "株式会社サンプル東京本社",
      "Ελληνική Εταιρεία Α.Ε.",
      "شركة المثال",
      "🚀🚀 Rocket Corp 🚀🚀",
    ];
    for (const [i, s] of seeded.entries())
      await stack.bot.repo.saveRegistration(s.customer, (r) => ({
        ...r!,
        params: { ...r!.params, displayName: `${names[i % names.length]} ${"漢字".repeat(30)}` },
      }));
    await sweepNow();
    const [digest] = digestCards();
    const pages = await readAllPages(digest!.activityId);
    expect(pages.flatMap(listed)).toHaveLength(120);
    expect(cardText(pages[0])).toContain("株式会社サンプル東京本社");
    const largest = stack.largestSent();
    expect(largest.activityBytes).toBeLessThanOrEqual(28 * 1024);
    expect(largest.activityUtf16Bytes).toBeLessThanOrEqual(40 * 1024);
    expect(largest.invokeBytes).toBeLessThanOrEqual(28 * 1024);
    for (const page of pages) expect(JSON.stringify(page).length * 2).toBeLessThanOrEqual(40 * 1024);
  });
});
