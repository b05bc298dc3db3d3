// Running a batch (issue 13): members go planned → approved (one compare-and-set each) only when a
// worker slot is free, so a restart never finds more than BATCH_CONCURRENCY approved-but-unfinished
// runs; a failed member is re-planned and re-uses the batch approval only for the same plan hash and
// only while the recorded approver is still eligible (checked live before every member run and retry).

import { checkEligibility, precheckApproval } from "../approval";
import { type ApproverCredential, createStepUp, describeProof } from "../approverProof";
import { describeError } from "../errors";
import type { Actor } from "../records";
import type { ProvisionParameters } from "../spec";
import { type BatchMember, type BatchRecord, memberStatus } from "./batchRecords";
import type { BatchesDeps, BatchOutcome } from "./batchTypes";

const BATCHES = "batches";

export interface BatchKit {
  deps: BatchesDeps;
  get(id: string): Promise<BatchRecord | null>;
  update(
    id: string,
    mutate: (b: BatchRecord) => BatchRecord | null,
  ): Promise<{ value: BatchRecord; changed: boolean } | null>;
  audit(
    b: BatchRecord,
    m: BatchMember,
    actor: string,
    action: string,
    outcome: "ok" | "refused" | "info",
    detail?: string,
  ): Promise<unknown>;
  tell(id: string): void;
  limited<T>(work: () => Promise<T>): Promise<T>;
  reviewMember(batch: BatchRecord, params: ProvisionParameters, requester: Actor): Promise<Partial<BatchMember>>;
}

export function createBatchDriver(kit: BatchKit) {
  const { deps, get, update, audit, tell, limited, reviewMember } = kit;
  const { repo, clock, options } = deps;
  const log = deps.logger;
  const store = repo.store;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const driving = new Map<string, Promise<void>>();
  const again = new Set<string>();
  const short = (id: string) => id.slice(0, 8);

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
      if (batch?.state !== "approved") return;
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

  /** The batch approval's approver, checked live now: a role removed since the approval ends its reach. */
  async function approverLapsed(batch: BatchRecord): Promise<string | undefined> {
    const approver = batch.approver;
    if (!approver) return "The batch has no recorded approval.";
    const e = await checkEligibility({ id: approver.id, name: approver.name }, options, deps.isGlobalAdministrator);
    return e.eligible ? undefined : `The batch approval of ${approver.name} has lapsed: ${e.reason}`;
  }

  /** The line needs its own approval from now on, with the reason on it; audited. */
  async function withdrawCover(batch: BatchRecord, m: BatchMember, actor: string, reason: string) {
    await update(batch.id, (b) => ({
      ...b,
      members: b.members.map((x) =>
        x.customer === m.customer ? { ...x, approvedHash: undefined, approvalNote: reason } : x,
      ),
    }));
    await audit(batch, m, actor, "approval.lapsed", "refused", reason);
    tell(batch.id);
  }

  async function runMember(batch: BatchRecord, m: BatchMember) {
    const approver = batch.approver!;
    const lapsed = await approverLapsed(batch);
    if (lapsed) return withdrawCover(batch, m, "syncbot", lapsed);
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
        x.customer === customer && x.requestId === m.requestId
          ? { ...x, ...planned, retries: x.retries + 1, approvalNote: undefined }
          : x,
      ),
    }));
    const after = result?.value.members.find((x) => x.customer === customer);
    let reused =
      !!after?.planHash && after.planHash === after.approvedHash && Date.parse(batch.expiresAt) > clock.now().getTime();
    const lapsed = reused ? await approverLapsed(batch) : undefined;
    if (lapsed && after) {
      reused = false;
      await withdrawCover(batch, after, actor.name, lapsed);
      return {
        ok: false,
        reason: `${lapsed} ${customer} now needs its own approval: press Approve on its line.`,
        batch,
      };
    }
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
    credential?: ApproverCredential,
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
    const stepUp = await (deps.stepUp ?? createStepUp(false)).check(credential, actor.id);
    if (!stepUp.ok) return { ok: false, reason: stepUp.reason, batch, code: stepUp.code };
    const eligibility = await checkEligibility(actor, options, deps.isGlobalAdministrator);
    if (!eligibility.eligible) {
      await audit(batch, m, actor.name, "approval.refused", "refused", eligibility.reason);
      return { ok: false, reason: eligibility.reason, batch };
    }
    const result = await update(batchId, (b) => ({
      ...b,
      members: b.members.map((x) =>
        x.customer === customer && x.requestId === request.id
          ? { ...x, approvedHash: request.plan.hash, approvalNote: undefined }
          : x,
      ),
    }));
    await audit(
      batch,
      m,
      actor.name,
      "batch.member-approved",
      "ok",
      `via ${eligibility.via}; plan ${request.plan.hash.slice(0, 12)}; ${describeProof(stepUp.proof)}`,
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
