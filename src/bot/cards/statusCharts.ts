// The status summary's charts (issue 13): secrets expiring per month for the next 24 months
// (Chart.VerticalBar) and registrations by state (Chart.Donut), as Teams renders them, each with a
// `fallback` Table for clients without charts, and the same numbers as text (stateSummary, the month
// line). The status card's first page includes them, folded from the same assessment its summary counts.

import type { Health, StatusEntry } from "./statusEntry";

export interface StatusFigures {
  /** 24 entries, this month first: `YYYY-MM` and the number of active secrets ending in it. */
  expiringPerMonth: Array<{ month: string; count: number }>;
  byState: Record<Health, number>;
  total: number;
}

/** The chart's order: the healthy first, then growing trouble. */
const STATES: Health[] = ["healthy", "expiring", "drifted", "expired", "failed", "attention"];
/** The summary's order: problems first. */
const SUMMARY_ORDER: Health[] = ["attention", "failed", "expired", "drifted", "expiring", "healthy"];
export const STATE_LABELS: Record<Health, string> = {
  attention: "needing attention",
  failed: "failed",
  expired: "expired",
  drifted: "drifted",
  expiring: "expiring within 30 days",
  healthy: "healthy",
};
const STATE_COLORS: Record<Health, string> = {
  healthy: "good",
  expiring: "warning",
  drifted: "warning",
  expired: "attention",
  failed: "attention",
  attention: "attention",
};

/**
 * Folds assessed registrations (statusCard's assessRegistrations, the same health the summary counts)
 * into the figures one by one: nothing fleet-sized is kept.
 */
export function createStatusFigures(now: Date) {
  const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const months = Array.from({ length: 24 }, (_, i) => {
    const d = new Date(start);
    d.setUTCMonth(d.getUTCMonth() + i);
    return { month: d.toISOString().slice(0, 7), count: 0 };
  });
  const index = new Map(months.map((m, i) => [m.month, i]));
  const byState: Record<Health, number> = { healthy: 0, expiring: 0, drifted: 0, expired: 0, failed: 0, attention: 0 };
  let total = 0;
  return {
    add(entry: Pick<StatusEntry, "registration" | "health">) {
      total++;
      byState[entry.health]++;
      for (const s of entry.registration.secrets) {
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

/** The counts by state as one sentence, problems first, states with none left out. */
export function stateSummary(f: StatusFigures): string {
  const parts = SUMMARY_ORDER.filter((s) => f.byState[s] > 0).map((s) => `${f.byState[s]} ${STATE_LABELS[s]}`);
  return `${f.total} registrations: ${parts.join(", ")}.`;
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

/**
 * The chart elements with their fallbacks, and the months as text. The states as text are
 * stateSummary(f), which the card shows at its top.
 */
export function statusChartElements(f: StatusFigures): unknown[] {
  const expiring = f.expiringPerMonth.filter((m) => m.count > 0);
  const states = STATES.map((s) => [s, f.byState[s]] as const);
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
  ];
}
