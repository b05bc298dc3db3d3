// A request's life before its run: review (plan from live state, nothing written upstream), approve,
// reject, expire, and the card that shows it. Every state change is one compare-and-set.

import { randomUUID } from "node:crypto";
import { checkEligibility, precheckApproval } from "../approval";
import { type ApproverCredential, createStepUp, describeProof, proofOf, type StepUp } from "../approverProof";
import { SyncbotError } from "../errors";
import { readLiveState } from "../liveState";
import { type LiveState, type Plan, planProvisioning } from "../plan";
import type { CallContext, Clock, FullDirectory, Logger, UmpSettingsApi } from "../ports";
import type { ProvisioningOptions } from "../provisioningOptions";
import type { Actor, ConversationRef, RegistrationRecord, RequestRecord } from "../records";
import type { Repository } from "../repository";
import { buildSpec, DEFAULT_SERVICE, isServiceName, type ProvisionParameters, type Spec } from "../spec";
import type { AuditTrail } from "./createAuditTrail";
import {
  checkOwnership,
  createScopeCheck,
  checkSecretPolicy,
  isGraphDenied,
  type ReviewCheck,
  unreadableApplication,
} from "./reviewChecks";

export type ReviewOutcome =
  | { kind: "planned"; request: RequestRecord }
  | { kind: "nothing-to-do"; spec: Spec; registration: RegistrationRecord | null }
  | { kind: "invalid"; errors: Partial<Record<keyof ProvisionParameters, string>> }
  | { kind: "busy"; reason: string };

export type ActionOutcome =
  | { ok: true; request: RequestRecord }
  /** `code`: why a step-up refused (the chat edge asks for a sign-in on some). */
  | { ok: false; reason: string; request: RequestRecord | null; code?: string };

export interface RequestLifecycleDeps {
  directory: FullDirectory;
  ump: UmpSettingsApi | null;
  repo: Repository;
  clock: Clock;
  options: ProvisioningOptions;
  audit: AuditTrail;
  notify: (request: RequestRecord) => void;
  /** Whether secrets can be handed over (HANDOFF_KEY set). */
  canHandOff: boolean;
  /** A button pressed on a request whose run a dead process left behind picks the run up again. */
  resumeIfStale: (request: RequestRecord) => void;
  /** Verified approvals (invariant 13): the presser's own fresh sign-in, when required (unset: off). */
  stepUp?: StepUp;
  logger?: Logger;
}

