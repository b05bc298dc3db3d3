// One secret-expiry sweep: reads every managed application from Graph page by page (Entra is the
// source of truth, so secrets rotated or deleted by hand are seen), sends each due reminder at most once
// (sweepReminders, then sweepDigests: alone or in one digest per conversation), removes superseded secrets whose grace period is over (sweepSuperseded) and orphan
// secrets no run or registration claims (sweepOrphans). Memory is bounded by a page, not by the fleet.

import { describeError } from "../errors";
import type { LiveApplication, PasswordCredentialInfo } from "../ports";
import type { RegistrationRecord } from "../records";
import { daysUntil, EXPIRED } from "../reminders";
import { customerTag, MANAGED_TAG, uniqueNameFor } from "../spec";
import { createOrphanSweep } from "./sweepOrphans";
import { deliverOutbox } from "./sweepDigests";
import { createReminderSender, createSnoozer, serviceOf } from "./sweepReminders";
import { removeSupersededSecrets } from "./sweepSuperseded";
import type { ReminderNotice, SweepDeps, SweepResult, SweepRun } from "./sweepTypes";

const CUSTOMER_TAG_PREFIX = customerTag("");
const DAY_MS = 86_400_000;
const RECORDED_FIELDS = ["customer", "objectId", "secrets"] as const;
type RecordedSecrets = Pick<RegistrationRecord, (typeof RECORDED_FIELDS)[number]>;
const SELECT = ["id", "appId", "uniqueName", "tags", "passwordCredentials"] as const;
/** Applications of one Graph page handled at a time (each may read the store and post a reminder). */
const APP_CONCURRENCY = 8;

export type Sweeper = ReturnType<typeof createSweeper>;

