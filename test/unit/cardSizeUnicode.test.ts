// Issue 17, "size by Teams' stricter reading": the largest cards (status, batch, approval with a long
// plan, history) with non-ASCII display names (CJK, emoji, combining marks), posted as an activity or
// answered to a button, stay within 28 KB of JSON and within 40 KB counted as UTF-16. ASCII-heavy cards
// meet the UTF-16 bound first (2 bytes a character), CJK-heavy ones the UTF-8 bound (3 bytes a character).

import { describe, expect, it } from "vitest";
import { approvalCard } from "../../src/bot/cards/approvalCard";
import { batchCard } from "../../src/bot/cards/batchCard";
import {
  activityFits,
  CARD_BUDGET_BYTES,
  cardFits,
  fitCard,
  jsonSize,
  MAX_ACTIVITY_BYTES,
  MAX_ACTIVITY_UTF16_BYTES,
} from "../../src/bot/cards/cardSize";
import { HISTORY_PAGE_SIZE, historyCard } from "../../src/bot/cards/historyCard";
import type { Card } from "../../src/bot/cards/renderCard";
import { assessRegistrations, statusCard } from "../../src/bot/cards/statusCard";
import { type BatchRecord, MAX_BATCH_LINES } from "../../src/domain/batches/batchRecords";
import { planProvisioning } from "../../src/domain/plan";
import type { RegistrationRecord, RequestRecord } from "../../src/domain/records";
import { buildSpec } from "../../src/domain/spec";
import { NOW, PARAMS } from "../support/fixtures";

const CJK = "東京データ通信株式会社の同期アプリ";
const EMOJI = "🔐🚀🌏"; // surrogate pairs: 2 UTF-16 units, 4 UTF-8 bytes each
const COMBINING = "Re\u0301sume\u0301 Ca\u0300ffe\u0300 "; // decomposed accents
/** `units` UTF-16 code units of mixed non-ASCII text, never cutting a surrogate pair. */
function unicodeName(units: number, seed = 0): string {
  const source = `${CJK}${EMOJI}${COMBINING}`.repeat(20);
  let out = "";
  for (const ch of source.slice(seed % 7)) {
    if (out.length + ch.length > units) break;
    out += ch;
  }
  return out;
}
const DISPLAY_NAME = unicodeName(120);
const PERSON = unicodeName(80, 3);
const HUGE = unicodeName(20_000, 5);

/** The card as Teams receives it: posted in a channel reply chain, and as a button's invoke answer. */
function asSent(card: Card) {
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
    recipient: { id: `29:${"1".repeat(120)}`, name: PERSON, aadObjectId: "11111111-1111-4111-8111-111111111111" },
    locale: "ja-JP",
    attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: card }],
    replyToId: "1712345678000",
  };
  const invokeAnswer = { statusCode: 200, type: "application/vnd.microsoft.card.adaptive", value: card };
  return { activity, invokeAnswer };
}

