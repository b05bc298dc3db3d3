// `npm run doctor`: syncbot's own standing, the same checks as the `doctor` chat command, for a
// deployment pipeline. Builds the bot as `npm start` does, without listening; one line per check on
// stdout, log lines on stderr. Exit codes: 0 no failure (warnings allowed), 1 a check failed, 2 bad
// configuration.

import { type DoctorLine, doctorFailed } from "./domain/doctor/runDoctor";
import { describeError } from "./domain/errors";
import { loadCliProcess, runJob } from "./loadProcessConfig";

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
  const { config, logger, telemetry } = loaded;
  const run = async (): Promise<{ code: number; lines?: readonly DoctorLine[] }> => {
    // Loaded only now, as in the reminders job: a configuration error should not wait for botbuilder.
    const { createBot } = require("./createBot") as typeof import("./createBot");
    let bot: Awaited<ReturnType<typeof createBot>> | undefined;
    try {
      bot = await createBot(config, { logger });
      const lines = await bot.doctor();
      process.stdout.write(`${formatDoctor(lines).join("\n")}\n`);
      return { code: doctorFailed(lines) ? 1 : 0, lines };
    } catch (e) {
      process.stdout.write(`FAIL doctor: ${describeError(e).message}\n`);
      return { code: 1 };
    } finally {
      await bot?.close().catch(() => undefined);
    }
  };
  // The run's request item: how many checks passed, warned and failed (the lines' text stays on stdout).
  const count = (lines: readonly DoctorLine[], status: string) => lines.filter((l) => l.status === status).length;
  const { code } = await runJob(telemetry, "doctor", run, ({ code, lines }) => {
    const attributes: Record<string, number | boolean> = lines
      ? { ok: count(lines, "ok"), warn: count(lines, "warn"), fail: count(lines, "fail") }
      : { crashed: true };
    return { success: code === 0, attributes };
  });
  return code;
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
