// Card rendering: one Adaptive Card template per card under adaptiveCards/, expanded with
// adaptivecards-templating from a view model built here. View models take records, never secrets.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ACData from "adaptivecards-templating";
import { STEP_TITLES } from "../domain/steps/stepLists";
import { describeChange } from "../domain/plan";
import { daysUntil } from "../domain/reminders";
import type { AuditEvent, RegistrationRecord, RequestRecord } from "../domain/records";
import {
  adminConsentUrl,
  type FieldErrors,
  type ProvisionParameters,
  portalUrlFor,
  redirectUrlFor,
} from "../domain/spec";

/** An expanded Adaptive Card (structurally what teams-ai and botbuilder accept). */
export type Card = { type: "AdaptiveCard"; [key: string]: unknown };

const TEMPLATE_DIR = join(__dirname, "..", "..", "adaptiveCards");
const templates = new Map<string, unknown>();

function template(name: string): unknown {
  let t = templates.get(name);
  if (!t) {
    t = JSON.parse(readFileSync(join(TEMPLATE_DIR, `${name}.json`), "utf8"));
    templates.set(name, t);
  }
  return t;
}

// Data reaching a card may come from users or from a hand-edited registration: neutralise template
// syntax so it is shown, never evaluated or left looking like an unresolved placeholder.
function neutralise<T>(value: T): T {
  if (typeof value === "string") return value.replaceAll("${", "$\u200B{") as T;
  if (Array.isArray(value)) return value.map(neutralise) as T;
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, neutralise(v)])) as T;
  return value;
}

export function renderCard(name: string, data: Record<string, unknown>): Card {
  return new ACData.Template(template(name)).expand({ $root: neutralise(data) }) as Card;
}

const fact = (title: string, value: string | number | undefined | null) => ({
  title,
  value: value === undefined || value === null || value === "" ? "—" : String(value),
});
const utc = (iso: string | undefined) => (iso ? `${iso.slice(0, 16).replace("T", " ")} UTC` : "—");

/** Same rounding as the reminders, so the status card and a reminder never disagree by a day. */
export function daysLeft(endDateTime: string, now: Date): number {
  return daysUntil(endDateTime, now);
}

// ---------------------------------------------------------------------------------------------

export interface ParametersView {
  values: Partial<Record<keyof ProvisionParameters, string | number>>;
  errors?: FieldErrors;
  formError?: string;
}

export function parametersCard(view: ParametersView): Card {
  const v = view.values;
  const e = view.errors ?? {};
  return renderCard("parameters", {
    customerTitle: String(v.customer || "a customer"),
    formError: view.formError ?? (Object.keys(e).length ? "Some values need fixing; nothing was changed." : ""),
    customer: String(v.customer ?? ""),
    appName: String(v.appName ?? ""),
    serviceProviderFqdn: String(v.serviceProviderFqdn ?? ""),
    displayName: String(v.displayName ?? ""),
    umpInstance: String(v.umpInstance ?? ""),
    secretLifetimeMonths: Number.isFinite(Number(v.secretLifetimeMonths)) ? Number(v.secretLifetimeMonths) : 24,
    errors: {
      customer: e.customer ?? "",
      appName: e.appName ?? "",
      serviceProviderFqdn: e.serviceProviderFqdn ?? "",
      displayName: e.displayName ?? "",
      umpInstance: e.umpInstance ?? "",
      secretLifetimeMonths: e.secretLifetimeMonths ?? "",
    },
  });
}

export interface ApprovalView {
  request: RequestRecord;
  spTenantId: string;
  allowSelfApproval: boolean;
  /** A refusal or note for the person who pressed a button. */
  notice?: string;
}

