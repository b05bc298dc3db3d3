// The batch card (issue 13): the pasted list (one customer per line), then one combined plan with one
// Approve, then progress (done / running / failed / waiting with a bar), each customer's line with its
// client id or failure and a Retry button. Lines are summarised so 500 customers stay under 28 KB.
// Every value that is not syncbot's own words (pasted lines, names, errors) is Markdown-escaped.

import type { BatchMember, BatchRecord, MemberStatus } from "../../domain/batches/batchRecords";
import { memberStatus } from "../../domain/batches/batchRecords";
import type { Change } from "../../domain/plan";
import type { RequestRecord } from "../../domain/records";
import { truncate } from "../truncate";
import { markdownText as md } from "./markdownText";
import { STEP_UP_OFF } from "./approvalCard";
import type { Card } from "./renderCard";
import { utc } from "./renderCard";

export interface BatchView {
  batch: BatchRecord;
  requests: ReadonlyMap<string, RequestRecord>;
  notice?: string;
  /** APPROVAL_STEP_UP=off: said on the card while it waits for approval. */
  stepUpOff?: boolean;
}

/** At most this many customer lines on the card, problems first; the rest are counted. */
const MAX_LINES = 40;
/** At most this many lines carry a button (Retry / Approve). */
const MAX_BUTTON_LINES = 10;

const STATUS_WORDS: Record<MemberStatus, string> = {
  invalid: "not planned",
  planning: "reading live state",
  planned: "planned",
  waiting: "waiting",
  "needs-approval": "needs its own approval",
  running: "running",
  done: "done",
  failed: "failed",
  rejected: "rejected",
};
const STATUS_ORDER: MemberStatus[] = [
  "failed",
  "needs-approval",
  "invalid",
  "running",
  "waiting",
  "planning",
  "planned",
  "rejected",
  "done",
];

const text = (t: string, extra: Record<string, unknown> = {}) => ({ type: "TextBlock", text: t, wrap: true, ...extra });

/** `provision a b c`: the list to edit or paste into, one customer per line, and Review plan. */
export function batchListCard(view: { lines: string; error?: string }): Card {
  return {
    type: "AdaptiveCard",
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    version: "1.5",
    msteams: { width: "Full" },
    body: [
      text("Provision several customers", { size: "Large", weight: "Bolder" }),
      text(
        "One customer per line: `customer [appName] [umpInstance]`. Missing values take the defaults of the single-customer card. One plan and one approval cover them all.",
        { isSubtle: true },
      ),
      ...(view.error ? [text(view.error, { color: "Attention" })] : []),
      {
        type: "Input.Text",
        id: "customers",
        label: "Customers",
        isMultiline: true,
        isRequired: true,
        errorMessage: "Enter at least one customer.",
        value: view.lines,
      },
    ],
    actions: [{ type: "Action.Execute", title: "Review plan", verb: "batch.review", data: {} }],
  };
}

export function batchCard(view: BatchView): Card {
  const { batch } = view;
  const lines = batch.members.map((m) => {
    const request = m.requestId ? (view.requests.get(m.requestId) ?? null) : null;
    return { m, request, status: memberStatus(batch, m, request) };
  });
  const count = (s: MemberStatus) => lines.filter((l) => l.status === s).length;
  const body: unknown[] = [text(title(batch, lines.length), { size: "Large", weight: "Bolder" })];
  body.push(text(stateLine(batch), { isSubtle: true }));
  if (view.notice) body.push(text(md(truncate(view.notice, 400)), { color: "Attention" }));
  if (view.stepUpOff && batch.state === "planned") body.push(text(STEP_UP_OFF, { color: "Warning" }));

  if (batch.state === "approved") {
    const parts: Array<[string, number, string]> = [
      ["done", count("done"), "good"],
      ["running", count("running"), "accent"],
      ["failed", count("failed") + count("rejected"), "attention"],
      ["waiting", count("waiting") + count("needs-approval"), "emphasis"],
    ];
    body.push(
      text(
        parts.map(([w, n]) => `${n} ${w}`).join(" · ") +
          (count("invalid") ? ` · ${count("invalid")} not planned` : "") +
          (count("needs-approval") ? ` (${count("needs-approval")} need their own approval)` : ""),
        { weight: "Bolder" },
      ),
    );
    body.push(progressBar(parts));
  } else if (batch.state !== "planning") {
    body.push(text("**Plan**", { spacing: "Medium" }));
    body.push(text(combinedPlan(lines.map((l) => l.request)), { spacing: "Small" }));
    const invalid = count("invalid");
    body.push(
      text(
        `${lines.length - invalid - count("done")} customer(s) to change, ${count("done")} already up to date, ${invalid} line(s) not planned.`,
      ),
    );
  }

  // Customer lines, problems first; the rest summarised.
  const ordered = [...lines].sort(
    (a, b) => STATUS_ORDER.indexOf(a.status) - STATUS_ORDER.indexOf(b.status) || a.m.line - b.m.line,
  );
  let buttons = 0;
  for (const l of ordered.slice(0, MAX_LINES)) {
    const line = memberLine(l.m, l.request, l.status);
    const button =
      buttons < MAX_BUTTON_LINES && batch.state === "approved" ? lineButton(batch, l.m, l.request, l.status) : null;
    if (button) {
      buttons++;
      body.push({
        type: "ColumnSet",
        spacing: "Small",
        columns: [
          { type: "Column", width: "stretch", items: [text(line, { spacing: "None" })] },
          { type: "Column", width: "auto", items: [{ type: "ActionSet", actions: [button] }] },
        ],
      });
    } else body.push(text(line, { spacing: "Small" }));
  }
  if (ordered.length > MAX_LINES) {
    const rest = ordered.slice(MAX_LINES);
    const by = STATUS_ORDER.map((s) => [s, rest.filter((l) => l.status === s).length] as const).filter(([, n]) => n);
    body.push(
      text(
        `… and ${rest.length} more: ${by.map(([s, n]) => `${n} ${STATUS_WORDS[s]}`).join(", ")}. Type \`status <customer>\` for one customer.`,
        { isSubtle: true },
      ),
    );
  } else body.push(text("Type `status <customer>` for one customer's details.", { isSubtle: true }));

  const actions =
    batch.state === "planned"
      ? [
          {
            type: "Action.Execute",
            title: "Approve",
            verb: "batch.approve",
            data: { batchId: batch.id, batchHash: batch.hash },
          },
          { type: "Action.Execute", title: "Reject", verb: "batch.reject", data: { batchId: batch.id } },
        ]
      : [];
  return {
    type: "AdaptiveCard",
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    version: "1.5",
    msteams: { width: "Full" },
    body,
    ...(actions.length ? { actions } : {}),
  };
}

