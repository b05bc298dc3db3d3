// What a provisioning step is given: the engine's run context plus the request's spec and the
// services steps share (directory, UMP, records, the held secret). One place, so each step file stays
// about its own work.

import { createHash } from "node:crypto";
import type { ProvisioningOptions } from "../provisioningOptions";
import type { Clock, FullDirectory, LiveApplication, Logger, TokenProver, UmpSettings, UmpSettingsApi } from "../ports";
import type { RequestRecord } from "../records";
import type { Repository } from "../repository";
import type { AuditTrail } from "../requests/createAuditTrail";
import type { HeldSecrets } from "../runs/heldSecrets";
import type { RunContext, Step } from "../runs/step";
import { DEFAULT_SERVICE, type Spec } from "../spec";
import type { HandoffPort } from "./handoffPort";

// What a run read or was answered last, kept in this process only, so the next step does not read it
// again: the UMP settings with their ETag (a stale one costs a 412 and a re-read, never a lost
// update) and the application as verification read it. A resumed run starts without them.
export type RunReads = { ump?: { settings: UmpSettings; etag: string }; app?: LiveApplication };

export interface StepServices {
  directory: FullDirectory;
  ump: UmpSettingsApi | null;
  tokenProver: TokenProver;
  repo: Repository;
  clock: Clock;
  logger: Logger;
  options: ProvisioningOptions;
  handoff?: HandoffPort;
  audit: AuditTrail;
  held: HeldSecrets;
  /** This run's cached reads (created on first use). */
  reads(runId: string): RunReads;
  sleep(ms: number): Promise<void>;
}

export interface StepContext extends RunContext {
  spec: Spec;
  services: StepServices;
}

export type ProvisioningStep = Step<StepContext>;

export const secretDisplayName = (service: string, runId: string) => `syncbot:${service}:${runId}`;
export const fingerprintOf = (secret: string) =>
  `sha256:${createHash("sha256").update(secret, "utf8").digest("hex").slice(0, 16)}`;

/** Whether this request's secret goes to UMP through its API (else it is handed over to an operator). */
export function viaUmpApi(options: ProvisioningOptions, r: RequestRecord): boolean {
  return options.umpTarget === "api" && r.service === DEFAULT_SERVICE;
}

export const nowIso = (s: StepServices) => s.clock.now().toISOString();

/** The UMP settings this run last saw, once (a retry after 412 must read afresh). */
export async function umpSettingsFor(ctx: StepContext) {
  const { services: s, run, spec } = ctx;
  const cached = s.reads(run.id).ump;
  s.reads(run.id).ump = undefined;
  return cached ?? (await s.ump!.getSettings(spec.umpInstance, ctx.call));
}
