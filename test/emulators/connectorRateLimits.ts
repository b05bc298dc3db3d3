// Teams' rate limits for bots, as the Bot Connector emulator enforces them (issue 17). Microsoft
// documents the limits as operations allowed per sliding time period, per bot per conversation ("thread":
// a 1:1 chat, a group chat or a whole channel, so a channel's reply chains share its budget) and per app
// per tenant; beyond them the service answers 429 Too Many Requests with Retry-After. Sources and the
// reading taken where the documents are vague: test/emulators/README.md, "Rate limits".

/** One documented limit: at most `count` operations within any `windowMs`. */
export interface RateWindow {
  count: number;
  windowMs: number;
}

/** "Send to conversation" (and, by the stricter reading, updates and deletes of its messages). */
export const SEND_TO_CONVERSATION: readonly RateWindow[] = [
  { count: 7, windowMs: 1_000 },
  { count: 8, windowMs: 2_000 },
  { count: 60, windowMs: 30_000 },
  { count: 1_800, windowMs: 3_600_000 },
];
/** "Create conversation": the same numbers as sending. */
export const CREATE_CONVERSATION = SEND_TO_CONVERSATION;
/** "Get conversation members" and "Get conversations". */
export const READ_CONVERSATION: readonly RateWindow[] = [
  { count: 14, windowMs: 1_000 },
  { count: 16, windowMs: 2_000 },
  { count: 120, windowMs: 30_000 },
  { count: 3_600, windowMs: 3_600_000 },
];
/** "The global limit per app per tenant is 50 Requests Per Second": every request counts. */
export const PER_APP_PER_TENANT: readonly RateWindow[] = [{ count: 50, windowMs: 1_000 }];

export type RateKind = "send" | "create" | "read" | "other";

/** The conversation a limit counts against: `19:abc@thread.tacv2;messageid=123` is channel `19:abc@thread.tacv2`. */
export function conversationScope(conversationId: string): string {
  const cut = conversationId.indexOf(";messageid=");
  return cut < 0 ? conversationId : conversationId.slice(0, cut);
}

/** A request the emulator answered 429. */
export interface ThrottleRecord {
  /** What was exceeded: `conversation:<scope>` (per bot per conversation) or `app` (per app per tenant). */
  scope: string;
  method: string;
  conversationId?: string;
  kind: RateKind;
  at: number;
  retryAfterSeconds: number;
  /**
   * The request arrived after a 429 for the same scope had already been answered: the client had been
   * told to wait and sent anyway. What "429s after the first" counts.
   */
  afterFirst: boolean;
}

const LIMITS: Record<RateKind, readonly RateWindow[]> = {
  send: SEND_TO_CONVERSATION,
  create: CREATE_CONVERSATION,
  read: READ_CONVERSATION,
  other: [],
};
const LONGEST_MS = 3_600_000;

export function createRateLimiter(now: () => number = Date.now) {
  // Arrival times of the operations each scope accepted (a sliding log: exact for every window).
  const logs = new Map<string, number[]>();
  const firstAnswered = new Map<string, number>();
  const throttled: ThrottleRecord[] = [];

  const logOf = (key: string) => {
    let log = logs.get(key);
    if (!log) {
      log = [];
      logs.set(key, log);
    }
    const t = now();
    while (log.length > 0 && log[0]! <= t - LONGEST_MS) log.shift();
    return log;
  };

  /** Milliseconds until one more operation fits every window (0: now). */
  const waitFor = (log: number[], windows: readonly RateWindow[], t: number) => {
    let wait = 0;
    for (const w of windows) {
      if (log.length < w.count) continue;
      const oldestInWay = log[log.length - w.count]!;
      if (oldestInWay > t - w.windowMs) wait = Math.max(wait, oldestInWay + w.windowMs - t);
    }
    return wait;
  };

  /**
   * Admits one request or says how long to wait. An admitted request counts against its conversation's
   * and the app's budget whatever the service then answers (the gateway counts attempts, not successes).
   */
  function admit(req: {
    method: string;
    kind: RateKind;
    conversationId?: string;
  }): { ok: true } | { ok: false; record: ThrottleRecord } {
    const t = now();
    const scopes: Array<[string, readonly RateWindow[]]> = [["app", PER_APP_PER_TENANT]];
    if (req.conversationId !== undefined && req.kind !== "other")
      scopes.push([
        `${req.kind === "create" ? "create" : "conversation"}:${conversationScope(req.conversationId)}`,
        LIMITS[req.kind],
      ]);
    // Reads and sends are separate budgets of the same conversation.
    const keyOf = (scope: string) => (req.kind === "read" ? `read|${scope}` : scope);
    let worst: { scope: string; wait: number } | undefined;
    for (const [scope, windows] of scopes) {
      const wait = waitFor(logOf(keyOf(scope)), windows, t);
      if (wait > 0 && (!worst || wait > worst.wait)) worst = { scope, wait };
    }
    if (worst) {
      const first = firstAnswered.get(worst.scope);
      const record: ThrottleRecord = {
        scope: worst.scope,
        method: req.method,
        conversationId: req.conversationId,
        kind: req.kind,
        at: t,
        // Whole seconds, as HTTP's delta-seconds; never 0, so a client that honours it cannot hammer.
        retryAfterSeconds: Math.max(1, Math.ceil(worst.wait / 1000)),
        afterFirst: first !== undefined && t > first,
      };
      throttled.push(record);
      return { ok: false, record };
    }
    for (const [scope] of scopes) logOf(keyOf(scope)).push(t);
    return { ok: true };
  }

  /** Called once the 429 has been written: later requests of that scope were told to wait. */
  function answered(record: ThrottleRecord) {
    if (!firstAnswered.has(record.scope)) firstAnswered.set(record.scope, now());
  }

  return {
    admit,
    answered,
    throttled,
    reset() {
      logs.clear();
      firstAnswered.clear();
      throttled.length = 0;
    },
  };
}

/** Teams asks bots to retry these besides 429 (same document, "Handle rate limits"). */
export const TRANSIENT_STATUSES = [412, 502, 504] as const;
