// Entry point of `npm start`: load configuration from the environment, start telemetry when configured
// (before http/restify/botbuilder load, so their requests are traced), build the bot, listen, and
// shut down cleanly on SIGINT/SIGTERM (flushing telemetry).

import type { createBot as CreateBot } from "./createBot";
import { createLogger } from "./logger";
import { loadProcessConfig } from "./loadProcessConfig";
import { startTelemetry } from "./telemetry";

async function main() {
  const loaded = loadProcessConfig();
  if ("error" in loaded) {
    process.stderr.write(`${loaded.error}\n`);
    process.exit(2);
  }
  const { config } = loaded;
  const telemetry = startTelemetry(config.applicationInsightsConnectionString);
  // Loaded only now: the http instrumentation must be in place before restify and botbuilder load.
  const { createBot } = require("./createBot") as { createBot: typeof CreateBot };
  const logger = createLogger({
    level: config.logLevel,
    pretty: process.stdout.isTTY === true,
    sink: telemetry?.logSink,
  });
  const bot = await createBot(config, { logger });
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
    telemetry: telemetry ? "application-insights" : "off",
  });
  const stop = async (signal: string) => {
    bot.logger.info("shutting down", { signal });
    await bot.close().catch(() => undefined);
    await telemetry?.shutdown().catch(() => undefined);
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}

void main();
