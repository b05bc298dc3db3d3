// One throttling state per service (issue 13): a 429 from Graph pauses every request of the same
// directory until its Retry-After has passed. Workers share one directory; the control runs the same
// workers each with its own directory (each discovering the throttling alone) and must see more 429s.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGraphDirectory } from "../../src/graph/createGraphDirectory";
import { type GraphEmulator, startGraphEmulator } from "../emulators/graphEmulator";
import { startThrottleStorm } from "../support/throttleStorm";

const TENANT = "11111111-2222-3333-4444-555555555555";
const WORKERS = 6;
const CALLS = 8;
const WINDOW_MS = 600;
const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let emu: GraphEmulator;
beforeAll(async () => {
  emu = await startGraphEmulator({ tenantId: TENANT });
  emu.seedApplications(4);
});
afterAll(async () => {
  await emu.close();
});

const newDirectory = () =>
  createGraphDirectory({ baseUrl: emu.graphBaseUrl, credential: null, retry: { maxAttempts: 10 }, sleep: realSleep });

/** WORKERS loops of CALLS reads each, with a little local work between reads, as runs do. */
async function storm(shared: boolean) {
  // 100 ms slack: on a loaded machine a request already on the wire can arrive that late.
  const storm = startThrottleStorm(emu, { slackMs: 100 });
  const one = newDirectory();
  let done = 0;
  const worker = async (w: number) => {
    const dir = shared ? one : newDirectory();
    for (let i = 0; i < CALLS; i++) {
      await dir.getApplicationByUniqueName(`syncbot-w${w}-${i}`);
      done++;
      // The storm begins once the workers are under way.
      if (done === WORKERS * 2) storm.open(WINDOW_MS);
      await realSleep(20 + w * 40);
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  const result = {
    shared,
    ms: Date.now() - t0,
    throttled: storm.throttled,
    afterSignal: storm.afterSignal,
    requests: storm.graphRequests,
    windows: storm.windows,
  };
  storm.stop();
  console.log("429 storm", JSON.stringify(result));
  return result;
}

describe("a 429 storm", () => {
  it("pauses every worker together: no 429 is collected after the first one was answered", async () => {
    const shared = await storm(true);
    // Every call succeeded (getApplicationByUniqueName would have thrown `throttled`), through one window.
    expect(shared.windows).toBe(1);
    expect(shared.requests).toBe(WORKERS * CALLS + shared.throttled);
    // At most the requests already on the wire when the first 429 left; none sent after it.
    expect(shared.throttled).toBeGreaterThanOrEqual(1);
    expect(shared.throttled).toBeLessThanOrEqual(WORKERS);
    expect(shared.afterSignal).toBe(0);
    // The pause was honoured, not skipped.
    expect(shared.ms).toBeGreaterThanOrEqual(WINDOW_MS);
  });

  it("control: workers that each discover the throttling alone collect more 429s", async () => {
    const alone = await storm(false);
    const shared = await storm(true);
    // Each worker alone collects its own 429 in the window (how many arrive after the first answer
    // depends on machine load, so the robust measure is the total).
    expect(alone.throttled).toBeGreaterThan(shared.throttled);
    expect(alone.throttled).toBeGreaterThanOrEqual(WORKERS - 1);
    expect(alone.afterSignal).toBeGreaterThanOrEqual(shared.afterSignal);
  });
});
