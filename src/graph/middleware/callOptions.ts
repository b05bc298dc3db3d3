// Per-request options of a Graph call (the caller's context, the first non-HTTP failure) and a
// header helper, shared by every middleware in the chain. They travel through the SDK's
// middleware control, keyed by constructor.

import type { Context, MiddlewareOptions } from "@microsoft/microsoft-graph-client";
import type { CallContext } from "../../domain/ports";

/** `justCreated` asks the chain to retry a 404 (replication lag right after a create). */
export type GraphCallContext = CallContext & { justCreated?: boolean };

export class SyncbotCallOptions implements MiddlewareOptions {
  /** The first non-HTTP failure inside the chain; the SDK would otherwise wrap it into a GraphError. */
  failure?: unknown;
  constructor(readonly ctx: GraphCallContext) {}
}

export function callOptionsOf(context: Context): SyncbotCallOptions | undefined {
  return context.middlewareControl?.getMiddlewareOptions(SyncbotCallOptions) as SyncbotCallOptions | undefined;
}

export function setHeader(context: Context, name: string, value: string): void {
  const options = context.options ?? {};
  context.options = options;
  const h = options.headers;
  if (h instanceof Headers) h.set(name, value);
  else if (Array.isArray(h))
    options.headers = [...h.filter(([k]) => k?.toLowerCase() !== name.toLowerCase()), [name, value]];
  else options.headers = { ...(h ?? {}), [name]: value };
}