const STATE_LINES: Record<RequestRecord["state"], [string, string]> = {
  planned: ["Waiting for approval.", "Default"],
  approved: ["Approved; starting.", "Good"],
  running: ["Applying the plan…", "Accent"],
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
  if (r.approver) stateLine += ` Approved by ${r.approver.name} (${r.approver.via}) at ${utc(r.approver.at)}.`;
  if (r.rejectedBy) stateLine += ` Rejected by ${r.rejectedBy.name} at ${utc(r.rejectedBy.at)}.`;
  if (r.state === "succeeded" && run?.verification)
    stateLine += run.verification.ok ? " Verified." : " Verification found differences.";

  const requestFacts = [
    fact("Customer", r.customer),
    fact("Requested by", `${r.requester.name} at ${utc(r.createdAt)}`),
    fact("Approval expires", utc(r.expiresAt)),
    fact("Redirect URL", redirectUrlFor(p.appName, p.serviceProviderFqdn)),
    fact("UMP instance", p.umpInstance),
    fact("Plan", r.plan.hash.slice(0, 12)),
    fact("Correlation id", r.correlationId),
  ];

  const steps = (run?.steps ?? [])
    .filter((s) => s.status !== "pending" || r.state === "running")
    .map((s) => fact(STEP_TITLES[s.name], `${s.status}${s.detail ? `: ${s.detail}` : ""}`));

  const result =
    r.state === "succeeded" && run
      ? [
          fact("Application (client) ID", run.appId),
          fact("Object ID", run.objectId),
          fact("Redirect URL", redirectUrlFor(p.appName, p.serviceProviderFqdn)),
          fact("Authentication Portal URL", portalUrlFor(p.appName, p.serviceProviderFqdn)),
          fact("Secret keyId", run.newSecret?.keyId ?? "unchanged"),
          fact("Secret hint", run.newSecret?.hint ?? "unchanged"),
          fact("Secret expires", run.newSecret ? run.newSecret.endDateTime.slice(0, 10) : "unchanged"),
          fact("UMP revision", run.umpRevision),
          fact(
            "Verification result",
            run.verification
              ? run.verification.ok
                ? `verified (token proof ${run.verification.tokenProof})`
                : run.verification.differences.join("; ")
              : "—",
          ),
          fact("Admin consent link", run.appId ? adminConsentUrl(view.spTenantId, run.appId) : "—"),
        ]
      : [];

  const error = run?.error;
  const errorText = error
    ? `Step "${STEP_TITLES[error.step]}" failed (${error.code}): ${error.message}${error.hint ? ` What to do: ${error.hint}` : ""} Correlation id ${r.correlationId}.`
    : "";

  const selfApprovalWarning =
    view.allowSelfApproval && r.state === "planned"
      ? "Four-eyes is OFF (ALLOW_SELF_APPROVAL=true): the requester may approve their own request. Use this only for local development."
      : "";

  return renderCard("approval", {
    title: `${r.kind === "rotate" ? "Rotate the secret" : "Provision"} for ${r.customer}: ${r.state === "planned" ? "approval needed" : r.state}`,
    stateLine,
    stateColor,
    selfApprovalWarning,
    requestFacts,
    changes: r.plan.changes.map(describeChange),
    steps,
    waiting: r.state === "running" && run?.waiting ? run.waiting : "",
    result,
    resultTitle: "Result (the secret itself is never shown)",
    // Long URLs have no break opportunity and are clipped in a fact's value column: repeat them in full.
    resultLinks:
      result.length > 0
        ? [
            `Redirect URL: ${redirectUrlFor(p.appName, p.serviceProviderFqdn)}`,
            `Authentication Portal URL: ${portalUrlFor(p.appName, p.serviceProviderFqdn)}`,
            ...(run?.appId ? [`Admin consent link: ${adminConsentUrl(view.spTenantId, run.appId)}`] : []),
          ]
        : [],
    errorText,
    notice: view.notice ?? "",
    showButtons: r.state === "planned",
    showRetry: r.state === "failed" || r.state === "expired",
    requestId: r.id,
    planHash: r.plan.hash,
    ...p,
  });
}

export function statusCard(
  registrations: RegistrationRecord[],
  now: Date,
  drift: Map<string, string>,
  title: string,
): Card {
  return renderCard("status", {
    title,
    emptyText: "syncbot manages no registration yet. Start with: provision <customer>",
    registrations: registrations.map((r) => ({
      customer: r.customer,
      service: "ump",
      driftBadge: drift.get(r.customer) ? ` — ${drift.get(r.customer)}` : "",
      facts: [
        fact("Client ID", r.appId),
        fact("Object ID", r.objectId),
        fact("UMP instance", r.params.umpInstance),
        fact(
          "UMP",
          r.ump
            ? `revision ${r.ump.revision}, secret ${r.secrets.some((s) => s.fingerprint === r.ump?.fingerprint && s.status === "active") ? "matches" : "DOES NOT match"} syncbot's, portal ${r.ump.portalValidated ? "validated" : "not validated"}`
            : "—",
        ),
        fact(
          "Last verification",
          r.lastVerification ? `${r.lastVerification.ok ? "ok" : "differences"} at ${utc(r.lastVerification.at)}` : "—",
        ),
      ],
      secrets: r.secrets.map(
        (s) =>
          `${s.service} secret ${s.keyId} (hint ${s.hint}): expires ${s.endDateTime.slice(0, 10)}, ${daysLeft(s.endDateTime, now)} days left${s.status === "superseded" ? `, superseded (removed after ${utc(s.removeAfter)})` : ""}`,
      ),
    })),
  });
}

