// While a step waits out throttling or Entra's replication, the card says so ("waiting for Graph (HTTP
// 429), retry 2 of 5", "waiting for Entra to replicate (…), 6 s of at most 120 s"):
// the call context a step passes to Graph and UMP records each wait on the run.

import type { CallContext, RetryNotice } from "../ports";
import type { RequestRecord, StepName } from "../records";
import type { Repository } from "../repository";

export function retryNotes(
  repo: Repository,
  notify: (request: RequestRecord) => void,
  request: RequestRecord,
  step: StepName,
): CallContext {
  return {
    correlationId: request.correlationId,
    onRetry: (n: RetryNotice) => {
      const note =
        n.service === "entra"
          ? `waiting for Entra to replicate (${n.awaiting}), ${Math.round((n.elapsedMs ?? 0) / 1000)} s of at most ${Math.round((n.budgetMs ?? 0) / 1000)} s`
          : n.status === 404
            ? `waiting for Entra to replicate the new application, retry ${n.attempt} of ${n.maxAttempts}`
            : `waiting for ${n.service === "graph" ? "Graph" : "UMP"} (HTTP ${n.status}), retry ${n.attempt} of ${n.maxAttempts}`;
      void repo
        .updateRequest(request.id, (r) =>
          r.run
            ? {
                ...r,
                run: {
                  ...r.run,
                  waiting: note,
                  steps: r.run.steps.map((s) => (s.name === step ? { ...s, detail: note } : s)),
                },
              }
            : null,
        )
        .then((res) => res && notify(res.value))
        .catch(() => undefined);
    },
  };
}
