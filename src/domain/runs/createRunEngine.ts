// The durable run engine: claims an approved request, holds its lease with a heartbeat, runs a list of
// steps recording each outcome before the next starts, compensates on failure and finishes. A run
// killed at any point resumes where it stopped. It knows no step: the list comes from `stepsFor`.

import { randomUUID } from "node:crypto";
import { describeError } from "../errors";
import type { Clock, Logger } from "../ports";
import type { RequestRecord, RunRecord, StepName, StepRecord } from "../records";
import type { Repository } from "../repository";
import type { AuditTrail } from "../requests/createAuditTrail";
import { compensateCompleted } from "./compensateCompleted";
import { retryNotes } from "./retryNotes";
import type { RunContext, Step } from "./step";

export interface RunEngineDeps<Ctx extends RunContext> {
  repo: Repository;
  clock: Clock;
  logger: Logger;
  audit: AuditTrail;
  /** Called after every persisted change of a request (the bot updates the card). */
  notify: (request: RequestRecord) => void;
  /** This process; a run's lease names its owner. */
  instanceId: string;
  /** How long a run's claim holds without a heartbeat before another process may resume it. */
  leaseMs: number;
  /** The steps of a request's run, in order. */
  stepsFor: (request: RequestRecord) => ReadonlyArray<Step<Ctx>>;
  /** Adds what the steps need (services, spec) to the engine's context. */
  contextFor: (base: RunContext) => Ctx;
  /** The run is no longer running in this process: forget whatever was kept in memory for it. */
  onRunEnded?: (run: RunRecord) => void;
}

/** Thrown by `fence()` when this execution no longer owns the run; the engine stops without writing. */
export class LeaseLost extends Error {
  constructor(requestId: string) {
    super(`the run of request ${requestId} is owned by another process now`);
    this.name = "LeaseLost";
  }
}

export type RunEngine = ReturnType<typeof createRunEngine>;

