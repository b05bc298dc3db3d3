// The batch card's buttons: Review plan (the pasted list), Approve / Reject (the whole batch), Retry
// and Approve on one customer's line. Decisions are made on the stored batch and the presser's
// identity; slow work (live reads, runs) continues after the invoke is answered and reaches everyone
// through the coalesced card updates. Review plan turns the blank list form into its batch's card once;
// every other button acts only on the card of the batch it names (the message's binding).

import { MAX_BATCH_LINES, MAX_BATCH_TEXT, parseBatchLines } from "../../domain/batches/batchRecords";
import { describeError } from "../../domain/errors";
import type { MessageBinding } from "../../domain/messageBindings";
import { actorOf, referenceOf, UNIDENTIFIED } from "../actorOf";
import { afterResponse } from "../afterResponse";
import type { BotKit, CardAction } from "../botKit";
import { batchListCard } from "../cards/batchCard";
import { credentialOf, signInAnswer } from "../stepUpSignIn";
import { truncate } from "../truncate";

const str = (v: unknown) => (typeof v === "string" ? v : "");
const OTHER_BATCH = "This card shows another batch; nothing was changed.";
const isItsCard = (pressed: MessageBinding, batchId: string) => batchId !== "" && pressed.subject === batchId;

function batchesOf(kit: BotKit) {
  if (!kit.batches) throw new Error("batches are not wired");
  return kit.batches;
}

const review: CardAction = {
  verb: "batch.review",
  on: ["batchList"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const { service, cards } = batchesOf(kit);
    const text = str(data.customers);
    if (text.length > MAX_BATCH_TEXT)
      return `The list is longer than ${MAX_BATCH_TEXT.toLocaleString("en-US")} characters; split it into batches of at most ${MAX_BATCH_LINES} customers. Nothing was changed.`;
    const lines = parseBatchLines(text, kit.config.defaults);
    if (lines.length === 0) return batchListCard({ lines: text, error: "Enter at least one customer." });
    const reference = referenceOf(context);
    const batch = await service.create({
      lines,
      requester: actor,
      tenantId: kit.config.spTenantId,
      conversation: reference,
    });
    const card = { kind: "batch", subject: batch.id } as const;
    // The form becomes this batch's card once; a second press on it (someone else's list) gets a message of its own.
    const formTaken = await kit.messenger.bindings.rebind(
      pressed.conversationId,
      pressed.activityId,
      { kind: pressed.kind, subject: pressed.subject },
      card,
    );
    const cardId = formTaken
      ? pressed.activityId
      : await kit.messenger.post(reference, await cards.render(batch.id), card);
    if (cardId) await service.attachCard(batch.id, cardId);
    // The live reads take a while for many customers: the answer says so, the plan follows as an update.
    afterResponse(context, () => {
      void service
        .plan(batch.id)
        .catch((e) => kit.log.error("batch planning failed", { batchId: batch.id, error: describeError(e).message }));
    });
    cards.changed(batch.id, { immediate: true });
    return formTaken
      ? cards.render(batch.id)
      : "This list already became another batch's card: your batch is posted as a new message.";
  },
};

const approve: CardAction = {
  verb: "batch.approve",
  on: ["batch"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const { service, cards } = batchesOf(kit);
    const batchId = str(data.batchId);
    if (!isItsCard(pressed, batchId)) return OTHER_BATCH;
    const credential = await credentialOf(context, kit);
    if (credential && "badCode" in credential) return (await signInAnswer(context, kit, "bad_code", ""))!;
    const result = await service.approve(batchId, actor, data.batchHash, credential);
    if (!result.batch) return "This batch is unknown to syncbot.";
    if (!result.ok)
      return (
        (await signInAnswer(context, kit, result.code, result.reason)) ??
        cards.render(batchId, `${actor.name} pressed Approve: refused. ${result.reason}`)
      );
    afterResponse(context, () => {
      void service
        .drive(batchId)
        .catch((e) => kit.log.error("batch failed", { batchId, error: describeError(e).message }));
    });
    cards.changed(batchId, { immediate: true });
    return cards.render(batchId);
  },
};

const reject: CardAction = {
  verb: "batch.reject",
  on: ["batch"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const { service, cards } = batchesOf(kit);
    const batchId = str(data.batchId);
    if (!isItsCard(pressed, batchId)) return OTHER_BATCH;
    const result = await service.reject(batchId, actor);
    if (!result.batch) return "This batch is unknown to syncbot.";
    if (result.ok) cards.changed(batchId, { immediate: true });
    return cards.render(batchId, result.ok ? undefined : result.reason);
  },
};

const retry: CardAction = {
  verb: "batch.retry",
  on: ["batch"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const { service, cards } = batchesOf(kit);
    const batchId = str(data.batchId);
    if (!isItsCard(pressed, batchId)) return OTHER_BATCH;
    const customer = str(data.customer).toLowerCase();
    // The re-plan reads live state: answered now, decided after the answer.
    afterResponse(context, () => {
      void service
        .retry(batchId, customer, actor)
        .then(() => cards.changed(batchId, { immediate: true }))
        .catch((e) => kit.log.error("batch retry failed", { batchId, error: describeError(e).message }));
    });
    return cards.render(
      batchId,
      `${actor.name} pressed Retry for ${truncate(customer, 40)}: reading its live state again…`,
    );
  },
};

const approveMember: CardAction = {
  verb: "batch.approveMember",
  on: ["batch"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const { service, cards } = batchesOf(kit);
    const batchId = str(data.batchId);
    if (!isItsCard(pressed, batchId)) return OTHER_BATCH;
    const credential = await credentialOf(context, kit);
    if (credential && "badCode" in credential) return (await signInAnswer(context, kit, "bad_code", ""))!;
    const customer = str(data.customer).toLowerCase();
    const result = await service.approveMember(batchId, customer, actor, data.planHash, credential);
    if (!result.batch) return "This batch is unknown to syncbot.";
    if (!result.ok)
      return (
        (await signInAnswer(context, kit, result.code, result.reason)) ??
        cards.render(batchId, `${actor.name} pressed Approve: refused. ${result.reason}`)
      );
    cards.changed(batchId, { immediate: true });
    return cards.render(batchId);
  },
};

export const batchActions: CardAction[] = [review, approve, reject, retry, approveMember];
