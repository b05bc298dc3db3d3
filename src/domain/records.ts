// The records syncbot keeps. None of them ever holds a secret value: a secret is known by keyId, hint,
// expiry and the fingerprint UMP reports (a truncated hash, which UMP itself publishes).

import type { SecretRecord } from "./secretRecord";
import type { Plan } from "./plan";
import type { ProvisionParameters } from "./spec";

/** Where to post later (reminders, hand-offs): a Bot Framework conversation reference, kept opaque. */
export type ConversationRef = Record<string, unknown>;

/** The verified sign-in an approving action rested on (its token id, `acrs`, `iat`; never the token). */
export interface SignInProof {
  tokenId: string;
  acrs: string[];
  issuedAt: string;
}

export interface Actor {
  /** Entra object id (aadObjectId). */
  id: string;
  name: string;
  /** The chat channel's own user id (Teams `29:…`), needed to open a personal chat for a hand-off. */
  channelUserId?: string;
}

/**
 * `attention`: a write's outcome is unknown and UMP could not be read back; the run keeps both secrets
 * and waits until a restart (resume) or `check` reads UMP again and settles it.
 */
export type RequestState =
  | "planned"
  | "approved"
  | "running"
  | "attention"
  | "succeeded"
  | "failed"
  | "rejected"
  | "expired";

export type StepName =
  | "upsertApplication"
  | "servicePrincipal"
  | "addSecret"
  | "writeUmp"
  | "handoff"
  | "portalUrl"
  | "verify"
  | "tidy";
export type StepStatus = "pending" | "running" | "done" | "failed" | "skipped";

export interface StepRecord {
  name: StepName;
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  /** Operator-facing progress or outcome ("waiting for Graph, retry 2 of 5", "created", "revision 7"). */
  detail?: string;
}

export interface NewSecretRecord {
  keyId: string;
  displayName: string;
  hint: string;
  endDateTime: string;
  fingerprint: string;
}

export interface RunRecord {
  id: string;
  startedAt: string;
  finishedAt?: string;
  /** Process that runs it and until when its claim holds (a crashed owner's run is resumed). */
  owner: string;
  leaseUntil: string;
  steps: StepRecord[];
  objectId?: string;
  appId?: string;
  /** Object id of the application's service principal in SP_TENANT_ID. */
  servicePrincipalId?: string;
  newSecret?: NewSecretRecord;
  umpRevision?: number;
  verification?: { ok: boolean; differences: string[]; tokenProof: "ok" | "failed" | "skipped"; at: string };
  error?: { step: StepName; code: string; message: string; hint?: string };
  /** Waiting/retry note shown on the card while a step waits out throttling. */
  waiting?: string;
  handoff?: { tokenHash: string; expiresAt: string; appliedBy?: Actor & { proof?: SignInProof }; appliedAt?: string };
  /**
   * Written before addPassword: the display name (`syncbot:<service>:<run id>`) the new secret gets, so
   * a secret created but not recorded (store failure, crash) is recognised and removed.
   */
  secretIntent?: { displayName: string; at: string };
  /** Set while (and after) the run needed attention: a write with an unknown outcome, UMP unreadable. */
  attention?: RunAttention;
}

export interface RunAttention {
  step: StepName;
  /** What is unknown, in operator words (never a secret). */
  reason: string;
  since: string;
}

export interface RequestRecord {
  id: string;
  customer: string;
  kind: Plan["kind"];
  params: ProvisionParameters;
  service: string;
  state: RequestState;
  requester: Actor;
  tenantId: string;
  conversation: ConversationRef;
  /** The card message that shows this request (updated on every state change). */
  cardActivityId?: string;
  plan: Plan;
  createdAt: string;
  expiresAt: string;
  /** `proof`: the verified sign-in the approval rested on (its token id, `acrs`, `iat`; never the token). */
  approver?: Actor & { via: string; at: string; proof?: SignInProof };
  rejectedBy?: Actor & { at: string };
  run?: RunRecord;
  correlationId: string;
  /** Part of a batch (issue 13): approved only through the batch, never on its own card. */
  batchId?: string;
  /** The service-provider FQDN of the customer's registration when this was planned (absent: none yet). */
  registeredFqdn?: string;
  /** A requester's re-plan on the card of their earlier plan: what that plan was (the card shows what changed). */
  replaces?: { requestId: string; params: ProvisionParameters; planHash: string; changes: string[] };
}

export interface RegistrationRecord {
  customer: string;
  params: ProvisionParameters;
  objectId: string;
  appId: string;
  conversation: ConversationRef;
  secrets: SecretRecord[];
  ump?: { revision: number; fingerprint: string | null; portalValidated: boolean; at: string };
  lastVerification?: RunRecord["verification"];
  /** A run of this customer needs attention (shown by `status`); cleared when it is settled. */
  attention?: RunAttention & { requestId: string };
  createdAt: string;
  updatedAt: string;
}

export interface AuditEvent {
  id: string;
  at: string;
  customer: string;
  actor: string;
  action: string;
  outcome: "ok" | "refused" | "failed" | "info";
  correlationId: string;
  requestId?: string;
  detail?: string;
}

export interface ReminderClaim {
  keyId: string;
  threshold: string;
  customer: string;
  state: "sending" | "sent";
  claimedAt: string;
  sentAt?: string;
  owner: string;
}

export interface SnoozeRecord {
  keyId: string;
  customer: string;
  until: string;
  by: Actor;
  at: string;
}