export function createRunEngine<Ctx extends RunContext>(deps: RunEngineDeps<Ctx>) {
  const { repo, clock, audit, notify, instanceId } = deps;
  const log = deps.logger;
  const activeRuns = new Map<string, Promise<RequestRecord>>();
  const nowIso = () => clock.now().toISOString();
  const leaseEnd = () => new Date(clock.now().getTime() + deps.leaseMs).toISOString();

  /** Starts (or resumes) the run of an approved request; one in-flight execution per request per process. */
  function execute(requestId: string): Promise<RequestRecord> {
    const inFlight = activeRuns.get(requestId);
    if (inFlight) return inFlight;
    const p = executeOnce(requestId).finally(() => activeRuns.delete(requestId));
    activeRuns.set(requestId, p);
    return p;
  }

  async function executeOnce(requestId: string): Promise<RequestRecord> {
    const claimed = await claimRun(requestId);
    if (!claimed) return (await repo.getRequest(requestId))!;
    let request = claimed;
    const runId = request.run!.id;
    const steps = deps.stepsFor(request);
    const lock = await repo.acquireLock(
      { customer: request.customer, requestId, owner: instanceId, until: leaseEnd() },
      clock.now(),
    );
    if (!lock.ok) {
      return finish(request, "failed", {
        step: steps[0]!.name,
        code: "conflict",
        message: `Another run for ${request.customer} is in progress (request ${lock.holder.requestId.slice(0, 8)}). Nothing was changed; press Review plan again when it has finished.`,
      });
    }
    let lost = false;
    const owns = (r: RequestRecord | null) => !!r?.run && r.run.owner === instanceId && r.run.id === runId;
    const customer = request.customer;
    const lockRecord = () => ({ customer, requestId, owner: instanceId, until: leaseEnd() });
    // Fencing: a run writes upstream only while it owns both its request's lease and its customer's lock.
    const fence = async () => {
      const [current, lockNow] = lost
        ? [null, null]
        : await Promise.all([repo.getRequest(requestId), repo.getLock(customer)]);
      const holdsLock = lockNow?.requestId === requestId && lockNow.owner === instanceId;
      if (!owns(current) || current!.state !== "running" || !holdsLock) {
        lost = true;
        throw new LeaseLost(requestId);
      }
    };
    const heartbeat = setInterval(
      () => {
        // The customer's lock is renewed with the lease, so a stalled run keeps a second run out.
        void Promise.all([renewLease(requestId, runId), repo.renewLock(lockRecord())])
          .then(([stillOwner, stillLocked]) => {
            if (!stillOwner || !stillLocked) lost = true;
          })
          .catch(() => undefined);
      },
      Math.max(200, Math.floor(deps.leaseMs / 3)),
    );
    heartbeat.unref?.();
    // A run some step of which already started before this execution was interrupted by a crash.
    const resumedRun = request.run!.steps.some((s) => s.status !== "pending");
    const base = (r: RequestRecord, name: StepName, interrupted: boolean): RunContext => ({
      request: r,
      run: r.run!,
      call: retryNotes(repo, notify, r, name),
      interrupted,
      resumed: interrupted || resumedRun,
      fence,
    });
    try {
      for (const step of steps) {
        const name = step.name;
        request = (await repo.getRequest(requestId))!;
        if (!owns(request)) return request;
        const record = request.run!.steps.find((s) => s.name === name)!;
        if (record.status === "done" || record.status === "skipped") {
          // A step whose effect was lost with the previous process (a secret value) is done again.
          if (step.resume && (await step.resume(deps.contextFor(base(request, name, false)))) === "redo")
            request = (await repo.getRequest(requestId))!;
          else continue;
        }
        if (request.state !== "running") return request;
        // Waiting for a person (hand-off): the run continues when they confirm.
        if (record.status === "running" && step.awaiting?.(request)) return request;
        // A step already marked running was interrupted (crash): it resumes under the resume rules.
        const interrupted = record.status === "running";
        request = await setStep(requestId, runId, name, { status: "running", startedAt: nowIso() });
        try {
          const outcome = await step.run(deps.contextFor(base(request, name, interrupted)));
          request = await setStep(
            requestId,
            runId,
            name,
            { status: outcome.status, finishedAt: outcome.pause ? undefined : nowIso(), detail: outcome.detail },
            outcome.patch,
          );
          await audit(request, "syncbot", `step.${name}`, "ok", outcome.detail);
          if (outcome.pause) return request;
        } catch (e) {
          if (lost || e instanceof LeaseLost) {
            log.warn("run lost its lease; another process continues it", { requestId, step: name });
            return (await repo.getRequest(requestId))!;
          }
          const d = describeError(e);
          log.warn("run step failed", {
            requestId,
            step: name,
            code: d.code,
            error: d.message,
            correlationId: request.correlationId,
          });
          request = await setStep(requestId, runId, name, {
            status: "failed",
            finishedAt: nowIso(),
            detail: d.message,
          });
          await compensateCompleted(steps, request, name, deps);
          request = (await repo.getRequest(requestId))!;
          return await finish(request, "failed", { step: name, code: d.code, message: d.message, hint: d.hint });
        }
      }
      return await finish(request, "succeeded");
    } catch (e) {
      if (!(e instanceof LeaseLost)) throw e;
      log.warn("run lost its lease; another process continues it", { requestId });
      return (await repo.getRequest(requestId))!;
    } finally {
      clearInterval(heartbeat);
      const after = await repo.getRequest(requestId);
      if (after && after.state !== "running") {
        await repo.releaseLock(after.customer, requestId);
        if (after.run) deps.onRunEnded?.(after.run);
      }
    }
  }

  async function claimRun(requestId: string): Promise<RequestRecord | null> {
    const now = clock.now();
    const until = leaseEnd();
    const result = await repo.updateRequest(requestId, (r) => {
      if (r.state === "approved") {
        const run: RunRecord = {
          id: randomUUID(),
          startedAt: now.toISOString(),
          owner: instanceId,
          leaseUntil: until,
          steps: deps.stepsFor(r).map((s) => ({ name: s.name, status: "pending" })),
        };
        return { ...r, state: "running", run };
      }
      if (
        r.state === "running" &&
        r.run &&
        (r.run.owner === instanceId || Date.parse(r.run.leaseUntil) <= now.getTime())
      )
        return { ...r, run: { ...r.run, owner: instanceId, leaseUntil: until } };
      return null;
    });
    if (!result?.changed) return null;
    const resumed = result.value.run!.steps.some((s) => s.status !== "pending");
    await audit(
      result.value,
      "syncbot",
      resumed ? "run.resumed" : "run.started",
      "info",
      `run ${result.value.run!.id}`,
    );
    notify(result.value);
    return result.value;
  }

  /** Extends the lease; false when another process owns the run now. */
  async function renewLease(requestId: string, runId: string): Promise<boolean> {
    const result = await repo.updateRequest(requestId, (r) =>
      r.state === "running" && r.run?.owner === instanceId && r.run.id === runId
        ? { ...r, run: { ...r.run, leaseUntil: leaseEnd() } }
        : null,
    );
    const r = result?.value;
    if (r?.state !== "running") return true;
    return r.run?.owner === instanceId && r.run.id === runId;
  }

  /** Records a step's progress (and renews the lease); fenced: throws LeaseLost when another owner took over. */
  async function setStep(
    requestId: string,
    runId: string,
    name: StepName,
    step: Partial<StepRecord>,
    runPatch: Partial<RunRecord> = {},
  ): Promise<RequestRecord> {
    const result = await repo.updateRequest(requestId, (r) =>
      r.run?.owner === instanceId && r.run.id === runId
        ? {
            ...r,
            run: {
              ...r.run,
              ...runPatch,
              waiting: undefined,
              leaseUntil: leaseEnd(),
              steps: r.run.steps.map((s) => (s.name === name ? { ...s, ...step } : s)),
            },
          }
        : null,
    );
    if (!result?.changed) throw new LeaseLost(requestId);
    notify(result.value);
    return result.value;
  }

  async function finish(
    request: RequestRecord,
    state: "succeeded" | "failed",
    error?: RunRecord["error"],
  ): Promise<RequestRecord> {
    const finishable = (r: RequestRecord | null) => r?.state === "running" || r?.state === "approved";
    // The audit event is written before the state change becomes visible, so `history` right after a
    // finished card always shows it.
    if (finishable(await repo.getRequest(request.id)))
      await audit(
        request,
        "syncbot",
        `run.${state}`,
        state === "succeeded" ? "ok" : "failed",
        error ? `${error.step}: ${error.message}` : undefined,
      );
    const result = await repo.updateRequest(request.id, (r) =>
      finishable(r)
        ? { ...r, state, run: r.run ? { ...r.run, finishedAt: nowIso(), waiting: undefined, error } : r.run }
        : null,
    );
    const final = result?.value ?? request;
    log.info("run finished", {
      requestId: request.id,
      customer: request.customer,
      state,
      correlationId: request.correlationId,
    });
    notify(final);
    return final;
  }

  function isStale(r: RequestRecord, now = clock.now().getTime()): boolean {
    return (
      r.state === "approved" ||
      (r.state === "running" && !!r.run && !r.run.handoff && Date.parse(r.run.leaseUntil) <= now)
    );
  }

  /** A button pressed on a request whose run a dead process left behind picks the run up again. */
  function resumeIfStale(r: RequestRecord) {
    if (r.state !== "running" || !isStale(r) || activeRuns.has(r.id)) return;
    void execute(r.id).catch((e) => log.error("resume failed", { requestId: r.id, error: describeError(e).message }));
  }

  /** Runs that a crashed process left: approved but never started, or running with an expired lease. */
  async function resumeStale(): Promise<string[]> {
    const now = clock.now().getTime();
    const resumed: string[] = [];
    for (const r of await repo.listRequests()) {
      if (isStale(r, now)) {
        resumed.push(r.id);
        void execute(r.id).catch((e) =>
          log.error("resume failed", { requestId: r.id, error: describeError(e).message }),
        );
      }
    }
    return resumed;
  }

  return { execute, finish, resumeIfStale, resumeStale };
}
