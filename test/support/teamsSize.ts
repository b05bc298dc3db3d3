// Size checks by Teams' stricter reading (issue 17) shared by tests of the largest cards: non-ASCII names
// (CJK, emoji as surrogate pairs, combining marks) and a card measured as Teams receives it, posted in a
// channel reply chain and as a button's invoke answer: at most 28 KB of JSON and 40 KB counted as UTF-16.

import { expect } from "vitest";
import { activityFits, jsonSize, MAX_ACTIVITY_BYTES, MAX_ACTIVITY_UTF16_BYTES } from "../../src/bot/cards/cardSize";
import type { Card } from "../../src/bot/cards/renderCard";

const CJK = "東京データ通信株式会社の同期アプリ";
const EMOJI = "🔐🚀🌏"; // surrogate pairs: 2 UTF-16 units, 4 UTF-8 bytes each
const COMBINING = "Re\u0301sume\u0301 Ca\u0300ffe\u0300 "; // decomposed accents
/** `units` UTF-16 code units of mixed non-ASCII text, never cutting a surrogate pair. */
export function unicodeName(units: number, seed = 0): string {
  const source = `${CJK}${EMOJI}${COMBINING}`.repeat(20);
  let out = "";
  for (const ch of source.slice(seed % 7)) {
    if (out.length + ch.length > units) break;
    out += ch;
  }
  return out;
}
/** The card as Teams receives it: posted in a channel reply chain, and as a button's invoke answer. */
export function asSent(card: Card) {
  const activity = {
    type: "message",
    id: "1712345678901",
    serviceUrl: "https://smba.trafficmanager.net/emea/00000000-0000-0000-0000-000000000001/",
    channelId: "msteams",
    from: { id: "28:0d5b1c2e-3f40-4a51-8b62-7c8d9e0f1a2b", name: "syncbot" },
    conversation: {
      isGroup: true,
      conversationType: "channel",
      id: "19:0123456789abcdef0123456789abcdef@thread.tacv2;messageid=1712345678901",
      tenantId: "00000000-0000-0000-0000-000000000001",
    },
    recipient: {
      id: `29:${"1".repeat(120)}`,
      name: unicodeName(80, 3),
      aadObjectId: "11111111-1111-4111-8111-111111111111",
    },
    locale: "ja-JP",
    attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: card }],
    replyToId: "1712345678000",
  };
  const invokeAnswer = { statusCode: 200, type: "application/vnd.microsoft.card.adaptive", value: card };
  return { activity, invokeAnswer };
}

export function expectWithinLimits(card: Card, label: string) {
  const { activity, invokeAnswer } = asSent(card);
  for (const [what, sent] of [
    ["activity", activity],
    ["invoke answer", invokeAnswer],
  ] as const) {
    const size = jsonSize(JSON.stringify(sent));
    expect(size.bytes, `${label} ${what}: UTF-8 bytes`).toBeLessThanOrEqual(MAX_ACTIVITY_BYTES);
    expect(size.utf16Bytes, `${label} ${what}: UTF-16 bytes`).toBeLessThanOrEqual(MAX_ACTIVITY_UTF16_BYTES);
    expect(activityFits(sent)).toBe(true);
  }
  // Not the "too big" stand-in: the card still says what it is about.
  expect(JSON.stringify(card)).not.toContain("more than Teams shows");
}
