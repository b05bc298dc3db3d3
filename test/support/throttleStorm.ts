// Throttling as Microsoft Graph does it: "When a throttling threshold is exceeded, Microsoft Graph limits
// any further requests from that client for a period of time" (learn.microsoft.com/graph/throttling).
// While a window is open every Graph request is answered 429 with the window's remaining time as
// Retry-After. Built on the Graph emulator's request hook and fault injection, so the emulator itself
// stays as it is. It counts the 429s answered after the first one of the same window had been sent:
// requests a client made although it had already been told to wait.

import type { GraphEmulator } from "../emulators/graphEmulator";

export interface ThrottleStorm {
  /** Opens a window of `ms` from now (or extends the open one). */
  open(ms: number): void;
  /** Opens a `windowMs` window every `everyMs` (windowMs/everyMs of the time), the first after `firstAfterMs`. */
  every(everyMs: number, windowMs: number, firstAfterMs?: number): void;
  stop(): void;
  /** 429s answered in total. */
  readonly throttled: number;
  /** 429s answered to requests that arrived after that window's first 429 had been sent (plus slack). */
  readonly afterSignal: number;
  /** Graph API requests seen (under /v1.0), throttled or not. */
  readonly graphRequests: number;
  readonly windows: number;
}

/**
 * `slackMs`: a request arriving this soon after the first 429 left may have been sent before the
 * client read that 429 (it was on the wire), so it does not count as "after the signal".
 */
export function startThrottleStorm(graph: GraphEmulator, opts: { slackMs?: number } = {}): ThrottleStorm {
  const slackMs = opts.slackMs ?? 25;
  let until = 0;
  let signalledAt = 0; // when this window's first 429 left the emulator (0: not yet)
  let throttled = 0;
  let afterSignal = 0;
  let graphRequests = 0;
  let windows = 0;
  let timer: NodeJS.Timeout | undefined;
  const isGraph = (path: string) => path === "/v1.0" || path.startsWith("/v1.0/");

  graph.onRequest((r) => {
    if (!isGraph(r.path)) return;
    const now = Date.now();
    if (r.phase === "before") {
      graphRequests++;
      if (now >= until) return;
      throttled++;
      if (signalledAt > 0 && now > signalledAt + slackMs) afterSignal++;
      const seconds = Math.max(0.001, (until - now) / 1000);
      graph.injectFault({
        status: 429,
        retryAfterSeconds: Number(seconds.toFixed(3)),
        match: { method: r.method, pathIncludes: r.path },
      });
    } else if (r.status === 429 && signalledAt === 0 && now < until + 50) signalledAt = now;
  });

  const open = (ms: number) => {
    const now = Date.now();
    if (now >= until) {
      windows++;
      signalledAt = 0;
    }
    until = Math.max(until, now + ms);
  };

  return {
    open,
    every(everyMs, windowMs, firstAfterMs = everyMs) {
      clearInterval(timer);
      timer = setTimeout(() => {
        open(windowMs);
        timer = setInterval(() => open(windowMs), everyMs);
        timer.unref?.();
      }, firstAfterMs);
      timer.unref?.();
    },
    stop() {
      clearInterval(timer);
      until = 0;
      graph.onRequest(null);
    },
    get throttled() {
      return throttled;
    },
    get afterSignal() {
      return afterSignal;
    },
    get graphRequests() {
      return graphRequests;
    },
    get windows() {
      return windows;
    },
  };
}
