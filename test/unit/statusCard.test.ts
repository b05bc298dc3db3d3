// `status` stays under Teams' size limit whatever the number of registrations: a summary by health,
// the soonest expiries and every problem first, pages with Next page, each page under 28 KB.

import { describe, expect, it } from "vitest";
import { cardBytes, MAX_ACTIVITY_BYTES } from "../../src/bot/cards/cardSize";
import type { Card } from "../../src/bot/cards/renderCard";
import { assessRegistrations, PAGE_SIZE, statusCard } from "../../src/bot/cards/statusCard";
import type { RegistrationRecord } from "../../src/domain/records";
import type { SecretRecord } from "../../src/domain/secretRecord";
import { NOW, PARAMS } from "../support/fixtures";

const DAY = 86_400_000;

function secret(i: number, days: number, extra: Partial<SecretRecord> = {}): SecretRecord {
  return {
    keyId: `${String(i).padStart(8, "0")}-1111-4222-8333-444444444444`,
    service: "ump",
    runId: `run-${i}`,
    displayName: `syncbot:ump:run-${i}`,
    hint: "Ab~",
    endDateTime: new Date(NOW.getTime() + days * DAY + 3_600_000).toISOString(),
    fingerprint: `sha256:${String(i).padStart(16, "0")}`,
    createdAt: NOW.toISOString(),
    status: "active",
    ...extra,
  };
}

/** 300 registrations with long but valid values: most healthy, some expiring, expired, drifted. */
function fleet(n = 300): RegistrationRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const customer = `customer-${String(i).padStart(3, "0")}-${"x".repeat(24)}`;
    const days = i % 50 === 7 ? -3 - (i % 5) : i % 10 === 3 ? 5 + (i % 20) : 200 + i;
    const secrets = [
      secret(i, days),
      secret(i + 10_000, days + 700, { status: "superseded", removeAfter: NOW.toISOString() }),
    ];
    return {
      customer,
      params: { ...PARAMS, customer, umpInstance: `ump-${customer}`.slice(0, 64), displayName: "D".repeat(120) },
      objectId: `${String(i).padStart(8, "0")}-aaaa-4bbb-8ccc-dddddddddddd`,
      appId: `${String(i).padStart(8, "0")}-eeee-4fff-8000-111111111111`,
      conversation: {},
      secrets,
      ump: { revision: i, fingerprint: secrets[0]!.fingerprint, portalValidated: true, at: NOW.toISOString() },
      lastVerification:
        i % 25 === 11
          ? { ok: false, differences: ["displayName"], tokenProof: "ok", at: NOW.toISOString() }
          : { ok: true, differences: [], tokenProof: "ok", at: NOW.toISOString() },
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    };
  });
}

const text = (card: Card) => JSON.stringify(card);
function actionsOf(card: Card): Array<Record<string, any>> {
  const out: Array<Record<string, any>> = [];
  JSON.stringify(card, (_k, v) => {
    if (v && typeof v === "object" && typeof v.type === "string" && v.type.startsWith("Action.")) out.push(v);
    return v;
  });
  return out;
}

