// Batch onboarding (issue 13): plan several customers at once, approve them with one decision, run
// them a few at a time, retry a failed one without re-approving the others. Each customer is an
// ordinary request (requests/, runs/): the batch approval approves each member request by the same
// compare-and-set, so one app, no orphan secret, crash resume and audit hold inside a batch.

import { randomUUID } from "node:crypto";
import { checkEligibility, precheckApproval } from "../approval";
import { describeError } from "../errors";
import type { Clock, Logger } from "../ports";
import type { ProvisioningOptions } from "../provisioningOptions";
import type { Actor, ConversationRef, RequestRecord } from "../records";
import type { Repository } from "../repository";
import type { ReviewOutcome } from "../requests/createRequestLifecycle";
import type { ProvisionParameters } from "../spec";
import { type BatchMember, type BatchRecord, batchHash, memberStatus, type ParsedLine } from "./batchRecords";

const BATCHES = "batches";

export interface BatchesDeps {
  repo: Repository;
  clock: Clock;
  logger: Logger;
  options: ProvisioningOptions;
  /** Review plan for one customer (the same as the single-customer card's). */
  review(input: {
    params: ProvisionParameters;
    kind: "provision";
    requester: Actor;
    tenantId: string;
    conversation: ConversationRef;
  }): Promise<ReviewOutcome>;
  /** Starts or resumes the run of an approved request; resolves when it ended or was handed to another process. */
  execute(requestId: string): Promise<RequestRecord>;
  isGlobalAdministrator(userId: string): Promise<boolean>;
  /** Runs in flight at once, over every batch of this process. */
  concurrency: number;
  /** Called after every change of a batch or one of its members' requests (the bot updates the card, coalesced). */
  notify(batchId: string): void;
  sleep?: (ms: number) => Promise<void>;
}

export type BatchOutcome = { ok: true; batch: BatchRecord } | { ok: false; reason: string; batch: BatchRecord | null };

export type Batches = ReturnType<typeof createBatches>;

