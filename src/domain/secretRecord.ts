// A client secret as syncbot records it (never its value): the shape both the stored registration
// (records.ts) and the plan (plan.ts) speak of, in its own module so neither imports the other for it.

export type SecretStatus = "active" | "superseded";

export interface SecretRecord {
  keyId: string;
  service: string;
  runId: string;
  displayName: string;
  hint: string;
  endDateTime: string;
  fingerprint: string;
  createdAt: string;
  status: SecretStatus;
  /** For a superseded secret: when it may be removed (end of the rotation grace period). */
  removeAfter?: string;
}
