// The `status` answer. With hundreds of customers one card cannot hold every registration (Teams'
// size limit), so it opens with a summary (counts by health, the soonest expiries, charts of both) and
// lists one page, problems and soonest expiries first, with Next page; `status <customer>` shows one in full.

import type { RegistrationRecord } from "../../domain/records";
import { truncate } from "../truncate";
import { cardFits } from "./cardSize";
import { markdownText as md } from "./markdownText";
import { type Card, daysLeft, fact, renderCard, utc } from "./renderCard";
import type { StatusEntry } from "./statusEntry";
import { createStatusFigures, stateSummary, statusChartElements } from "./statusCharts";

// Eight entries with long values and page 1's charts stay under 40 KB counted as UTF-16 (cardSize.ts).
export const PAGE_SIZE = 8;
const EXPIRING_DAYS = 30;
const SECRETS_SHOWN = 8;
const SOONEST_LISTED = 5;

/**
 * Health of each registration (its worst condition), ordered problems first, then by soonest expiry.
 * `failedCustomers`: customers whose newest request failed.
 */
export function assessRegistrations(
  registrations: RegistrationRecord[],
  now: Date,
  failedCustomers: ReadonlySet<string> = new Set(),
): StatusEntry[] {
  const entries = registrations.map((registration): StatusEntry => {
    const r = registration;
    const soonest = r.secrets
      .filter((s) => s.status === "active")
      .sort((a, b) => Date.parse(a.endDateTime) - Date.parse(b.endDateTime))[0];
    const days = soonest ? daysLeft(soonest.endDateTime, now) : undefined;
    const umpMismatch = r.ump && !r.secrets.some((s) => s.fingerprint === r.ump?.fingerprint && s.status === "active");
    if (r.attention)
      return {
        registration,
        soonest,
        health: "attention",
        problem: `NEEDS ATTENTION: ${truncate(r.attention.reason, 200)} (check ${r.customer} settles it)`,
      };
    if (failedCustomers.has(r.customer))
      return { registration, soonest, health: "failed", problem: "FAILED: the last request failed" };
    if (days !== undefined && days < 0)
      return { registration, soonest, health: "expired", problem: "EXPIRED: the UMP secret has expired" };
    if (r.lastVerification && !r.lastVerification.ok)
      return { registration, soonest, health: "drifted", problem: "DRIFT: last verification found differences" };
    if (umpMismatch)
      return { registration, soonest, health: "drifted", problem: "DRIFT: UMP holds a secret syncbot did not record" };
    if (days !== undefined && days <= EXPIRING_DAYS) return { registration, soonest, health: "expiring" };
    return { registration, soonest, health: "healthy" };
  });
  const expiry = (e: StatusEntry) => (e.soonest ? Date.parse(e.soonest.endDateTime) : Number.POSITIVE_INFINITY);
  const isProblem = (e: StatusEntry) => (e.problem ? 0 : 1);
  return entries.sort(
    (a, b) =>
      isProblem(a) - isProblem(b) ||
      expiry(a) - expiry(b) ||
      a.registration.customer.localeCompare(b.registration.customer),
  );
}

export interface StatusView {
  entries: StatusEntry[];
  now: Date;
  title: string;
  /** 1-based; the overview (summary + first page) is page 1. */
  page?: number;
  /** One customer in full: every secret, no summary or paging. */
  single?: boolean;
}

export function statusCard(view: StatusView): Card {
  const { entries, now } = view;
  const pages = Math.max(1, Math.ceil(entries.length / PAGE_SIZE));
  const page = Math.min(Math.max(1, Math.trunc(view.page ?? 1)), pages);
  const slice = view.single ? entries : entries.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const many = !view.single && entries.length > 1;
  // The counts by health as text on every page, and as charts on the first, from the same assessment.
  const figures = createStatusFigures(now);
  if (many) for (const e of entries) figures.add(e);
  const summary = many ? stateSummary(figures.figures()) : "";
  const charts = many && page === 1 ? statusChartElements(figures.figures()) : [];
  const soonest = entries
    .filter((e) => e.soonest)
    .sort((a, b) => Date.parse(a.soonest!.endDateTime) - Date.parse(b.soonest!.endDateTime))
    .slice(0, SOONEST_LISTED)
    .map((e) => `${md(e.registration.customer)} ${describeDays(daysLeft(e.soonest!.endDateTime, now))}`);
  const base = {
    title: view.title,
    emptyText: "syncbot manages no registration yet. Start with: provision <customer>",
    summary,
    soonest: many && soonest.length ? `Soonest expiries: ${soonest.join(", ")}.` : "",
    charts,
    pageLine:
      pages > 1 && !view.single
        ? `Page ${page} of ${pages}, problems and soonest expiries first. status <customer> shows one in full.`
        : "",
    nextPage: !view.single && page < pages ? page + 1 : 0,
  };
  // Entries are sized by design (about 1 KB each); a registration with unusually long values still
  // must not push the page over the limit, so the page sheds entries until it fits.
  let shown = slice.length;
  for (;;) {
    const card = renderCard("status", {
      ...base,
      registrations: slice.slice(0, shown).map((e) => entryView(e, now, view.single ? 50 : SECRETS_SHOWN)),
    });
    if (shown <= 1 || cardFits(card)) return card;
    shown--;
  }
}

function describeDays(days: number): string {
  if (days < 0) return `expired ${-days} day${days === -1 ? "" : "s"} ago`;
  return `in ${days} day${days === 1 ? "" : "s"}`;
}

function entryView(e: StatusEntry, now: Date, secretsShown: number) {
  const r = e.registration;
  const secrets = [...r.secrets].sort((a, b) => Date.parse(a.endDateTime) - Date.parse(b.endDateTime));
  const lines = secrets
    .slice(0, secretsShown)
    .map(
      (s) =>
        `${md(s.service)} secret ${s.keyId} (hint ${md(s.hint)}): expires ${s.endDateTime.slice(0, 10)}, ${daysLeft(s.endDateTime, now)} days left${s.status === "superseded" ? `, superseded (removed after ${utc(s.removeAfter)})` : ""}`,
    );
  if (secrets.length > secretsShown) lines.push(`…and ${secrets.length - secretsShown} more secret(s)`);
  return {
    customer: r.customer,
    customerText: md(r.customer),
    service: "ump",
    driftBadge: e.problem ? ` — ${md(e.problem)}` : "",
    facts: [
      fact("Client ID", r.appId),
      fact("Object ID", r.objectId),
      fact("UMP instance", md(truncate(r.params.umpInstance, 80))),
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
    secrets: lines,
  };
}