export function createRequestLifecycle(deps: RequestLifecycleDeps) {
  const { directory, repo, clock, options, audit, notify } = deps;
  const stepUpGate = deps.stepUp ?? createStepUp(false);
  const nowIso = () => clock.now().toISOString();

  const checkScopes = createScopeCheck(directory, deps.logger);

  /** Review plan: reads live state and stores a request in state `planned`. Nothing is written upstream. */
  async function review(input: {
    params: ProvisionParameters;
    kind: Plan["kind"];
    service?: string;
    requester: Actor;
    tenantId: string;
    conversation: ConversationRef;
  }): Promise<ReviewOutcome> {
    const correlationId = randomUUID();
    const ctx: CallContext = { correlationId };
    const spec = buildSpec(input.params);
    const service = input.service ?? DEFAULT_SERVICE;
    if (!isServiceName(service))
      throw new SyncbotError("validation_failed", "A service name is 1-32 lower-case letters, digits or hyphens.");
    // Only the "ump" service's secret has a place in UMP; any other service's secret is handed over.
    if ((service !== DEFAULT_SERVICE || options.umpTarget === "handoff") && !deps.canHandOff)
      throw new SyncbotError(
        "config_invalid",
        `Handing over the "${service}" secret needs HANDOFF_KEY (hand-off links); nothing was changed.`,
      );
    await checkScopes(ctx);
    let live: LiveState;
    try {
      ({ live } = await readLiveState({ ...deps, umpTarget: options.umpTarget }, spec, ctx));
    } catch (e) {
      if (e instanceof SyncbotError && e.code === "not_found")
        return { kind: "invalid", errors: { umpInstance: `UMP does not know the instance "${spec.umpInstance}".` } };
      // Under Application.ReadWrite.OwnedBy an app someone else owns cannot even be read.
      if (isGraphDenied(e))
        return refuse(input, spec.customer, "customer", unreadableApplication(spec.uniqueName), correlationId);
      throw e;
    }
    // One customer, one registration: an app name already used by another customer's registration is refused.
    const registrations = await repo.listRegistrations();
    const others = registrations.filter(
      (r) =>
        r.customer !== spec.customer &&
        r.params.appName === spec.appName &&
        r.params.serviceProviderFqdn === spec.serviceProviderFqdn,
    );
    if (others.length > 0)
      return {
        kind: "invalid",
        errors: {
          appName: `https://${spec.appName}.${spec.serviceProviderFqdn} already serves customer ${others[0]!.customer}.`,
        },
      };
    // One UMP instance, one customer: writing another customer's instance would overwrite its sync app.
    const sharing = registrations.find(
      (r) => r.customer !== spec.customer && r.params.umpInstance === spec.umpInstance,
    );
    if (sharing)
      return {
        kind: "invalid",
        errors: {
          umpInstance: `UMP instance "${spec.umpInstance}" is already used by customer ${sharing.customer}'s registration; nothing was changed.`,
        },
      };
    const now = clock.now();
    const plan = planProvisioning(spec, live, {
      kind: input.kind,
      service: input.service,
      umpApi: options.umpTarget === "api",
      now,
    });
    if (plan.changes.length === 0)
      return { kind: "nothing-to-do", spec, registration: await repo.getRegistration(spec.customer) };
    // Nothing is approved that Entra would refuse: syncbot must own the app, and the policy allow the secret.
    const [ownership, policy] = await Promise.all([
      live.app ? checkOwnership(directory, live.app, ctx) : Promise.resolve<ReviewCheck>({ ok: true }),
      plan.changes.some((c) => c.kind === "secret.add")
        ? checkSecretPolicy(directory, live.app ?? null, spec.secretLifetimeMonths, now, ctx)
        : Promise.resolve<ReviewCheck>({ ok: true }),
    ]);
    if (!ownership.ok) return refuse(input, spec.customer, "customer", ownership, correlationId);
    if (!policy.ok) return refuse(input, spec.customer, "secretLifetimeMonths", policy, correlationId);
    const notes = [ownership, policy].flatMap((c) => (c.ok && c.note ? [c.note] : []));
    if (notes.length > 0) plan.notes = notes;
    const request: RequestRecord = {
      id: randomUUID(),
      customer: spec.customer,
      kind: input.kind,
      params: input.params,
      service: plan.service,
      state: "planned",
      requester: input.requester,
      tenantId: input.tenantId,
      conversation: input.conversation,
      plan,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + options.approvalTtlHours * 3_600_000).toISOString(),
      correlationId,
      registeredFqdn: registrations.find((r) => r.customer === spec.customer)?.params.serviceProviderFqdn,
    };
    await repo.createRequest(request);
    await audit(
      request,
      input.requester.name,
      `${input.kind}.requested`,
      "ok",
      `${plan.changes.length} change(s), plan ${plan.hash.slice(0, 12)}`,
    );
    return { kind: "planned", request };
  }

  /** A plan Entra would refuse: shown at Review plan on the field to change, and audited. */
  async function refuse(
    input: { requester: Actor; kind: Plan["kind"] },
    customer: string,
    field: keyof ProvisionParameters,
    check: Extract<ReviewCheck, { ok: false }>,
    correlationId: string,
  ): Promise<ReviewOutcome> {
    await repo.audit({
      at: nowIso(),
      customer,
      actor: input.requester.name,
      action: `${input.kind}.refused`,
      outcome: "refused",
      correlationId,
      detail: check.error,
    });
    return { kind: "invalid", errors: { [field]: check.error } };
  }

  /**
   * Binds the request to the card that shows it, once: a request stays bound to the conversation and
   * card it was created in (invariant 12), so a press from another conversation never re-points it.
   */
  async function attachCard(requestId: string, activityId: string, from?: ConversationRef) {
    await repo.updateRequest(requestId, (r) =>
      r.cardActivityId || (from && conversationIdOf(from) !== conversationIdOf(r.conversation))
        ? null
        : { ...r, cardActivityId: activityId },
    );
  }

  /** Approve: every check against the stored request, then one compare-and-set planned → approved. */
  async function approve(
    requestId: string,
    actor: Actor,
    cardPlanHash?: unknown,
    credential?: ApproverCredential,
  ): Promise<ActionOutcome> {
    const request = await repo.getRequest(requestId);
    if (!request) return { ok: false, reason: "This request is unknown to syncbot.", request: null };
    deps.resumeIfStale(request);
    const pre = precheckApproval(request, actor, options, clock.now(), cardPlanHash);
    if (!pre.ok) {
      let current = request;
      if (pre.code === "expired") current = (await expire(request)) ?? request;
      if (pre.code !== "conflict") await audit(request, actor.name, "approval.refused", "refused", pre.reason);
      return { ok: false, reason: pre.reason, request: current };
    }
    // A token that fails any rule changes nothing: no state, no audit line (the reason goes to the presser).
    const stepUp = await stepUpGate.check(credential, actor.id);
    if (!stepUp.ok) return { ok: false, reason: stepUp.reason, request, code: stepUp.code };
    const eligibility = await checkEligibility(actor, options, (id) =>
      directory.checkGlobalAdministrator(id, { correlationId: request.correlationId }),
    );
    if (!eligibility.eligible) {
      await audit(request, actor.name, "approval.refused", "refused", eligibility.reason);
      return { ok: false, reason: eligibility.reason, request };
    }
    const at = nowIso();
    const result = await repo.updateRequest(requestId, (r) =>
      r.state === "planned" && Date.parse(r.expiresAt) > clock.now().getTime()
        ? { ...r, state: "approved", approver: { ...actor, via: eligibility.via, at, ...proofOf(stepUp.proof) } }
        : null,
    );
    if (!result?.changed) {
      const current = result?.value ?? request;
      return { ok: false, reason: `This request is already ${current.state}; nothing was changed.`, request: current };
    }
    await audit(
      result.value,
      actor.name,
      "approval.approved",
      "ok",
      `via ${eligibility.via}; plan ${request.plan.hash.slice(0, 12)}; ${describeProof(stepUp.proof)}`,
    );
    notify(result.value);
    return { ok: true, request: result.value };
  }

  async function reject(requestId: string, actor: Actor): Promise<ActionOutcome> {
    const request = await repo.getRequest(requestId);
    if (!request) return { ok: false, reason: "This request is unknown to syncbot.", request: null };
    deps.resumeIfStale(request);
    // Rejecting needs no approver role: the requester may withdraw, and any colleague may stop a change.
    const result = await repo.updateRequest(requestId, (r) =>
      r.state === "planned" ? { ...r, state: "rejected", rejectedBy: { ...actor, at: nowIso() } } : null,
    );
    if (!result?.changed) {
      const current = result?.value ?? request;
      return { ok: false, reason: `This request is already ${current.state}; nothing was changed.`, request: current };
    }
    await audit(result.value, actor.name, "request.rejected", "ok");
    notify(result.value);
    return { ok: true, request: result.value };
  }

  async function expire(request: RequestRecord): Promise<RequestRecord | null> {
    const result = await repo.updateRequest(request.id, (r) =>
      r.state === "planned" ? { ...r, state: "expired" } : null,
    );
    if (result?.changed) {
      await audit(result.value, "syncbot", "request.expired", "info");
      notify(result.value);
    }
    return result?.value ?? null;
  }

  return { review, attachCard, approve, reject, expire };
}

/** The conversation a Bot Framework conversation reference points to. */
const conversationIdOf = (ref: ConversationRef): unknown => (ref.conversation as { id?: unknown } | undefined)?.id;
