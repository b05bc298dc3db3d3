// The settings a request's life depends on, given by the composition root from configuration.

import type { ApproverRules } from "./approval";
import type { ReplicationWait } from "./steps/replicationWait";

export interface ProvisioningOptions extends ApproverRules {
  tenantId: string;
  umpTarget: "api" | "handoff";
  approvalTtlHours: number;
  /** How long a replaced secret stays valid after a rotation. */
  graceHours: number;
  /** How long a run's claim holds without a heartbeat before another process may resume it. */
  leaseMs: number;
  /** How long the service principal and the token proof each wait out Entra's replication, and how. */
  replication: ReplicationWait;
  /** UMP portal validation polling. */
  operationPollMs: number;
  operationPollAttempts: number;
}
