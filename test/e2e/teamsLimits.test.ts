// Issue 9, "stay under the size limit": Teams refuses a bot message over its limit with 413
// MessageSizeTooBig (the connector emulator does too, above 80 KB counted as UTF-16). syncbot keeps
// every activity under 28 KB of JSON whatever the number of customers or history entries: `status`
// answers with a summary (soonest expiries first) and pages the rest with **Next page**; history pages
// likewise; long free text is cut with an ellipsis.

import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  cardText,
  expectNoSecretIn,
  findAction,
  type SeededRegistration,
  type Stack,
  startStack,
  USERS,
} from "../support/stack";

const LIMIT = 28 * 1024;
const MAX_PAGES = 60;

let stack: Stack | undefined;
afterEach(async () => {
  if (stack) {
    // Nothing sent was refused, and nothing sent (or answered to a button) exceeded 28 KB.
    expect(stack.connector.refused.map((r) => r.bytes)).toEqual([]);
    const largest = stack.largestSent();
    expect(largest.activityBytes).toBeLessThanOrEqual(LIMIT);
    expect(largest.invokeBytes).toBeLessThanOrEqual(LIMIT);
    expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  }
  await stack?.stop();
  stack = undefined;
});

/** Says `text` and waits (bounded) for the bot's first reply with a card, or a refusal by the connector. */
async function ask(s: Stack, text: string) {
  const before = s.connector.activities.length;
  const refusedBefore = s.connector.refused.length;
  await s.say(text, { user: USERS.requester });
  await s.connector.waitFor(
    () =>
      s.connector.refused.length > refusedBefore ||
      s.connector.activities.slice(before).some((a) => a.op === "create" && a.activity?.attachments?.length)
        ? true
        : undefined,
    10_000,
  );
  expect(s.connector.refused.slice(refusedBefore).map((r) => `${r.op} of ${r.bytes} bytes refused`)).toEqual([]);
  return s.connector.activities.slice(before).find((a) => a.op === "create" && a.activity?.attachments?.length)!;
}

/** Presses Next page as `user` until there is none; the card text of every page, first included. */
async function allPages(s: Stack, activityId: string) {
  const user = USERS.requester;
  let card = (await s.viewOf(user, activityId))?.card;
  const pages = [cardText(card)];
  for (let i = 0; findAction(card, "Next page") && i < MAX_PAGES; i++) {
    const shown = JSON.stringify(card);
    const answer = await s.press(activityId, "Next page", { user });
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeLessThan(2_000);
    card = await s.waitForView(user, activityId, (c) => JSON.stringify(c) !== shown, 5_000);
    pages.push(cardText(card));
  }
  expect(findAction(card, "Next page"), `more than ${MAX_PAGES} pages`).toBeUndefined();
  return pages;
}

const firstIndex = (text: string, names: string[]) =>
  Math.min(...names.map((n) => text.indexOf(n)).filter((i) => i >= 0));

describe("status with hundreds of customers", () => {
  it("300 registrations: nothing over 28 KB, the soonest expiry first, the rest behind Next page", async () => {
    stack = await startStack();
    const s = stack;
    const seeded: SeededRegistration[] = await s.seedRegistrations(300);
    const names = seeded.map((r) => r.customer);
    const bySoonest = [...seeded].sort((a, b) => a.endDateTime.localeCompare(b.endDateTime));
    const soonest = bySoonest[0]!;
    // The seeding order says nothing about expiry: the soonest is neither first nor last seeded.
    expect([names[0], names.at(-1)]).not.toContain(soonest.customer);

    const reply = await ask(s, "status");
    expect(reply.bytes).toBeLessThanOrEqual(LIMIT);
    const summary = cardText(reply.activity.attachments[0].content);
    expect(summary).toMatch(/\b300\b/); // the count of registrations
    // The soonest expiry is on the first card, before any other customer.
    expect(summary).toContain(soonest.customer);
    expect(firstIndex(summary, names)).toBe(summary.indexOf(soonest.customer));

    // Next page pages through the rest: every customer is reachable, no page too large.
    const pages = await allPages(s, reply.activityId);
    expect(pages.length).toBeGreaterThan(1);
    const shown = new Set(names.filter((n) => pages.some((p) => p.includes(n))));
    expect(names.filter((n) => !shown.has(n))).toEqual([]);

    // One customer on its own.
    const one = await ask(s, `status ${bySoonest[150]!.customer}`);
    const text = cardText(one.activity.attachments[0].content);
    expect(text).toContain(bySoonest[150]!.customer);
    expect(text).toContain(bySoonest[150]!.appId);
    expect(names.filter((n) => n !== bySoonest[150]!.customer && text.includes(n))).toEqual([]);
  }, 90_000);
});

describe("history paging", () => {
  it("pages the audit trail with Next page, newest first, each event once, long text cut with an ellipsis", async () => {
    stack = await startStack();
    const s = stack;
    const [reg] = await s.seedRegistrations(1);
    const customer = reg!.customer;
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    const COUNT = 95;
    const LONG = 42;
    for (let n = 1; n <= COUNT; n++)
      await s.bot.repo.audit({
        at: new Date(t0 + n * 60_000).toISOString(),
        customer,
        actor: USERS.approver.name,
        action: "graph.call",
        outcome: n === LONG ? "failed" : "info",
        correlationId: randomUUID(),
        // One Graph error message as long as Graph can make them.
        detail: n === LONG ? `evt-${n} Graph said: ${"Insufficient privileges. ".repeat(300)}` : `evt-${n} ok`,
      });

    const reply = await ask(s, `history ${customer}`);
    expect(reply.bytes).toBeLessThanOrEqual(LIMIT);
    const pages = await allPages(s, reply.activityId);
    expect(pages.length).toBeGreaterThan(1);

    const order: number[] = [];
    for (const page of pages) for (const m of page.matchAll(/evt-(\d+)\b/g)) order.push(Number(m[1]));
    // Each event exactly once across the pages, newest first.
    expect([...order].sort((a, b) => b - a)).toEqual(order);
    expect(order).toEqual(Array.from({ length: COUNT }, (_, i) => COUNT - i));

    const longPage = pages.find((p) => p.includes(`evt-${LONG} `))!;
    expect(longPage).toContain("…");
    expect(longPage).not.toContain("Insufficient privileges. ".repeat(100));
  }, 60_000);
});
