// Who may approve a request: decided from the stored request and a live role check, never from card data.

import type { AdminRoleCheck } from "./ports";
import type { Actor, RequestRecord } from "./records";

export type ApprovalPolicy = "global-admin" | "allow-list" | "either";

export interface ApproverRules {
  policy: ApprovalPolicy;
  approverIds: readonly string[];
  allowSelfApproval: boolean;
}

export type Eligibility = { eligible: true; via: string } | { eligible: false; reason: string };

/** Live eligibility: the allow-list is read from configuration, the Global Administrator role from Graph. */
export async function checkEligibility(
  actor: Actor,
  rules: ApproverRules,
  isGlobalAdministrator: (userId: string) => Promise<boolean | AdminRoleCheck>,
): Promise<Eligibility> {
  const listed = rules.approverIds.includes(actor.id.toLowerCase());
  if (rules.policy !== "global-admin" && listed) return { eligible: true, via: "allow-list" };
  if (rules.policy !== "allow-list") {
    const role = await isGlobalAdministrator(actor.id);
    if (role === true || role === "eligible") return { eligible: true, via: "Global Administrator (live check)" };
    // A role held through a group needs a membership-reading permission syncbot may not have: say so.
    if (role === "unverified")
      return {
        eligible: false,
        reason: `${actor.name}'s Global Administrator role could not be verified: it is not assigned directly, and a role held through a group can be read only with a membership permission (GroupMember.Read.All) that syncbot's identity does not hold. Nothing was changed. Grant syncbot GroupMember.Read.All, assign the role directly, or list approvers in APPROVER_IDS (APPROVAL_POLICY=either).`,
      };
    if (role === "query_refused")
      return {
        eligible: false,
        reason: `${actor.name}'s Global Administrator role could not be verified: it is not assigned directly, and Graph refused the query for roles held through a group (400). Nothing was changed. Assign the role directly, or list approvers in APPROVER_IDS (APPROVAL_POLICY=either).`,
      };
  }
  const need =
    rules.policy === "global-admin"
      ? "the Global Administrator role in the service provider tenant"
      : rules.policy === "allow-list"
        ? "to be on the approver list (APPROVER_IDS)"
        : "the Global Administrator role or a place on the approver list";
  return { eligible: false, reason: `${actor.name} is not an eligible approver: approving needs ${need}.` };
}

export type ApprovalDecision =
  | { ok: true }
  | { ok: false; code: "not_authorized" | "expired" | "conflict" | "plan_changed"; reason: string };

/** The checks that need no I/O, in the order an operator would want to hear them. */
export function precheckApproval(
  request: RequestRecord,
  actor: Actor,
  rules: ApproverRules,
  now: Date,
  cardPlanHash: unknown,
): ApprovalDecision {
  if (request.state !== "planned")
    return { ok: false, code: "conflict", reason: `This request is already ${request.state}; nothing was changed.` };
  // A batch member is approved by the batch's one approval (or its own line on the batch card), never alone.
  if (request.batchId)
    return {
      ok: false,
      code: "not_authorized",
      reason: "This customer is part of a batch: approve it on the batch card.",
    };
  if (now.getTime() >= Date.parse(request.expiresAt))
    return {
      ok: false,
      code: "expired",
      reason: `This approval request expired at ${request.expiresAt}. Ask for a new plan with "provision ${request.customer}".`,
    };
  // The card always carries the hash of the plan it shows; a missing or different one is a stale or forged card.
  if (cardPlanHash !== request.plan.hash)
    return {
      ok: false,
      code: "plan_changed",
      reason: "This card shows a different plan from the one on record. Review the plan again.",
    };
  if (actor.id.toLowerCase() === request.requester.id.toLowerCase() && !rules.allowSelfApproval)
    return {
      ok: false,
      code: "not_authorized",
      reason: `${actor.name} asked for this change and cannot approve it too: another eligible approver must press Approve.`,
    };
  return { ok: true };
}
