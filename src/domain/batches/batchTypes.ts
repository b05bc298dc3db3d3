// What a batch service is given (BatchesDeps) and what its decisions answer (BatchOutcome), apart from
// createBatches so that its driver (createBatchDriver) names them without importing the service back.

import type { StepUp } from "../approverProof";
import type { AdminRoleCheck, Clock, Logger } from "../ports";
import type { ProvisioningOptions } from "../provisioningOptions";
import type { Actor, ConversationRef, RequestRecord } from "../records";
import type { Repository } from "../repository";
import type { ReviewOutcome } from "../requests/createRequestLifecycle";
import type { ProvisionParameters } from "../spec";
import type { BatchRecord } from "./batchRecords";

export interface BatchesDeps {
  repo: Repository;
  clock: Clock;
  logger: Logger;
  options: ProvisioningOptions;
  /** Review plan for one customer (the same as the single-customer card's). */
  review(input: {
    params: ProvisionParameters;
    kind: "provision" | "rotate";
    service?: string;
    requester: Actor;
    tenantId: string;
    conversation: ConversationRef;
  }): Promise<ReviewOutcome>;
  /** Starts or resumes the run of an approved request; resolves when it ended or was handed to another process. */
  execute(requestId: string): Promise<RequestRecord>;
  isGlobalAdministrator(userId: string): Promise<boolean | AdminRoleCheck>;
  /** Verified approvals: a batch Approve needs the presser's own fresh sign-in when required (unset: off). */
  stepUp?: StepUp;
  /** Runs in flight at once, over every batch of this process. */
  concurrency: number;
  /** Called after every change of a batch or one of its members' requests (the bot updates the card, coalesced). */
  notify(batchId: string): void;
  sleep?: (ms: number) => Promise<void>;
}

export type BatchOutcome =
  | { ok: true; batch: BatchRecord }
  | { ok: false; reason: string; batch: BatchRecord | null; code?: string };
