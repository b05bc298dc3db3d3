// correlationScope: the correlation id of the request whose work is running now, for code that sends
// HTTP without a CallContext (the Bot Connector posts of a request's card). Telemetry reads it to put
// the correlation id on those dependency items; Graph and UMP calls carry it in their own headers.
// AsyncLocalStorage follows the awaits of the work started inside `withCorrelationId`.

import { AsyncLocalStorage } from "node:async_hooks";

const scope = new AsyncLocalStorage<string>();

export function withCorrelationId<T>(correlationId: string, work: () => T): T {
  return correlationId ? scope.run(correlationId, work) : work();
}

export function currentCorrelationId(): string | undefined {
  return scope.getStore();
}
