// The fleet-lifecycle benchmarks of CONTRACT section 8 (issue 17), run by bench/run.ts:
// - reminder-storm: one sweep with 500 registrations due the same day, all provisioned from one channel
//   that other traffic of the bot has just used up (60 messages in the last 30 s), against the connector
//   enforcing Teams' per-conversation limits: messages posted, 429s after the first, and the time to the
//   last message accepted against the floor those limits set for that many messages.
// - rotate-all: Rotate all over 200 due registrations as one approved batch, 10% of Graph requests
//   throttled (test/support/throttleStorm, as the bulk bench), against the same batch unthrottled.

import { createLogger } from "../src/logger";
import { fillChannelBudget, rateFloor } from "../test/support/busyChannel";
import { CHANNEL, cardText, JOBS_KEY, type Stack, startStack, USERS } from "../test/support/stack";
import { startThrottleStorm } from "../test/support/throttleStorm";

const note = (line: string) => process.stderr.write(`${line}\n`);
const quietLogger = (tag: string) =>
  createLogger({ level: "error", write: (l) => process.stderr.write(`[${tag}] ${l}\n`) });
const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const title = (card: any): string => String(card?.body?.[0]?.text ?? "");
const FAST_ENV = { TOKEN_PROOF_DELAY_MS: "10", UMP_POLL_MS: "10" };
const DAY = 86_400_000;

async function sweep(stack: Stack) {
  const res = await fetch(`${stack.url}/api/jobs/expiry-sweep`, {
    method: "POST",
    headers: { "x-jobs-key": JOBS_KEY },
  });
  if (res.status !== 200) throw new Error(`the sweep answered ${res.status}`);
  return (await res.json()) as { due: number; sent: number; failures: string[] };
}

// ---------------------------------------------------------------------------------------------
// reminder-storm

const STORM_DUE = 500;
const STORM_MAX_MESSAGES = 5;
const STORM_RATIO_BOUND = 1.5;

export async function benchReminderStorm(): Promise<string> {
  const stack = await startStack({ umpInstances: [], overrides: { logger: quietLogger("reminder-storm") } });
  try {
    const base = Date.now() + 25 * DAY;
    await stack.seedRegistrations(STORM_DUE, { endDateTime: (i) => new Date(base + i * 1000).toISOString() });
    const busy = `${CHANNEL.channelId};messageid=busy`;
    note(`reminder-storm: the channel's other traffic, 60 messages as fast as the limits allow…`);
    await fillChannelBudget(stack.connector.url, busy, 60);
    // The floor counts from the connector's own arrival times of that traffic.
    const busyLog = stack.connector.activities
      .filter((a) => a.conversationId === busy && a.op === "create")
      .map((a) => a.at)
      .sort((a, b) => a - b);
    const before = stack.connector.activities.length;
    const t0 = Date.now();
    const result = await sweep(stack);
    const sweptMs = Date.now() - t0;
    const posted = stack.connector.activities
      .slice(before)
      .filter((a) => a.op === "create" && a.conversationId !== busy && a.conversationId.startsWith(CHANNEL.channelId));
    const ours = stack.connector.throttled.filter((t) => t.conversationId !== busy);
    const afterFirst = ours.filter((t) => t.afterFirst).length;
    const lastAt = Math.max(...posted.map((a) => a.at));
    const s = (lastAt - t0) / 1000;
    const floor = (rateFloor(busyLog, posted.length, t0) - t0) / 1000;
    note(
      `reminder-storm: ${result.due} due, ${result.sent} counted as sent, ${posted.length} message(s) posted to the channel, ` +
        `${ours.length} 429(s) answered to syncbot (${afterFirst} after the first), sweep answered after ${(sweptMs / 1000).toFixed(1)} s, ` +
        `failures: ${result.failures.length}`,
    );
    const line = `bench reminder-storm: ${STORM_DUE} due in one channel, ${posted.length} messages, ${afterFirst} 429s after the first signal, ${s.toFixed(1)} s (${(s / floor).toFixed(2)}x vs ${floor.toFixed(1)} s rate floor)`;
    const broken = [
      result.sent !== STORM_DUE ? `${result.sent} of ${STORM_DUE} counted as sent` : "",
      posted.length > STORM_MAX_MESSAGES ? `${posted.length} messages (at most ${STORM_MAX_MESSAGES})` : "",
      afterFirst > 0 ? `${afterFirst} 429s after the first` : "",
      s / floor > STORM_RATIO_BOUND ? `${(s / floor).toFixed(2)}x the rate floor (at most ${STORM_RATIO_BOUND}x)` : "",
    ].filter(Boolean);
    if (broken.length > 0) throw new Error(`reminder-storm: ${broken.join("; ")} (${line})`);
    return line;
  } finally {
    await stack.stop({ scan: false });
  }
}

