// The approval card: one request's plan, its state, the run's progress and, after a success, every
// identifier the operator needs (never the secret). The shared message of a request always shows it.

import { STEP_TITLES } from "../../domain/stepTitles";
import { describeChange } from "../../domain/plan";
import type { RequestRecord } from "../../domain/records";
import { adminConsentUrl, portalUrlFor, redirectUrlFor } from "../../domain/spec";
import { truncate } from "../truncate";
import { fqdnWarnings, replanLines, targetLines } from "./approvalTargets";
import { markdownText as md } from "./markdownText";
import { type Card, fact, renderCard, utc } from "./renderCard";

export const STEP_UP_OFF =
  "Verified approvals are OFF (APPROVAL_STEP_UP=off): Approve does not ask for the approver's own fresh Entra sign-in.";

/** Plan lines shown at most (a plan that removes many orphaned secrets says how many more). */
const MAX_PLAN_LINES = 40;

export interface ApprovalView {
  request: RequestRecord;
  spTenantId: string;
  allowSelfApproval: boolean;
  /** DEFAULT_SP_FQDN: a plan for another FQDN is flagged. */
  defaultFqdn?: string;
  /** APPROVAL_STEP_UP=off: Approve needs no fresh sign-in, and the card says so (invariant 13). */
  stepUpOff?: boolean;
  /** A refusal or note for the person who pressed a button. */
  notice?: string;
}

const STATE_LINES: Record<RequestRecord["state"], [string, string]> = {
  planned: ["Waiting for approval.", "Default"],
  approved: ["Approved; starting.", "Good"],
  running: ["Applying the plan…", "Accent"],
  attention: [
    "Needs attention: UMP did not confirm a write and could not be read back. Every secret is kept; syncbot reads UMP again on restart and on `check <customer>`, and finishes the run.",
    "Attention",
  ],
  succeeded: ["Done.", "Good"],
  failed: ["Failed.", "Attention"],
  rejected: ["Rejected; nothing was changed.", "Warning"],
  expired: ["The approval request expired; nothing was changed.", "Warning"],
};

export function approvalCard(view: ApprovalView): Card {
  const r = view.request;
  const p = r.params;
  const run = r.run;
  const [stateText, stateColor] = STATE_LINES[r.state];
  let stateLine = stateText;
  if (r.approver) stateLine += ` Approved by ${md(r.approver.name)} (${md(r.approver.via)}) at ${utc(r.approver.at)}.`;
  if (r.rejectedBy) stateLine += ` Rejected by ${md(r.rejectedBy.name)} at ${utc(r.rejectedBy.at)}.`;
  if (r.state === "succeeded" && run?.verification)
    stateLine += run.verification.ok ? " Verified." : " Verification found differences.";

  const requestFacts = [
    fact("Customer", md(r.customer)),
    fact("Requested by", `${md(r.requester.name)} at ${utc(r.createdAt)}`),
    fact("Approval expires", utc(r.expiresAt)),
    fact("Display name", md(p.displayName)),
    fact("App name", md(p.appName)),
    fact("UMP instance", md(p.umpInstance)),
    fact("Plan", r.plan.hash.slice(0, 12)),
    fact("Correlation id", r.correlationId),
  ];

  const steps = (run?.steps ?? [])
    .filter((s) => s.status !== "pending" || r.state === "running")
    .map((s) => fact(STEP_TITLES[s.name], `${s.status}${s.detail ? `: ${md(truncate(s.detail, 300))}` : ""}`));

  const result =
    r.state === "succeeded" && run
      ? [
          fact("Application (client) ID", run.appId),
          fact("Object ID", run.objectId),
          fact("Service principal object ID", run.servicePrincipalId ?? "—"),
          fact("Redirect URL", md(redirectUrlFor(p.appName, p.serviceProviderFqdn))),
          fact("Authentication Portal URL", md(portalUrlFor(p.appName, p.serviceProviderFqdn))),
          fact("Secret keyId", run.newSecret?.keyId ?? "unchanged"),
          fact("Secret hint", run.newSecret?.hint ?? "unchanged"),
          fact("Secret expires", run.newSecret ? run.newSecret.endDateTime.slice(0, 10) : "unchanged"),
          fact("UMP revision", run.umpRevision),
          fact(
            "Verification result",
            run.verification
              ? run.verification.ok
                ? `verified (token proof ${run.verification.tokenProof})`
                : md(truncate(run.verification.differences.join("; "), 1000))
              : "—",
          ),
          fact("Admin consent link", run.appId ? adminConsentUrl(view.spTenantId, run.appId) : "—"),
        ]
      : [];

  const error = run?.error;
  const errorText = error
    ? `Step "${STEP_TITLES[error.step]}" failed (${error.code}): ${md(truncate(error.message, 1000))}${error.hint ? ` What to do: ${md(truncate(error.hint, 500))}` : ""} Correlation id ${r.correlationId}.`
    : "";

  const selfApprovalWarning = [
    view.allowSelfApproval && r.state === "planned"
      ? "Four-eyes is OFF (ALLOW_SELF_APPROVAL=true): the requester may approve their own request. Use this only for local development."
      : "",
    view.stepUpOff && r.state === "planned" ? STEP_UP_OFF : "",
  ]
    .filter(Boolean)
    .join(" ");

  return renderCard("approval", {
    title: `${r.kind === "rotate" ? "Rotate the secret" : "Provision"} for ${md(r.customer)}: ${r.state === "planned" ? "approval needed" : r.state === "attention" ? "needs attention" : r.state}`,
    stateLine,
    stateColor,
    selfApprovalWarning,
    requestFacts,
    targetLines: targetLines(r),
    fqdnWarnings: r.state === "planned" ? fqdnWarnings(r, view.defaultFqdn) : [],
    replanLines: r.state === "planned" ? replanLines(r) : [],
    changes: planLines(r.plan.changes.map(describeChange)),
    // What Review plan could not check (ownership, the tenant's secret policy): shown until the run starts.
    planNotes: r.state === "planned" ? (r.plan.notes ?? []).map((n) => md(truncate(n, 600))) : [],
    steps,
    waiting: r.state === "running" && run?.waiting ? md(truncate(run.waiting, 300)) : "",
    result,
    resultTitle: "Result (the secret itself is never shown)",
    // Long URLs have no break opportunity and are clipped in a fact's value column: repeat them in full.
    resultLinks:
      result.length > 0
        ? [
            `Redirect URL: ${md(redirectUrlFor(p.appName, p.serviceProviderFqdn))}`,
            `Authentication Portal URL: ${md(portalUrlFor(p.appName, p.serviceProviderFqdn))}`,
            ...(run?.appId ? [`Admin consent link: ${adminConsentUrl(view.spTenantId, run.appId)}`] : []),
          ]
        : [],
    errorText,
    notice: md(truncate(view.notice ?? "", 600)),
    showButtons: r.state === "planned",
    showRetry: r.state === "failed" || r.state === "expired",
    requestId: r.id,
    planHash: r.plan.hash,
    ...p,
  });
}

function planLines(lines: string[]): string[] {
  const shown = lines.slice(0, MAX_PLAN_LINES).map((l) => md(truncate(l, 300)));
  if (lines.length > MAX_PLAN_LINES) shown.push(`…and ${lines.length - MAX_PLAN_LINES} more change(s)`);
  return shown;
}
