// Batch list parsing (errors per line, the rest valid), the batch card's size at fleet scale, and the
// status charts with their fallbacks and the same numbers as text (issue 13).

import { describe, expect, it } from "vitest";
import { type BatchRecord, batchHash, MAX_BATCH_LINES, parseBatchLines } from "../../src/domain/batches/batchRecords";
import type { RegistrationRecord, RequestRecord } from "../../src/domain/records";
import { batchCard } from "../../src/bot/cards/batchCard";
import { assessRegistrations } from "../../src/bot/cards/statusCard";
import { createStatusFigures, stateSummary, statusChartElements } from "../../src/bot/cards/statusCharts";

const DEFAULTS = { serviceProviderFqdn: "ump.example.net", umpInstance: "ump-{customer}" };

describe("parseBatchLines", () => {
  it("takes one customer per line with optional app name and UMP instance; bad lines carry their error", () => {
    const lines = parseBatchLines(
      "contoso\nfabrikam fab ump-7\n\n# comment\nBad_One!\ncontoso\nnorth, fab\nx y z extra\nsouth ump-7b,ump-7",
      DEFAULTS,
    );
    expect(
      lines.map((l) => [l.line, l.customer, l.params?.appName, l.params?.umpInstance, l.error?.slice(0, 20)]),
    ).toEqual([
      [1, "contoso", "contoso", "ump-contoso", undefined],
      [2, "fabrikam", "fab", "ump-7", undefined],
      [5, "bad_one!", undefined, undefined, "customer: Use 1-40 l"],
      [6, "contoso", undefined, undefined, "contoso is already o"],
      [7, "north", undefined, undefined, "App name fab is alre"],
      [8, "x", undefined, undefined, "Too many values: use"],
      [9, "south", undefined, undefined, "UMP instance ump-7 i"],
    ]);
    expect(lines[0]!.params).toMatchObject({ serviceProviderFqdn: "ump.example.net", secretLifetimeMonths: 24 });
  });

  it("refuses lines beyond the batch limit, keeping the first ones", () => {
    const text = Array.from({ length: MAX_BATCH_LINES + 3 }, (_, i) => `c${i}`).join("\n");
    const lines = parseBatchLines(text, DEFAULTS);
    expect(lines.filter((l) => l.params)).toHaveLength(MAX_BATCH_LINES);
    expect(lines.filter((l) => l.error)).toHaveLength(3);
  });

  it("binds the batch hash to every customer's plan hash, in any order", () => {
    const a = { line: 1, customer: "a", requestId: "r1", planHash: "h1", retries: 0 };
    const b = { line: 2, customer: "b", requestId: "r2", planHash: "h2", retries: 0 };
    expect(batchHash([a, b])).toBe(batchHash([b, a]));
    expect(batchHash([a, { ...b, planHash: "h3" }])).not.toBe(batchHash([a, b]));
  });
});

describe("the batch card at fleet scale", () => {
  it("stays under 28 KB with 500 customers, failed lines first with a Retry each (at most 10 buttons)", () => {
    const members = Array.from({ length: MAX_BATCH_LINES }, (_, i) => ({
      line: i + 1,
      customer: `customer-${i}`,
      requestId: `r${i}`,
      planHash: "h",
      approvedHash: "h",
      retries: 0,
    }));
    const batch: BatchRecord = {
      id: "b1",
      state: "approved",
      requester: { id: "u1", name: "Alex" },
      tenantId: "t",
      conversation: {},
      members,
      hash: "x",
      createdAt: "2026-01-01T00:00:00.000Z",
      expiresAt: "2026-01-02T00:00:00.000Z",
      approver: { id: "u2", name: "Megan", via: "allow-list", at: "2026-01-01T00:00:00.000Z" },
      correlationId: "c",
    };
    const requests = new Map<string, RequestRecord>();
    members.forEach((m, i) => {
      const failed = i % 7 === 0;
      requests.set(m.requestId, {
        id: m.requestId,
        state: failed ? "failed" : i % 3 === 0 ? "running" : "succeeded",
        plan: { hash: "h", changes: [] },
        run: {
          appId: "0d5a4c3b-2a19-4e88-9f77-6a5b4c3d2e1f",
          steps: [],
          error: failed ? { step: "upsertApplication", code: "x", message: "E".repeat(2000) } : undefined,
        },
      } as unknown as RequestRecord);
    });
    const card = batchCard({ batch, requests });
    const json = JSON.stringify(card);
    expect(json.length).toBeLessThan(28_000);
    expect((json.match(/"title":"Retry"/g) ?? []).length).toBe(10);
    expect(json).toContain("… and 460 more");
    expect(JSON.stringify(card.body)).toMatch(/"width":"\d+","style":"good"/);
  });
});