// ---------------------------------------------------------------------------------------------
// rotate-all

const ROTATIONS = Number(process.env.BENCH_ROTATE_ALL ?? 200);
const progress = (card: any) => cardText(card).match(/(\d+) done · (\d+) running · (\d+) failed · (\d+) waiting/);

async function rotateAllRun(count: number, throttled: boolean) {
  const stack = await startStack({
    env: FAST_ENV,
    umpInstances: [],
    overrides: {
      logger: quietLogger(throttled ? "rotate-all-throttled" : "rotate-all"),
      sleep: realSleep,
      batchCardIntervalMs: 200,
    },
  });
  const storm = startThrottleStorm(stack.graph);
  try {
    const base = Date.now() + 20 * DAY;
    await stack.seedRegistrations(count, { endDateTime: (i) => new Date(base + i * 1000).toISOString() });
    const swept = await sweep(stack);
    if (swept.sent !== count) throw new Error(`rotate-all: the sweep listed ${swept.sent} of ${count}`);
    const digest = stack.lastCardMessage();
    const pressed = await stack.press(digest.activityId, "Rotate all", { user: USERS.requester });
    if (pressed.status !== 200) throw new Error(`rotate-all: Rotate all answered ${pressed.status}`);
    const posted = await stack.connector.waitFor(
      (cur) => cur.find((a) => /^Rotate all: /.test(title(a.activity?.attachments?.[0]?.content))),
      60_000,
    );
    const activityId = posted.activityId;
    await stack.waitForCard(activityId, (c) => /waiting for approval/.test(title(c)), 600_000);
    const t0 = performance.now();
    // The first window opens 1 s in (during the runs), then one every 10 s.
    if (throttled) storm.every(10_000, 1_000, 1_000);
    const approve = await stack.press(activityId, "Approve", { user: USERS.approver });
    if (approve.status !== 200) throw new Error(`rotate-all: Approve answered ${approve.status}`);
    for (;;) {
      const rs = (await stack.bot.repo.listRequests()).filter((r) => r.batchId && r.plan.kind === "rotate");
      if (rs.length >= count && rs.every((r) => r.state === "succeeded" || r.state === "failed")) break;
      await realSleep(100);
    }
    const s = (performance.now() - t0) / 1000;
    const finished = await stack.waitForCard(
      activityId,
      (c) => {
        const m = progress(c);
        return !!m && Number(m[1]) + Number(m[3]) === count && m[2] === "0" && m[4] === "0";
      },
      600_000,
    );
    const failures = Number(progress(finished)![3]);
    if (process.env.BENCH_ROTATE_ALL_TRACE) {
      // Graph requests per second since Approve (429s in brackets): where the time goes.
      const start = performance.timeOrigin + t0;
      const per = new Map<number, [number, number]>();
      for (const r of stack.graph.requests) {
        const sec = Math.floor((r.at - start) / 1000);
        if (sec < 0) continue;
        const v = per.get(sec) ?? [0, 0];
        v[0]++;
        if (r.status === 429) v[1]++;
        per.set(sec, v);
      }
      note(`rotate-all trace: ${[...per].map(([k, [n, t]]) => `${k}s:${n}${t ? `[${t}]` : ""}`).join(" ")}`);
    }
    note(
      `rotate-all ${throttled ? "throttled" : "unthrottled"}: ${count} rotations as one batch in ${s.toFixed(1)} s, ${failures} failures, ` +
        `${storm.graphRequests} Graph requests, ${storm.throttled} answered 429 in ${storm.windows} throttling windows ` +
        `(${storm.afterSignal} after the window's first 429); connector 429s after the first: ${stack.connector.throttledAfterFirst()}`,
    );
    return { s, failures };
  } finally {
    storm.stop();
    await stack.stop({ scan: false });
  }
}

export async function benchRotateAll(): Promise<string> {
  if (ROTATIONS !== 200) note(`rotate-all: running ${ROTATIONS} rotations instead of 200 (BENCH_ROTATE_ALL)`);
  // A short batch first, discarded: the first batch of a process also pays for compiling and warming up
  // the whole path (tsx, V8, SQLite), which would otherwise be charged to whichever run comes first.
  await rotateAllRun(Math.min(20, ROTATIONS), false);
  const throttled = await rotateAllRun(ROTATIONS, true);
  const plain = await rotateAllRun(ROTATIONS, false);
  return `bench rotate-all: ${ROTATIONS} rotations, ${throttled.failures} failures, ${throttled.s.toFixed(1)} s (${(throttled.s / plain.s).toFixed(2)}x vs unthrottled ${plain.s.toFixed(1)} s)`;
}
