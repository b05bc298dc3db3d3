// The bot side of the expiry-sweep benchmark, in its own process so its peak RSS is the bot's (store,
// registrations, sweep) and nothing else's: bench/run.ts seeds the SQLite file beforehand (in its own
// process, so the seeding's garbage is not counted), hosts the Graph and connector emulators, forks
// this worker on the seeded file and talks to it over IPC:
//   parent → {type:"open", …}   worker builds the bot on the seeded file, answers {type:"opened"}
//   parent → {type:"sweep"}     worker runs one bot.sweeper.sweep(), answers {type:"swept", …}
//   parent → {type:"exit"}

import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { loadConfig } from "../src/config";
import { createBot, type Syncbot } from "../src/createBot";
import { createLogger } from "../src/logger";

export type ToWorker =
  | { type: "open"; env: Record<string, string>; sqlitePath: string }
  | { type: "sweep" }
  | { type: "exit" };
export type FromWorker =
  | { type: "opened"; rssMb: number; heapMb: number }
  | {
      type: "swept";
      ms: number;
      peakRssMb: number;
      baselineRssMb: number;
      peakHeapMb: number;
      /** JS heap once the sweep is over and garbage collected: what the sweep left behind. */
      heapAfterGcMb: number;
      applications: number;
      secrets: number;
      due: number;
      sent: number;
      failures: number;
    }
  | { type: "error"; message: string };

const MB = 1024 * 1024;
let bot: Syncbot | undefined;

function send(msg: FromWorker) {
  process.send?.(msg);
}

async function open(msg: Extract<ToWorker, { type: "open" }>) {
  const config = loadConfig({ ...msg.env, SQLITE_PATH: msg.sqlitePath });
  bot = await createBot(config, {
    logger: createLogger({ level: "error", write: (l) => process.stderr.write(`[sweep-bot] ${l}\n`) }),
  });
  (globalThis as { gc?: () => void }).gc?.();
  send({ type: "opened", rssMb: process.memoryUsage().rss / MB, heapMb: process.memoryUsage().heapUsed / MB });
}

async function sweep() {
  if (!bot) throw new Error("not opened");
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let peakHeap = process.memoryUsage().heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > peak) peak = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  };
  // BENCH_SWEEP_ALLOC_PROFILE=<file>: where the sweep allocates, garbage included (a .heapprofile for
  // Chrome DevTools); a diagnostic, it slows the sweep.
  const profilePath = process.env.BENCH_SWEEP_ALLOC_PROFILE;
  const inspector = profilePath ? new Session() : undefined;
  if (inspector) {
    inspector.connect();
    await inspector.post("HeapProfiler.startSampling", {
      samplingInterval: 16_384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
  }
  const sampler = setInterval(sample, 20);
  const t0 = performance.now();
  const result = await bot.sweeper.sweep();
  const ms = performance.now() - t0;
  if (inspector && profilePath) {
    const { profile } = (await inspector.post("HeapProfiler.stopSampling")) as { profile: unknown };
    writeFileSync(profilePath, JSON.stringify(profile));
    inspector.disconnect();
  }
  clearInterval(sampler);
  sample();
  (globalThis as { gc?: () => void }).gc?.();
  const heapAfterGc = process.memoryUsage().heapUsed;
  send({
    type: "swept",
    ms,
    peakRssMb: peak / MB,
    baselineRssMb: baseline / MB,
    peakHeapMb: peakHeap / MB,
    heapAfterGcMb: heapAfterGc / MB,
    applications: result.applications,
    secrets: result.secrets,
    due: result.due.length,
    sent: result.sent,
    failures: result.failures.length,
  });
}

process.on("message", (msg: ToWorker) => {
  const run = async () => {
    if (msg.type === "open") await open(msg);
    else if (msg.type === "sweep") await sweep();
    else {
      await bot?.close().catch(() => undefined);
      process.exit(0);
    }
  };
  run().catch((e) => {
    send({ type: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  });
});
