// The life of a request (DOMAIN.md), wired together: the request lifecycle (requests/), the durable
// run engine (runs/) with the steps it runs (steps/), the hand-off confirmation and the drift check.
// The new secret's value lives only in runs/heldSecrets.ts; it is never stored, logged or posted.

import { randomUUID } from "node:crypto";
import type { StepUp } from "./approverProof";
import { checkDrift } from "./drift/checkDrift";
import { describeError } from "./errors";
import type { CallContext, Clock, FullDirectory, Logger, TokenProver, UmpSettingsApi } from "./ports";
import type { ProvisioningOptions } from "./provisioningOptions";
import type { RequestRecord } from "./records";
import type { Repository } from "./repository";
import { createAuditTrail } from "./requests/createAuditTrail";
import { createHandoffConfirmation } from "./requests/createHandoffConfirmation";
import { createRequestLifecycle } from "./requests/createRequestLifecycle";
import { createRunEngine } from "./runs/createRunEngine";
import { createHeldSecrets } from "./runs/heldSecrets";
import type { HandoffPort } from "./steps/handoffPort";
import { type RunReads, type StepContext, type StepServices, viaUmpApi } from "./steps/stepContext";
import { STEP_LISTS } from "./steps/stepLists";
import { buildSpec } from "./spec";

export interface ProvisioningDeps {
  directory: FullDirectory;
  ump: UmpSettingsApi | null;
  tokenProver: TokenProver;
  repo: Repository;
  clock: Clock;
  logger: Logger;
  options: ProvisioningOptions;
  handoff?: HandoffPort;
  /** Verified approvals: Approve and Applied in UMP need the presser's own fresh sign-in when required. */
  stepUp: StepUp;
  /** Called after every persisted change of a request (the bot updates the card). */
  onChange?: (request: RequestRecord) => void;
  sleep?: (ms: number) => Promise<void>;
}

export type Provisioning = ReturnType<typeof createProvisioning>;

export function createProvisioning(deps: ProvisioningDeps) {
  const { directory, ump, repo, clock, options } = deps;
  const log = deps.logger;
  const instanceId = randomUUID();
  const held = createHeldSecrets();
  const audit = createAuditTrail(repo, clock);
  const runReads = new Map<string, RunReads>();

  const notify = (r: RequestRecord) => {
    try {
      deps.onChange?.(r);
    } catch (e) {
      log.warn("card update hook failed", { requestId: r.id, error: describeError(e).message });
    }
  };

  const services: StepServices = {
    directory,
    ump,
    tokenProver: deps.tokenProver,
    repo,
    clock,
    logger: log,
    options,
    handoff: deps.handoff,
    audit,
    held,
    reads(runId) {
      const known = runReads.get(runId) ?? {};
      runReads.set(runId, known);
      return known;
    },
    sleep: deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
  };

  const engine = createRunEngine<StepContext>({
    repo,
    clock,
    logger: log,
    audit,
    notify,
    instanceId,
    leaseMs: options.leaseMs,
    // UMP's API for the "ump" service in api mode, a hand-off otherwise.
    stepsFor: (r) => STEP_LISTS[viaUmpApi(options, r) ? "api" : "handoff"],
    contextFor: (base) => ({ ...base, spec: buildSpec(base.request.params), services }),
    onRunEnded: (run) => {
      held.drop(run.id);
      runReads.delete(run.id);
    },
  });

  const lifecycle = createRequestLifecycle({
    directory,
    ump,
    repo,
    clock,
    options,
    audit,
    notify,
    canHandOff: !!deps.handoff,
    resumeIfStale: engine.resumeIfStale,
    stepUp: deps.stepUp,
    logger: log,
  });

  const handoffs = createHandoffConfirmation({
    directory,
    repo,
    clock,
    audit,
    notify,
    execute: engine.execute,
    finish: engine.finish,
    stepUp: deps.stepUp,
  });

  return {
    instanceId,
    review: lifecycle.review,
    check: (customer: string, ctx: CallContext = {}) =>
      checkDrift({ directory, ump, repo, clock, umpTarget: options.umpTarget, settle: engine.settle }, customer, ctx),
    attachCard: lifecycle.attachCard,
    approve: lifecycle.approve,
    reject: lifecycle.reject,
    expire: lifecycle.expire,
    execute: engine.execute,
    resumeStale: engine.resumeStale,
    settleParked: engine.settleParked,
    handoffApplied: handoffs.handoffApplied,
    expireHandoffs: handoffs.expireHandoffs,
    /** For tests: whether this process still holds any secret value. */
    heldSecretCount: () => held.size(),
  };
}
