// Issue 17, "Batch progress updates never exceeding the limit, under a 30-customer batch": the connector
// emulator enforces Teams' per-conversation limits (7 per 1 s, 8 per 2 s, 60 per 30 s) and answers
// every 7th post or update 412/502/504; the batch card is asked to refresh every 50 ms, far faster than
// Teams allows. Every post and update goes through the outbound queue: the connector answers no 429 at
// all, the transient answers are retried, and everyone sees the batch's final state.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEND_TO_CONVERSATION } from "../emulators/connectorRateLimits";
import { cardText, expectNoSecretIn, type Stack, startStack, USERS } from "../support/stack";

const CUSTOMERS = Array.from({ length: 30 }, (_, i) => `b${String(i + 1).padStart(2, "0")}`);
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    umpInstances: CUSTOMERS.map((c) => `ump-${c}`),
    env: { BATCH_CONCURRENCY: "6" },
    overrides: { batchCardIntervalMs: 50 },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const title = (card: any) => String(card?.body?.[0]?.text ?? "");
const progress = (card: any) => cardText(card).match(/(\d+) done · (\d+) running · (\d+) failed · (\d+) waiting/);

/** The most operations `times` put in any window of `windowMs`. */
function busiest(times: number[], windowMs: number): number {
  let most = 0;
  for (let i = 0; i < times.length; i++)
    most = Math.max(most, times.filter((t) => t >= times[i]! && t < times[i]! + windowMs).length);
  return most;
}

describe("batch progress within Teams' rate limits", () => {
  it("a 30-customer batch: no 429, transient answers retried, the final state of the card arrives", async () => {
    expect(stack.connector.throttled).toEqual([]);
    stack.connector.transientFaults({ every: 7 });
    // Graph answers as slowly as a real tenant's: the batch lasts seconds on any machine, so the card
    // has to move on across several 2 s windows (on a fast machine it finished within one or two).
    stack.graph.setLatency(150);

    await stack.say(`provision ${CUSTOMERS.join(" ")}`);
    const { activityId } = stack.lastCardMessage();
    expect((await stack.press(activityId, "Review plan")).status).toBe(200);
    await stack.waitForCard(activityId, (c) => /waiting for approval/.test(title(c)), 60_000);
    const approved = await stack.press(activityId, "Approve", { user: USERS.approver });
    expect(approved.status).toBe(200);

    const finished = await stack.waitForCard(activityId, (c) => progress(c)?.[1] === "30", 180_000);
    expect(progress(finished)?.slice(1)).toEqual(["30", "0", "0", "0"]);
    for (const c of CUSTOMERS) expect(cardText(finished)).toMatch(new RegExp(`\\*\\*${c}\\*\\*: done · client id`));
    // Nothing waits in the queue that could still overwrite it.
    await new Promise((r) => setTimeout(r, 500));
    expect(progress(stack.cardOf(activityId))?.slice(1)).toEqual(["30", "0", "0", "0"]);

    // The card moved on many times, and not one operation met a 429: the queue kept every window.
    const updates = stack.connector.activities.filter((a) => a.op === "update" && a.activityId === activityId);
    expect(updates.length).toBeGreaterThan(8);
    expect(stack.connector.throttled).toEqual([]);
    const times = stack.connector.activities.filter((a) => a.op !== "delete").map((a) => a.at);
    for (const w of SEND_TO_CONVERSATION.slice(0, 3)) expect(busiest(times, w.windowMs)).toBeLessThanOrEqual(w.count);
    // The transient mode did refuse some, and each was sent again.
    expect(stack.connector.faulted.length).toBeGreaterThan(0);
    expect(stack.connector.refused).toEqual([]);
    expectNoSecretIn(stack.everything(), stack.graph.issuedSecrets());
  }, 300_000);
});
