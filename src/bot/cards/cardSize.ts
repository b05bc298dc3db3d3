// Teams refuses a bot message over its size limit (413 MessageSizeTooBig; 100 KB counted as UTF-16,
// 80 KB recommended, and Power Automate's connector stops at 28 KB). syncbot keeps every activity under
// 28 KB of JSON: cards page and truncate by design, and this last check never lets a bigger one out.

import type { Card } from "./renderCard";

export const MAX_ACTIVITY_BYTES = 28 * 1024;
/** What a card may use: the activity around it (ids, conversation, service URL) takes the rest. */
export const CARD_BUDGET_BYTES = 24 * 1024;

export function cardBytes(card: Card): number {
  return Buffer.byteLength(JSON.stringify(card), "utf8");
}

/** The card itself when it fits, otherwise a short card that says what happened. */
export function fitCard(card: Card): { card: Card; oversized?: number } {
  const bytes = cardBytes(card);
  if (bytes <= CARD_BUDGET_BYTES) return { card };
  return {
    oversized: bytes,
    card: {
      type: "AdaptiveCard",
      version: "1.5",
      body: [
        {
          type: "TextBlock",
          wrap: true,
          text: `This answer would be ${Math.ceil(bytes / 1024)} KB, more than Teams shows; nothing was changed. Ask for less (for example status <customer>).`,
        },
      ],
    },
  };
}