describe("status over 300 registrations", () => {
  const regs = fleet();
  const failed = new Set([regs[42]!.customer]);
  const entries = assessRegistrations(regs, NOW, failed);

  it("every page stays under 28 KB of JSON, and the whole fleet is reachable through Next page", () => {
    const seen = new Set<string>();
    let page = 1;
    let largest = 0;
    for (;;) {
      const card = statusCard({ entries, now: NOW, page, title: "Registrations managed by syncbot (300)" });
      largest = Math.max(largest, cardBytes(card));
      for (const m of text(card).matchAll(/"text":"(customer-\d{3}-x+)/g)) seen.add(m[1]!);
      const next = actionsOf(card).find((a) => a.title === "Next page");
      if (!next) break;
      expect(next).toMatchObject({ type: "Action.Execute", verb: "status.page", data: { page: page + 1 } });
      page++;
    }
    expect(largest).toBeLessThan(MAX_ACTIVITY_BYTES - 2048);
    expect(page).toBe(Math.ceil(300 / PAGE_SIZE));
    expect(seen.size).toBe(300);
  });

  it("opens with the counts by health and the soonest expiries, problems first", () => {
    const card = statusCard({ entries, now: NOW, page: 1, title: "Registrations managed by syncbot (300)" });
    const t = text(card);
    const expired = regs.filter((_, i) => i % 50 === 7).length;
    const drifted = regs.filter((_, i) => i % 25 === 11 && i % 50 !== 7 && i !== 42).length;
    const expiring = regs.filter((_, i) => i % 10 === 3 && i % 25 !== 11 && i !== 42 && i % 50 !== 7).length;
    const healthy = 300 - 1 - expired - drifted - expiring;
    expect(t).toContain(
      `300 registrations: 1 failed, ${expired} expired, ${drifted} drifted, ${expiring} expiring within 30 days, ${healthy} healthy.`,
    );
    // The soonest expiry (an expired secret) is named in the summary, and the page lists problems first.
    const soonest = [...regs].sort(
      (a, b) => Date.parse(a.secrets[0]!.endDateTime) - Date.parse(b.secrets[0]!.endDateTime),
    )[0]!;
    expect(t).toMatch(new RegExp(`Soonest expiries: ${soonest.customer} expired \\d+ days? ago`));
    const listed = [...t.matchAll(/"text":"(customer-\d{3}-x+)([^"]*)"/g)].map((m) => m[2]!);
    expect(listed).toHaveLength(PAGE_SIZE);
    for (const badge of listed) expect(badge).toMatch(/FAILED|EXPIRED|DRIFT/);
    expect(entries.slice(0, 1 + expired + drifted).every((e) => e.problem)).toBe(true);
    expect(t).toContain(`Page 1 of ${Math.ceil(300 / PAGE_SIZE)}`);
  });

  it("page 1 charts the expiries per month and the states, each chart with a fallback table; later pages do not", () => {
    const card = statusCard({ entries, now: NOW, page: 1, title: "Registrations managed by syncbot (300)" });
    const elements: Array<Record<string, any>> = [];
    JSON.stringify(card, (_k, v) => {
      if (v && typeof v === "object" && typeof v.type === "string" && v.type.startsWith("Chart.")) elements.push(v);
      return v;
    });
    const bar = elements.find((e) => e.type === "Chart.VerticalBar")!;
    const donut = elements.find((e) => e.type === "Chart.Donut")!;
    expect(bar.data).toHaveLength(24);
    expect(bar.fallback).toMatchObject({ type: "Table" });
    expect(bar.fallback.rows).toHaveLength(25);
    expect(donut.fallback).toMatchObject({ type: "Table" });
    // The bars count the active secrets ending in each of the next 24 months, as the registrations say.
    const horizon = Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth() + 24, 1);
    const active = regs.flatMap((r) => r.secrets.filter((x) => x.status === "active"));
    const inWindow = active.filter(
      (x) => Date.parse(x.endDateTime) >= NOW.getTime() && Date.parse(x.endDateTime) < horizon,
    );
    expect(bar.data.reduce((a: number, d: { y: number }) => a + d.y, 0)).toBe(inWindow.length);
    // The donut and its fallback say what the summary line says, from the same assessment.
    const count = (h: string) => entries.filter((e) => e.health === h).length;
    expect(Object.fromEntries(donut.data.map((d: any) => [d.legend, d.value]))).toEqual({
      healthy: count("healthy"),
      "expiring within 30 days": count("expiring"),
      drifted: count("drifted"),
      expired: count("expired"),
      failed: 1,
      "needing attention": 0,
    });
    const rows = donut.fallback.rows.map((r: any) => r.cells.map((c: any) => c.items[0].text));
    expect(rows).toContainEqual(["expired", String(count("expired"))]);
    expect(rows).toContainEqual(["failed", "1"]);
    expect(text(card)).toContain(`${count("expired")} expired, ${count("drifted")} drifted`);
    expect(cardBytes(card)).toBeLessThan(MAX_ACTIVITY_BYTES - 2048);
    const page2 = statusCard({ entries, now: NOW, page: 2, title: "Registrations managed by syncbot (300)" });
    expect(text(page2)).not.toContain("Chart.");
    expect(text(page2)).toContain("300 registrations: 1 failed");
  });

  it("orders the healthy by soonest expiry after the problems", () => {
    const ok = entries.filter((e) => !e.problem).map((e) => Date.parse(e.soonest!.endDateTime));
    expect(ok).toEqual([...ok].sort((a, b) => a - b));
    expect(entries.findIndex((e) => !e.problem)).toBe(entries.filter((e) => e.problem).length);
  });

  it("a registration with hundreds of secrets still fits, with a count of the rest", () => {
    const heavy = { ...regs[0]!, secrets: Array.from({ length: 400 }, (_, i) => secret(i, 100 + i)) };
    const one = statusCard({ entries: assessRegistrations([heavy], NOW), now: NOW, title: "Status", single: true });
    expect(cardBytes(one)).toBeLessThan(MAX_ACTIVITY_BYTES - 2048);
    expect(text(one)).toContain("…and 350 more secret(s)");
    const page = statusCard({
      entries: assessRegistrations(
        Array.from({ length: 10 }, (_, i) => ({ ...heavy, customer: `c${i}` })),
        NOW,
      ),
      now: NOW,
      title: "Status",
    });
    expect(cardBytes(page)).toBeLessThan(MAX_ACTIVITY_BYTES - 2048);
  });
});
