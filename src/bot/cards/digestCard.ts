// The reminder digest (issue 17): one message listing every registration of a conversation due at
// once, soonest first, a page at a time. Each line carries Rotate secret and Snooze; the card carries
// Next page and Rotate all. Pages are cut by size as well as by count, so the largest page, with
// non-ASCII names, stays under Teams' stricter size reading (28 KB of JSON, 40 KB counted as UTF-16).
// Built directly, not from a template: paging measures each line as it adds it.

import type { DigestEntry } from "../../domain/sweep/digests";
import { daysUntil } from "../../domain/reminders";
import { truncate } from "../truncate";
import { CARD_BUDGET_BYTES, CARD_BUDGET_UTF16_BYTES, jsonSize } from "./cardSize";
import { markdownText as md } from "./markdownText";
import { type Card, neutralise } from "./renderCard";

/** At most this many lines on one page: a page is read, not scrolled through. */
export const DIGEST_LINES_PER_PAGE = 20;

export interface DigestPageView {
  digestId: string;
  page: number;
  pages: number;
  total: number;
  entries: DigestEntry[];
  now: Date;
  /** Lines snoozed since the digest was sent (by keyId): shown without buttons. */
  snoozed?: ReadonlyMap<string, { until: string; by: string }>;
  notice?: string;
}

const SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json";
const text = (t: string, extra: Record<string, unknown> = {}) => ({ type: "TextBlock", text: t, wrap: true, ...extra });

export function digestCard(v: DigestPageView): Card {
  const card = frame(v);
  (card.body as unknown[]).push(...v.entries.map((e) => digestLine(v, e)));
  return card;
}

/** The card without its lines: title, page, notice and the card's buttons. */
function frame(v: Omit<DigestPageView, "entries">): Card {
  const body: unknown[] = [
    text(`${v.total} secrets in this conversation need attention`, {
      size: "Medium",
      weight: "Bolder",
      color: "Warning",
    }),
    text(
      `Page ${v.page} of ${v.pages}, soonest first. **Rotate all** plans one rotation batch for all ${v.total}, with one approval.`,
      { isSubtle: true, spacing: "Small" },
    ),
  ];
  if (v.notice) body.push(text(neutralise(md(truncate(v.notice, 300))), { weight: "Bolder" }));
  const actions: unknown[] = [];
  if (v.pages > 1)
    actions.push({
      type: "Action.Execute",
      title: v.page < v.pages ? "Next page" : "First page",
      verb: "digest.page",
      data: { digestId: v.digestId, page: v.page < v.pages ? v.page + 1 : 1 },
    });
  actions.push({
    type: "Action.Execute",
    title: "Rotate all",
    verb: "digest.rotateAll",
    data: { digestId: v.digestId },
  });
  return { type: "AdaptiveCard", $schema: SCHEMA, version: "1.5", msteams: { width: "Full" }, body, actions };
}

function digestLine(v: DigestPageView, e: DigestEntry) {
  const days = daysUntil(e.endDateTime, v.now);
  const when =
    days < 0 ? "**EXPIRED**" : `expires in ${days} day${days === 1 ? "" : "s"} (${e.endDateTime.slice(0, 10)})`;
  const name = e.displayName ? ` · ${md(truncate(e.displayName, 80))}` : "";
  const snoozed = v.snoozed?.get(e.keyId);
  const line = neutralise(
    `**${e.customer}**${name} · ${e.service} secret ${when} · hint ${md(e.hint || "—")}` +
      (snoozed ? ` · snoozed until ${snoozed.until.slice(0, 10)} by ${md(truncate(snoozed.by, 60))}` : ""),
  );
  if (snoozed) return text(line, { spacing: "Small" });
  return {
    type: "ColumnSet",
    spacing: "Small",
    columns: [
      { type: "Column", width: "stretch", items: [text(line, { spacing: "None" })] },
      {
        type: "Column",
        width: "auto",
        items: [
          {
            type: "ActionSet",
            actions: [
              {
                type: "Action.Execute",
                title: "Rotate secret",
                verb: "secret.rotate",
                data: { customer: e.customer, service: e.service },
              },
              {
                type: "Action.Execute",
                title: "Snooze",
                verb: "digest.snooze",
                data: { digestId: v.digestId, page: v.page, customer: e.customer, keyId: e.keyId },
              },
            ],
          },
        ],
      },
    ],
  };
}

/** UTF-8 bytes and UTF-16 bytes of a value's JSON. */
function jsonSizes(value: unknown): { utf8: number; utf16: number } {
  const size = jsonSize(JSON.stringify(value));
  return { utf8: size.bytes, utf16: size.utf16Bytes };
}

/**
 * Cuts the digest's entries (soonest first) into pages: at most DIGEST_LINES_PER_PAGE lines, and no
 * page whose card would exceed either size budget. Each line is measured once, beside a frame with
 * the largest page numbers, so paging costs one serialisation per line however large the fleet.
 */
export function paginateDigest(digestId: string, entries: readonly DigestEntry[], now: Date): DigestEntry[][] {
  // The largest numbers and notice a page can show later (a snooze's or a refusal's notice).
  const worst = { digestId, page: 99_999, pages: 99_999, total: entries.length, now, notice: "€".repeat(300) };
  const base = jsonSizes(frame(worst));
  const pages: DigestEntry[][] = [];
  let current: DigestEntry[] = [];
  let utf8 = base.utf8;
  let utf16 = base.utf16;
  for (const e of entries) {
    // +1 / +2: the comma between two lines of the body.
    const size = jsonSizes(digestLine({ ...worst, entries: [] }, e));
    const fits =
      current.length < DIGEST_LINES_PER_PAGE &&
      utf8 + size.utf8 + 1 <= CARD_BUDGET_BYTES &&
      utf16 + size.utf16 + 2 <= CARD_BUDGET_UTF16_BYTES;
    if (!fits && current.length > 0) {
      pages.push(current);
      current = [];
      utf8 = base.utf8;
      utf16 = base.utf16;
    }
    current.push(e);
    utf8 += size.utf8 + 1;
    utf16 += size.utf16 + 2;
  }
  if (current.length > 0) pages.push(current);
  return pages;
}
