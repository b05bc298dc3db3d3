// Delivers what a sweep claimed, conversation by conversation (issue 17): one due registration keeps
// its own reminder card (one per due secret, each with its service's Rotate secret); several due together in one conversation get one digest listing them all,
// soonest first. Invariant 7 with digests: a reminder counts as sent once the message listing it was
// accepted by the Bot Connector; a refused one gives every claim back, so the next sweep lists them again,
// and a claim is listed by one message only, so nothing is listed twice. A conversation gets at most one
// digest per (UTC) day: reminders that come due after that day's digest wait for the next day's sweep.

import type { DigestSummary, PendingReminder, SweepDeps, SweepRun } from "./sweepTypes";
import { createDigestStore } from "./digests";
import { describeError } from "../errors";
import type { ConversationRef } from "../records";

/** What the digests of one sweep did, per conversation (the dry run lists what it would send). */
export async function deliverOutbox(deps: SweepDeps, run: SweepRun): Promise<void> {
  const { repo } = deps;
  const { result } = run;
  const kind = run.simulated ? "simulated" : "real";
  const claims = repo.reminderClaims(kind);
  const digests = createDigestStore(repo.store);
  const day = run.at.toISOString().slice(0, 10);

  for (const [key, box] of run.outbox) {
    run.outbox.delete(key); // delivered conversations are let go of as the loop goes
    const pending = box.reminders.sort(soonestFirst);
    // Several registrations due together make a digest; one registration (even with a secret of each of
    // its services due) keeps its cards, as CONTRACT section 4 says of a single due registration.
    const registrations = new Set(pending.map((p) => p.notice.customer)).size;
    const together = registrations > 1 && deps.sendDigest !== undefined;
    if (run.dryRun) {
      if (together) result.digests.push(summary(key, pending));
      continue;
    }
    if (!together) {
      for (const p of pending) await deliverOne(deps, run, box.conversation, p);
      continue;
    }
    if (await digests.sentOn(kind, key, day).catch(() => false)) {
      // Today's digest went out already: these came due since, and wait for tomorrow's.
      await giveBack(pending);
      result.skipped.deferred += pending.length;
      continue;
    }
    let digestId: string;
    try {
      digestId = await deps.sendDigest!(
        box.conversation,
        pending.map((p) => p.notice),
      );
    } catch (e) {
      await giveBack(pending);
      result.failures.push(`digest of ${pending.length} reminders: ${describeError(e).message}`);
      continue;
    }
    // Accepted: from here on nothing gives the claims back (that would list them twice); a store failure
    // leaves them "sending", and a later sweep takes them over once stale (at least once).
    try {
      await digests.markSentOn(kind, key, day, digestId);
      for (const p of pending) await recordSent(deps, run, p, `in digest ${digestId.slice(0, 8)}`);
    } catch (e) {
      result.failures.push(`recording digest ${digestId}: ${describeError(e).message}`);
    }
    result.digests.push({ ...summary(key, pending), digestId });
  }

  async function giveBack(pending: PendingReminder[]) {
    for (const p of pending) if (p.doc) await claims.release(p.doc).catch(() => undefined);
  }
}

/** One reminder card, as before digests: a registration due alone in its conversation. */
async function deliverOne(deps: SweepDeps, run: SweepRun, conversation: ConversationRef, p: PendingReminder) {
  const claims = deps.repo.reminderClaims(run.simulated ? "simulated" : "real");
  try {
    await deps.sendReminder(conversation, p.notice);
  } catch (e) {
    // Not delivered: give the claim back so the next sweep tries again (at least once).
    if (p.doc) await claims.release(p.doc).catch(() => undefined);
    run.result.failures.push(`${p.notice.customer}/${p.notice.keyId}: ${describeError(e).message}`);
    return;
  }
  await recordSent(deps, run, p, "");
}

async function recordSent(deps: SweepDeps, run: SweepRun, p: PendingReminder, where: string) {
  const { notice } = p;
  const claims = deps.repo.reminderClaims(run.simulated ? "simulated" : "real");
  if (p.doc) await claims.markSent(p.doc, deps.clock.now().toISOString());
  run.result.sent++;
  await deps.repo.audit({
    at: deps.clock.now().toISOString(),
    customer: notice.customer,
    actor: "syncbot",
    // A reminder posted for a simulated instant (`--at`) is on record, but never as the real one.
    action: run.simulated ? "reminder.simulated" : "reminder.sent",
    outcome: "ok",
    correlationId: `sweep-${run.result.at}`,
    detail:
      `${notice.keyId} threshold ${notice.threshold} (${notice.daysLeft} days left)` +
      (where ? ` ${where}` : "") +
      (run.simulated ? ` at the simulated instant ${run.result.at}` : ""),
  });
}

function soonestFirst(a: PendingReminder, b: PendingReminder): number {
  return (
    Date.parse(a.notice.endDateTime) - Date.parse(b.notice.endDateTime) ||
    a.notice.customer.localeCompare(b.notice.customer) ||
    a.notice.keyId.localeCompare(b.notice.keyId)
  );
}

function summary(key: string, pending: PendingReminder[]): DigestSummary {
  return {
    conversation: key.slice(key.indexOf("|") + 1) || "(no conversation id)",
    listed: pending.length,
    customers: pending.slice(0, 5).map((p) => p.notice.customer),
  };
}
