// `npm run dev`: the offline demo. Starts the Graph and UMP emulators, the bot on :3978 and the
// Microsoft 365 Agents Playground on :56150, prints the URL to open, and stops everything on Ctrl-C.
// DEV_BOT_PORT, DEV_GRAPH_PORT, DEV_UMP_PORT and DEV_PLAYGROUND_PORT move a part off a taken port.

import { join } from "node:path";
import { DEV_PORT_VARIABLES, startDevStack } from "./devStack";

function portFromEnv(part: keyof typeof DEV_PORT_VARIABLES): number | undefined {
  const name = DEV_PORT_VARIABLES[part];
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name}=${raw} is not a port (1 to 65535)`);
  return port;
}

async function main() {
  const root = join(__dirname, "..");
  const stack = await startDevStack({
    root,
    botPort: portFromEnv("bot"),
    graphPort: portFromEnv("graph"),
    umpPort: portFromEnv("ump"),
    playgroundPort: portFromEnv("playground"),
  });
  const line = "-".repeat(72);
  process.stdout.write(
    `\n${line}\n syncbot dev stack is up (offline: every Microsoft service is emulated)\n\n` +
      `  Open:      ${stack.playgroundUrl}\n` +
      `  Then type in the Ops channel:  @syncbot provision contoso\n` +
      `  Bot:       ${stack.botUrl}/api/messages   Graph emulator: ${stack.graph.graphBaseUrl}   UMP emulator: ${stack.ump.url}\n` +
      `  Entra stand-in: ${stack.graph.entra.authorityHost} (syncbot signs in with a client secret, as in production)\n` +
      `  You are Megan Bowen, a Global Administrator; self-approval is ON in dev (four-eyes off).\n` +
      `  Every start is a fresh tenant, UMP and store (.data/syncbot.db is emptied).\n` +
      `  Ctrl-C stops everything.\n${line}\n\n`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nstopping…\n");
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((e) => {
  process.stderr.write(`npm run dev failed:\n${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
