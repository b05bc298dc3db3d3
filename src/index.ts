// Entry point of `npm start`: load configuration from the environment, build the bot, listen, and
// shut down cleanly on SIGINT/SIGTERM.

import { createBot } from "./createBot";
import { loadProcessConfig } from "./loadProcessConfig";

async function main() {
  const loaded = loadProcessConfig();
  if ("error" in loaded) {
    process.stderr.write(`${loaded.error}\n`);
    process.exit(2);
  }
  const { config } = loaded;
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
