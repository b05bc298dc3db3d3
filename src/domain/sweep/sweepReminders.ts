// Claims one due reminder at most once: a claim in the store before it is listed (a claim left "sending"
// by a crashed sweep is taken over once it is stale, so each reminder also arrives at least once). The
// claimed reminder waits in the sweep's outbox for its conversation (sweepDigests delivers it, alone or
// in a digest). A sweep evaluated at a simulated instant keeps its claims apart, so it never suppresses
// a real reminder. Snoozes.

import type { ReminderNotice, SweepDeps, SweepRun } from "./sweepTypes";
import { conversationKey } from "./digests";
import type { StoredDoc } from "../documentStore";
import type { Actor, RegistrationRecord, ReminderClaim } from "../records";
import { daysUntil } from "../reminders";

export const DEFAULT_STALE_CLAIM_MS = 10 * 60_000;

/** A claimed reminder waiting for the end of the fleet scan (no claim in a dry run). */
/** Only the notice and the claim are kept per due reminder; the conversation once per conversation. */
function collect(
  run: SweepRun,
  registration: RegistrationRecord,
  notice: ReminderNotice,
  doc: StoredDoc<ReminderClaim> | undefined,
) {
  const key = conversationKey(registration.conversation);
  let box = run.outbox.get(key);
  if (!box) {
    box = { conversation: registration.conversation, reminders: [] };
    run.outbox.set(key, box);
  }
  box.reminders.push({ notice, doc });
}

export function createReminderSender(deps: SweepDeps) {
  const { repo } = deps;
  const staleClaimMs = deps.staleClaimMs ?? DEFAULT_STALE_CLAIM_MS;

  return async function remind(notice: ReminderNotice, registration: RegistrationRecord | undefined, run: SweepRun) {
    const { result } = run;
    // Without a stored conversation there is nowhere to post (an app tagged by hand).
    if (!registration) {
      result.skipped.noConversation++;
      return;
    }
    const claims = repo.reminderClaims(run.simulated ? "simulated" : "real");
    const existing = await claims.get(notice.keyId, notice.threshold);
    if (existing?.value.state === "sent") {
      result.skipped.alreadySent++;
      return;
    }
    // Claims are stamped with the real clock, so a crashed sweep's claim goes stale in real time.
    const realNow = deps.clock.now().getTime();
    const stale = existing ? Date.parse(existing.value.claimedAt) + staleClaimMs <= realNow : false;
    if (existing && !stale) {
      result.skipped.inFlight++; // another sweep is sending it right now
      return;
    }
    const snooze = await repo.getSnooze(notice.keyId);
    if (snooze && Date.parse(snooze.until) > run.at.getTime()) {
      result.skipped.snoozed++;
      return;
    }
    if (run.dryRun) {
      result.due.push(notice);
      collect(run, registration, notice, undefined);
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
    const doc = existing ? await claims.takeOver(existing, claim) : await claims.claim(claim);
    if (!doc) {
      result.skipped.inFlight++; // another sweep won the claim
      return;
    }
    result.due.push(notice);
    // Delivered once the whole fleet is read: together with the others due in the same conversation.
    collect(run, registration, notice, doc);
  };
}

/** Snoozes one secret's reminders (the card's button), for a secret of that customer's registration. */
export function createSnoozer(deps: SweepDeps) {
  const { repo, directory } = deps;
  /** Snooze a secret's reminders for a week, recorded with who asked; refusals are audited too. */
  async function snooze(customer: string, keyId: string, actor: Actor) {
    const reg = await repo.getRegistration(customer);
    if (!reg) return { ok: false as const, reason: "syncbot does not know that secret." };
    // Silencing a customer's expiry warnings is for the people answerable for it: an approver, or
    // whoever asked for the registration (the requester of its newest successful request).
    const refusal = await snoozeRefusal(customer, actor);
    if (refusal) {
      await repo.audit({
        at: deps.clock.now().toISOString(),
        customer,
        actor: actor.name,
        action: "reminder.snooze-refused",
        outcome: "refused",
        correlationId: `snooze-${keyId}`,
        detail: `${keyId} by ${actor.name} (${actor.id}): ${refusal}`,
      });
      return { ok: false as const, reason: refusal };
    }
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
  async function snoozeRefusal(customer: string, actor: Actor): Promise<string | undefined> {
    const owner = (await repo.listRequests())
      .filter((r) => r.customer === customer && r.state === "succeeded")
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0]?.requester;
    if (owner && owner.id.toLowerCase() === actor.id.toLowerCase()) return undefined;
    const eligibility = deps.mayApprove ? await deps.mayApprove(actor) : undefined;
    if (eligibility?.eligible) return undefined;
    return `${actor.name} may not snooze ${customer}'s reminders: snoozing is for an eligible approver or for the requester of the registration. Nothing was changed.`;
  }
  return snooze;
}

export function serviceOf(displayName: string | null): string {
  const m = /^syncbot:([^:]+):/.exec(displayName ?? "");
  return m?.[1] ?? "unmanaged";
}