export function createBatches(deps: BatchesDeps) {
  const { repo, clock, options } = deps;
  const log = deps.logger;
  const store = repo.store;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const driving = new Map<string, Promise<void>>();
  const again = new Set<string>();
  const nowIso = () => clock.now().toISOString();
  const short = (id: string) => id.slice(0, 8);

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
    lines: ParsedLine[];
    requester: Actor;
    tenantId: string;
    conversation: ConversationRef;
  }): Promise<BatchRecord> {
    const now = clock.now();
    const batch: BatchRecord = {
      id: randomUUID(),
      state: "planning",
      requester: input.requester,
      tenantId: input.tenantId,
      conversation: input.conversation,
      members: input.lines.map((l) => ({
        line: l.line,
        customer: l.customer,
        params: l.params,
        error: l.error,
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
    await update(batchId, (b) => (b.cardActivityId === activityId ? null : { ...b, cardActivityId: activityId }));
  }

  /** Reviews every valid line (live reads, a few at a time), then one hash over the plans. Nothing is written upstream. */
  async function plan(batchId: string): Promise<BatchRecord | null> {
    const batch = await get(batchId);
    if (!batch || batch.state !== "planning") return batch;
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
      const outcome = await deps.review({
        params,
        kind: "provision",
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
  async function approve(batchId: string, actor: Actor, cardHash: unknown): Promise<BatchOutcome> {
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
    const eligibility = await checkEligibility(actor, options, deps.isGlobalAdministrator);
    if (!eligibility.eligible) return refuse(eligibility.reason);
    const at = nowIso();
    const result = await update(batchId, (b) =>
      b.state === "planned" && b.hash === batch.hash && Date.parse(b.expiresAt) > clock.now().getTime()
        ? {
            ...b,
            state: "approved",
            approver: { ...actor, via: eligibility.via, at },
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
        `batch ${short(batchId)} via ${eligibility.via}; plan ${m.planHash?.slice(0, 12)}`,
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

  return { create, attachCard, plan, approve, reject, get, ...createDriver() };

  // -------------------------------------------------------------------------------------------
  // Running: members go planned → approved (one CAS each) only when a worker slot is free, so a
  // restart never finds more than BATCH_CONCURRENCY approved-but-unfinished runs of a batch.

  function createDriver() {
    /** Runs every member that is covered by an approval and not finished; idempotent per process. */
    function drive(batchId: string): Promise<void> {
      const running = driving.get(batchId);
      if (running) {
        // New work (a retry, a member approval) while driving: one more pass once this one ends.
        again.add(batchId);
        return running;
      }
      const p = (async () => {
        do {
          again.delete(batchId);
          await driveOnce(batchId);
        } while (again.has(batchId));
      })().finally(() => driving.delete(batchId));
      driving.set(batchId, p);
      return p;
    }

    async function driveOnce(batchId: string): Promise<void> {
      for (let idle = 0; idle < 240; ) {
        const batch = await get(batchId);
        if (!batch || batch.state !== "approved") return;
        const running: BatchMember[] = [];
        const waiting: BatchMember[] = [];
        for (const m of batch.members) {
          if (!m.requestId) continue;
          const status = memberStatus(batch, m, await repo.getRequest(m.requestId));
          if (status === "running") running.push(m);
          else if (status === "waiting") waiting.push(m);
        }
        if (running.length > 0) {
          // Approved or running before a restart: resume those first (the engine keeps one execution
          // per request). A run whose lease a dead process still holds is not started again before the
          // lease lapses, and no new member starts meanwhile: the bound holds across a crash too.
          const after = await Promise.allSettled(running.map((m) => limited(() => deps.execute(m.requestId!))));
          logFailures(batchId, after);
          if (
            after.some((r) => r.status === "fulfilled" && (r.value.state === "running" || r.value.state === "approved"))
          ) {
            idle++;
            await sleep(Math.max(250, options.leaseMs / 4));
            continue;
          }
        }
        if (waiting.length === 0) return;
        idle = 0;
        logFailures(batchId, await Promise.allSettled(waiting.map((m) => limited(() => runMember(batch, m)))));
      }
    }

    function logFailures(batchId: string, results: PromiseSettledResult<unknown>[]) {
      for (const r of results)
        if (r.status === "rejected")
          log.error("batch member failed", { batchId, error: describeError(r.reason).message });
    }

    async function runMember(batch: BatchRecord, m: BatchMember) {
      const approver = batch.approver!;
      const result = await repo.updateRequest(m.requestId!, (r) =>
        r.state === "planned" && r.batchId === batch.id && r.plan.hash === m.approvedHash
          ? {
              ...r,
              state: "approved",
              approver: { ...approver, via: `batch ${short(batch.id)} (${approver.via})` },
            }
          : null,
      );
      if (!result?.changed) return;
      await audit(
        batch,
        m,
        approver.name,
        "approval.approved",
        "ok",
        `batch ${short(batch.id)}; plan ${m.approvedHash?.slice(0, 12)}`,
      );
      tell(batch.id);
      await deps.execute(m.requestId!);
    }

    /** Re-plans a failed customer. The batch approval covers the new plan only if its hash is the approved one. */
    async function retry(batchId: string, customer: string, actor: Actor): Promise<BatchOutcome & { note?: string }> {
      const batch = await get(batchId);
      if (!batch) return { ok: false, reason: "This batch is unknown to syncbot.", batch: null };
      const m = batch.members.find((x) => x.customer === customer);
      if (!m?.params || batch.state !== "approved")
        return { ok: false, reason: `${customer} cannot be retried in this batch.`, batch };
      const current = m.requestId ? await repo.getRequest(m.requestId) : null;
      if (memberStatus(batch, m, current) !== "failed")
        return { ok: false, reason: `${customer} has not failed; nothing to retry.`, batch };
      const planned = await reviewMember(batch, m.params, actor);
      const result = await update(batchId, (b) => ({
        ...b,
        members: b.members.map((x) =>
          x.customer === customer && x.requestId === m.requestId ? { ...x, ...planned, retries: x.retries + 1 } : x,
        ),
      }));
      const after = result?.value.members.find((x) => x.customer === customer);
      const reused =
        !!after?.planHash &&
        after.planHash === after.approvedHash &&
        Date.parse(batch.expiresAt) > clock.now().getTime();
      if (after?.planHash && !reused && after.approvedHash === after.planHash)
        // Same plan, but the batch approval's reach has ended: approve it on its own.
        await update(batchId, (b) => ({
          ...b,
          members: b.members.map((x) => (x.customer === customer ? { ...x, approvedHash: undefined } : x)),
        }));
      await audit(
        batch,
        after ?? m,
        actor.name,
        "batch.retry",
        "info",
        after?.error ??
          (after?.upToDate
            ? "up to date"
            : reused
              ? "same plan: batch approval re-used"
              : "plan changed: needs its own approval"),
      );
      tell(batchId);
      if (reused) void drive(batchId);
      return { ok: true, batch: (await get(batchId))!, note: reused ? undefined : "needs-approval" };
    }

    /** Approves one member whose re-plan differs from the approved plan: the single-request rules. */
    async function approveMember(
      batchId: string,
      customer: string,
      actor: Actor,
      cardHash: unknown,
    ): Promise<BatchOutcome> {
      const batch = await get(batchId);
      const m = batch?.members.find((x) => x.customer === customer);
      const request = m?.requestId ? await repo.getRequest(m.requestId) : null;
      if (!batch || !m || !request) return { ok: false, reason: "This customer is unknown to this batch.", batch };
      const pre = precheckApproval({ ...request, batchId: undefined }, actor, options, clock.now(), cardHash);
      if (!pre.ok) {
        if (pre.code !== "conflict") await audit(batch, m, actor.name, "approval.refused", "refused", pre.reason);
        return { ok: false, reason: pre.reason, batch };
      }
      const eligibility = await checkEligibility(actor, options, deps.isGlobalAdministrator);
      if (!eligibility.eligible) {
        await audit(batch, m, actor.name, "approval.refused", "refused", eligibility.reason);
        return { ok: false, reason: eligibility.reason, batch };
      }
      const result = await update(batchId, (b) => ({
        ...b,
        members: b.members.map((x) =>
          x.customer === customer && x.requestId === request.id ? { ...x, approvedHash: request.plan.hash } : x,
        ),
      }));
      await audit(
        batch,
        m,
        actor.name,
        "batch.member-approved",
        "ok",
        `via ${eligibility.via}; plan ${request.plan.hash.slice(0, 12)}`,
      );
      tell(batchId);
      void drive(batchId);
      return { ok: true, batch: result!.value };
    }

    /** After a restart: every approved batch continues (its running members are resumed by the engine too). */
    async function resumeAll(): Promise<string[]> {
      const ids: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.list<BatchRecord>(BATCHES, { after, limit: 200 });
        for (const d of page)
          if (d.value.state === "approved") {
            ids.push(d.value.id);
            void drive(d.value.id).catch((e) =>
              log.error("batch resume failed", { batchId: d.value.id, error: describeError(e).message }),
            );
          }
        if (page.length < 200) return ids;
        after = page[page.length - 1]!.key;
      }
    }

    return { drive, retry, approveMember, resumeAll };
  }
}
