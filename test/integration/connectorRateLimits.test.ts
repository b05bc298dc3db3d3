// Teams' rate limits in the connector emulator (issue 17), over HTTP with the emulator's clock in the
// test's hand: per conversation 7 per 1 s, 8 per 2 s, 60 per 30 s and 1,800 per hour, a channel's reply
// chains sharing the channel's budget and updates counting like posts; 50 requests per second per app;
// 429 with Retry-After; the count of 429s sent after the first; and the 412/502/504 mode.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ConnectorEmulator, startConnectorEmulator } from "../emulators/connectorEmulator";

const CHANNEL = "19:ops@thread.tacv2";
let clock = 0;
let connector: ConnectorEmulator;

beforeAll(async () => {
  connector = await startConnectorEmulator({ now: () => clock });
});
afterAll(() => connector.close());
beforeEach(() => {
  connector.reset();
  connector.setRateLimits(true);
  connector.transientFaults(undefined);
  clock = 1_000_000_000;
});

const message = (conversationId: string) => ({
  type: "message",
  text: "hello",
  conversation: { id: conversationId },
  from: { id: "28:bot" },
  recipient: { id: "29:user" },
});

/** POST a new activity (a reply in `conversationId`); the status and Retry-After. */
async function post(conversationId = CHANNEL) {
  const res = await fetch(
    `${connector.url}/v3/conversations/${encodeURIComponent(conversationId)}/activities/inbound-1`,
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(message(conversationId)) },
  );
  const body = await res.json().catch(() => undefined);
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: body as any };
}

async function update(activityId: string, conversationId = CHANNEL) {
  const res = await fetch(
    `${connector.url}/v3/conversations/${encodeURIComponent(conversationId)}/activities/${activityId}`,
    { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(message(conversationId)) },
  );
  await res.text();
  return res.status;
}

async function posts(n: number, conversationId = CHANNEL, stepMs = 0) {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    statuses.push((await post(conversationId)).status);
    clock += stepMs;
  }
  return statuses;
}

describe("connector emulator: Teams' rate limits (on by default)", () => {
  it("7 messages per second per conversation, the channel's reply chains included; the 8th is 429 with Retry-After", async () => {
    const threads = [CHANNEL, `${CHANNEL};messageid=1`, `${CHANNEL};messageid=2`];
    for (let i = 0; i < 7; i++) expect((await post(threads[i % 3])).status).toBe(200);
    const refused = await post(`${CHANNEL};messageid=3`);
    expect(refused).toMatchObject({ status: 429, retryAfter: "1", body: { error: { code: "TooManyRequests" } } });
    // Refused means not posted.
    expect(connector.activities).toHaveLength(7);
    expect(connector.throttled).toMatchObject([{ scope: `conversation:${CHANNEL}`, kind: "send", afterFirst: false }]);
    // Another conversation has its own budget.
    expect((await post("19:other@thread.tacv2")).status).toBe(200);
    expect((await post("a:personal-chat")).status).toBe(200);
    // A second later the channel takes one more (7 per 1 s), then the 8 per 2 s window holds it.
    clock += 1000;
    expect((await post()).status).toBe(200);
    clock += 500;
    const held = await post();
    expect(held.status).toBe(429);
    expect(connector.throttled.at(-1)).toMatchObject({ afterFirst: true });
    // The window frees at the first post + 2 s: 500 ms away, answered as 1 whole second.
    expect(held.retryAfter).toBe("1");
    clock += 500;
    expect((await post()).status).toBe(200);
  });

  it("updates of a message count against the same budget as posts", async () => {
    const first = await post();
    for (let i = 0; i < 6; i++) expect(await update(first.body.id)).toBe(200);
    expect(await update(first.body.id)).toBe(429);
    expect((await post()).status).toBe(429);
    expect(connector.activities.filter((a) => a.op === "update")).toHaveLength(6);
  });

  it("60 per 30 seconds, then 1,800 per hour", async () => {
    // Two a second: within 7/1 s and 8/2 s; the 61st inside 30 s is refused until the first leaves.
    expect(await posts(60, CHANNEL, 400)).toEqual(Array(60).fill(200));
    const refused = await post();
    expect(refused.status).toBe(429);
    // First post at t0, now t0 + 24 s: 6 s until it leaves the window.
    expect(refused.retryAfter).toBe("6");

    connector.reset();
    // Two a second sustains 60 per 30 s; 1,800 of them take 15 minutes, then the hour is full.
    expect((await posts(1800, CHANNEL, 500)).every((s) => s === 200)).toBe(true);
    const hourly = await post();
    expect(hourly.status).toBe(429);
    expect(Number(hourly.retryAfter)).toBe(3600 - 900);
  }, 120_000);

  it("50 requests per second per app across conversations", async () => {
    for (let i = 0; i < 50; i++) expect((await post(`a:chat-${i}`)).status).toBe(200);
    const refused = await post("a:chat-50");
    expect(refused.status).toBe(429);
    expect(connector.throttled).toMatchObject([{ scope: "app" }]);
    clock += 1000;
    expect((await post("a:chat-50")).status).toBe(200);
  });

  it("counts the 429s sent to a client that had already been told to wait", async () => {
    await posts(7);
    // Two requests refused at the same instant: the client could not have known of the first answer.
    const [a, b] = await Promise.all([post(), post()]);
    expect([a.status, b.status]).toEqual([429, 429]);
    expect(connector.throttledAfterFirst()).toBe(0);
    clock += 10;
    expect((await post()).status).toBe(429);
    expect(connector.throttledAfterFirst()).toBe(1);
  });

  it("can be turned off for a test that measures something else", async () => {
    connector.setRateLimits(false);
    expect(await posts(20)).toEqual(Array(20).fill(200));
  });

  it("the transient mode answers every n-th post or update 412, 502, 504 in turn and applies none of them", async () => {
    connector.transientFaults({ every: 2 });
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await post(`a:chat-${i}`)).status);
      clock += 1000;
    }
    expect(statuses).toEqual([200, 412, 200, 502, 200, 504]);
    expect(connector.activities).toHaveLength(3);
    expect(connector.faulted.map((f) => f.status)).toEqual([412, 502, 504]);
  });
});
