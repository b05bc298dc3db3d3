// The outbound queue (issue 17) on a fake clock: each conversation's sends stay within Teams' documented
// per-conversation windows (a channel's reply chains sharing one budget) and the app's 50 per second,
// a 429 holds the conversation for its Retry-After, 412/502/504 are retried with bounded, jittered
// backoff, and updates of one message waiting in the queue are coalesced so the newest state is sent.

import { describe, expect, it } from "vitest";
import {
  CONVERSATION_WINDOWS,
  conversationScope,
  createOutboundQueue,
  SEND_ATTEMPTS,
  SEND_BACKOFF_MS,
} from "../../src/bot/createOutboundQueue";

/** A clock whose sleepers wake in time order as soon as nothing else can run. */
function fakeClock() {
  let t = 1_000_000;
  const sleepers: Array<{ at: number; wake: () => void }> = [];
  const flush = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return {
    now: () => t,
    sleep: (ms: number) =>
      new Promise<void>((wake) => {
        sleepers.push({ at: t + Math.max(0, ms), wake });
      }),
    /** Runs until `done` settles, advancing time only when every task waits. */
    async run<T>(done: Promise<T>): Promise<T> {
      let settled = false;
      const watched = done.finally(() => {
        settled = true;
      });
      watched.catch(() => {});
      for (let guard = 0; guard < 100_000; guard++) {
        await flush();
        if (settled) return done;
        sleepers.sort((a, b) => a.at - b.at);
        const next = sleepers.shift();
        if (!next) break;
        t = Math.max(t, next.at);
        next.wake();
      }
      await flush();
      if (!settled) throw new Error("fake clock: nothing left to run and the work did not finish");
      return done;
    },
  };
}

/** An HTTP failure as the connector post reports it. */
const failure = (status: number, retryAfterMs?: number) =>
  Object.assign(new Error(`Bot Connector answered ${status}`), { status, retryAfterMs });

/** The most sends `times` put in any window of `windowMs`. */
function busiest(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0; i < sorted.length; i++) {
    let n = 0;
    for (let j = i; j < sorted.length && sorted[j]! < sorted[i]! + windowMs; j++) n++;
    most = Math.max(most, n);
  }
  return most;
}

