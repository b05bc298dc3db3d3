// `npm run dev`: the offline demo. Starts the Graph and UMP emulators, the bot on :3978 and the
// Microsoft 365 Agents Playground on :56150, prints the URL to open, and stops everything on Ctrl-C.

import { join } from "node:path";
import { startDevStack } from "./devStack";

async function main() {
  const root = join(__dirname, "..");
  const stack = await startDevStack({ root });
  const line = "-".repeat(72);
  process.stdout.write(
    `\n${line}\n syncbot dev stack is up (offline: every Microsoft service is emulated)\n\n` +
      `  Open:      ${stack.playgroundUrl}\n` +
      `  Then type in the Ops channel:  @syncbot provision contoso\n` +
      `  Bot:       ${stack.botUrl}/api/messages   Graph emulator: ${stack.graph.graphBaseUrl}   UMP emulator: ${stack.ump.url}\n` +
      `  You are Megan Bowen, a Global Administrator; self-approval is ON in dev (four-eyes off).\n` +
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
  process.stderr.write(`npm run dev failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
