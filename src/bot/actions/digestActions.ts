// The digest's buttons (issue 17): Next page, Snooze on one line, and Rotate all. Rotate secret on a
// line is the reminder card's own verb (secretActions). Snooze calls the sweeper's snooze, the same as
// the reminder card's, and then shows the digest page again for everyone. Rotate all becomes one
// rotation batch: the batch onboarding's card, approval, driver, Retry and crash resume, with each
// member planned as Rotate secret plans it.

import type { ParsedLine } from "../../domain/batches/batchRecords";
import type { TurnContext } from "botbuilder";
import { describeError } from "../../domain/errors";
import type { Actor, ConversationRef } from "../../domain/records";
import { isCustomerSlug } from "../../domain/spec";
import { actorOf, referenceOf, UNIDENTIFIED } from "../actorOf";
import { afterResponse } from "../afterResponse";
import { answerInTime } from "../answerInTime";
import type { BotKit, CardAction, InvokeAnswer } from "../botKit";
import { createDigests } from "../createDigests";
import { echo } from "../cards/markdownText";

const str = (v: unknown) => (typeof v === "string" ? v : "");
const digestsOf = (kit: BotKit) => createDigests({ repo: kit.repo, clock: kit.clock, post: kit.messenger.post });
const UNKNOWN = "This digest is unknown to syncbot.";
const OTHER_DIGEST = "This message shows another digest; nothing was changed.";

/** One page of the digest as it stands now, shown on the pressed message for everyone and as the answer. */
async function showPage(context: TurnContext, kit: BotKit, digestId: string, page: number, notice?: string) {
  const card = await digestsOf(kit).render(digestId, page, notice);
  if (!card) return UNKNOWN;
  await kit.messenger.updatePressedCard(context, card, { kind: "digest", subject: digestId });
  return card;
}

const nextPage: CardAction = {
  verb: "digest.page",
  on: ["digest"],
  async run(context, data, kit, pressed) {
    if (!actorOf(context)) return UNIDENTIFIED;
    if (pressed.subject !== str(data.digestId)) return OTHER_DIGEST;
    const page = Number(data.page);
    const work = showPage(context, kit, str(data.digestId), Number.isInteger(page) && page > 0 ? page : 1);
    return answerInTime(kit.log, work, "Reading the next page…");
  },
};

const snooze: CardAction = {
  verb: "digest.snooze",
  on: ["digest"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    if (pressed.subject !== str(data.digestId)) return OTHER_DIGEST;
    const sweeper = kit.sweeper();
    if (!sweeper) return "Reminders are not configured.";
    const digestId = str(data.digestId);
    const page = Number(data.page);
    const customer = str(data.customer).toLowerCase();
    const keyId = str(data.keyId);
    const work = (async (): Promise<InvokeAnswer> => {
      const digests = digestsOf(kit);
      // The line must be on that page of that digest: the card's pairing alone is not trusted.
      const entries = Number.isInteger(page) ? await digests.store.page(digestId, page) : null;
      if (!entries) return UNKNOWN;
      if (!entries.some((e) => e.customer === customer && e.keyId === keyId))
        return `This digest page lists no such secret of "${echo(customer)}"; nothing was changed.`;
      const result = await sweeper.snooze(customer, keyId, actor);
      if (!result.ok) return result.reason;
      return showPage(
        context,
        kit,
        digestId,
        page,
        `${actor.name} snoozed ${customer} until ${result.until.slice(0, 10)}.`,
      );
    })();
    return answerInTime(kit.log, work, "Snoozing; the digest updates for everyone when it is recorded.");
  },
};

const rotateAll: CardAction = {
  verb: "digest.rotateAll",
  on: ["digest"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    if (!kit.batches) return "Batches are not configured.";
    const digestId = str(data.digestId);
    if (pressed.subject !== digestId) return OTHER_DIGEST;
    const digest = await digestsOf(kit).store.get(digestId);
    if (!digest) return UNKNOWN;
    const reference = referenceOf(context);
    afterResponse(context, () => {
      void rotateAllInBackground(kit, reference, digestId, actor).catch((e) =>
        kit.log.error("rotate all failed", { digestId, error: describeError(e).message }),
      );
    });
    return `Preparing one rotation plan for the ${digest.total} secrets of this digest; it appears as a new message for approval.`;
  },
};

/** One rotation batch over the digest's registrations, posted as a new card everyone sees. */
async function rotateAllInBackground(
  kit: BotKit,
  reference: ConversationRef,
  digestId: string,
  actor: Actor,
): Promise<void> {
  const { service, cards } = kit.batches!;
  const entries = await digestsOf(kit).store.entries(digestId);
  const lines: ParsedLine[] = [];
  const seen = new Set<string>();
  // A batch holds one line per customer: a customer listed for two services rotates the soonest one.
  for (const e of entries) {
    if (seen.has(e.customer)) continue;
    seen.add(e.customer);
    const line = lines.length + 1;
    const registration = isCustomerSlug(e.customer) ? await kit.repo.getRegistration(e.customer) : null;
    lines.push(
      registration
        ? { line, customer: e.customer, params: registration.params, service: e.service }
        : { line, customer: e.customer, error: "syncbot no longer manages this registration." },
    );
  }
  const batch = await service.create({
    kind: "rotate",
    lines,
    requester: actor,
    tenantId: kit.config.spTenantId,
    conversation: reference,
  });
  const cardId = await kit.messenger.post(reference, await cards.render(batch.id), {
    kind: "batch",
    subject: batch.id,
  });
  if (cardId) await service.attachCard(batch.id, cardId);
  await service.plan(batch.id);
  cards.changed(batch.id, { immediate: true });
}

export const digestActions: CardAction[] = [nextPage, snooze, rotateAll];
