// The audit trail of one customer, newest first, one page at a time (Next page), each line bounded so
// a page stays far under the size limit whatever the events hold.

import type { AuditEvent } from "../../domain/records";
import { truncate } from "../truncate";
import { markdownText as md } from "./markdownText";
import { type Card, renderCard, utc } from "./renderCard";

export const HISTORY_PAGE_SIZE = 20;

export function historyCard(customer: string, events: AuditEvent[], next: string | undefined): Card {
  return renderCard("history", {
    title: `History of ${md(customer)} (newest first)`,
    customer,
    next: next ?? "",
    events: events.map(
      (e) =>
        `${utc(e.at)}  ${md(truncate(e.actor, 80))}  ${md(e.action)}  ${e.outcome}${e.detail ? `  ${md(truncate(e.detail, 300))}` : ""}  [${e.correlationId.slice(0, 8)}]`,
    ),
  });
}
