// Waits out Graph's throttling (429, 503, 504): Retry-After when given (seconds, fractional seconds
// or an HTTP date), exponential backoff otherwise, within a per-call budget; each wait is reported.
// One gate per client: a 429 seen by any request pauses every request of the same directory until its
// Retry-After has passed, so parallel runs do not each discover the throttling alone (issue 13).

import type { Context, Middleware } from "@microsoft/microsoft-graph-client";
import type { Logger } from "../../domain/ports";
import { ThrottleGate } from "../../http/throttleGate";
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
  readonly gate: ThrottleGate;

  constructor(
    private readonly maxAttempts: number,
    private readonly maxTotalWaitMs: number,
    private readonly baseDelayMs: number,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly logger?: Logger,
  ) {
    this.gate = new ThrottleGate(sleep);
  }

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const opts = callOptionsOf(context);
    let waited = 0;
    for (let retry = 1; ; retry++) {
      // Another request was told to back off: this one waits too instead of collecting its own 429.
      if (this.gate.remainingMs() > 0) {
        this.gate.heldRequests++;
        waited += await this.gate.wait();
      }
      try {
        await this.next!.execute(context);
      } catch (e) {
        if (opts) opts.failure ??= e;
        throw e;
      }
      const res = context.response;
      if (!res || !THROTTLE_STATUSES.has(res.status) || retry > this.maxAttempts) return;
      const backoff = Math.min(MAX_BACKOFF_MS, this.baseDelayMs * 2 ** (retry - 1));
      const retryAfter = parseRetryAfter(res.headers.get("retry-after"));
      const waitMs = retryAfter ?? backoff;
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
      // A 429 (or any answer with Retry-After) is about the whole app in this tenant: everyone pauses.
      // A 503/504 without Retry-After is this request's bad luck: only it backs off.
      if (res.status === 429 || retryAfter !== undefined) {
        this.gate.pause(waitMs);
        waited += await this.gate.wait(true);
      } else {
        await this.sleep(waitMs);
        waited += waitMs;
      }
    }
  }
}