describe("status charts", () => {
  const now = new Date("2026-03-15T00:00:00Z");
  const reg = (customer: string, ends: string[], ok = true): RegistrationRecord =>
    ({
      customer,
      secrets: ends.map((e, i) => ({ keyId: `${customer}${i}`, status: "active", endDateTime: e })),
      lastVerification: { ok, differences: [], tokenProof: "ok", at: "" },
    }) as unknown as RegistrationRecord;

  it("counts secrets per month for 24 months and registrations by state, with fallbacks and text", () => {
    const f = createStatusFigures(now);
    const entries = assessRegistrations(
      [
        reg("healthy", ["2027-05-01T00:00:00Z"]),
        reg("drifted", ["2026-09-10T00:00:00Z"], false),
        reg("soon", ["2026-04-01T00:00:00Z"]),
        reg("gone", ["2026-03-01T00:00:00Z"]),
        reg("broken", ["2026-09-20T00:00:00Z"]),
        reg("far", ["2029-01-01T00:00:00Z"]),
      ],
      now,
      new Set(["broken"]),
    );
    for (const e of entries) f.add(e);
    const figures = f.figures();
    expect(figures.byState).toEqual({ healthy: 2, drifted: 1, expiring: 1, expired: 1, failed: 1, attention: 0 });
    expect(figures.expiringPerMonth).toHaveLength(24);
    expect(figures.expiringPerMonth[0]!.month).toBe("2026-03");
    expect(figures.expiringPerMonth.find((m) => m.month === "2026-09")!.count).toBe(2);
    expect(figures.expiringPerMonth.reduce((a, m) => a + m.count, 0)).toBe(4);
    expect(stateSummary(figures)).toBe(
      "6 registrations: 1 failed, 1 expired, 1 drifted, 1 expiring within 30 days, 2 healthy.",
    );

    const elements = statusChartElements(figures) as any[];
    const bar = elements.find((e) => e.type === "Chart.VerticalBar");
    const donut = elements.find((e) => e.type === "Chart.Donut");
    expect(bar.data).toHaveLength(24);
    expect(bar.data[6]).toEqual({ x: "Sep 26", y: 2 });
    expect(bar.fallback.type).toBe("Table");
    expect(bar.fallback.rows).toHaveLength(25);
    expect(donut.data.map((d: any) => [d.legend, d.value])).toEqual([
      ["healthy", 2],
      ["expiring within 30 days", 1],
      ["drifted", 1],
      ["expired", 1],
      ["failed", 1],
      ["needing attention", 0],
    ]);
    expect(donut.fallback.type).toBe("Table");
    expect(JSON.stringify(donut.fallback)).toContain('"text":"expired"');
    expect(JSON.stringify(donut.fallback)).toContain('"text":"needing attention"');
    const texts = elements.filter((e) => e.type === "TextBlock").map((e) => e.text);
    expect(texts).toContain("Expiring: Apr 26 1, Sep 26 2, May 27 1.");
    expect(JSON.stringify(elements).length).toBeLessThan(8_000);
  });
});
