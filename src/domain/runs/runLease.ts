// Owning a run: the claim (approved → running, or taking over a run whose owner's lease expired or
// that waits for attention), the lease and customer lock kept alive by a heartbeat, the fence every
// upstream write passes, and the fenced record of a step's progress (invariant 11).

import { randomUUID } from "node:crypto";
import type { Clock } from "../ports";
import type { RequestRecord, RunRecord, StepName, StepRecord } from "../records";
import type { Repository } from "../repository";
import type { AuditTrail } from "../requests/createAuditTrail";

/** Thrown by `fence()` when this execution no longer owns the run; the engine stops without writing. */
export class LeaseLost extends Error {
  constructor(requestId: string) {
    super(`the run of request ${requestId} is owned by another process now`);
    this.name = "LeaseLost";
  }
}

export interface RunLeaseDeps {
  repo: Repository;
  clock: Clock;
  audit: AuditTrail;
  notify: (request: RequestRecord) => void;
  instanceId: string;
  leaseMs: number;
  stepNames: (request: RequestRecord) => StepName[];
}

export type RunLease = ReturnType<typeof createRunLease>;

/**
 * A run's step records in the order of today's step list. A run stored before a step existed (the
 * service principal step) lacks its record: it is pending, inserted where the list puts it. Records of
 * steps no longer in the list are kept at the end (history), never run.
 */
export function withAllSteps(steps: readonly StepRecord[], names: readonly StepName[]): StepRecord[] {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const listed = names.map((name): StepRecord => byName.get(name) ?? { name, status: "pending" });
  return [...listed, ...steps.filter((s) => !names.includes(s.name))];
}

export function createRunLease(deps: RunLeaseDeps) {
  const { repo, clock, instanceId } = deps;
  const leaseEnd = () => new Date(clock.now().getTime() + deps.leaseMs).toISOString();
  const ownedBy = (r: RequestRecord | null, runId: string) =>
    !!r?.run && r.run.owner === instanceId && r.run.id === runId;

  /** Claims the run of a request for this process; null when it is not claimable (someone else runs it). */
  async function claim(requestId: string): Promise<RequestRecord | null> {
    const now = clock.now();
    const until = leaseEnd();
    const result = await repo.updateRequest(requestId, (r) => {
      if (r.state === "approved") {
        const run: RunRecord = {
          id: randomUUID(),
          startedAt: now.toISOString(),
          owner: instanceId,
          leaseUntil: until,
          steps: deps.stepNames(r).map((name) => ({ name, status: "pending" })),
        };
        return { ...r, state: "running", run };
      }
      const takeOver =
        (r.state === "running" &&
          (r.run?.owner === instanceId || Date.parse(r.run?.leaseUntil ?? "") <= now.getTime())) ||
        r.state === "attention";
      return takeOver && r.run
        ? {
            ...r,
            state: "running",
            run: {
              ...r.run,
              owner: instanceId,
              leaseUntil: until,
              steps: withAllSteps(r.run.steps, deps.stepNames(r)),
            },
          }
        : null;
    });
    if (!result?.changed) return null;
    const resumed = result.value.run!.steps.some((s) => s.status !== "pending");
    await deps.audit(
      result.value,
      "syncbot",
      resumed ? "run.resumed" : "run.started",
      "info",
      `run ${result.value.run!.id}`,
    );
    deps.notify(result.value);
    return result.value;
  }

  /**
   * Takes the customer's lock and keeps it and the run's lease alive with a heartbeat. `fence()` throws
   * LeaseLost once this execution owns neither (a run stalled past its lease lost it to another).
   */
  async function hold(request: RequestRecord) {
    const { id: requestId, customer } = request;
    const runId = request.run!.id;
    const lockRecord = () => ({ customer, requestId, owner: instanceId, until: leaseEnd() });
    const lock = await repo.acquireLock(lockRecord(), clock.now());
    let lost = false;
    const fence = async () => {
      const [current, lockNow] = lost
        ? [null, null]
        : await Promise.all([repo.getRequest(requestId), repo.getLock(customer)]);
      const holdsLock = lockNow?.requestId === requestId && lockNow.owner === instanceId;
      if (!ownedBy(current, runId) || current!.state !== "running" || !holdsLock) {
        lost = true;
        throw new LeaseLost(requestId);
      }
    };
    const heartbeat = setInterval(
      () => {
        // The customer's lock is renewed with the lease, so a stalled run keeps a second run out.
        void Promise.all([renew(requestId, runId), repo.renewLock(lockRecord())])
          .then(([stillOwner, stillLocked]) => {
            if (!stillOwner || !stillLocked) lost = true;
          })
          .catch(() => undefined);
      },
      Math.max(200, Math.floor(deps.leaseMs / 3)),
    );
    heartbeat.unref?.();
    return {
      locked: lock.ok ? null : lock.holder,
      fence,
      lost: () => lost,
      owns: (r: RequestRecord | null) => ownedBy(r, runId),
      stop: () => clearInterval(heartbeat),
    };
  }

  /** Extends the lease; false when another process owns the run now. */
  async function renew(requestId: string, runId: string): Promise<boolean> {
    const result = await repo.updateRequest(requestId, (r) =>
      r.state === "running" && ownedBy(r, runId) ? { ...r, run: { ...r.run!, leaseUntil: leaseEnd() } } : null,
    );
    const r = result?.value;
    return r?.state !== "running" || ownedBy(r, runId);
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
      ownedBy(r, runId)
        ? {
            ...r,
            run: {
              ...r.run!,
              ...runPatch,
              waiting: undefined,
              leaseUntil: leaseEnd(),
              steps: withAllSteps(r.run!.steps, deps.stepNames(r)).map((s) =>
                s.name === name ? { ...s, ...step } : s,
              ),
            },
          }
        : null,
    );
    if (!result?.changed) throw new LeaseLost(requestId);
    deps.notify(result.value);
    return result.value;
  }

  return { claim, hold, setStep };
}
