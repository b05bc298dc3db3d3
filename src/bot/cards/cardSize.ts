// Teams refuses a bot message over its size limit (413 MessageSizeTooBig). Microsoft counts the activity
// as UTF-16 and has documented 100 KB (80 KB guaranteed) and, in older revisions still served, 40 KB;
// Power Automate's connector stops at 28 KB of JSON. syncbot takes the stricter reading of each: every
// activity, invoke answers included, at most 28 KB of JSON (UTF-8) and at most 40 KB counted as UTF-16
// (2 bytes per code unit, so about 20 KB of ASCII and 28 KB of CJK). Cards page and truncate by design;
// this last check never lets a bigger one out.

import type { Card } from "./renderCard";

export const MAX_ACTIVITY_BYTES = 28 * 1024;
export const MAX_ACTIVITY_UTF16_BYTES = 40 * 1024;
/** What a card may use: the activity around it (ids, conversation, names, service URL) takes the rest. */
export const CARD_BUDGET_BYTES = 24 * 1024;
export const CARD_BUDGET_UTF16_BYTES = 36 * 1024;

/** A JSON text's size both ways: UTF-8 bytes, and UTF-16 bytes (JS strings are UTF-16 code units). */
export function jsonSize(json: string): { bytes: number; utf16Bytes: number } {
  return { bytes: Buffer.byteLength(json, "utf8"), utf16Bytes: json.length * 2 };
}

export function cardBytes(card: Card): number {
  return Buffer.byteLength(JSON.stringify(card), "utf8");
}

/** Whether a card fits its budget in both counts. */
export function cardFits(card: Card): boolean {
  const size = jsonSize(JSON.stringify(card));
  return size.bytes <= CARD_BUDGET_BYTES && size.utf16Bytes <= CARD_BUDGET_UTF16_BYTES;
}

/** Whether a whole activity (or invoke answer) as sent fits Teams' stricter reading. */
export function activityFits(activity: unknown): boolean {
  const size = jsonSize(JSON.stringify(activity) ?? "");
  return size.bytes <= MAX_ACTIVITY_BYTES && size.utf16Bytes <= MAX_ACTIVITY_UTF16_BYTES;
}

/** The card itself when it fits, otherwise a short card that says what happened. */
export function fitCard(card: Card): { card: Card; oversized?: number } {
  if (cardFits(card)) return { card };
  const bytes = cardBytes(card);
  return { oversized: bytes, card: tooBigCard(bytes) };
}

export function tooBigCard(bytes: number): Card {
  return {
    type: "AdaptiveCard",
    version: "1.5",
    body: [
      {
        type: "TextBlock",
        wrap: true,
        text: `This answer would be ${Math.ceil(bytes / 1024)} KB, more than Teams shows; nothing was changed. Ask for less (for example status <customer>).`,
      },
    ],
  };
}