describe("outbound queue", () => {
  it("reads a reply chain's conversation id as its channel", () => {
    expect(conversationScope("19:abc@thread.tacv2;messageid=1712345678901")).toBe("19:abc@thread.tacv2");
    expect(conversationScope("a:1PersonalChat")).toBe("a:1PersonalChat");
  });

  it("keeps 70 sends into one channel (its reply chains included) within every per-conversation window", async () => {
    const clock = fakeClock();
    const queue = createOutboundQueue({ now: clock.now, sleep: clock.sleep, random: () => 0.5 });
    const sentAt: number[] = [];
    const order: number[] = [];
    const all = Array.from({ length: 70 }, (_, i) =>
      queue.send(`19:ops@thread.tacv2${i % 2 ? `;messageid=${i}` : ""}`, async () => {
        sentAt.push(clock.now());
        order.push(i);
        return `id-${i}`;
      }),
    );
    const ids = await clock.run(Promise.all(all));
    expect(ids).toEqual(Array.from({ length: 70 }, (_, i) => `id-${i}`));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    for (const w of CONVERSATION_WINDOWS) expect(busiest(sentAt, w.windowMs)).toBeLessThanOrEqual(w.count);
    // Not slower than the windows demand: 60 in the first 30 s, the 61st just after.
    expect(busiest(sentAt, 30_000)).toBe(60);
    expect(sentAt[60]! - sentAt[0]!).toBeLessThan(30_100);
  });

  it("lets other conversations through, up to 50 requests per second for the app", async () => {
    const clock = fakeClock();
    const queue = createOutboundQueue({ now: clock.now, sleep: clock.sleep });
    const sentAt: number[] = [];
    const start = clock.now();
    await clock.run(
      Promise.all(
        Array.from({ length: 120 }, (_, i) =>
          queue.send(`a:chat-${i}`, async () => {
            sentAt.push(clock.now());
          }),
        ),
      ),
    );
    expect(busiest(sentAt, 1000)).toBe(50);
    expect(sentAt.filter((t) => t === start)).toHaveLength(50);
  });

  it("holds the whole conversation for a 429's Retry-After, then sends everything in order", async () => {
    const clock = fakeClock();
    const queue = createOutboundQueue({ now: clock.now, sleep: clock.sleep });
    const attempts: Array<{ n: number; at: number }> = [];
    let throttled = false;
    const start = clock.now();
    const first = queue.send("19:c@thread.tacv2", async () => {
      attempts.push({ n: 1, at: clock.now() });
      if (!throttled) {
        throttled = true;
        throw failure(429, 3000);
      }
      return "one";
    });
    const second = queue.send("19:c@thread.tacv2;messageid=9", async () => {
      attempts.push({ n: 2, at: clock.now() });
      return "two";
    });
    expect(await clock.run(Promise.all([first, second]))).toEqual(["one", "two"]);
    expect(attempts).toEqual([
      { n: 1, at: start },
      { n: 1, at: start + 3000 },
      { n: 2, at: start + 3000 },
    ]);
  });

  it("retries 412, 502 and 504 with jittered exponential backoff, a bounded number of times", async () => {
    const clock = fakeClock();
    const queue = createOutboundQueue({ now: clock.now, sleep: clock.sleep, random: () => 1 });
    const at: number[] = [];
    const statuses = [412, 502, 504];
    const ok = queue.send("19:c", async () => {
      at.push(clock.now());
      const s = statuses.shift();
      if (s) throw failure(s);
      return "done";
    });
    expect(await clock.run(ok)).toBe("done");
    // 500 ms, 1 s, 2 s, each +20% (random() = 1).
    expect(at.slice(1).map((t, i) => t - at[i]!)).toEqual([600, 1200, 2400]);

    const attempts: number[] = [];
    const failing = queue.send("19:c", async () => {
      attempts.push(clock.now());
      throw failure(502);
    });
    await expect(clock.run(failing)).rejects.toMatchObject({ status: 502 });
    expect(attempts).toHaveLength(SEND_ATTEMPTS);

    let badRequests = 0;
    const refused = queue.send("19:c", async () => {
      badRequests++;
      throw failure(400);
    });
    await expect(clock.run(refused)).rejects.toMatchObject({ status: 400 });
    expect(badRequests).toBe(1);
    expect(SEND_BACKOFF_MS).toBe(500);
  });

  it("does not wait out a Retry-After over a minute: the send fails now", async () => {
    const clock = fakeClock();
    const queue = createOutboundQueue({ now: clock.now, sleep: clock.sleep });
    const start = clock.now();
    await expect(
      clock.run(
        queue.send("19:c", async () => {
          throw failure(429, 120_000);
        }),
      ),
    ).rejects.toMatchObject({ status: 429 });
    expect(clock.now()).toBe(start);
  });

  it("puts a reply a person waits for ahead of background sends still waiting, behind the one on the wire", async () => {
    const clock = fakeClock();
    const queue = createOutboundQueue({ now: clock.now, sleep: clock.sleep });
    const wire: string[] = [];
    const op = (label: string) => async () => {
      await clock.sleep(100);
      wire.push(label);
    };
    const all = Promise.all([
      queue.send("19:c", op("reminder 1")),
      queue.send("19:c", op("reminder 2")),
      queue.send("19:c", op("reminder 3")),
      queue.send("19:c", op("reply A"), { interactive: true }),
      queue.send("19:c", op("reply B"), { interactive: true }),
    ]);
    await clock.run(all);
    expect(wire).toEqual(["reminder 1", "reply A", "reply B", "reminder 2", "reminder 3"]);
  });

  it("a reply arriving while the head send waits for room in a window is sent, and the head send once", async () => {
    const clock = fakeClock();
    const queue = createOutboundQueue({ now: clock.now, sleep: clock.sleep });
    const wire: string[] = [];
    const op = (label: string) => async () => {
      wire.push(label);
      return label;
    };
    // Fill the 1 s window, so the next background update waits for room (not yet on the wire).
    await clock.run(Promise.all(Array.from({ length: 7 }, (_, i) => queue.send("19:c", op(`update ${i}`)))));
    const waiting = queue.send("19:c", op("update 7"));
    for (let i = 0; i < 20; i++) await Promise.resolve();
    const reply = queue.send("19:c", op("reply"), { interactive: true });
    await clock.run(Promise.all([waiting, reply]));
    expect(wire.filter((w) => w === "update 7")).toHaveLength(1);
    expect(wire).toContain("reply");
    expect(wire.indexOf("reply")).toBeLessThan(wire.indexOf("update 7"));
    expect(queue.pending()).toBe(0);
  });

  it("coalesces waiting updates of one message: the newest state is sent, every caller resolves", async () => {
    const clock = fakeClock();
    const queue = createOutboundQueue({ now: clock.now, sleep: clock.sleep });
    const wire: string[] = [];
    const slow = (label: string) => async () => {
      await clock.sleep(100);
      wire.push(label);
      return label;
    };
    const results = Promise.all([
      queue.send("19:c", slow("update card-1 v1"), { coalesce: "update:card-1" }),
      queue.send("19:c", slow("post reminder"), {}),
      queue.send("19:c", slow("update card-1 v2"), { coalesce: "update:card-1" }),
      queue.send("19:c", slow("update card-1 v3"), { coalesce: "update:card-1" }),
      queue.send("19:c", slow("update card-2 v1"), { coalesce: "update:card-2" }),
    ]);
    // v1 is on the wire when v2 and v3 arrive; v2 waits in the queue and is replaced by v3.
    expect(await clock.run(results)).toEqual([
      "update card-1 v1",
      "post reminder",
      "update card-1 v3",
      "update card-1 v3",
      "update card-2 v1",
    ]);
    expect(wire).toEqual(["update card-1 v1", "post reminder", "update card-1 v3", "update card-2 v1"]);
    expect(queue.pending()).toBe(0);
  });
});
