// loadProcessConfig: how a syncbot process (the bot, the reminders job) reads its configuration:
// `.env` outside production, then loadConfig; a bad configuration comes back as one printable message.
// A CLI also starts telemetry here (before it loads the bot), so its run reaches Application Insights
// like the bot's requests do.

import { type Config, loadConfig } from "./config";
import { isSyncbotError } from "./domain/errors";
import type { Logger } from "./domain/ports";
import { createLogger } from "./logger";
import { type RunOutcome, startTelemetry, type Telemetry } from "./telemetry";

export function loadProcessConfig(
  env: NodeJS.ProcessEnv = process.env,
): { config: Readonly<Config> } | { error: string } {
  if (env.NODE_ENV !== "production") {
    try {
      require("dotenv").config({ quiet: true });
    } catch {}
  }
  try {
    return { config: loadConfig(env) };
  } catch (e) {
    return { error: isSyncbotError(e) ? e.message : String(e) };
  }
}

/**
 * A one-shot CLI (reminders, doctor): its configuration, a logger on stderr so stdout stays its answer,
 * and telemetry when APPLICATIONINSIGHTS_CONNECTION_STRING is set (log records included).
 */
export function loadCliProcess(
  env: NodeJS.ProcessEnv = process.env,
): { config: Readonly<Config>; logger: Logger; telemetry?: Telemetry } | { error: string } {
  const loaded = loadProcessConfig(env);
  if ("error" in loaded) return loaded;
  const telemetry = startTelemetry(loaded.config.applicationInsightsConnectionString);
  const logger = createLogger({
    level: loaded.config.logLevel,
    pretty: process.stderr.isTTY === true,
    write: (l) => process.stderr.write(`${l}\n`),
    sink: telemetry?.logSink,
  });
  return { config: loaded.config, logger, telemetry };
}

/** A CLI's run: a request item in Application Insights when telemetry is on, then flushed before exit. */
export async function runJob<T>(
  telemetry: Telemetry | undefined,
  name: string,
  work: () => Promise<T>,
  outcome: (result: T) => RunOutcome,
): Promise<T> {
  if (!telemetry) return work();
  try {
    return await telemetry.run(name, work, outcome);
  } finally {
    await telemetry.shutdown().catch(() => undefined);
  }
}
