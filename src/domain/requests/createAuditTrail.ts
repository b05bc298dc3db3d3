// One line per thing that happened to a request, for `history`: who did what, with which outcome.

import type { Clock } from "../ports";
import type { AuditEvent, RequestRecord } from "../records";
import type { Repository } from "../repository";

export type AuditTrail = (
  request: RequestRecord,
  actor: string,
  action: string,
  outcome: AuditEvent["outcome"],
  detail?: string,
) => Promise<void>;

export function createAuditTrail(repo: Repository, clock: Clock): AuditTrail {
  return async (request, actor, action, outcome, detail) => {
    await repo.audit({
      at: clock.now().toISOString(),
      customer: request.customer,
      actor,
      action,
      outcome,
      correlationId: request.correlationId,
      requestId: request.id,
      detail,
    });
  };
}