export function createSweeper(deps: SweepDeps) {
  const { directory, repo, logger: log } = deps;
  const thresholds = [...deps.reminderDays].sort((a, b) => a - b);
  const remind = createReminderSender(deps);
  const snooze = createSnoozer(deps);

  /**
   * `at` evaluates reminders as of that instant (tests, what-if); their claims are kept apart from the
   * real ones. Removing superseded and orphan secrets always follows the real clock.
   */
  async function sweep(options: { at?: Date; dryRun?: boolean } = {}): Promise<SweepResult> {
    const at = options.at ?? deps.clock.now();
    const dryRun = options.dryRun ?? false;
    const simulated = options.at !== undefined;
    const result: SweepResult = {
      at: at.toISOString(),
      simulated,
      applications: 0,
      secrets: 0,
      due: [],
      sent: 0,
      skipped: { snoozed: 0, alreadySent: 0, inFlight: 0, noConversation: 0, deferred: 0, orphanUmpUnclear: 0 },
      digests: [],
      removedSuperseded: [],
      wouldRemoveSuperseded: [],
      removedOrphans: [],
      wouldRemoveOrphans: [],
      failures: [],
      dryRun,
    };
    const run: SweepRun = { at, simulated, dryRun, result, outbox: new Map() };

    // Old secrets first: one removed now is not listed (nor reminded about) below.
    await removeSupersededSecrets(deps, run);

    const orphans = createOrphanSweep(deps);
    const realNow = deps.clock.now();
    for await (const page of directory.listApplicationsByTag(MANAGED_TAG, SELECT)) {
      // Each page is done before the next is asked for, and each application is let go of (its slot
      // cleared) as soon as a worker takes it: what is done dies young instead of outliving the page.
      const slots: Array<LiveApplication | undefined> = page;
      let next = 0;
      const worker = async () => {
        while (next < slots.length) {
          const i = next++;
          const app = slots[i]!;
          slots[i] = undefined;
          try {
            await sweepApplication(app, run, orphans, realNow);
          } catch (e) {
            // A store hiccup on one application must not starve the others; a claim it left goes stale
            // and a later sweep takes it over.
            result.failures.push(`${customerOf(app.tags) ?? app.appId}: ${describeError(e).message}`);
          }
        }
      };
      const workers: Promise<void>[] = [];
      for (let w = 0; w < Math.min(APP_CONCURRENCY, slots.length); w++) workers.push(worker());
      await Promise.all(workers);
    }
    await deliverOutbox(deps, run);
    await orphans.settle(run);
    if (!dryRun && !simulated && deps.settleParked)
      result.settledParked = await deps.settleParked().catch((e) => {
        result.failures.push(`settling runs that need attention: ${describeError(e).message}`);
        return [];
      });

    log.info("expiry sweep finished", {
      at: result.at,
      simulated,
      applications: result.applications,
      secrets: result.secrets,
      due: result.due.length,
      sent: result.sent,
      removedSuperseded: result.removedSuperseded.length,
      removedOrphans: result.removedOrphans.length,
      failures: result.failures.length,
      dryRun,
    });
    return result;
  }

  async function sweepApplication(
    app: LiveApplication,
    run: SweepRun,
    orphans: ReturnType<typeof createOrphanSweep>,
    realNow: Date,
  ) {
    const { result } = run;
    result.applications++;
    result.secrets += app.passwordCredentials.length;
    // Plain loops: this runs for every application of the fleet, so it allocates only when it must.
    let due: Array<{ p: PasswordCredentialInfo; threshold: string; endDateTime: string }> | undefined;
    let suspects: PasswordCredentialInfo[] | undefined;
    for (const p of app.passwordCredentials) {
      const threshold = p.endDateTime ? thresholdDue(p.endDateTime, run.at.getTime(), thresholds) : null;
      if (threshold) {
        due ??= [];
        due.push({ p, threshold, endDateTime: p.endDateTime! });
      }
      if (orphans.mightBeOrphan(p, realNow)) {
        suspects ??= [];
        suspects.push(p);
      }
    }
    // Most applications need nothing from the store: no reminder due, no secret to account for.
    if (!due && !suspects) return;
    if (!due) {
      // Only the orphan check: the secrets syncbot recorded are enough, not the whole record.
      const recorded = await recordedSecretsOf(app);
      if (recorded && suspects) for (const p of suspects) orphans.consider(p, recorded);
      return;
    }
    const registration = await registrationOf(app);
    if (registration && suspects) for (const p of suspects) orphans.consider(p, registration);

    for (const { p, threshold, endDateTime } of due) {
      const recorded = registration?.secrets.find((s) => s.keyId === p.keyId);
      // A superseded secret is on its way out; reminding about it would only confuse.
      if (recorded?.status === "superseded") continue;
      const notice: ReminderNotice = {
        customer: registration?.customer ?? customerOf(app.tags) ?? app.uniqueName ?? app.appId,
        service: recorded?.service ?? serviceOf(p.displayName),
        clientId: app.appId,
        keyId: p.keyId,
        hint: p.hint ?? "",
        endDateTime,
        daysLeft: daysUntil(endDateTime, run.at),
        threshold,
        displayName: registration?.params.displayName,
      };
      try {
        await remind(notice, registration, run);
      } catch (e) {
        result.failures.push(`${notice.customer}/${notice.keyId}: ${describeError(e).message}`);
      }
    }
  }

  /** syncbot's record of this application: found by its customer tag (or uniqueName), same object id. */
  async function registrationOf(app: LiveApplication): Promise<RegistrationRecord | undefined> {
    const customer = customerOfApp(app);
    if (!customer) return undefined;
    const reg = await repo.getRegistration(customer);
    return reg?.objectId === app.id ? reg : undefined;
  }

  /** The part of registrationOf the orphan check needs. */
  async function recordedSecretsOf(app: LiveApplication): Promise<RecordedSecrets | undefined> {
    const customer = customerOfApp(app);
    if (!customer) return undefined;
    const reg = await repo.getRegistrationFields(customer, RECORDED_FIELDS);
    return reg?.objectId === app.id ? reg : undefined;
  }

  return { sweep, snooze };
}

/**
 * dueThreshold (reminders.ts) for thresholds sorted once, ascending: the same answer without a copy
 * and a sort per secret, as this runs for every secret of the fleet.
 */
function thresholdDue(endDateTime: string, at: number, sortedDays: readonly number[]): string | null {
  const remaining = Date.parse(endDateTime) - at;
  if (!Number.isFinite(remaining)) return null;
  if (remaining <= 0) return EXPIRED;
  for (const d of sortedDays) if (remaining <= d * DAY_MS) return String(d);
  return null;
}

function customerOfApp(app: LiveApplication): string | null {
  const prefix = uniqueNameFor("");
  return customerOf(app.tags) ?? (app.uniqueName?.startsWith(prefix) ? app.uniqueName.slice(prefix.length) : null);
}

/** The customer slug from the `syncbot-customer:<slug>` tag, for apps syncbot has no record of. */
function customerOf(tags: readonly string[]): string | null {
  const tag = tags.find((t) => t.startsWith(CUSTOMER_TAG_PREFIX));
  return tag ? tag.slice(CUSTOMER_TAG_PREFIX.length) : null;
}
