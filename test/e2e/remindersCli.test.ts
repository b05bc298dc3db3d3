// `npm run reminders` as cron runs it: the real CLI in a child process (tsx src/remindersCli.ts),
// configured only by environment variables, sharing the SQLite file with a bot that provisioned a
// customer, and posting through the connector emulator.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/botProcess";
import { parseArgs } from "../../src/remindersCli";
import { JOBS_KEY, type Stack, startStack } from "../support/stack";

const DAY = 86_400_000;
let stack: Stack;
let endDateTime: string;
let keyId: string;

function runReminders(args: string[], env: Record<string, string> = stack.env) {
  return runCli("remindersCli.ts", args, env, stack.dataDir);
}

const reminderCards = () =>
  stack.connector.activities.filter(
    (a) => a.op === "create" && /secret of contoso/.test(a.activity?.attachments?.[0]?.content?.body?.[0]?.text ?? ""),
  );

beforeAll(async () => {
  stack = await startStack();
  await stack.provision("contoso");
  const secret = stack.graph.applications()[0]!.passwordCredentials[0]!;
  endDateTime = secret.endDateTime!;
  keyId = secret.keyId;
  // The bot keeps running (as in production, the cron job runs next to it).
});
afterAll(async () => {
  await stack.stop();
});

describe("npm run reminders", () => {
  it("refuses bad arguments with a usage message and exit code 2", async () => {
    const r = await runReminders(["--at", "next tuesday"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"next tuesday" is not an ISO date/);
    expect(r.stderr).toMatch(/usage: npm run reminders -- \[--at ISO-DATE\] \[--dry-run\]/);
  });

  const table: Array<[string[], string]> = [
    [["--at"], "--at needs an ISO date"],
    [["--at", "2026-13-45"], "is not an ISO date"],
    [["--at", "March 1"], "is not an ISO date"],
    [["--frobnicate"], 'unknown argument "--frobnicate"'],
    [["--dry-run", "extra"], 'unknown argument "extra"'],
  ];
  for (const [args, message] of table)
    it(`parseArgs refuses ${JSON.stringify(args)}`, () => {
      const parsed = parseArgs(args);
      expect("error" in parsed && parsed.error).toContain(message);
    });
  it("parseArgs accepts --at (both spellings) and --dry-run", () => {
    expect(parseArgs([])).toEqual({ dryRun: false });
    expect(parseArgs(["--dry-run", "--at", "2026-03-01"])).toEqual({
      dryRun: true,
      at: new Date("2026-03-01T00:00:00Z"),
    });
    expect(parseArgs(["--at=2026-03-01T10:00:00+02:00"])).toEqual({
      dryRun: false,
      at: new Date("2026-03-01T08:00:00Z"),
    });
  });

  it("refuses an invalid configuration with exit code 2", async () => {
    const r = await runReminders([], { ...stack.env, GRAPH_CREDENTIAL: "bogus" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/GRAPH_CREDENTIAL/);
  });

  it("--at with --dry-run lists the due reminder and sends nothing; without --dry-run the card arrives once", async () => {
    const at = new Date(Date.parse(endDateTime) - 59 * DAY).toISOString();
    const dry = await runReminders(["--at", at, "--dry-run"]);
    expect(dry.stderr).not.toMatch(/expiry sweep failed/);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`expiry sweep at ${at} (dry run`);
    expect(dry.stdout).toMatch(
      new RegExp(
        `would send: customer contoso, service ump, keyId ${keyId}, hint \\S+, threshold 60 days, 59 day\\(s\\) left`,
      ),
    );
    expect(reminderCards()).toHaveLength(0);
    expect(await stack.bot.repo.listReminders(keyId)).toHaveLength(0);

    const real = await runReminders(["--at", at]);
    expect(real.code).toBe(0);
    expect(real.stdout).toMatch(/1 reminder\(s\) due, 1 sent/);
    expect(real.stdout).toContain("simulated instant: its reminders are recorded apart");
    await stack.connector.waitFor(() => (reminderCards().length > 0 ? true : undefined), 5000);
    expect(reminderCards()).toHaveLength(1);
    expect(reminderCards()[0]!.activity.attachments[0].content.body[0].text).toBe(
      "The ump secret of contoso expires in 59 days",
    );
    // The same what-if again sends nothing (its claims are in the shared store, apart from the real ones).
    const again = await runReminders(["--at", at]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/, 0 sent;/);
    expect(reminderCards()).toHaveLength(1);
    expect(await stack.bot.repo.listReminders(keyId)).toHaveLength(0);

    // Over HTTP, `at` is only a what-if.
    const res = await fetch(`${stack.url}/api/jobs/expiry-sweep?at=${encodeURIComponent(at)}`, {
      method: "POST",
      headers: { "x-jobs-key": JOBS_KEY },
    });
    expect(res.status).toBe(400);

    // The simulated reminder never stands in for the real one: once the real clock reaches the 60-day
    // threshold (the secret's expiry moved by hand in Entra), the bot's own sweep sends it.
    stack.graph.mutateApplication(stack.graph.applications()[0]!.id, (a) => {
      a.passwordCredentials[0]!.endDateTime = new Date(Date.now() + 59.5 * DAY).toISOString();
    });
    const sweep = await fetch(`${stack.url}/api/jobs/expiry-sweep`, {
      method: "POST",
      headers: { "x-jobs-key": JOBS_KEY },
    });
    expect(((await sweep.json()) as any).sent).toBe(1);
    expect(reminderCards()).toHaveLength(2);
    expect(reminderCards()[1]!.activity.attachments[0].content.body[0].text).toBe(
      "The ump secret of contoso expires in 60 days",
    );
    // The summary never carries more than keyId and hint.
    expect(`${dry.stdout}${real.stdout}`).not.toMatch(/secretText|clientSecret"/);
  });

  it("--at never removes a superseded secret before its grace period is over on the real clock", async () => {
    const app = stack.graph.applications()[0]!;
    const old = stack.graph.addPasswordByHand(app.id, {
      displayName: "syncbot:ump:earlier-run",
      endDateTime: new Date(Date.now() + 300 * DAY).toISOString(),
    });
    await stack.bot.repo.saveRegistration("contoso", (cur) => ({
      ...cur!,
      secrets: [
        ...cur!.secrets,
        {
          keyId: old.keyId,
          service: "ump",
          runId: "earlier-run",
          displayName: "syncbot:ump:earlier-run",
          hint: old.hint,
          endDateTime: old.endDateTime,
          fingerprint: "sha256:1111111111111111",
          createdAt: new Date().toISOString(),
          status: "superseded",
          removeAfter: new Date(Date.now() + 7 * DAY).toISOString(),
        },
      ],
    }));
    const later = new Date(Date.now() + 30 * DAY).toISOString();
    const r = await runReminders(["--at", later]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/removed superseded secret/);
    const live = () => stack.graph.applications()[0]!.passwordCredentials.map((p) => p.keyId);
    expect(live()).toContain(old.keyId);
    const dry = await runReminders(["--at", later, "--dry-run"]);
    expect(dry.stdout).not.toMatch(/would remove superseded secret/);
    expect((await stack.bot.repo.getRegistration("contoso"))!.secrets.map((s) => s.keyId)).toContain(old.keyId);
  });

  it("--dry-run lists the digest a channel would get when several registrations are due there together", async () => {
    const base = Date.now() + 200 * DAY;
    const seeded = await stack.seedRegistrations(3, {
      customer: (i) => `digest-${i}`,
      endDateTime: (i) => new Date(base - i * 60_000).toISOString(),
    });
    const at = new Date(base - 20 * DAY).toISOString();
    const before = stack.connector.activities.length;
    const dry = await runReminders(["--at", at, "--dry-run"]);
    expect(dry.code).toBe(0);
    // contoso, provisioned in the same channel earlier in this file, may be due then too (soonest: first).
    expect(dry.stdout).toMatch(
      /would send one digest to 19:ops-channel@thread\.tacv2: [34] reminder\(s\), soonest first: (contoso, )?digest-2, digest-1, digest-0\n/,
    );
    expect(stack.connector.activities.length).toBe(before);
    for (const s of seeded) expect(await stack.bot.repo.listReminders(s.keyId)).toHaveLength(0);
  });
});
