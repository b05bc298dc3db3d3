// No card grows past Teams' size limit whatever the data: long plans, drift lists, audit details and
// upstream error messages are bounded; answerInTime answers within its budget whatever the work does.

import { describe, expect, it } from "vitest";
import { answerInTime, FAILED_ANSWER } from "../../src/bot/answerInTime";
import { approvalCard } from "../../src/bot/cards/approvalCard";
import { CARD_BUDGET_BYTES, cardBytes, fitCard } from "../../src/bot/cards/cardSize";
import { driftCard } from "../../src/bot/cards/driftCard";
import { historyCard } from "../../src/bot/cards/historyCard";
import { parametersCard } from "../../src/bot/cards/parametersCard";
import type { Card } from "../../src/bot/cards/renderCard";
import type { Logger } from "../../src/domain/ports";
import type { RequestRecord } from "../../src/domain/records";
import { freshPlan, PARAMS } from "../support/fixtures";

const huge = "x".repeat(200_000);

describe("cards stay under the size budget", () => {
  it("an approval card with a huge plan, error and notice", () => {
    const plan = freshPlan();
    const many = { ...plan, changes: Array.from({ length: 500 }, () => plan.changes[0]!) };
    const request: RequestRecord = {
      id: "req-1",
      customer: "contoso",
      kind: "provision",
      params: PARAMS,
      service: "ump",
      state: "failed",
      requester: { id: "aaaaaaaa-0000-0000-0000-000000000001", name: "Alice" },
      tenantId: "t",
      conversation: {},
      plan: many,
      createdAt: "2025-03-01T11:00:00.000Z",
      expiresAt: "2025-03-02T11:00:00.000Z",
      correlationId: "corr-1",
      run: {
        id: "run-1",
        startedAt: "2025-03-01T12:05:00.000Z",
        owner: "p",
        leaseUntil: "2025-03-01T12:05:00.000Z",
        steps: [{ name: "upsertApplication", status: "failed", detail: huge }],
        error: { step: "upsertApplication", code: "upstream_rejected", message: huge, hint: huge },
      },
    };
    const card = approvalCard({ request, spTenantId: "t", allowSelfApproval: false, notice: huge });
    expect(cardBytes(card)).toBeLessThan(CARD_BUDGET_BYTES);
    expect(JSON.stringify(card)).toContain("…and 460 more change(s)");
    expect(JSON.stringify(card)).toContain("x…");
  });

  it("a drift card with a thousand long differences", () => {
    const card = driftCard(
      "contoso",
      PARAMS,
      Array.from({ length: 1000 }, () => huge),
    );
    expect(cardBytes(card)).toBeLessThan(CARD_BUDGET_BYTES);
    expect(JSON.stringify(card)).toContain("…and 960 more");
  });

  it("a history page of events with huge details and actor names", () => {
    const events = Array.from({ length: 20 }, (_, i) => ({
      id: `e${i}`,
      at: "2025-03-01T12:00:00.000Z",
      customer: "contoso",
      actor: huge,
      action: "note",
      outcome: "info" as const,
      correlationId: "corr-0123456789",
      detail: huge,
    }));
    expect(cardBytes(historyCard("contoso", events, "next"))).toBeLessThan(CARD_BUDGET_BYTES);
  });

  it("a parameters card with a huge form error and field errors", () => {
    const card = parametersCard({ values: { customer: "contoso" }, formError: huge, errors: { appName: huge } });
    expect(cardBytes(card)).toBeLessThan(CARD_BUDGET_BYTES);
  });

  it("fitCard replaces anything still too large with a short card", () => {
    const big: Card = { type: "AdaptiveCard", body: [{ type: "TextBlock", text: huge }] };
    const fitted = fitCard(big);
    expect(fitted.oversized).toBeGreaterThan(CARD_BUDGET_BYTES);
    expect(cardBytes(fitted.card)).toBeLessThan(1024);
    expect(fitCard(fitted.card).oversized).toBeUndefined();
  });
});

describe("answerInTime", () => {
  const lines: string[] = [];
  const log: Logger = {
    debug: () => undefined,
    info: (m) => void lines.push(m),
    warn: (m) => void lines.push(m),
    error: (m) => void lines.push(m),
    child: () => log,
  } as Logger;
  const resolveAfter = (ms: number, value: string) => new Promise<string>((r) => setTimeout(() => r(value), ms));

  it("answers with the work's own answer when it is in time", async () => {
    expect(await answerInTime(log, resolveAfter(5, "done"), "pending", undefined, 200)).toBe("done");
  });

  it("answers `pending` at the budget and hands the late answer to onLate", async () => {
    let late: unknown;
    const started = Date.now();
    const answer = await answerInTime(
      log,
      resolveAfter(300, "done"),
      "pending",
      async (a) => {
        late = a;
      },
      50,
    );
    expect(answer).toBe("pending");
    expect(Date.now() - started).toBeLessThan(250);
    await resolveAfter(350, "");
    expect(late).toBe("done");
  });

  it("answers a sentence when the work fails", async () => {
    expect(await answerInTime(log, Promise.reject(new Error("boom")), "pending", undefined, 200)).toBe(FAILED_ANSWER);
    expect(lines.join("\n")).toContain("button work failed");
  });
});
