// The durable run engine: claims an approved request, holds its lease (runLease.ts), runs a list of
// steps (a stage of several side by side) recording each outcome before the next stage starts, compensates on failure and finishes. A run
// killed at any point resumes where it stopped. A write whose outcome nobody could settle parks the
// run in `attention` (no compensation) until a resume or `check` reads UMP again. It knows no step.

import { describeError, isSyncbotError } from "../errors";
import type { Clock, Logger } from "../ports";
import type { RegistrationRecord, RequestRecord, RunRecord, StepName } from "../records";
import type { Repository } from "../repository";
import type { AuditTrail } from "../requests/createAuditTrail";
import { compensateCompleted } from "./compensateCompleted";
import { retryNotes } from "./retryNotes";
import { createRunLease, LeaseLost } from "./runLease";
import { flatSteps, type RunContext, type Step, type StepStages } from "./step";

export { LeaseLost } from "./runLease";

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
  /** The steps of a request's run, in order; a stage of several runs them side by side. */
  stepsFor: (request: RequestRecord) => StepStages<Step<Ctx>>;
  /** Adds what the steps need (services, spec) to the engine's context. */
  contextFor: (base: RunContext) => Ctx;
  /** The run is no longer running in this process: forget whatever was kept in memory for it. */
  onRunEnded?: (run: RunRecord) => void;
}

export type RunEngine = ReturnType<typeof createRunEngine>;

const unknownOutcome = (e: unknown) => isSyncbotError(e, "outcome_unknown");

