// How a failed UMP call reads on the wire: what a network error says (never the request body, never a
// secret), whether the request can have left this process at all, and how long Retry-After asks to wait.

/** Retry-After in ms (delta-seconds or HTTP date), or undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Removes every occurrence of the given values; UMP should never echo a secret, but a detail is upstream text. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join("[redacted]");
  return out;
}

/** A connection refused or a name that does not resolve: the request never left this process. */
export function neverSent(e: unknown): boolean {
  const cause = e instanceof Error ? (e.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  // fetch refuses a port the Fetch standard blocks ("bad port") before it connects.
  return ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"].includes(String(cause?.code)) || cause?.message === "bad port";
}

/** The fetch error names host, errno or the timeout only; the request body is never part of it. */
export function describeNetworkError(e: unknown, call: { secrets: readonly string[] }): string {
  if (e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError")) return "timed out";
  const cause = e instanceof Error && e.cause instanceof Error ? ` (${e.cause.message})` : "";
  return e instanceof Error ? scrub(`${e.message}${cause}`, call.secrets) : "network error";
}
