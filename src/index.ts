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
  // Without JWT validation anyone who reaches the port could claim any identity: loopback only then.
  const host = config.botAuth === "disabled" ? "127.0.0.1" : "0.0.0.0";
  const url = await bot.listen(config.port, host);
  if (config.botAuth === "disabled")
    bot.logger.warn("BOT_AUTH=disabled: activities are not authenticated; listening on loopback only (127.0.0.1)", {
      host,
    });
  bot.logger.info("syncbot listening", {
    url,
    host,
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
