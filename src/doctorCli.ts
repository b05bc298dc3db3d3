// `npm run doctor`: syncbot's own standing, the same checks as the `doctor` chat command, for a
// deployment pipeline. Builds the bot as `npm start` does, without listening; one line per check on
// stdout, log lines on stderr. Exit codes: 0 no failure (warnings allowed), 1 a check failed, 2 bad
// configuration.

import { type DoctorLine, doctorFailed } from "./domain/doctor/runDoctor";
import { describeError } from "./domain/errors";
import { loadCliProcess } from "./loadProcessConfig";

export function formatDoctor(lines: readonly DoctorLine[]): string[] {
  return lines.map(
    (l) => `${l.status.toUpperCase().padEnd(4)} ${l.check}: ${l.detail}${l.todo ? ` (what to do: ${l.todo})` : ""}`,
  );
}

async function main(): Promise<number> {
  const loaded = loadCliProcess();
  if ("error" in loaded) {
    process.stderr.write(`${loaded.error}\n`);
    return 2;
  }
  const { config, logger } = loaded;
  // Loaded only now, as in the reminders job: a configuration error should not wait for botbuilder.
  const { createBot } = require("./createBot") as typeof import("./createBot");
  let bot: Awaited<ReturnType<typeof createBot>> | undefined;
  try {
    bot = await createBot(config, { logger });
    const lines = await bot.doctor();
    process.stdout.write(`${formatDoctor(lines).join("\n")}\n`);
    return doctorFailed(lines) ? 1 : 0;
  } catch (e) {
    process.stdout.write(`FAIL doctor: ${describeError(e).message}\n`);
    return 1;
  } finally {
    await bot?.close().catch(() => undefined);
  }
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
