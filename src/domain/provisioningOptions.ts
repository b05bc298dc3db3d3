// The settings a request's life depends on, given by the composition root from configuration.

import type { ApproverRules } from "./approval";

export interface ProvisioningOptions extends ApproverRules {
  tenantId: string;
  umpTarget: "api" | "handoff";
  approvalTtlHours: number;
  /** How long a replaced secret stays valid after a rotation. */
  graceHours: number;
  /** How long a run's claim holds without a heartbeat before another process may resume it. */
  leaseMs: number;
  /** Token requests with the new secret: attempts and delay, to ride out Entra's propagation delay. */
  proofAttempts: number;
  proofDelayMs: number;
  /** UMP portal validation polling. */
  operationPollMs: number;
  operationPollAttempts: number;
}
