// What telemetry may say about an outbound call: the correlation id (from the headers syncbot sends to
// Graph, the token endpoint and UMP, or the running request's scope for Bot Connector posts), and URLs
// with nothing secret in them. Outbound URLs carry no secret today; this is the second line of defence,
// as the logger's masking is for log fields: a hand-off token in a path or a credential-like query
// value is replaced before any attribute leaves the process.

import { currentCorrelationId } from "./correlationScope";

/** The headers that carry syncbot's correlation id: Graph's and Entra's, and the one UMP receives. */
const CORRELATION_HEADERS = ["client-request-id", "x-correlation-id"];
const HANDOFF_TOKEN = /\/handoff\/[^/?#\s"]+/g;
const SECRET_QUERY = /([?&](?:[^=&#]*(?:secret|password|token|assertion|signature|sig|code|key)[^=&#]*)=)[^&#\s"]*/gi;

/** A header's value from undici's `name, value, name, value` list, its raw header string, or node's getter. */
export function headerOf(
  headers: string | readonly (string | string[])[] | ((name: string) => unknown),
  name: string,
): string | undefined {
  if (typeof headers === "function") {
    const v = headers(name);
    return typeof v === "string" ? v : Array.isArray(v) ? String(v[0]) : undefined;
  }
  if (typeof headers === "string") {
    for (const line of headers.split("\r\n")) {
      const i = line.indexOf(":");
      if (i > 0 && line.slice(0, i).trim().toLowerCase() === name) return line.slice(i + 1).trim();
    }
    return undefined;
  }
  for (let i = 0; i + 1 < headers.length; i += 2)
    if (String(headers[i]).toLowerCase() === name) {
      const v = headers[i + 1]!;
      return Array.isArray(v) ? v[0] : v;
    }
  return undefined;
}

/** The correlation id of an outbound request: its own header first, then the running request's scope. */
export function correlationIdOf(
  headers: string | readonly (string | string[])[] | ((name: string) => unknown),
): string | undefined {
  for (const name of CORRELATION_HEADERS) {
    const v = headerOf(headers, name);
    if (v) return v;
  }
  return currentCorrelationId();
}

/** A URL or span name with hand-off tokens and credential-like query values replaced. */
export function redact(value: string): string {
  return value.replace(HANDOFF_TOKEN, "/handoff/[masked]").replace(SECRET_QUERY, "$1[masked]");
}

/** Applies `redact` to every string attribute that needs it (span attributes are set again, not edited). */
export function redactAttributes(
  attributes: Record<string, unknown> | undefined,
  set: (key: string, value: string) => unknown,
): void {
  for (const [k, v] of Object.entries(attributes ?? {}))
    if (typeof v === "string") {
      const clean = redact(v);
      if (clean !== v) set(k, clean);
    }
}
