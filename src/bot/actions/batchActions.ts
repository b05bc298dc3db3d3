// The batch card's buttons: Review plan (the pasted list), Approve / Reject (the whole batch), Retry
// and Approve on one customer's line. Decisions are made on the stored batch and the presser's
// identity; slow work (live reads, runs) continues after the invoke is answered and reaches everyone
// through the coalesced card updates.

import { parseBatchLines } from "../../domain/batches/batchRecords";
import { describeError } from "../../domain/errors";
import { actorOf, referenceOf, UNIDENTIFIED } from "../actorOf";
import { afterResponse } from "../afterResponse";
import type { BotKit, CardAction } from "../botKit";
import { batchListCard } from "../cards/batchCard";
import { credentialOf, signInAnswer } from "../stepUpSignIn";
import { truncate } from "../truncate";

const str = (v: unknown) => (typeof v === "string" ? v : "");

function batchesOf(kit: BotKit) {
  if (!kit.batches) throw new Error("batches are not wired");
  return kit.batches;
}

const review: CardAction = {
  verb: "batch.review",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const { service, cards } = batchesOf(kit);
    const text = truncate(str(data.customers), 40_000);
    const lines = parseBatchLines(text, kit.config.defaults);
    if (lines.length === 0) return batchListCard({ lines: text, error: "Enter at least one customer." });
    const batch = await service.create({
      lines,
      requester: actor,
      tenantId: kit.config.spTenantId,
      conversation: referenceOf(context),
    });
    if (context.activity.replyToId) await service.attachCard(batch.id, context.activity.replyToId);
    // The live reads take a while for many customers: the answer says so, the plan follows as an update.
    afterResponse(context, () => {
      void service
        .plan(batch.id)
        .catch((e) => kit.log.error("batch planning failed", { batchId: batch.id, error: describeError(e).message }));
    });
    cards.changed(batch.id, { immediate: true });
    return cards.render(batch.id);
  },
};

const approve: CardAction = {
  verb: "batch.approve",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const { service, cards } = batchesOf(kit);
    const batchId = str(data.batchId);
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
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const { service, cards } = batchesOf(kit);
    const batchId = str(data.batchId);
    const result = await service.reject(batchId, actor);
    if (!result.batch) return "This batch is unknown to syncbot.";
    if (result.ok) cards.changed(batchId, { immediate: true });
    return cards.render(batchId, result.ok ? undefined : result.reason);
  },
};

const retry: CardAction = {
  verb: "batch.retry",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const { service, cards } = batchesOf(kit);
    const batchId = str(data.batchId);
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
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const { service, cards } = batchesOf(kit);
    const batchId = str(data.batchId);
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
