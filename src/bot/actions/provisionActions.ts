// Review plan (parameters card; also failed/expired approval cards and the drift card). The form is
// validated at once (errors come back next to the fields, nothing is written); the live reads never hold
// the invoke past its budget, and the shared card shows the plan with Approve and Reject to everyone.

import { describeError } from "../../domain/errors";
import type { Actor, ConversationRef } from "../../domain/records";
import { PARAMETER_FIELDS, type ProvisionParameters, validateParameters } from "../../domain/spec";
import { actorOf, referenceOf, UNIDENTIFIED } from "../actorOf";
import { afterResponse } from "../afterResponse";
import type { BotKit, CardAction } from "../botKit";
import { approvalCard } from "../cards/approvalCard";
import { driftCard } from "../cards/driftCard";
import { parametersCard } from "../cards/parametersCard";
import { progressCard } from "../cards/progressCard";
import type { Card } from "../cards/renderCard";
import { guardReview } from "../guardReview";
import { truncate } from "../truncate";

type ParametersDefaults = Partial<Record<keyof ProvisionParameters, string | number>>;

export const reviewPlan: CardAction = {
  verb: "provision.review",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const validated = validateParameters(data);
    if (!validated.ok) return parametersCard({ values: pickParams(data), errors: validated.errors });
    const params = validated.params;
    const cardId = context.activity.replyToId;
    if (cardId && kit.reviewsInFlight.has(cardId))
      return "This plan is already being prepared; the card shows it in a moment.";
    if (cardId) kit.reviewsInFlight.add(cardId);
    const reference = referenceOf(context);
    const reading = readingCard(params.customer, actor);
    // The live reads race the invoke budget. In time (the usual case), the shared card shows the
    // outcome, then the presser gets the same card as the answer. Late (Graph or UMP throttling), the
    // presser gets "Reading…" now; after the answer, the shared card shows "Reading…", then the outcome.
    const work = reviewOutcome(kit, reference, params, actor).catch(
      (e): ReviewShown => ({
        card: parametersCard({ values: params, formError: `Could not prepare the plan: ${describeError(e).message}` }),
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), REVIEW_BUDGET_MS);
    });
    const first = await Promise.race([work, deadline]);
    clearTimeout(timer);
    if (first !== "late") {
      await settle(kit, reference, cardId, first).finally(() => cardId && kit.reviewsInFlight.delete(cardId));
      return first.card;
    }
    kit.log.info("Review plan answered before the live reads finished", { budgetMs: REVIEW_BUDGET_MS });
    afterResponse(context, () => {
      void (async () => {
        if (cardId) await show(kit, reference, cardId, reading);
        await settle(kit, reference, cardId, await work);
      })()
        .catch((e) => kit.log.error("review failed", { error: describeError(e).message }))
        .finally(() => cardId && kit.reviewsInFlight.delete(cardId));
    });
    return reading;
  },
};

export const provisionActions: CardAction[] = [reviewPlan];

/** How long Review plan waits for the live reads before it answers "Reading…" (0: always at once). */
export const REVIEW_BUDGET_MS = 1000;

function readingCard(customer: string, actor: Actor): Card {
  return progressCard({
    title: `Provision for ${customer}: preparing the plan`,
    text: "Reading the live registration and UMP settings…",
    detail: `Review plan pressed by ${actor.name}. The plan with Approve and Reject appears here.`,
  });
}

interface ReviewShown {
  card: Card;
  /** Set when a request was planned: the card is then its approval card. */
  requestId?: string;
}

/** Reads live state and plans; every outcome is a card for the shared message. */
async function reviewOutcome(
  kit: BotKit,
  reference: ConversationRef,
  params: ProvisionParameters,
  actor: Actor,
): Promise<ReviewShown> {
  const outcome = await guardReview(kit.log, () =>
    kit.provisioning.review({
      params,
      kind: "provision",
      requester: actor,
      tenantId: kit.config.spTenantId,
      conversation: reference,
    }),
  );
  if ("error" in outcome) return { card: parametersCard({ values: params, formError: outcome.error }) };
  switch (outcome.kind) {
    case "invalid":
      return { card: parametersCard({ values: params, errors: outcome.errors }) };
    case "busy":
      return { card: parametersCard({ values: params, formError: outcome.reason }) };
    case "nothing-to-do":
      return { card: driftCard(params.customer, params, []) };
    case "planned":
      return { card: approvalCard(kit.cardView(outcome.request)), requestId: outcome.request.id };
  }
}

/** Records which message shows a planned request and puts the outcome on that shared message. */
async function settle(kit: BotKit, reference: ConversationRef, cardId: string | undefined, outcome: ReviewShown) {
  // Without the pressed card's id (Teams always sends it for Action.Execute; be safe) the outcome is a new message.
  const target = cardId ?? (await kit.messenger.post(reference, outcome.card));
  if (target && outcome.requestId) await kit.provisioning.attachCard(outcome.requestId, target);
  if (cardId) await show(kit, reference, cardId, outcome.card);
}

async function show(kit: BotKit, reference: ConversationRef, cardId: string, card: Card): Promise<void> {
  await kit.messenger
    .updateCard(reference, cardId, card)
    .catch((e) => kit.log.warn("card update failed", { error: describeError(e).message }));
}

function pickParams(data: Record<string, unknown>): ParametersDefaults {
  const out: ParametersDefaults = {};
  for (const k of PARAMETER_FIELDS) {
    const v = data[k];
    if (typeof v === "string" || typeof v === "number") out[k] = truncate(String(v), 300);
  }
  return out;
}
