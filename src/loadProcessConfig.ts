// loadProcessConfig: how a syncbot process (the bot, the reminders job) reads its configuration:
// `.env` outside production, then loadConfig; a bad configuration comes back as one printable message.

import { type Config, loadConfig } from "./config";
import { isSyncbotError } from "./domain/errors";
import type { Logger } from "./domain/ports";
import { createLogger } from "./logger";

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

/** A one-shot CLI (reminders, doctor): its configuration, and a logger on stderr so stdout stays its answer. */
export function loadCliProcess(
  env: NodeJS.ProcessEnv = process.env,
): { config: Readonly<Config>; logger: Logger } | { error: string } {
  const loaded = loadProcessConfig(env);
  if ("error" in loaded) return loaded;
  const logger = createLogger({
    level: loaded.config.logLevel,
    pretty: process.stderr.isTTY === true,
    write: (l) => process.stderr.write(`${l}\n`),
  });
  return { config: loaded.config, logger };
}