function expectWithinLimits(card: Card, label: string) {
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

describe("the largest cards with non-ASCII names stay within 28 KB of JSON and 40 KB as UTF-16", () => {
  it("measures as Teams counts: an emoji is 2 UTF-16 units and 4 UTF-8 bytes, a kanji 1 unit and 3 bytes", () => {
    expect(jsonSize('"🔐"')).toEqual({ bytes: 6, utf16Bytes: 8 });
    expect(jsonSize('"東"')).toEqual({ bytes: 5, utf16Bytes: 6 });
    expect(jsonSize('"e\u0301"')).toEqual({ bytes: 5, utf16Bytes: 8 });
    // An ASCII card of 24 KB fits the UTF-8 budget but not the UTF-16 one (48 KB as UTF-16).
    const ascii: Card = {
      type: "AdaptiveCard",
      body: [{ type: "TextBlock", text: "a".repeat(CARD_BUDGET_BYTES - 100) }],
    };
    expect(cardFits(ascii)).toBe(false);
    expect(fitCard(ascii).oversized).toBeGreaterThan(0);
  });

  it.each([
    ["non-ASCII", (i: number) => unicodeName(120, i)],
    ["ASCII (the UTF-16 bound comes first)", (i: number) => `D${i}`.padEnd(120, "D")],
  ])("status: every page of 300 registrations with 120-character %s display names", (_kind, displayName) => {
    const regs: RegistrationRecord[] = Array.from({ length: 300 }, (_, i) => {
      const customer = `customer-${String(i).padStart(3, "0")}-${"x".repeat(24)}`;
      const days = i % 10 === 3 ? 5 + (i % 20) : 200 + i;
      return {
        customer,
        params: { ...PARAMS, customer, umpInstance: `ump-${customer}`.slice(0, 64), displayName: displayName(i) },
        objectId: `${String(i).padStart(8, "0")}-aaaa-4bbb-8ccc-dddddddddddd`,
        appId: `${String(i).padStart(8, "0")}-eeee-4fff-8000-111111111111`,
        conversation: {},
        secrets: [
          {
            keyId: `${String(i).padStart(8, "0")}-1111-4222-8333-444444444444`,
            service: "ump",
            runId: `run-${i}`,
            displayName: `syncbot:ump:run-${i}`,
            hint: "Ab~",
            endDateTime: new Date(NOW.getTime() + days * 86_400_000).toISOString(),
            fingerprint: `sha256:${String(i).padStart(16, "0")}`,
            createdAt: NOW.toISOString(),
            status: "active",
          },
        ],
        lastVerification:
          i % 25 === 11
            ? { ok: false, differences: [HUGE], tokenProof: "ok", at: NOW.toISOString() }
            : { ok: true, differences: [], tokenProof: "ok", at: NOW.toISOString() },
        createdAt: NOW.toISOString(),
        updatedAt: NOW.toISOString(),
      } as RegistrationRecord;
    });
    const entries = assessRegistrations(regs, NOW, new Set());
    const seen = new Set<string>();
    for (let page = 1; page < 100; page++) {
      const card = statusCard({ entries, now: NOW, page, title: `${DISPLAY_NAME} (300)` });
      expectWithinLimits(card, `status page ${page}`);
      for (const m of JSON.stringify(card).matchAll(/customer-\d{3}-x+/g)) seen.add(m[0]);
      if (!JSON.stringify(card).includes('"Next page"')) break;
    }
    expect(seen.size).toBe(300);
    // One registration in full.
    const one = statusCard({ entries: entries.slice(0, 1), now: NOW, page: 1, title: DISPLAY_NAME, single: true });
    expectWithinLimits(one, "status <customer>");
  });

  it(`batch: ${MAX_BATCH_LINES} lines, non-ASCII people and long non-ASCII errors`, () => {
    const members = Array.from({ length: MAX_BATCH_LINES }, (_, i) => ({
      line: i + 1,
      customer: `customer-${String(i).padStart(3, "0")}-${"x".repeat(28)}`,
      requestId: `r${i}`,
      planHash: "h",
      approvedHash: "h",
      retries: 0,
      error: i % 9 === 0 ? HUGE : undefined,
    }));
    const batch = {
      id: "b1",
      state: "approved",
      requester: { id: "u1", name: PERSON },
      tenantId: "t",
      conversation: {},
      members,
      hash: "x",
      createdAt: "2026-01-01T00:00:00.000Z",
      expiresAt: "2026-01-02T00:00:00.000Z",
      approver: { id: "u2", name: unicodeName(80, 1), via: "allow-list", at: "2026-01-01T00:00:00.000Z" },
      correlationId: "c",
    } as unknown as BatchRecord;
    const requests = new Map<string, RequestRecord>();
    members.forEach((m, i) => {
      const failed = i % 5 === 0;
      requests.set(m.requestId, {
        id: m.requestId,
        customer: m.customer,
        params: { ...PARAMS, customer: m.customer, displayName: unicodeName(120, i) },
        state: failed ? "failed" : i % 3 === 0 ? "running" : "succeeded",
        plan: { hash: "h", changes: [] },
        run: {
          appId: "0d5a4c3b-2a19-4e88-9f77-6a5b4c3d2e1f",
          steps: [],
          error: failed ? { step: "upsertApplication", code: "x", message: HUGE, hint: HUGE } : undefined,
        },
      } as unknown as RequestRecord);
    });
    expectWithinLimits(batchCard({ batch, requests, notice: HUGE }), "batch");
  });

  it("approval with a long plan, a non-ASCII display name, requester, approver and error", () => {
    const plan = planProvisioning(
      buildSpec({ ...PARAMS, displayName: DISPLAY_NAME }),
      { app: null, ump: null, recorded: [] },
      { kind: "provision", umpApi: true, now: NOW },
    );
    const long = { ...plan, changes: Array.from({ length: 500 }, (_, i) => plan.changes[i % plan.changes.length]!) };
    const request = {
      id: "req-1",
      customer: "contoso",
      kind: "provision",
      params: { ...PARAMS, displayName: DISPLAY_NAME },
      service: "ump",
      state: "failed",
      requester: { id: "aaaaaaaa-0000-0000-0000-000000000001", name: PERSON },
      approver: {
        id: "aaaaaaaa-0000-0000-0000-000000000002",
        name: unicodeName(80, 2),
        via: "global-admin",
        at: NOW.toISOString(),
      },
      tenantId: "t",
      conversation: {},
      plan: long,
      createdAt: "2025-03-01T11:00:00.000Z",
      expiresAt: "2025-03-02T11:00:00.000Z",
      correlationId: "corr-1",
      run: {
        id: "run-1",
        startedAt: "2025-03-01T12:05:00.000Z",
        owner: "p",
        leaseUntil: "2025-03-01T12:05:00.000Z",
        steps: [{ name: "upsertApplication", status: "failed", detail: HUGE }],
        error: { step: "upsertApplication", code: "upstream_rejected", message: HUGE, hint: HUGE },
      },
    } as unknown as RequestRecord;
    expectWithinLimits(approvalCard({ request, spTenantId: "t", allowSelfApproval: true, notice: HUGE }), "approval");
  });

  it("history: a page of events with non-ASCII actors and details", () => {
    const events = Array.from({ length: HISTORY_PAGE_SIZE }, (_, i) => ({
      id: `e${i}`,
      at: "2025-03-01T12:00:00.000Z",
      customer: "contoso",
      actor: unicodeName(80, i),
      action: "note",
      outcome: "info" as const,
      correlationId: "corr-0123456789",
      detail: HUGE,
    }));
    expectWithinLimits(historyCard("contoso", events, "next"), "history");
  });
});
