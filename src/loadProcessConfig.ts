// loadProcessConfig: how a syncbot process (the bot, the reminders job) reads its configuration:
// `.env` outside production, then loadConfig; a bad configuration comes back as one printable message.

import { type Config, loadConfig } from "./config";
import { isSyncbotError } from "./domain/errors";

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
