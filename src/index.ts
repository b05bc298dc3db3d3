// Entry point of `npm start`: load configuration from the environment, build the bot, listen, and
// shut down cleanly on SIGINT/SIGTERM.

import { loadConfig } from "./config";
import { createBot } from "./createBot";
import { isSyncbotError } from "./domain/errors";

async function main() {
  if (process.env.NODE_ENV !== "production") {
    try {
      require("dotenv").config({ quiet: true });
    } catch {}
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    process.stderr.write(`${isSyncbotError(e) ? e.message : String(e)}\n`);
    process.exit(2);
  }
  const bot = await createBot(config);
  const url = await bot.listen();
  bot.logger.info("syncbot listening", {
    url,
    messages: `${url}/api/messages`,
    store: config.store.kind,
    umpTarget: config.umpTarget,
  });
  const stop = async (signal: string) => {
    bot.logger.info("shutting down", { signal });
    await bot.close().catch(() => undefined);
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

void main();
