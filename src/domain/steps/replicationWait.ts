// Waiting out Entra's replication after a create: Entra is eventually consistent, so for seconds (4 to 18
// observed, no guarantee) a new application is unknown to the service principal create and to the token
// endpoint, and a new secret is refused. Microsoft's guidance ("Designing for eventual consistency for
// Microsoft Entra") is to retry with exponential backoff within a bound; the card says what is awaited.

import type { CallContext, Clock } from "../ports";

/** The bound and the shape of the backoff (from configuration). */
export interface ReplicationWait {
  /** The longest one wait (the service principal, or the token proof) may last. */
  budgetMs: number;
  /** The first pause; each next one doubles, up to `maxDelayMs`. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_REPLICATION_WAIT: ReplicationWait = { budgetMs: 120_000, firstDelayMs: 1000, maxDelayMs: 15_000 };

/** The pause before retry `attempt` (1-based): doubling, capped, with up to a quarter of jitter so a batch spreads out. */
export function replicationDelay(w: ReplicationWait, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(w.maxDelayMs, w.firstDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(base * (1 + 0.25 * random()));
}

export type Attempt<T> = { done: true; value: T } | { done: false; reason: string };

export interface WaitDeps {
  sleep(ms: number): Promise<void>;
  now(): number;
  /** Told before each pause, so the card can say "waiting for Entra to replicate". */
  onWait?(n: { attempt: number; waitMs: number; elapsedMs: number; reason: string }): void | Promise<void>;
}

/**
 * Calls `attempt` until it is done or the budget is spent: resolves the value, or the last reason
 * when the next pause would end past the budget (never sleeps beyond it).
 */
export async function waitForReplication<T>(
  w: ReplicationWait,
  deps: WaitDeps,
  attempt: () => Promise<Attempt<T>>,
): Promise<{ ok: true; value: T } | { ok: false; reason: string; elapsedMs: number }> {
  const started = deps.now();
  for (let n = 1; ; n++) {
    const r = await attempt();
    if (r.done) return { ok: true, value: r.value };
    const elapsedMs = deps.now() - started;
    const left = w.budgetMs - elapsedMs;
    if (left <= 0) return { ok: false, reason: r.reason, elapsedMs };
    const waitMs = Math.min(replicationDelay(w, n), left);
    await deps.onWait?.({ attempt: n, waitMs, elapsedMs, reason: r.reason });
    await deps.sleep(waitMs);
  }
}

/**
 * The wait of a run's step: the run's clock and sleep, and each pause told to the card as a
 * "waiting for Entra to replicate" retry (with what is awaited: the attempt's reason, or `awaiting`).
 */
export function stepWaitDeps(
  ctx: {
    services: { sleep(ms: number): Promise<void>; clock: Clock; options: { replication: ReplicationWait } };
    call: CallContext;
  },
  awaiting?: string,
): WaitDeps {
  const { services: s, call } = ctx;
  return {
    sleep: s.sleep,
    now: () => s.clock.now().getTime(),
    onWait: (n) =>
      call.onRetry?.({
        service: "entra",
        attempt: n.attempt,
        maxAttempts: 0,
        waitMs: n.waitMs,
        status: 0,
        awaiting: awaiting ?? n.reason,
        elapsedMs: n.elapsedMs,
        budgetMs: s.options.replication.budgetMs,
      }),
  };
}
