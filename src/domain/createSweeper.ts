// One secret-expiry sweep: reads every managed application from Graph (Entra is the source of truth,
// so secrets rotated or deleted by hand are seen), sends each due reminder at most once (a claim in
// the store before sending; a claim left "sending" by a crashed sweep is taken over later, so each
// reminder also arrives at least once), and removes superseded secrets whose grace period is over.

import { describeError } from "./errors";
import type { Clock, Directory, Logger } from "./ports";
import type { Actor, ConversationRef, RegistrationRecord, ReminderClaim } from "./records";
import { daysUntil, dueThreshold } from "./reminders";
import type { Repository } from "./repository";
import { customerTag, MANAGED_TAG } from "./spec";

export interface ReminderNotice {
  customer: string;
  service: string;
  clientId: string;
  keyId: string;
  hint: string;
  endDateTime: string;
  daysLeft: number;
  threshold: string;
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
  /** Posts a plain notice (old secret removed after rotation). */
  sendNotice?: (conversation: ConversationRef, text: string) => Promise<void>;
  /** A claim still "sending" after this long belongs to a sweep that died: take it over. */
  staleClaimMs?: number;
  snoozeDays?: number;
}

export interface SweepResult {
  at: string;
  applications: number;
  secrets: number;
  due: ReminderNotice[];
  sent: number;
  skipped: { snoozed: number; alreadySent: number; inFlight: number; noConversation: number };
  removedSuperseded: string[];
  /** Dry run only: superseded secrets whose grace period is over and that a real sweep would remove. */
  wouldRemoveSuperseded: string[];
  failures: string[];
  dryRun: boolean;
}

const CUSTOMER_TAG_PREFIX = customerTag("");
const SELECT = ["id", "appId", "uniqueName", "tags", "passwordCredentials"] as const;

export type Sweeper = ReturnType<typeof createSweeper>;

const REMINDER_CONCURRENCY = 8;

