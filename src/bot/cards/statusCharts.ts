// The status summary's charts (issue 13): secrets expiring per month for the next 24 months
// (Chart.VerticalBar) and registrations by state (Chart.Donut), as Teams renders them, each with a
// `fallback` Table for clients without charts, and the same numbers as text. The status card includes
// these elements; the figures come from the stored registrations, one at a time (no fleet-sized arrays).

import type { RegistrationRecord } from "../../domain/records";

export type RegistrationState = "healthy" | "drifted" | "expiring" | "expired" | "failed";

export interface StatusFigures {
  /** 24 entries, this month first: `YYYY-MM` and the number of active secrets ending in it. */
  expiringPerMonth: Array<{ month: string; count: number }>;
  byState: Record<RegistrationState, number>;
  total: number;
}

const DAY_MS = 86_400_000;
export const STATE_LABELS: Record<RegistrationState, string> = {
  healthy: "healthy",
  drifted: "drifted",
  expiring: "expiring within 30 days",
  expired: "expired",
  failed: "failed",
};
const STATE_COLORS: Record<RegistrationState, string> = {
  healthy: "good",
  drifted: "warning",
  expiring: "attention",
  expired: "attention",
  failed: "attention",
};

/** One registration's state; the worst applies: failed, expired, expiring, drifted, healthy. */
export function registrationState(r: RegistrationRecord, now: Date, failed: boolean): RegistrationState {
  if (failed) return "failed";
  const ends = r.secrets.filter((s) => s.status === "active").map((s) => Date.parse(s.endDateTime));
  const soonest = ends.length ? Math.min(...ends) : Number.NaN;
  if (Number.isNaN(soonest) || soonest <= now.getTime()) return "expired";
  if (soonest - now.getTime() <= 30 * DAY_MS) return "expiring";
  if (r.lastVerification && !r.lastVerification.ok) return "drifted";
  return "healthy";
}

/** Folds registrations into the figures one by one (works over a page-by-page listing). */
export function createStatusFigures(now: Date) {
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const months = Array.from({ length: 24 }, (_, i) => {
    const d = new Date(start);
    d.setUTCMonth(d.getUTCMonth() + i);
    return { month: d.toISOString().slice(0, 7), count: 0 };
  });
  const index = new Map(months.map((m, i) => [m.month, i]));
  const byState: Record<RegistrationState, number> = { healthy: 0, drifted: 0, expiring: 0, expired: 0, failed: 0 };
  let total = 0;
  return {
    add(r: RegistrationRecord, failed = false) {
      total++;
      byState[registrationState(r, now, failed)]++;
      for (const s of r.secrets) {
        if (s.status !== "active" || Date.parse(s.endDateTime) < now.getTime()) continue;
        const i = index.get(s.endDateTime.slice(0, 7));
        if (i !== undefined) months[i]!.count++;
      }
    },
    figures(): StatusFigures {
      return { expiringPerMonth: months.map((m) => ({ ...m })), byState: { ...byState }, total };
    },
  };
}

const monthLabel = (month: string) =>
  new Date(`${month}-01T00:00:00Z`).toLocaleString("en-US", { month: "short", year: "2-digit", timeZone: "UTC" });

const cell = (t: string, bold = false) => ({
  type: "TableCell",
  items: [{ type: "TextBlock", text: t, wrap: true, ...(bold ? { weight: "Bolder" } : {}) }],
});

function table(header: [string, string], rows: Array<[string, string]>) {
  return {
    type: "Table",
    firstRowAsHeader: true,
    showGridLines: false,
    columns: [{ width: 3 }, { width: 1 }],
    rows: [header, ...rows].map((r, i) => ({ type: "TableRow", cells: [cell(r[0], i === 0), cell(r[1], i === 0)] })),
  };
}

/** The chart elements (with their fallbacks) and the same numbers as text. */
export function statusChartElements(f: StatusFigures): unknown[] {
  const expiring = f.expiringPerMonth.filter((m) => m.count > 0);
  const states = (Object.keys(STATE_LABELS) as RegistrationState[]).map((s) => [s, f.byState[s]] as const);
  return [
    { type: "TextBlock", text: "Secrets expiring per month (next 24 months)", weight: "Bolder", spacing: "Medium" },
    {
      type: "Chart.VerticalBar",
      title: "Secrets expiring per month",
      xAxisTitle: "Month",
      yAxisTitle: "Secrets",
      showBarValues: true,
      colorSet: "categorical",
      data: f.expiringPerMonth.map((m) => ({ x: monthLabel(m.month), y: m.count })),
      fallback: table(
        ["Month", "Secrets expiring"],
        f.expiringPerMonth.map((m) => [monthLabel(m.month), String(m.count)]),
      ),
    },
    {
      type: "TextBlock",
      wrap: true,
      isSubtle: true,
      text: expiring.length
        ? `Expiring: ${expiring.map((m) => `${monthLabel(m.month)} ${m.count}`).join(", ")}.`
        : "No secret expires in the next 24 months.",
    },
    { type: "TextBlock", text: "Registrations by state", weight: "Bolder", spacing: "Medium" },
    {
      type: "Chart.Donut",
      title: `Registrations by state (${f.total})`,
      colorSet: "diverging",
      data: states.map(([s, n]) => ({ legend: STATE_LABELS[s], value: n, color: STATE_COLORS[s] })),
      fallback: table(
        ["State", "Registrations"],
        states.map(([s, n]) => [STATE_LABELS[s], String(n)]),
      ),
    },
    {
      type: "TextBlock",
      wrap: true,
      isSubtle: true,
      text: `${f.total} registrations: ${states.map(([s, n]) => `${n} ${STATE_LABELS[s]}`).join(", ")}.`,
    },
  ];
}
