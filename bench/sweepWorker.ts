// The bot side of the expiry-sweep benchmark, in its own process so its peak RSS is the bot's (store,
// registrations, sweep) and not the emulators'. bench/run.ts forks it, hosts the Graph and connector
// emulators, and talks to it over IPC:
//   parent → {type:"seed", …}   worker seeds the registration records, answers {type:"seeded"}
//   parent → {type:"sweep"}     worker runs one bot.sweeper.sweep(), answers {type:"swept", …}
//   parent → {type:"exit"}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config";
import { createBot, type Syncbot } from "../src/createBot";
import type { RegistrationRecord } from "../src/domain/records";
import { createLogger } from "../src/logger";

export interface SeedApp {
  id: string;
  appId: string;
  customer: string;
  keyId: string;
  endDateTime: string;
}
export type ToWorker =
  | { type: "seed"; env: Record<string, string>; connectorUrl: string; apps: SeedApp[] }
  | { type: "sweep" }
  | { type: "exit" };
export type FromWorker =
  | { type: "seeded"; ms: number; rssMb: number }
  | {
      type: "swept";
      ms: number;
      peakRssMb: number;
      baselineRssMb: number;
      maxRssMb: number;
      applications: number;
      secrets: number;
      due: number;
      sent: number;
      failures: number;
    }
  | { type: "error"; message: string };

const MB = 1024 * 1024;
let bot: Syncbot | undefined;
let dataDir: string | undefined;

function send(msg: FromWorker) {
  process.send?.(msg);
}

async function seed(msg: Extract<ToWorker, { type: "seed" }>) {
  dataDir = mkdtempSync(join(tmpdir(), "syncbot-bench-sweep-"));
  const config = loadConfig({ ...msg.env, SQLITE_PATH: join(dataDir, "syncbot.db") });
  bot = await createBot(config, {
    logger: createLogger({ level: "error", write: (l) => process.stderr.write(`[sweep-bot] ${l}\n`) }),
  });
  const t0 = performance.now();
  const now = new Date().toISOString();
  for (const a of msg.apps) {
    // The conversation reference a real provisioning stores (TurnContext.getConversationReference),
    // pointing at the connector emulator, so due reminders are really posted.
    const record: RegistrationRecord = {
      customer: a.customer,
      params: {
        customer: a.customer,
        appName: a.customer,
        serviceProviderFqdn: "ump.example.net",
        displayName: `UMP-365 Sync App ${a.customer}`,
        umpInstance: `ump-${a.customer}`,
        secretLifetimeMonths: 24,
      },
      objectId: a.id,
      appId: a.appId,
      conversation: {
        activityId: "1700000000000",
        user: { id: "29:requester", name: "Alex Wilber", aadObjectId: "11111111-1111-4111-8111-111111111111" },
        bot: { id: "28:syncbot", name: "syncbot" },
        conversation: {
          isGroup: true,
          conversationType: "channel",
          id: "19:ops-channel@thread.tacv2;messageid=1700000000000",
          tenantId: msg.env.SP_TENANT_ID,
        },
        channelId: "msteams",
        locale: "en-US",
        serviceUrl: msg.connectorUrl,
      },
      secrets: [
        {
          keyId: a.keyId,
          service: "ump365-sync",
          runId: `seed-${a.customer}`,
          displayName: `syncbot:ump365-sync:seed-${a.customer}`,
          hint: "abc",
          endDateTime: a.endDateTime,
          fingerprint: "sha256:0000000000000000",
          createdAt: now,
          status: "active",
        },
      ],
      createdAt: now,
      updatedAt: now,
    };
    await bot.repo.saveRegistration(a.customer, () => record);
  }
  const ms = performance.now() - t0;
  // Let the seeding garbage go before the sweep's baseline is taken.
  (globalThis as { gc?: () => void }).gc?.();
  send({ type: "seeded", ms, rssMb: process.memoryUsage().rss / MB });
}

async function sweep() {
  if (!bot) throw new Error("not seeded");
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage().rss;
    if (rss > peak) peak = rss;
  }, 20);
  const t0 = performance.now();
  const result = await bot.sweeper.sweep();
  const ms = performance.now() - t0;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  send({
    type: "swept",
    ms,
    peakRssMb: peak / MB,
    baselineRssMb: baseline / MB,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    applications: result.applications,
    secrets: result.secrets,
    due: result.due.length,
    sent: result.sent,
    failures: result.failures.length,
  });
}

process.on("message", (msg: ToWorker) => {
  const run = async () => {
    if (msg.type === "seed") await seed(msg);
    else if (msg.type === "sweep") await sweep();
    else {
      await bot?.close().catch(() => undefined);
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    }
  };
  run().catch((e) => {
    send({ type: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  });
});
