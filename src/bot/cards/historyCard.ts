// The audit trail of one customer, newest first, one page at a time.

import type { AuditEvent } from "../../domain/records";
import { type Card, renderCard, utc } from "./renderCard";

export function historyCard(customer: string, events: AuditEvent[], next: string | undefined): Card {
  return renderCard("history", {
    title: `History of ${customer} (newest first)`,
    customer,
    next: next ?? "",
    events: events.map(
      (e) =>
        `${utc(e.at)}  ${e.actor}  ${e.action}  ${e.outcome}${e.detail ? `  ${e.detail}` : ""}  [${e.correlationId.slice(0, 8)}]`,
    ),
  });
}