export function driftCard(
  customer: string,
  params: ProvisionParameters | null,
  differences: string[],
  error?: string,
): Card {
  return renderCard("drift", {
    title: `Check ${customer}`,
    summary: error
      ? error
      : differences.length === 0
        ? "Live registration and UMP settings match the desired spec."
        : `${differences.length} difference(s) from the desired spec. Review plan prepares the fix (approval needed).`,
    summaryColor: error || differences.length ? "Attention" : "Good",
    differences,
    customer,
    appName: params?.appName ?? "",
    serviceProviderFqdn: params?.serviceProviderFqdn ?? "",
    displayName: params?.displayName ?? "",
    umpInstance: params?.umpInstance ?? "",
    secretLifetimeMonths: params?.secretLifetimeMonths ?? 24,
  });
}

export function historyCard(customer: string, events: AuditEvent[], next: string | undefined): Card {
  return renderCard("history", {
    title: `History of ${customer} (newest first)`,
    customer,
    next: next ?? "",
    events: events.map(
      (e) =>
        `${utc(e.at)}  ${e.actor}  ${e.action}  ${e.outcome}${e.detail ? `  ${e.detail}` : ""}  [${e.correlationId.slice(0, 8)}]`,
    ),
  });
}

export const COMMANDS: Array<[string, string]> = [
  [
    "provision <customer>",
    "create or reconcile the customer's Sync App registration and UMP settings (approval needed)",
  ],
  ["status [customer]", "registrations syncbot manages: client id, secrets with expiry countdown, UMP state, drift"],
  ["check <customer>", "compare the live registration and UMP settings with the desired spec"],
  [
    "rotate <customer> [service]",
    "plan a new client secret for the service (default ump; others are handed over by one-time link); approval needed; the old one stays valid through a grace period",
  ],
  ["history <customer>", "the audit trail: who asked, who approved, what changed, when"],
  ["help", "this list"],
];

export function helpCard(intro = ""): Card {
  // The plain help card never changes: render it once (templating costs ~3 ms, most of a help turn).
  if (intro !== "") return renderHelp(intro);
  plainHelp ??= renderHelp("");
  return plainHelp;
}

let plainHelp: Card | undefined;
function renderHelp(intro: string): Card {
  return renderCard("help", {
    title: "syncbot commands",
    intro,
    commands: COMMANDS.map(([title, value]) => ({ title, value })),
  });
}

export interface ReminderView {
  customer: string;
  service: string;
  clientId: string;
  keyId: string;
  hint: string;
  endDateTime: string;
  daysLeft: number;
  notice?: string;
  showButtons?: boolean;
}

export function reminderCard(v: ReminderView): Card {
  const expired = v.daysLeft < 0;
  return renderCard("reminder", {
    title: expired
      ? `The ${v.service} secret of ${v.customer} has EXPIRED`
      : `The ${v.service} secret of ${v.customer} expires in ${v.daysLeft} day${v.daysLeft === 1 ? "" : "s"}`,
    color: expired || v.daysLeft <= 7 ? "Attention" : "Warning",
    facts: [
      fact("Customer", v.customer),
      fact("Client ID", v.clientId),
      fact("Secret keyId", v.keyId),
      fact("Secret hint", v.hint),
      fact("Expires", utc(v.endDateTime)),
      fact("Days left", v.daysLeft),
    ],
    notice: v.notice ?? "",
    showButtons: v.showButtons ?? true,
    customer: v.customer,
    service: v.service,
    keyId: v.keyId,
  });
}

export function handoffCard(v: {
  title: string;
  body: string;
  link?: string;
  requestId: string;
  showButtons: boolean;
  notice?: string;
}): Card {
  return renderCard("handoff", { notice: "", link: "", ...v });
}
