// The `status` answer: the registrations syncbot manages, their secrets' countdown, UMP state and drift.

import type { RegistrationRecord } from "../../domain/records";
import { type Card, daysLeft, fact, renderCard, utc } from "./renderCard";

export function statusCard(
  registrations: RegistrationRecord[],
  now: Date,
  drift: Map<string, string>,
  title: string,
): Card {
  return renderCard("status", {
    title,
    emptyText: "syncbot manages no registration yet. Start with: provision <customer>",
    registrations: registrations.map((r) => ({
      customer: r.customer,
      service: "ump",
      driftBadge: drift.get(r.customer) ? ` — ${drift.get(r.customer)}` : "",
      facts: [
        fact("Client ID", r.appId),
        fact("Object ID", r.objectId),
        fact("UMP instance", r.params.umpInstance),
        fact(
          "UMP",
          r.ump
            ? `revision ${r.ump.revision}, secret ${r.secrets.some((s) => s.fingerprint === r.ump?.fingerprint && s.status === "active") ? "matches" : "DOES NOT match"} syncbot's, portal ${r.ump.portalValidated ? "validated" : "not validated"}`
            : "—",
        ),
        fact(
          "Last verification",
          r.lastVerification ? `${r.lastVerification.ok ? "ok" : "differences"} at ${utc(r.lastVerification.at)}` : "—",
        ),
      ],
      secrets: r.secrets.map(
        (s) =>
          `${s.service} secret ${s.keyId} (hint ${s.hint}): expires ${s.endDateTime.slice(0, 10)}, ${daysLeft(s.endDateTime, now)} days left${s.status === "superseded" ? `, superseded (removed after ${utc(s.removeAfter)})` : ""}`,
      ),
    })),
  });
}
