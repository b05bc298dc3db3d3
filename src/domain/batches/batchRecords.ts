// A batch: several customers provisioned under one plan and one approval (issue 13). The batch record
// references one request per customer; each request keeps every per-customer guarantee (one app, no
// orphan secret, crash resume, audit). Pure helpers: parsing the pasted list, the batch hash, statuses.

import { createHash } from "node:crypto";
import type { Actor, ConversationRef, RequestRecord } from "../records";
import { type ProvisionParameters, validateParameters } from "../spec";

export type BatchState = "planning" | "planned" | "approved" | "rejected" | "expired";

export interface BatchMember {
  /** 1-based line of the pasted list. */
  line: number;
  customer: string;
  params?: ProvisionParameters;
  /** Why this line cannot be planned (the other lines still can). */
  error?: string;
  /** The customer's current request (a retry replaces it). */
  requestId?: string;
  planHash?: string;
  /** The plan hash an approval covers for this customer: the batch approval, or its own after a changed re-plan. */
  approvedHash?: string;
  /** Why the batch approval stopped covering this customer (its approver lost eligibility). */
  approvalNote?: string;
  /** Live state already matches the spec: nothing to do. */
  upToDate?: boolean;
  /** Rotation batches only: the service whose secret is rotated (default: ump). */
  service?: string;
  retries: number;
}

export interface BatchRecord {
  id: string;
  /** What each member's request does: onboard (the pasted list) or rotate a secret (Rotate all). Default provision. */
  kind?: "provision" | "rotate";
  state: BatchState;
  requester: Actor;
  tenantId: string;
  conversation: ConversationRef;
  cardActivityId?: string;
  members: BatchMember[];
  /** Over every planned member's customer and plan hash: what the one approval binds to. */
  hash: string;
  createdAt: string;
  /** Approval deadline; a retry may re-use the batch approval only until then. */
  expiresAt: string;
  approver?: Actor & { via: string; at: string };
  rejectedBy?: Actor & { at: string };
  correlationId: string;
}

export const MAX_BATCH_LINES = 500;
/** The pasted list's bound: 500 lines of `customer appName umpInstance` at up to 128 characters each. */
export const MAX_BATCH_TEXT = 64_000;

export interface BatchDefaults {
  serviceProviderFqdn?: string;
  /** `{customer}` is replaced by the customer. */
  umpInstance?: string;
}

export interface ParsedLine {
  line: number;
  customer: string;
  params?: ProvisionParameters;
  error?: string;
  service?: string;
}

/**
 * One customer per line: `customer [appName] [umpInstance]`, separated by spaces, tabs, commas or
 * semicolons; blank lines and `#` comments are skipped. Missing values take the defaults of the
 * single-customer parameters card. A bad line carries its error; the others stay valid.
 */
export function parseBatchLines(text: string, defaults: BatchDefaults): ParsedLine[] {
  const out: ParsedLine[] = [];
  const seen = new Map<string, number>();
  const instances = new Map<string, string>();
  const apps = new Map<string, string>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const content = raw.replace(/#.*$/, "").trim();
    if (!content) continue;
    const line = i + 1;
    const [customerRaw = "", appName, umpInstance, ...extra] = content.split(/[\s,;]+/);
    const customer = customerRaw.toLowerCase();
    if (extra.length > 0) {
      out.push({ line, customer, error: "Too many values: use customer [appName] [umpInstance]." });
      continue;
    }
    const v = validateParameters({
      customer,
      appName: appName ?? customer.slice(0, 63),
      serviceProviderFqdn: defaults.serviceProviderFqdn ?? "",
      displayName: `UMP-365 Delegated Token Sync - ${customer}`,
      umpInstance: umpInstance ?? (defaults.umpInstance ?? "").replaceAll("{customer}", customer),
      secretLifetimeMonths: 24,
    });
    if (!v.ok) {
      const [field, message] = Object.entries(v.errors)[0] ?? ["customer", "invalid"];
      out.push({ line, customer, error: `${field}: ${message}` });
      continue;
    }
    const p = v.params;
    const earlier = seen.get(p.customer);
    if (earlier !== undefined) {
      out.push({ line, customer, error: `${p.customer} is already on line ${earlier}.` });
      continue;
    }
    // Two new customers in one batch must not share a UMP instance or a portal host either.
    const instanceOwner = instances.get(p.umpInstance.toLowerCase());
    if (instanceOwner) {
      out.push({ line, customer, error: `UMP instance ${p.umpInstance} is already ${instanceOwner}'s.` });
      continue;
    }
    const appOwner = apps.get(p.appName);
    if (appOwner) {
      out.push({ line, customer, error: `App name ${p.appName} is already ${appOwner}'s.` });
      continue;
    }
    seen.set(p.customer, line);
    instances.set(p.umpInstance.toLowerCase(), p.customer);
    apps.set(p.appName, p.customer);
    out.push({ line, customer: p.customer, params: p });
  }
  if (out.length > MAX_BATCH_LINES)
    return out.slice(0, MAX_BATCH_LINES).concat(
      out.slice(MAX_BATCH_LINES).map((l) => ({
        line: l.line,
        customer: l.customer,
        error: `A batch holds at most ${MAX_BATCH_LINES} customers; start another batch.`,
      })),
    );
  return out;
}

/** What the batch approval binds to: each planned customer's plan hash, in a canonical order. */
export function batchHash(members: readonly BatchMember[]): string {
  const parts = members
    .filter((m) => m.requestId && m.planHash)
    .map((m) => `${m.customer}:${m.planHash}`)
    .sort();
  return createHash("sha256").update(parts.join("\n")).digest("hex");
}

export type MemberStatus =
  | "invalid"
  | "planning"
  | "planned"
  | "waiting"
  | "needs-approval"
  | "running"
  | "done"
  | "failed"
  | "rejected";

/** A member's status as the batch card shows it, from the batch and the member's stored request. */
export function memberStatus(batch: BatchRecord, m: BatchMember, request: RequestRecord | null): MemberStatus {
  if (m.error) return "invalid";
  if (m.upToDate) return "done";
  if (!m.requestId || !request) return batch.state === "planning" ? "planning" : "invalid";
  switch (request.state) {
    case "planned":
      if (batch.state === "rejected") return "rejected";
      if (batch.state !== "approved") return "planned";
      return m.approvedHash === request.plan.hash ? "waiting" : "needs-approval";
    case "approved":
    case "running":
      return "running";
    case "succeeded":
      return "done";
    case "rejected":
      return "rejected";
    default:
      return "failed";
  }
}

/** Statuses in which the batch still has work of its own to do (not waiting for a person). */
export const ACTIVE_STATUSES: ReadonlySet<MemberStatus> = new Set(["waiting", "running"]);