export function createRunEngine<Ctx extends RunContext>(deps: RunEngineDeps<Ctx>) {
  const { repo, clock, audit, notify } = deps;
  const log = deps.logger;
  const activeRuns = new Map<string, Promise<RequestRecord>>();
  const nowIso = () => clock.now().toISOString();
  const lease = createRunLease({ ...deps, stepNames: (r) => flatSteps(deps.stepsFor(r)).map((s) => s.name) });

  /** Starts (or resumes) the run of an approved request; one in-flight execution per request per process. */
  function execute(requestId: string): Promise<RequestRecord> {
    const inFlight = activeRuns.get(requestId);
    if (inFlight) return inFlight;
    const p = executeOnce(requestId).finally(() => activeRuns.delete(requestId));
    activeRuns.set(requestId, p);
    return p;
  }

  async function executeOnce(requestId: string): Promise<RequestRecord> {
    const claimed = await lease.claim(requestId);
    if (!claimed) return (await repo.getRequest(requestId))!;
    let request = claimed;
    const runId = request.run!.id;
    const correlationId = request.correlationId;
    const steps = flatSteps(deps.stepsFor(request));
    const held = await lease.hold(request);
    const { fence, owns } = held;
    try {
      if (held.locked) {
        const reason = `Another run for ${request.customer} is in progress (request ${held.locked.requestId.slice(0, 8)}).`;
        // A run that waits for attention keeps both secrets: it is settled later, never failed here.
        if (request.run!.attention) return await park(request, request.run!.attention.step, reason);
        return await finish(request, "failed", {
          step: steps[0]!.name,
          code: "conflict",
          message: `${reason} Nothing was changed; press Review plan again when it has finished.`,
        });
      }
      // A run some step of which already started before this execution was interrupted by a crash.
      const resumedRun = request.run!.steps.some((s) => s.status !== "pending");
      const ctxFor = (r: RequestRecord, name: StepName, interrupted: boolean) =>
        deps.contextFor({
          request: r,
          run: r.run!,
          call: retryNotes(repo, notify, r, name),
          interrupted,
          resumed: interrupted || resumedRun,
          fence,
        });
      type Result = { stop?: true; failed?: { name: StepName; error: unknown } };
      /** One step under its resume rules; a failure is recorded here and handled once its stage settled. */
      const runStep = async (step: Step<Ctx>): Promise<Result> => {
        const name = step.name;
        let r = (await repo.getRequest(requestId))!;
        if (!owns(r)) return { stop: true };
        // The claim completed the records (withAllSteps); a record still missing is a step not begun.
        const record = r.run!.steps.find((s) => s.name === name) ?? { name, status: "pending" as const };
        try {
          if (record.status === "done" || record.status === "skipped") {
            // A step whose effect was lost with the previous process (a secret value) is done again.
            if ((await step.resume?.(ctxFor(r, name, false))) !== "redo") return {};
            r = (await repo.getRequest(requestId))!;
          }
          if (r.state !== "running") return { stop: true };
          // Waiting for a person (hand-off): the run continues when they confirm.
          if (record.status === "running" && step.awaiting?.(r)) return { stop: true };
          // A step already marked running was interrupted (crash, attention): it resumes under its rules.
          const interrupted = record.status === "running";
          r = await lease.setStep(requestId, runId, name, { status: "running", startedAt: nowIso() });
          const outcome = await step.run(ctxFor(r, name, interrupted));
          const finishedAt = outcome.pause ? undefined : nowIso();
          const detail = outcome.detail;
          r = await lease.setStep(
            requestId,
            runId,
            name,
            { status: outcome.status, finishedAt, detail },
            outcome.patch,
          );
          await audit(r, "syncbot", `step.${name}`, "ok", outcome.detail);
          return outcome.pause ? { stop: true } : {};
        } catch (e) {
          if (held.lost() || e instanceof LeaseLost) throw new LeaseLost(requestId);
          const d = describeError(e);
          log.warn("run step failed", { requestId, step: name, code: d.code, error: d.message, correlationId });
          // Unknown whether UMP applied a write: the step stays running, the run parks (no compensation).
          if (!unknownOutcome(e))
            await lease.setStep(requestId, runId, name, { status: "failed", finishedAt: nowIso(), detail: d.message });
          return { failed: { name, error: e } };
        }
      };
      for (const stage of deps.stepsFor(request)) {
        // Side by side within a stage; the stage settles whole before the next one starts.
        const settled = await Promise.allSettled(flatSteps([stage]).map(runStep));
        const thrown = settled.find((o) => o.status === "rejected");
        if (thrown) throw (thrown as PromiseRejectedResult).reason;
        const results = settled.map((o) => (o as PromiseFulfilledResult<Result>).value);
        request = (await repo.getRequest(requestId))!;
        const failed = results.find((o) => o.failed && unknownOutcome(o.failed.error)) ?? results.find((o) => o.failed);
        if (failed?.failed) {
          const { name, error } = failed.failed;
          const d = describeError(error);
          // Unknown whether UMP applied a write, and UMP could not be read back: keep everything.
          if (unknownOutcome(error)) return await park(request, name, d.message);
          const unsettled = await compensateCompleted(steps, request, name, deps);
          request = (await repo.getRequest(requestId))!;
          if (unsettled) return await park(request, name, `${d.message} ${unsettled}`);
          return await finish(request, "failed", { step: name, code: d.code, message: d.message, hint: d.hint });
        }
        if (results.some((o) => o.stop)) return request;
      }
      return await finish(request, "succeeded");
    } catch (e) {
      if (!(e instanceof LeaseLost)) throw e;
      log.warn("run lost its lease; another process continues it", { requestId });
      return (await repo.getRequest(requestId))!;
    } finally {
      held.stop();
      const after = await repo.getRequest(requestId);
      if (after && after.state !== "running") {
        await repo.releaseLock(after.customer, requestId);
        if (after.run) deps.onRunEnded?.(after.run);
      }
    }
  }

  /** running → attention: both secrets stay; the step stays `running` so the settling run redoes it. */
  async function park(request: RequestRecord, step: StepName, reason: string): Promise<RequestRecord> {
    const attention = { step, reason, since: nowIso() };
    await audit(request, "syncbot", "run.attention", "failed", `${step}: ${reason}`);
    await markRegistration(request, { ...attention, requestId: request.id });
    const result = await repo.updateRequest(request.id, (r) =>
      r.state === "running" && r.run?.owner === deps.instanceId
        ? {
            ...r,
            state: "attention",
            run: {
              ...r.run,
              attention,
              waiting: undefined,
              steps: r.run.steps.map((s) =>
                s.name === step ? { ...s, status: "running", detail: `needs attention: ${reason}` } : s,
              ),
            },
          }
        : null,
    );
    const parked = result?.value ?? request;
    log.warn("run needs attention", { requestId: request.id, customer: request.customer, step });
    notify(parked);
    return parked;
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
    if (result?.changed && final.run?.attention) {
      await markRegistration(request, undefined);
      await audit(final, "syncbot", "run.settled", "ok", `${state} after ${final.run.attention.step} needed attention`);
    }
    log.info("run finished", { requestId: request.id, customer: request.customer, state });
    notify(final);
    return final;
  }

  /** `status` shows a registration whose run needs attention; only that run clears the mark. */
  async function markRegistration(request: RequestRecord, attention: RegistrationRecord["attention"]) {
    if (!(await repo.getRegistration(request.customer))) return;
    await repo.saveRegistration(request.customer, (cur) =>
      attention || cur!.attention?.requestId === request.id ? { ...cur!, attention } : cur!,
    );
  }

  function isStale(r: RequestRecord, now = clock.now().getTime()): boolean {
    return (
      r.state === "approved" ||
      r.state === "attention" ||
      (r.state === "running" && !!r.run && !r.run.handoff && Date.parse(r.run.leaseUntil) <= now)
    );
  }

  const resume = (r: RequestRecord) =>
    execute(r.id).catch((e) => {
      log.error("resume failed", { requestId: r.id, error: describeError(e).message });
      return r;
    });

  /** A button pressed on a request whose run a dead process left behind picks the run up again. */
  function resumeIfStale(r: RequestRecord) {
    if ((r.state === "running" || r.state === "attention") && isStale(r) && !activeRuns.has(r.id)) void resume(r);
  }

  /**
   * Runs that a crashed process left (approved, or running with an expired lease) and runs needing
   * attention. `parked: false` leaves the latter alone: a later pass for a dead process's leases must not
   * settle a run this process parked meanwhile (only `check`, the sweep or a restart do).
   */
  async function resumeStale(opts: { parked?: boolean } = {}): Promise<string[]> {
    const now = clock.now().getTime();
    const stale = (await repo.listRequests()).filter(
      (r) => isStale(r, now) && (opts.parked !== false || r.state !== "attention"),
    );
    for (const r of stale) void resume(r);
    return stale.map((r) => r.id);
  }

  /** `check`: reads UMP again for this customer's runs that need attention and lets them finish. */
  async function settle(customer: string): Promise<RequestRecord[]> {
    const waiting = (await repo.listRequests()).filter((r) => r.customer === customer && r.state === "attention");
    return Promise.all(waiting.map(resume));
  }

  /** The sweep: every run that needs attention gets another read of UMP. */
  async function settleParked(): Promise<string[]> {
    const parked = (await repo.listRequests()).filter((r) => r.state === "attention" && !activeRuns.has(r.id));
    for (const r of parked) void resume(r);
    return parked.map((r) => r.id);
  }

  return { execute, finish, resumeIfStale, resumeStale, settle, settleParked };
}
