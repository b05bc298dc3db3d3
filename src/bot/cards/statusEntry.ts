// One registration as the status card and its charts see it: its health and the secret that expires
// first. Apart from both, so the card and its charts share the shape without importing each other.

import type { RegistrationRecord } from "../../domain/records";
import type { SecretRecord } from "../../domain/secretRecord";

export type Health = "attention" | "failed" | "expired" | "drifted" | "expiring" | "healthy";

export interface StatusEntry {
  registration: RegistrationRecord;
  health: Health;
  /** Why it is not healthy, in operator words. */
  problem?: string;
  /** The active secret that expires first. */
  soonest?: SecretRecord;
}
