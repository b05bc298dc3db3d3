// Coded errors of the domain. Adapters translate HTTP/SDK failures into these at the boundary so the
// domain and the bot can decide on a code, and so no upstream response body (which might echo a
// secret) ever travels further than the adapter that received it.

export type ErrorCode =
  | "validation_failed" // bad input from a user or a card
  | "not_authorized" // the actor may not do this
  | "not_found" // the thing asked for does not exist (upstream 404 included)
  | "conflict" // a concurrent change won (compare-and-set lost, run already in progress)
  | "precondition_failed" // upstream 412: the resource changed since it was read
  | "expired" // an approval or hand-off link past its lifetime
  | "plan_changed" // live state or spec moved away from the approved plan
  | "throttled" // upstream kept answering 429/503/504 beyond the retry budget
  | "upstream_rejected" // upstream refused with a 4xx that retrying cannot fix
  | "upstream_failed" // upstream unreachable or 5xx
  | "outcome_unknown" // a write got no definite answer (5xx, timeout, reset): it may have been applied
  | "config_invalid"
  | "internal";

export interface SyncbotErrorOptions {
  /** HTTP status of the upstream answer, when there was one. */
  status?: number;
  /** The upstream's own error code (Graph `error.code`, UMP problem `type`). */
  upstreamCode?: string;
  /** What an operator can do about it. */
  hint?: string;
  cause?: unknown;
}

export class SyncbotError extends Error {
  readonly code: ErrorCode;
  readonly status?: number;
  readonly upstreamCode?: string;
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options: SyncbotErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SyncbotError";
    this.code = code;
    this.status = options.status;
    this.upstreamCode = options.upstreamCode;
    this.hint = options.hint;
  }
}

export function isSyncbotError(e: unknown, code?: ErrorCode): e is SyncbotError {
  return e instanceof SyncbotError && (code === undefined || e.code === code);
}

/** A message safe to show to an operator: coded errors keep theirs, anything else is generic. */
export function describeError(e: unknown): { code: ErrorCode; message: string; hint?: string } {
  if (e instanceof SyncbotError) return { code: e.code, message: e.message, hint: e.hint };
  return { code: "internal", message: "unexpected internal error (see the logs for the correlation id)" };
}
