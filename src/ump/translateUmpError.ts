// UMP's problem+json answers as syncbot's coded errors, at the boundary: only the problem's own title
// and detail (scrubbed of every value the call sent) travel on, never the request body. A failed write
// whose answer does not say it was refused before processing leaves its outcome unknown.

import { SyncbotError } from "../domain/errors";
import { scrub } from "./describeNetworkError";

/** 5xx answers that say the request was not processed at all (RFC 9110 15.6.2, 15.6.6). */
const REFUSED_BEFORE_PROCESSING = new Set([501, 505]);

interface Problem {
  type?: string;
  title?: string;
  detail?: string;
}

export function translateUmpError(
  call: { method: string; what: string; secrets: readonly string[] },
  res: { status: number; body: unknown },
): SyncbotError {
  const p = (res.body && typeof res.body === "object" ? res.body : {}) as Problem;
  const title = typeof p.title === "string" ? scrub(p.title, call.secrets) : "";
  const detail = typeof p.detail === "string" ? scrub(p.detail, call.secrets) : "";
  const said = [title, detail].filter((s) => s !== "").join(": ");
  const opts = { status: res.status, upstreamCode: typeof p.type === "string" ? p.type : undefined };
  const where = `UMP ${call.method} ${call.what}`;
  switch (true) {
    case res.status === 404:
      return new SyncbotError("not_found", `${where}: not found${said ? ` (${said})` : ""}`, opts);
    case res.status === 412:
      return new SyncbotError("precondition_failed", `${where}: the settings changed since they were read (412)`, {
        ...opts,
        hint: "read the settings again and re-check the change",
      });
    case res.status === 428:
      // The client always sends If-Match on writes; reaching this is a syncbot bug, not an operator problem.
      return new SyncbotError("internal", `${where}: UMP requires If-Match (428), which syncbot failed to send`, opts);
    case res.status === 401 || res.status === 403:
      return new SyncbotError("upstream_rejected", `${where}: UMP refused the credentials (${res.status})`, {
        ...opts,
        hint: "check UMP_TOKEN",
      });
    case res.status >= 400 && res.status < 500:
      // Only the problem's own title/detail: the request body is never echoed into a message.
      return new SyncbotError("upstream_rejected", `${where}: rejected (${res.status})${said ? ` ${said}` : ""}`, opts);
    case call.method !== "GET" && !REFUSED_BEFORE_PROCESSING.has(res.status):
      return new SyncbotError(
        "outcome_unknown",
        `${where}: UMP failed (${res.status})${said ? ` ${said}` : ""}; it may have applied the write`,
        { ...opts, hint: "read UMP back before deciding" },
      );
    default:
      return new SyncbotError("upstream_failed", `${where}: UMP failed (${res.status})${said ? ` ${said}` : ""}`, opts);
  }
}
