// Right after a create, Graph's replicas may not know the new id yet: for a call marked
// `justCreated`, a 404 is retried a few times with doubling waits before it stands.

import type { Context, Middleware } from "@microsoft/microsoft-graph-client";
import type { Logger } from "../../domain/ports";
import { callOptionsOf } from "./callOptions";

export class NotFoundAfterCreateMiddleware implements Middleware {
  private next?: Middleware;

  constructor(
    private readonly retries: number,
    private readonly baseDelayMs: number,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly logger?: Logger,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const opts = callOptionsOf(context);
    for (let attempt = 1; ; attempt++) {
      await this.next!.execute(context);
      const res = context.response;
      if (!opts?.ctx.justCreated || res?.status !== 404 || attempt > this.retries) return;
      await res.body?.cancel().catch(() => undefined);
      const waitMs = this.baseDelayMs * 2 ** (attempt - 1);
      opts.ctx.onRetry?.({ service: "graph", attempt, maxAttempts: this.retries, waitMs, status: 404 });
      this.logger?.info("graph object not replicated yet, waiting", {
        attempt,
        waitMs,
        correlationId: opts.ctx.correlationId,
      });
      await this.sleep(waitMs);
    }
  }
}
