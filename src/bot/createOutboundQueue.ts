// One outbound queue per Teams conversation, shared by everything the process sends there (replies,
// proactive posts, reminders, card and batch-progress updates). Teams allows a bot, per conversation (a
// channel with all its reply chains counts as one), 7 operations per 1 s, 8 per 2 s, 60 per 30 s and
// 1,800 per hour, and 50 requests per second per app per tenant; beyond that it answers 429 with
// Retry-After, and asks bots to retry 412, 502 and 504 too (Teams platform docs, "Optimize your bot
// with rate limiting"). Each conversation's sends go out one at a time, in order, when a sliding log
// of its earlier sends says every window has room; a 429 pauses that conversation for its Retry-After;
// transient answers are retried with jittered exponential backoff, a bounded number of times. Updates
// of the same message that are still waiting are coalesced, so the newest state is sent, never lost.
// Plain TypeScript: the bot edge hands it the HTTP attempt to make. Budgets are per process: several
// instances each keep their own, and Teams' 429 + Retry-After remains the backstop (README).

/** At most `count` operations within any `windowMs`. */
export interface RateWindow {
  count: number;
  windowMs: number;
}

export const CONVERSATION_WINDOWS: readonly RateWindow[] = [
  { count: 7, windowMs: 1_000 },
  { count: 8, windowMs: 2_000 },
  { count: 60, windowMs: 30_000 },
  { count: 1_800, windowMs: 3_600_000 },
];
export const APP_WINDOWS: readonly RateWindow[] = [{ count: 50, windowMs: 1_000 }];

/** Attempts per send: the first and four retries (0.5 + 1 + 2 + 4 s of backoff at most, ±20%). */
export const SEND_ATTEMPTS = 5;
export const SEND_BACKOFF_MS = 500;
/** A Retry-After longer than this is not waited out: the send fails now (a sweep retries later). */
export const SEND_MAX_RETRY_AFTER_MS = 60_000;

/** What a failed attempt tells the queue: its HTTP status (undefined: no answer) and Retry-After. */
export interface AttemptFailure {
  status?: number;
  retryAfterMs?: number;
}

/** The conversation a limit counts against: `19:abc@thread.tacv2;messageid=123` is channel `19:abc@thread.tacv2`. */
export function conversationScope(conversationId: string): string {
  const cut = conversationId.indexOf(";messageid=");
  return cut < 0 ? conversationId : conversationId.slice(0, cut);
}