function title(batch: BatchRecord, n: number): string {
  const phase: Record<BatchRecord["state"], string> = {
    planning: "reading live state…",
    planned: "waiting for approval",
    approved: "approved",
    rejected: "rejected",
    expired: "expired",
  };
  return batch.kind === "rotate"
    ? `Rotate all: ${n} secrets: ${phase[batch.state]}`
    : `Batch of ${n} customers: ${phase[batch.state]}`;
}

function stateLine(b: BatchRecord): string {
  let s = `Requested by ${md(b.requester.name)} at ${utc(b.createdAt)}.`;
  if (b.state === "planned")
    s += ` One approval covers every planned customer; it expires at ${utc(b.expiresAt)}. The requester cannot approve.`;
  if (b.approver) s += ` Approved by ${md(b.approver.name)} (${md(b.approver.via)}) at ${utc(b.approver.at)}.`;
  if (b.rejectedBy) s += ` Rejected by ${md(b.rejectedBy.name)} at ${utc(b.rejectedBy.at)}; nothing was changed.`;
  if (b.state === "expired") s += " The approval request expired; nothing was changed.";
  return s;
}

/** A bar of four proportional columns (weighted widths), each in its status colour. */
function progressBar(parts: Array<[string, number, string]>) {
  return {
    type: "ColumnSet",
    spacing: "Small",
    minHeight: "12px",
    columns: parts
      .filter(([, n]) => n > 0)
      .map(([w, n, style]) => ({
        type: "Column",
        width: String(n),
        style,
        minHeight: "12px",
        items: [text(" ", { size: "Small", spacing: "None" })],
        id: `bar-${w}`,
      })),
  };
}

const CHANGE_WORDS: Record<Change["kind"], string> = {
  "app.create": "create app registration",
  "app.update": "update app field",
  "sp.create": "create service principal",
  "secret.add": "add client secret",
  "secret.remove": "remove secret",
  "ump.syncApp": "write UMP sync app",
  "ump.portalUrl": "set UMP portal URL",
};

function combinedPlan(requests: Array<RequestRecord | null>): string {
  const counts = new Map<Change["kind"], number>();
  for (const r of requests) for (const c of r?.plan.changes ?? []) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
  if (counts.size === 0) return "Nothing to change.";
  return [...counts].map(([k, n]) => `- ${CHANGE_WORDS[k]} × ${n}`).join("\n");
}

function memberLine(m: BatchMember, r: RequestRecord | null, status: MemberStatus): string {
  const head = `${m.line}. **${md(truncate(m.customer, 63))}**`;
  switch (status) {
    case "invalid":
      return `${head}: ${md(truncate(m.error ?? "not planned", 160))}`;
    case "planned":
      return `${head}: ${r?.plan.changes.length ?? 0} change(s) · app ${md(m.params?.appName ?? "")} · UMP ${md(m.params?.umpInstance ?? "")}`;
    case "done":
      return m.upToDate ? `${head}: up to date, nothing to do` : `${head}: done · client id ${r?.run?.appId ?? "—"}`;
    case "running": {
      const step = r?.run?.steps.find((s) => s.status === "running")?.name;
      return `${head}: running${step ? ` (${step})` : ""}${r?.run?.waiting ? ` · ${md(truncate(r.run.waiting, 80))}` : ""}`;
    }
    case "failed": {
      const e = r?.run?.error;
      return `${head}: failed${e ? ` at ${e.step}: ${md(truncate(e.message, 140))}` : r ? ` (${r.state})` : ""}`;
    }
    case "needs-approval":
      return `${head}: ${STATUS_WORDS[status]}${m.approvalNote ? ` (${md(truncate(m.approvalNote, 300))})` : ""}`;
    default:
      return `${head}: ${STATUS_WORDS[status]}`;
  }
}

function lineButton(batch: BatchRecord, m: BatchMember, r: RequestRecord | null, status: MemberStatus) {
  if (status === "failed")
    return {
      type: "Action.Execute",
      title: "Retry",
      verb: "batch.retry",
      data: { batchId: batch.id, customer: m.customer },
    };
  if (status === "needs-approval" && r)
    return {
      type: "Action.Execute",
      title: "Approve",
      verb: "batch.approveMember",
      data: { batchId: batch.id, customer: m.customer, planHash: r.plan.hash },
    };
  return null;
}
