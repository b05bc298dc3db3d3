// Batch onboarding (issue 13): plan several customers at once, approve them with one decision, run
// them a few at a time, retry a failed one without re-approving the others. Each customer is an
// ordinary request (requests/, runs/): the batch approval approves each member request by the same
// compare-and-set, so one app, no orphan secret, crash resume and audit hold inside a batch.

import { randomUUID } from "node:crypto";
import { checkEligibility, precheckApproval } from "../approval";
import { type ApproverCredential, createStepUp, describeProof, proofOf } from "../approverProof";
import { describeError } from "../errors";
import type { Actor, ConversationRef, RequestRecord } from "../records";
import type { ProvisionParameters } from "../spec";
import { type BatchMember, type BatchRecord, batchHash, type ParsedLine } from "./batchRecords";
import type { BatchesDeps, BatchOutcome } from "./batchTypes";
import { createBatchDriver } from "./createBatchDriver";

const BATCHES = "batches";

export type Batches = ReturnType<typeof createBatches>;

export function createBatches(deps: BatchesDeps) {
  const { repo, clock, options } = deps;
  const log = deps.logger;
  const store = repo.store;
  const nowIso = () => clock.now().toISOString();
  const short = (id: string) => id.slice(0, 8);
  const stepUpGate = deps.stepUp ?? createStepUp(false);

  // One limiter for every batch of this process: BATCH_CONCURRENCY runs at a time.
  let inFlight = 0;
  const queue: Array<() => void> = [];
  async function limited<T>(work: () => Promise<T>): Promise<T> {
    if (inFlight >= Math.max(1, deps.concurrency)) await new Promise<void>((r) => queue.push(r));
    inFlight++;
    try {
      return await work();
    } finally {
      inFlight--;
      queue.shift()?.();
    }
  }

  const get = async (id: string) => (await store.get<BatchRecord>(BATCHES, id))?.value ?? null;
  const update = (id: string, mutate: (b: BatchRecord) => BatchRecord | null) =>
    repo.update<BatchRecord>(BATCHES, id, mutate);
  const audit = (
    b: BatchRecord,
    m: BatchMember,
    actor: string,
    action: string,
    outcome: "ok" | "refused" | "info",
    detail?: string,
  ) =>
    repo.audit({
      at: nowIso(),
      customer: m.customer,
      actor,
      action,
      outcome,
      correlationId: b.correlationId,
      requestId: m.requestId,
      detail,
    });
  const tell = (id: string) => {
    try {
      deps.notify(id);
    } catch (e) {
      log.warn("batch card hook failed", { batchId: id, error: describeError(e).message });
    }
  };

  /** Stores the batch (state planning) with one member per parsed line; plan() fills in the plans. */
  async function create(input: {
    kind?: "provision" | "rotate";
    lines: ParsedLine[];
    requester: Actor;
    tenantId: string;
    conversation: ConversationRef;
  }): Promise<BatchRecord> {
    const now = clock.now();
    const batch: BatchRecord = {
      id: randomUUID(),
      ...(input.kind === "rotate" ? { kind: "rotate" as const } : {}),
      state: "planning",
      requester: input.requester,
      tenantId: input.tenantId,
      conversation: input.conversation,
      members: input.lines.map((l) => ({
        line: l.line,
        customer: l.customer,
        params: l.params,
        error: l.error,
        ...(l.service ? { service: l.service } : {}),
        retries: 0,
      })),
      hash: "",
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + options.approvalTtlHours * 3_600_000).toISOString(),
      correlationId: randomUUID(),
    };
    if (!(await store.insert(BATCHES, batch.id, batch))) throw new Error(`batch ${batch.id} exists`);
    return batch;
  }

  async function attachCard(batchId: string, activityId: string) {
    // Once: a batch never moves to another message (a card shows one batch for its whole life).
    await update(batchId, (b) => (b.cardActivityId ? null : { ...b, cardActivityId: activityId }));
  }

  /** Reviews every valid line (live reads, a few at a time), then one hash over the plans. Nothing is written upstream. */
  async function plan(batchId: string): Promise<BatchRecord | null> {
    const batch = await get(batchId);
    if (batch?.state !== "planning") return batch;
    const results = new Map<number, Partial<BatchMember>>();
    await Promise.all(
      batch.members
        .filter((m) => m.params && !m.error)
        .map((m) => limited(async () => results.set(m.line, await reviewMember(batch, m.params!, batch.requester)))),
    );
    const saved = await update(batchId, (b) => {
      if (b.state !== "planning") return null;
      const members = b.members.map((m) => ({ ...m, ...(results.get(m.line) ?? {}) }));
      // The approval deadline starts when the plan is shown, as for a single request.
      const expiresAt = new Date(clock.now().getTime() + options.approvalTtlHours * 3_600_000).toISOString();
      return { ...b, members, state: "planned", hash: batchHash(members), expiresAt };
    });
    tell(batchId);
    return saved?.value ?? null;
  }

  async function reviewMember(batch: BatchRecord, params: ProvisionParameters, requester: Actor) {
    try {
      // A rotation batch (Rotate all) plans each member as the Rotate secret button does.
      const outcome = await deps.review({
        params,
        kind: batch.kind ?? "provision",
        service: batch.members.find((m) => m.customer === params.customer)?.service,
        requester,
        tenantId: batch.tenantId,
        conversation: batch.conversation,
      });
      switch (outcome.kind) {
        case "planned": {
          // The member request belongs to the batch: it is approved only through the batch.
          await repo.updateRequest(outcome.request.id, (r) => ({ ...r, batchId: batch.id }));
          return { requestId: outcome.request.id, planHash: outcome.request.plan.hash, error: undefined };
        }
        case "nothing-to-do":
          return { upToDate: true, requestId: undefined, planHash: undefined, error: undefined };
        case "invalid":
          return { error: Object.values(outcome.errors)[0] ?? "invalid parameters" };
        case "busy":
          return { error: outcome.reason };
      }
    } catch (e) {
      return { error: describeError(e).message };
    }
  }

  /** One approval for the whole batch: the single-request rules, checked on the stored batch. */
  async function approve(
    batchId: string,
    actor: Actor,
    cardHash: unknown,
    credential?: ApproverCredential,
  ): Promise<BatchOutcome> {
    const batch = await get(batchId);
    if (!batch) return { ok: false, reason: "This batch is unknown to syncbot.", batch: null };
    const planned = batch.members.filter((m) => m.requestId);
    // The batch as a request-shaped record, so the checks and their wording are those of a single request.
    const asRequest = {
      state: batch.state,
      expiresAt: batch.expiresAt,
      plan: { hash: batch.hash },
      requester: batch.requester,
      customer: `${planned
        .map((m) => m.customer)
        .slice(0, 3)
        .join(" ")}${planned.length > 3 ? " …" : ""}`,
    } as unknown as RequestRecord;
    if (batch.state === "planning")
      return { ok: false, reason: "The plans of this batch are still being read; wait for the plan.", batch };
    const pre = precheckApproval(asRequest, actor, options, clock.now(), cardHash);
    const refuse = async (reason: string) => {
      for (const m of planned)
        await audit(batch, m, actor.name, "approval.refused", "refused", `batch ${short(batchId)}: ${reason}`);
      return { ok: false as const, reason, batch };
    };
    if (!pre.ok) {
      if (pre.code === "expired") await expire(batch);
      if (pre.code === "conflict") return { ok: false, reason: pre.reason.replace("request", "batch"), batch };
      return refuse(pre.reason);
    }
    if (planned.length === 0) return { ok: false, reason: "No customer of this batch has anything to do.", batch };
    const stepUp = await stepUpGate.check(credential, actor.id);
    if (!stepUp.ok) return { ok: false, reason: stepUp.reason, batch, code: stepUp.code };
    const eligibility = await checkEligibility(actor, options, deps.isGlobalAdministrator);
    if (!eligibility.eligible) return refuse(eligibility.reason);
    const at = nowIso();
    const result = await update(batchId, (b) =>
      b.state === "planned" && b.hash === batch.hash && Date.parse(b.expiresAt) > clock.now().getTime()
        ? {
            ...b,
            state: "approved",
            approver: { ...actor, via: eligibility.via, at, ...proofOf(stepUp.proof) },
            members: b.members.map((m) => (m.requestId ? { ...m, approvedHash: m.planHash } : m)),
          }
        : null,
    );
    if (!result?.changed) {
      const current = result?.value ?? batch;
      return { ok: false, reason: `This batch is already ${current.state}; nothing was changed.`, batch: current };
    }
    for (const m of planned)
      await audit(
        result.value,
        m,
        actor.name,
        "batch.approved",
        "ok",
        `batch ${short(batchId)} via ${eligibility.via}; plan ${m.planHash?.slice(0, 12)}; ${describeProof(stepUp.proof)}`,
      );
    tell(batchId);
    return { ok: true, batch: result.value };
  }

  async function expire(batch: BatchRecord) {
    const result = await update(batch.id, (b) => (b.state === "planned" ? { ...b, state: "expired" } : null));
    if (result?.changed) {
      for (const m of batch.members.filter((x) => x.requestId))
        await repo.updateRequest(m.requestId!, (r) => (r.state === "planned" ? { ...r, state: "expired" } : null));
      tell(batch.id);
    }
  }

  async function reject(batchId: string, actor: Actor): Promise<BatchOutcome> {
    const batch = await get(batchId);
    if (!batch) return { ok: false, reason: "This batch is unknown to syncbot.", batch: null };
    const result = await update(batchId, (b) =>
      b.state === "planned" ? { ...b, state: "rejected", rejectedBy: { ...actor, at: nowIso() } } : null,
    );
    if (!result?.changed)
      return {
        ok: false,
        reason: `This batch is already ${(result?.value ?? batch).state}; nothing was changed.`,
        batch,
      };
    for (const m of batch.members.filter((x) => x.requestId)) {
      const r = await repo.updateRequest(m.requestId!, (x) =>
        x.state === "planned" ? { ...x, state: "rejected", rejectedBy: { ...actor, at: nowIso() } } : null,
      );
      if (r?.changed) await audit(batch, m, actor.name, "request.rejected", "ok", `batch ${short(batchId)}`);
    }
    tell(batchId);
    return { ok: true, batch: result.value };
  }

  const driver = createBatchDriver({ deps, get, update, audit, tell, limited, reviewMember });
  return { create, attachCard, plan, approve, reject, get, ...driver };
}
