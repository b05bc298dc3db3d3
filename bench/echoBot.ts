// A bare botbuilder echo bot: CloudAdapter in anonymous mode (no app id) on restify, the same HTTP stack
// syncbot uses, so the turn-overhead benchmark compares syncbot's `help` turn against the cost of the
// framework alone. It replies to whatever serviceUrl the activity names (the connector emulator).

import type { AddressInfo } from "node:net";
import { CloudAdapter, ConfigurationBotFrameworkAuthentication, type TurnContext } from "botbuilder";
import restify from "restify";

export interface EchoBot {
  url: string;
  close(): Promise<void>;
}

export async function startEchoBot(): Promise<EchoBot> {
  const auth = new ConfigurationBotFrameworkAuthentication({ MicrosoftAppId: "", MicrosoftAppPassword: "" } as never);
  const adapter = new CloudAdapter(auth);
  adapter.onTurnError = async (_context, error) => {
    process.stderr.write(`echo bot turn error: ${String(error)}\n`);
  };
  const server = restify.createServer({ name: "echo", handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser({ mapParams: false, maxBodySize: 256 * 1024 }));
  server.post("/api/messages", async (req, res) => {
    await adapter.process(req as never, res as never, async (context: TurnContext) => {
      if (context.activity.type === "message") await context.sendActivity(`Echo: ${context.activity.text ?? ""}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