/** Whether a failure is worth another attempt: throttling, Teams' transient answers, no answer at all. */
export function retryable(status: number | undefined): boolean {
  if (status === undefined) return true;
  return status === 408 || status === 412 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

const defaultFailure = (e: unknown): AttemptFailure => {
  const o = (e ?? {}) as { status?: unknown; statusCode?: unknown; retryAfterMs?: unknown };
  const status = typeof o.status === "number" ? o.status : typeof o.statusCode === "number" ? o.statusCode : undefined;
  return { status, retryAfterMs: typeof o.retryAfterMs === "number" ? o.retryAfterMs : undefined };
};

interface Job {
  attempt: () => Promise<unknown>;
  coalesce?: string;
  interactive: boolean;
  started: boolean;
  waiters: Array<{ resolve: (v: unknown) => void; reject: (e: unknown) => void }>;
}

interface Lane {
  jobs: Job[];
  running: boolean;
  /** Sends of this conversation: when each was answered (or started, while it is on the wire). */
  sent: Stamp[];
  pausedUntil: number;
}

/** A send's place in a sliding log: its start while on the wire, its answer's arrival once answered. */
interface Stamp {
  at: number;
  done: boolean;
}

export type OutboundQueue = ReturnType<typeof createOutboundQueue>;

export function createOutboundQueue(
  deps: {
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
    random?: () => number;
    conversationWindows?: readonly RateWindow[];
    appWindows?: readonly RateWindow[];
    attempts?: number;
    /** Reads an attempt's error (default: `status`/`statusCode` and `retryAfterMs` properties). */
    failureOf?: (e: unknown) => AttemptFailure;
    onRetry?: (info: { conversation: string; status?: number; waitMs: number; attempt: number }) => void;
  } = {},
) {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = deps.random ?? Math.random;
  const conversationWindows = deps.conversationWindows ?? CONVERSATION_WINDOWS;
  const appWindows = deps.appWindows ?? APP_WINDOWS;
  const attempts = deps.attempts ?? SEND_ATTEMPTS;
  const failureOf = deps.failureOf ?? defaultFailure;
  const lanes = new Map<string, Lane>();
  const appSent: Stamp[] = [];
  const idleWaiters: Array<() => void> = [];

  /** Milliseconds until one more send fits every window of `log` (0: now). Prunes what no window sees. */
  function waitIn(log: Stamp[], windows: readonly RateWindow[], t: number): number {
    const longest = Math.max(0, ...windows.map((w) => w.windowMs));
    while (log.length > 0 && log[0]!.done && log[0]!.at <= t - longest) log.shift();
    // A send still on the wire may reach Teams any moment: it counts as now.
    const times = log.map((s) => (s.done ? s.at : t)).sort((a, b) => a - b);
    let wait = 0;
    for (const w of windows) {
      const inWindow = times.filter((x) => x > t - w.windowMs);
      if (inWindow.length < w.count) continue;
      wait = Math.max(wait, inWindow[inWindow.length - w.count]! + w.windowMs - t);
    }
    return wait;
  }

  const backoff = (n: number) => SEND_BACKOFF_MS * 2 ** (n - 1) * (0.8 + 0.4 * random());

  /** Sends `job` (retries included); false when, before its first attempt, a reply went ahead of it. */
  async function runJob(key: string, lane: Lane, job: Job): Promise<boolean> {
    for (let n = 1; ; n++) {
      for (;;) {
        const t = now();
        const wait = Math.max(
          lane.pausedUntil - t,
          waitIn(lane.sent, conversationWindows, t),
          waitIn(appSent, appWindows, t),
        );
        if (wait <= 0) break;
        await sleep(wait);
      }
      // An interactive send queued while this one waited for room is now first: it goes first.
      if (!job.started && lane.jobs[0] !== job) return false;
      job.started = true;
      const stamp: Stamp = { at: now(), done: false };
      lane.sent.push(stamp);
      appSent.push(stamp);
      try {
        const value = await job.attempt();
        stamp.at = now();
        stamp.done = true;
        for (const w of job.waiters) w.resolve(value);
        return true;
      } catch (e) {
        stamp.at = now();
        stamp.done = true;
        const failure = failureOf(e);
        const wait =
          failure.status === 429
            ? (failure.retryAfterMs ?? backoff(n))
            : retryable(failure.status)
              ? backoff(n)
              : undefined;
        if (wait === undefined || n >= attempts || wait > SEND_MAX_RETRY_AFTER_MS) {
          for (const w of job.waiters) w.reject(e);
          return true;
        }
        // A 429 holds the whole conversation (every send there would be refused); other failures
        // hold this send only, and later ones wait behind it to keep their order.
        if (failure.status === 429) lane.pausedUntil = Math.max(lane.pausedUntil, now() + wait);
        deps.onRetry?.({ conversation: key, status: failure.status, waitMs: Math.round(wait), attempt: n });
        if (failure.status !== 429) await sleep(wait);
      }
    }
  }

  async function drain(key: string, lane: Lane) {
    lane.running = true;
    try {
      while (lane.jobs.length > 0) {
        const job = lane.jobs[0]!;
        // By identity: while the job waited for room, a reply may have been put ahead of it (send()).
        if (await runJob(key, lane, job)) lane.jobs.splice(lane.jobs.indexOf(job), 1);
      }
    } finally {
      lane.running = false;
      if (lane.sent.length === 0 && lane.pausedUntil <= now()) lanes.delete(key);
      if (pending() === 0) for (const w of idleWaiters.splice(0)) w();
    }
  }

  /**
   * Sends through `conversationId`'s queue: `attempt` makes one HTTP request (it may run several times)
   * and resolves its result, or throws something `failureOf` can read. `coalesce` names what the send
   * replaces (e.g. `update:<activity id>`): a waiting send with the same name takes the newer attempt,
   * and both callers get its result. `interactive` (a reply a person is waiting for in a turn) goes
   * ahead of background sends still waiting, behind other interactive ones.
   */
  function send<T>(
    conversationId: string,
    attempt: () => Promise<T>,
    opts: { coalesce?: string; interactive?: boolean } = {},
  ): Promise<T> {
    const key = conversationScope(conversationId);
    let lane = lanes.get(key);
    if (!lane) {
      lane = { jobs: [], running: false, sent: [], pausedUntil: 0 };
      lanes.set(key, lane);
    }
    return new Promise<T>((resolve, reject) => {
      const waiter = { resolve: resolve as (v: unknown) => void, reject };
      const waiting = opts.coalesce ? lane.jobs.find((j) => !j.started && j.coalesce === opts.coalesce) : undefined;
      if (waiting) {
        waiting.attempt = attempt;
        waiting.waiters.push(waiter);
        return;
      }
      const job: Job = {
        attempt,
        coalesce: opts.coalesce,
        interactive: opts.interactive === true,
        started: false,
        waiters: [waiter],
      };
      const ahead = job.interactive ? lane.jobs.findIndex((j) => !j.started && !j.interactive) : -1;
      if (ahead >= 0) lane.jobs.splice(ahead, 0, job);
      else lane.jobs.push(job);
      if (!lane.running) void drain(key, lane);
    });
  }

  /** Sends not yet answered, in every conversation. */
  function pending(): number {
    let n = 0;
    for (const lane of lanes.values()) n += lane.jobs.length;
    return n;
  }

  /** Resolves when nothing is queued (tests, shutdown). */
  function idle(): Promise<void> {
    if (pending() === 0) return Promise.resolve();
    return new Promise((r) => idleWaiters.push(r));
  }

  return { send, pending, idle };
}
