// The sweep's shared shapes: what its parts (createSweeper, sweepReminders, sweepDigests,
// sweepSuperseded, sweepOrphans) are given and what they tally, in a module of their own so that no
// part imports another's implementation to name a type.

import type { Eligibility } from "../approval";
import type { StoredDoc } from "../documentStore";
import type { Clock, Directory, Logger } from "../ports";
import type { Actor, ConversationRef, RegistrationRecord, ReminderClaim } from "../records";
import type { Repository } from "../repository";

export interface PendingReminder {
  notice: ReminderNotice;
  doc?: StoredDoc<ReminderClaim>;
}

export interface DigestSummary {
  conversation: string;
  listed: number;
  digestId?: string;
  /** The soonest few customers, for the CLI's summary. */
  customers: string[];
}

export interface ReminderNotice {
  customer: string;
  service: string;
  clientId: string;
  keyId: string;
  hint: string;
  endDateTime: string;
  daysLeft: number;
  threshold: string;
  /** The registration's display name, when syncbot has a record of it (digest lines show it). */
  displayName?: string;
}

export interface SweepDeps {
  directory: Directory;
  repo: Repository;
  clock: Clock;
  logger: Logger;
  reminderDays: readonly number[];
  instanceId: string;
  /** Posts the reminder card into the conversation; resolves when the connector accepted it. */
  sendReminder: (conversation: ConversationRef, notice: ReminderNotice) => Promise<void>;
  /**
   * Posts one digest listing several due reminders of one conversation (soonest first); resolves the
   * digest's id once the connector accepted it, throws when it did not. Without it, one card each.
   */
  sendDigest?: (conversation: ConversationRef, notices: ReminderNotice[]) => Promise<string>;
  /** Posts a plain notice (old secret removed after rotation). */
  sendNotice?: (conversation: ConversationRef, text: string) => Promise<void>;
  /**
   * The fingerprint of the secret UMP holds for this registration right now (null: it holds none);
   * throws when UMP cannot tell. Without it the sweep relies on the fingerprint last recorded.
   */
  umpFingerprint?: (registration: RegistrationRecord) => Promise<string | null>;
  /**
   * Runs parked because a write's outcome was unknown and UMP could not be read back: a real sweep
   * gives them another read of UMP (they finish or fail from its fingerprint, or stay parked).
   * Resolves the request ids it took up.
   */
  settleParked?: () => Promise<string[]>;
  /**
   * Who may snooze a reminder besides the registration's requester: an eligible approver, checked live
   * (approval.ts). Without it only the requester may.
   */
  mayApprove?: (actor: Actor) => Promise<Eligibility>;
  /** A claim still "sending" after this long belongs to a sweep that died: take it over. */
  staleClaimMs?: number;
  snoozeDays?: number;
  /** An unrecorded `syncbot:` secret is an orphan only once it is this old (default one hour). */
  orphanMinAgeMs?: number;
}

export interface SweepResult {
  at: string;
  /** Evaluated at an instant given by the caller (`--at`), not the clock's. */
  simulated: boolean;
  applications: number;
  secrets: number;
  due: ReminderNotice[];
  sent: number;
  skipped: {
    snoozed: number;
    alreadySent: number;
    inFlight: number;
    noConversation: number;
    /** Due in a conversation that already had today's digest: listed by tomorrow's. */
    deferred: number;
    /** Orphans kept because the sweep cannot tell whether UMP holds one of them. */
    orphanUmpUnclear: number;
  };
  /** The digests sent (or, in a dry run, that would be sent), one per conversation. */
  digests: DigestSummary[];
  removedSuperseded: string[];
  /** Dry run only: superseded secrets whose grace period is over and that a real sweep would remove. */
  wouldRemoveSuperseded: string[];
  removedOrphans: string[];
  /** Dry run only: orphan secrets a real sweep would remove. */
  wouldRemoveOrphans: string[];
  failures: string[];
  /** Requests needing attention that this sweep took up again (they settle in the background). */
  settledParked?: string[];
  dryRun: boolean;
}

/** One sweep's options and running tally, shared by its parts. */
export interface SweepRun {
  /** The instant reminders are evaluated at (thresholds, snoozes). Removals always use the real clock. */
  at: Date;
  simulated: boolean;
  dryRun: boolean;
  result: SweepResult;
  /** Claimed reminders by conversation (conversationKey), delivered once the scan is done. */
  outbox: Map<string, { conversation: ConversationRef; reminders: PendingReminder[] }>;
}
