// `npm run reminders -- [--at ISO-DATE] [--dry-run]`: one secret-expiry sweep and exit, for cron and
// container jobs. `--at` evaluates reminders as of that instant and may send them (tests, what-if); they
// are recorded apart from the real ones, and removals always follow the real clock. Builds the same bot as `npm start` (same store, same Graph and connector settings)
// without listening. The summary goes to stdout; log lines go to stderr so the summary stays readable.
// Exit codes: 0 done, 1 the sweep had failures (or crashed), 2 bad arguments or configuration.
// The secret value is never in reach here: a sweep knows secrets by keyId, hint and expiry only.

import { loadCliProcess, runJob } from "./loadProcessConfig";
import type { SweepResult } from "./domain/sweep/sweepTypes";
import { describeError } from "./domain/errors";

const USAGE = "usage: npm run reminders -- [--at ISO-DATE] [--dry-run]";

export interface CliArgs {
  at?: Date;
  dryRun: boolean;
}

/** Parses the arguments; returns a message (not a throw) for anything it does not understand. */
export function parseArgs(argv: readonly string[]): CliArgs | { error: string } {
  const out: CliArgs = { dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--dry-run") out.dryRun = true;
    else if (arg === "--at" || arg.startsWith("--at=")) {
      const value = arg === "--at" ? argv[++i] : arg.slice("--at=".length);
      if (!value) return { error: "--at needs an ISO date, e.g. --at 2026-03-01T00:00:00Z" };
      // Only ISO 8601 dates: Date.parse would also accept "March 1" in a locale-dependent way.
      const at = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
        ? new Date(value)
        : new Date(Number.NaN);
      if (Number.isNaN(at.getTime()))
        return { error: `--at "${value}" is not an ISO date (e.g. 2026-03-01T00:00:00Z)` };
      out.at = at;
    } else if (arg === "--help" || arg === "-h") return { error: "" };
    else return { error: `unknown argument "${arg}"` };
  }
  return out;
}

export function formatSummary(result: SweepResult): string[] {
  const lines = [
    `expiry sweep at ${result.at}${result.dryRun ? " (dry run: nothing sent, nothing removed)" : ""}`,
    ...(result.simulated
      ? [
          "simulated instant: its reminders are recorded apart and never stand in for the real ones; " +
            "superseded and orphan secrets are removed by the real clock only",
        ]
      : []),
    `${result.applications} application(s), ${result.secrets} secret(s); ${result.due.length} reminder(s) due, ${result.sent} sent; ` +
      `skipped: ${result.skipped.alreadySent} already sent, ${result.skipped.inFlight} in flight elsewhere, ${result.skipped.snoozed} snoozed, ${result.skipped.noConversation} without a conversation`,
  ];
  for (const n of result.due)
    lines.push(
      `${result.dryRun ? "would send" : "due"}: customer ${n.customer}, service ${n.service}, keyId ${n.keyId}, hint ${n.hint || "—"}, ` +
        `threshold ${n.threshold === "expired" ? "expired" : `${n.threshold} days`}, ${n.daysLeft} day(s) left (expires ${n.endDateTime})`,
    );
  for (const d of result.digests)
    lines.push(
      `${result.dryRun ? "would send one digest" : `sent digest ${d.digestId}`} to ${d.conversation}: ${d.listed} reminder(s), soonest first: ` +
        `${d.customers.join(", ")}${d.listed > d.customers.length ? ", …" : ""}`,
    );
  if (result.skipped.deferred > 0)
    lines.push(`${result.skipped.deferred} reminder(s) wait for tomorrow: their conversation had today's digest`);
  const removals = result.dryRun ? result.wouldRemoveSuperseded : result.removedSuperseded;
  for (const k of removals)
    lines.push(`${result.dryRun ? "would remove" : "removed"} superseded secret ${k} (grace period over)`);
  for (const k of result.dryRun ? result.wouldRemoveOrphans : result.removedOrphans)
    lines.push(`${result.dryRun ? "would remove" : "removed"} orphan secret ${k} (claimed by no run or registration)`);
  if (result.skipped.orphanUmpUnclear > 0)
    lines.push(`kept ${result.skipped.orphanUmpUnclear} orphan secret(s): cannot tell which secret UMP holds`);
  for (const f of result.failures) lines.push(`FAILED: ${f}`);
  return lines;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if ("error" in args) {
    process.stderr.write(`${args.error ? `${args.error}\n` : ""}${USAGE}\n`);
    return 2;
  }
  const loaded = loadCliProcess();
  if ("error" in loaded) {
    process.stderr.write(`${loaded.error}\n`);
    return 2;
  }
  const { config, logger, telemetry } = loaded;
  // The sweep's outcome as counts only: the request item of the run in Application Insights.
  const counts = (r: SweepResult) => ({
    dryRun: r.dryRun,
    due: r.due.length,
    sent: r.sent,
    failures: r.failures.length,
    removedSuperseded: r.removedSuperseded.length,
    removedOrphans: r.removedOrphans.length,
  });
  return runJob(
    telemetry,
    "reminders",
    async () => {
      // Loaded only now: the bot's dependencies (botbuilder, Graph client) take seconds to load, which a
      // usage or configuration error should not have to wait for.
      const { createBot } = require("./createBot") as typeof import("./createBot");
      const bot = await createBot(config, { logger });
      try {
        const result = await bot.sweeper.sweep({ at: args.at, dryRun: args.dryRun });
        process.stdout.write(`${formatSummary(result).join("\n")}\n`);
        return { code: result.failures.length > 0 ? 1 : 0, result };
      } catch (e) {
        process.stderr.write(`expiry sweep failed: ${describeError(e).message}\n`);
        return { code: 1, result: undefined };
      } finally {
        await bot.close().catch(() => undefined);
      }
    },
    ({ code, result }) => {
      const attributes: Record<string, number | boolean> = result ? counts(result) : { crashed: true };
      return { success: code === 0, attributes };
    },
  ).then((r) => r.code);
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
