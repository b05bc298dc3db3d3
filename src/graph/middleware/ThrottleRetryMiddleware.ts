// Waits out Graph's throttling (429, 503, 504): Retry-After when given (seconds, fractional seconds
// or an HTTP date), exponential backoff otherwise, within a per-call budget; each wait is reported.

import type { Context, Middleware } from "@microsoft/microsoft-graph-client";
import type { Logger } from "../../domain/ports";
import { callOptionsOf } from "./callOptions";

export const THROTTLE_STATUSES: ReadonlySet<number> = new Set([429, 503, 504]);
const MAX_BACKOFF_MS = 60_000;

/** Retry-After is either delta-seconds (Graph may send fractions, e.g. "1.5") or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class ThrottleRetryMiddleware implements Middleware {
  private next?: Middleware;

  constructor(
    private readonly maxAttempts: number,
    private readonly maxTotalWaitMs: number,
    private readonly baseDelayMs: number,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly logger?: Logger,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const opts = callOptionsOf(context);
    let waited = 0;
    for (let retry = 1; ; retry++) {
      try {
        await this.next!.execute(context);
      } catch (e) {
        if (opts) opts.failure ??= e;
        throw e;
      }
      const res = context.response;
      if (!res || !THROTTLE_STATUSES.has(res.status) || retry > this.maxAttempts) return;
      const backoff = Math.min(MAX_BACKOFF_MS, this.baseDelayMs * 2 ** (retry - 1));
      const waitMs = parseRetryAfter(res.headers.get("retry-after")) ?? backoff;
      // Past the budget the last answer stands; the caller turns it into `throttled`.
      if (waited + waitMs > this.maxTotalWaitMs) return;
      await res.body?.cancel().catch(() => undefined);
      const notice = {
        service: "graph" as const,
        attempt: retry,
        maxAttempts: this.maxAttempts,
        waitMs,
        status: res.status,
      };
      this.logger?.warn("graph throttled, waiting", { ...notice, correlationId: opts?.ctx.correlationId });
      opts?.ctx.onRetry?.(notice);
      await this.sleep(waitMs);
      waited += waitMs;
    }
  }
}