/** Runs the tasks with at most `limit` in flight. */
async function inParallel(tasks: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

export function createSweeper(deps: SweepDeps) {
  const { directory, repo, logger: log } = deps;
  const staleClaimMs = deps.staleClaimMs ?? 10 * 60_000;
  const thresholds = [...deps.reminderDays].sort((a, b) => a - b);

  async function sweep(options: { at?: Date; dryRun?: boolean } = {}): Promise<SweepResult> {
    // `at` is the instant the sweep evaluates as (thresholds, snoozes, grace periods: `--at`);
    // claims are stamped with the real clock so a crashed sweep's claim goes stale in real time.
    const now = options.at ?? deps.clock.now();
    const dryRun = options.dryRun ?? false;
    const result: SweepResult = {
      at: now.toISOString(),
      applications: 0,
      secrets: 0,
      due: [],
      sent: 0,
      skipped: { snoozed: 0, alreadySent: 0, inFlight: 0, noConversation: 0 },
      removedSuperseded: [],
      wouldRemoveSuperseded: [],
      failures: [],
      dryRun,
    };
    const registrations = new Map<string, RegistrationRecord>();
    for (const r of await repo.listRegistrations()) registrations.set(r.objectId, r);

    // Old secrets first: one removed now is not listed (nor reminded about) below.
    await removeSupersededSecrets(now, dryRun, result, [...registrations.values()]);

    const due: Array<() => Promise<void>> = [];
    for await (const page of directory.listApplicationsByTag(MANAGED_TAG, SELECT)) {
      for (const app of page) {
        result.applications++;
        const registration = registrations.get(app.id);
        for (const p of app.passwordCredentials) {
          result.secrets++;
          if (!p.endDateTime) continue;
          const threshold = dueThreshold({ keyId: p.keyId, endDateTime: p.endDateTime }, now, thresholds);
          if (!threshold) continue;
          const recorded = registration?.secrets.find((s) => s.keyId === p.keyId);
          // A superseded secret is on its way out; reminding about it would only confuse.
          if (recorded?.status === "superseded") continue;
          const notice: ReminderNotice = {
            customer: registration?.customer ?? customerOf(app.tags) ?? app.uniqueName ?? app.appId,
            service: recorded?.service ?? serviceOf(p.displayName),
            clientId: app.appId,
            keyId: p.keyId,
            hint: p.hint ?? "",
            endDateTime: p.endDateTime,
            daysLeft: daysUntil(p.endDateTime, now),
            threshold,
          };
          due.push(async () => {
            try {
              await remind(notice, registration, now, dryRun, result);
            } catch (e) {
              // A store hiccup on one reminder must not starve the others; its claim (if any) goes stale
              // and a later sweep takes it over.
              result.failures.push(`${notice.customer}/${notice.keyId}: ${describeError(e).message}`);
            }
          });
        }
      }
      // Each reminder is an independent post (tens of ms on the wire): a few at a time per page.
      await inParallel(due.splice(0), REMINDER_CONCURRENCY);
    }
    log.info("expiry sweep finished", {
      at: result.at,
      applications: result.applications,
      secrets: result.secrets,
      due: result.due.length,
      sent: result.sent,
      removedSuperseded: result.removedSuperseded.length,
      failures: result.failures.length,
      dryRun,
    });
    return result;
  }

  async function remind(
    notice: ReminderNotice,
    registration: RegistrationRecord | undefined,
    now: Date,
    dryRun: boolean,
    result: SweepResult,
  ) {
    // Without a stored conversation there is nowhere to post (an app tagged by hand): cheap check first,
    // so sweeping thousands of such apps costs no store reads.
    if (!registration) {
      result.skipped.noConversation++;
      return;
    }
    const existing = await repo.getReminder(notice.keyId, notice.threshold);
    if (existing?.value.state === "sent") {
      result.skipped.alreadySent++;
      return;
    }
    const realNow = deps.clock.now().getTime();
    const stale = existing ? Date.parse(existing.value.claimedAt) + staleClaimMs <= realNow : false;
    if (existing && !stale) {
      result.skipped.inFlight++; // another sweep is sending it right now
      return;
    }
    const snooze = await repo.getSnooze(notice.keyId);
    if (snooze && Date.parse(snooze.until) > now.getTime()) {
      result.skipped.snoozed++;
      return;
    }
    if (dryRun) {
      result.due.push(notice);
      return;
    }

    const claim: ReminderClaim = {
      keyId: notice.keyId,
      threshold: notice.threshold,
      customer: notice.customer,
      state: "sending",
      claimedAt: new Date(realNow).toISOString(),
      owner: deps.instanceId,
    };
    const doc = existing ? await repo.takeOverReminder(existing, claim) : await repo.claimReminder(claim);
    if (!doc) {
      result.skipped.inFlight++; // another sweep won the claim
      return;
    }
    result.due.push(notice);
    try {
      await deps.sendReminder(registration.conversation, notice);
    } catch (e) {
      // Not delivered: give the claim back so the next sweep tries again (at least once).
      await repo.releaseReminder(doc).catch(() => undefined);
      result.failures.push(`${notice.customer}/${notice.keyId}: ${describeError(e).message}`);
      return;
    }
    await repo.markReminderSent(doc, deps.clock.now().toISOString());
    result.sent++;
    await repo.audit({
      at: deps.clock.now().toISOString(),
      customer: notice.customer,
      actor: "syncbot",
      action: "reminder.sent",
      outcome: "ok",
      correlationId: `sweep-${result.at}`,
      detail: `${notice.keyId} threshold ${notice.threshold} (${notice.daysLeft} days left)`,
    });
  }

  async function removeSupersededSecrets(
    now: Date,
    dryRun: boolean,
    result: SweepResult,
    registrations: RegistrationRecord[],
  ) {
    for (const reg of registrations) {
      const due = reg.secrets.filter(
        (s) => s.status === "superseded" && s.removeAfter && Date.parse(s.removeAfter) <= now.getTime(),
      );
      for (const s of due) {
        if (dryRun) {
          result.wouldRemoveSuperseded.push(s.keyId);
          continue;
        }
        try {
          // Idempotent in Graph (already removed is removed); the record update below is a
          // compare-and-set, so when two sweeps race only one audits and tells the conversation.
          await directory.removePassword(reg.objectId, s.keyId);
          const updated = await repo.update<RegistrationRecord>("registrations", reg.customer, (cur) =>
            cur.secrets.some((x) => x.keyId === s.keyId)
              ? {
                  ...cur,
                  secrets: cur.secrets.filter((x) => x.keyId !== s.keyId),
                  updatedAt: deps.clock.now().toISOString(),
                }
              : null,
          );
          if (!updated?.changed) continue;
          result.removedSuperseded.push(s.keyId);
          await repo.audit({
            at: deps.clock.now().toISOString(),
            customer: reg.customer,
            actor: "syncbot",
            action: "secret.removed",
            outcome: "ok",
            correlationId: `sweep-${result.at}`,
            detail: `${s.keyId} (superseded; grace period over)`,
          });
          await deps.sendNotice?.(
            reg.conversation,
            `Rotation of ${reg.customer} complete: the old secret ${s.keyId} (hint ${s.hint}) was removed after its grace period.`,
          );
        } catch (e) {
          result.failures.push(`${reg.customer}/${s.keyId}: ${describeError(e).message}`);
        }
      }
    }
  }

  /** Snooze a secret's reminders for a week, recorded with who asked. */
  async function snooze(customer: string, keyId: string, actor: Actor) {
    const reg = await repo.getRegistration(customer);
    if (!reg) return { ok: false as const, reason: "syncbot does not know that secret." };
    // The secret must belong to this customer's registration (never trust the card's pairing): either
    // recorded by syncbot, or live on the registration (a secret added by hand still gets reminders).
    let secret: { service: string; hint: string; endDateTime: string } | undefined = reg.secrets.find(
      (s) => s.keyId === keyId,
    );
    if (!secret) {
      const live = await directory.getApplication(reg.objectId).catch(() => null);
      const p = live?.passwordCredentials.find((x) => x.keyId === keyId);
      if (p?.endDateTime)
        secret = { service: serviceOf(p.displayName), hint: p.hint ?? "", endDateTime: p.endDateTime };
    }
    if (!secret) return { ok: false as const, reason: "syncbot does not know that secret." };
    const now = deps.clock.now();
    const until = new Date(now.getTime() + (deps.snoozeDays ?? 7) * 86_400_000).toISOString();
    await repo.snooze({ keyId, customer, until, by: actor, at: now.toISOString() });
    await repo.audit({
      at: now.toISOString(),
      customer,
      actor: actor.name,
      action: "reminder.snoozed",
      outcome: "ok",
      correlationId: `snooze-${keyId}`,
      detail: `${keyId} until ${until} by ${actor.name} (${actor.id})`,
    });
    return {
      ok: true as const,
      until,
      view: {
        customer,
        service: secret.service,
        clientId: reg.appId,
        keyId,
        hint: secret.hint,
        endDateTime: secret.endDateTime,
        daysLeft: daysUntil(secret.endDateTime, now),
      },
    };
  }

  return { sweep, snooze };
}

/** The customer slug from the `syncbot-customer:<slug>` tag, for apps syncbot has no record of. */
function customerOf(tags: readonly string[]): string | null {
  const tag = tags.find((t) => t.startsWith(CUSTOMER_TAG_PREFIX));
  return tag ? tag.slice(CUSTOMER_TAG_PREFIX.length) : null;
}

function serviceOf(displayName: string | null): string {
  const m = /^syncbot:([^:]+):/.exec(displayName ?? "");
  return m?.[1] ?? "unmanaged";
}
