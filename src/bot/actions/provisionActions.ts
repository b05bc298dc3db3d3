// Review plan (parameters card; also failed/expired approval cards and the drift card). The form is
// validated at once (errors come back next to the fields, nothing is written); the live reads never hold
// the invoke past its budget, and the plan with Approve and Reject reaches everyone as a shared card.
// A card shows one request for its whole life: a form (parameters, drift) becomes the card of the first
// plan made on it; a pending plan's card takes only its own requester's re-plan; any other press posts
// its plan as a new message (reviewTarget.ts decides, domain/messageBindings.ts records).

import { describeError } from "../../domain/errors";
import type { CardSubject, MessageBinding } from "../../domain/messageBindings";
import type { Actor, ConversationRef } from "../../domain/records";
import { PARAMETER_FIELDS, type ProvisionParameters, validateParameters } from "../../domain/spec";
import { actorOf, referenceOf, UNIDENTIFIED } from "../actorOf";
import { afterResponse } from "../afterResponse";
import type { BotKit, CardAction, InvokeAnswer } from "../botKit";
import { approvalCard } from "../cards/approvalCard";
import { driftCard } from "../cards/driftCard";
import { parametersCard } from "../cards/parametersCard";
import { progressCard } from "../cards/progressCard";
import type { Card } from "../cards/renderCard";
import { guardReview } from "../guardReview";
import { type ReviewShown, settleOnPressed, takesOver } from "../reviewTarget";
import { truncate } from "../truncate";

type ParametersDefaults = Partial<Record<keyof ProvisionParameters, string | number>>;

export const reviewPlan: CardAction = {
  verb: "provision.review",
  on: ["parameters", "approval", "drift"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const validated = validateParameters(data);
    if (!validated.ok) return parametersCard({ values: pickParams(data), errors: validated.errors });
    const params = validated.params;
    const reference = referenceOf(context);
    const work = reviewOutcome(kit, reference, params, actor).catch(
      (e): ReviewShown => ({
        card: parametersCard({ values: params, formError: `Could not prepare the plan: ${describeError(e).message}` }),
        as: { kind: "parameters", subject: params.customer },
      }),
    );
    if (!(await takesOver(kit, pressed, actor, params)))
      return elsewhere(context, kit, reference, pressed, params.customer, work);
    const cardId = pressed.activityId;
    if (kit.reviewsInFlight.has(cardId)) return "This plan is already being prepared; the card shows it in a moment.";
    kit.reviewsInFlight.add(cardId);
    const reading = readingCard(params.customer, actor);
    // The live reads race the invoke budget. In time (the usual case), the shared card shows the
    // outcome, then the presser gets the same card as the answer. Late (Graph or UMP throttling), the
    // presser gets "Reading…" now; after the answer, the shared card shows "Reading…", then the outcome.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), REVIEW_BUDGET_MS);
    });
    const first = await Promise.race([work, deadline]);
    clearTimeout(timer);
    if (first !== "late") {
      try {
        return await settleOnPressed(kit, reference, pressed, actor, first);
      } finally {
        kit.reviewsInFlight.delete(cardId);
      }
    }
    kit.log.info("Review plan answered before the live reads finished", { budgetMs: REVIEW_BUDGET_MS });
    afterResponse(context, () => {
      void (async () => {
        // A pending plan's card keeps showing that plan while its requester's re-plan is read.
        if (pressed.kind !== "approval") await show(kit, reference, cardId, reading);
        await settleOnPressed(kit, reference, pressed, actor, await work);
      })()
        .catch((e) => kit.log.error("review failed", { error: describeError(e).message }))
        .finally(() => kit.reviewsInFlight.delete(cardId));
    });
    return reading;
  },
};

export const provisionActions: CardAction[] = [reviewPlan];

/** How long Review plan waits for the live reads before it answers "Reading…" (0: always at once). */
export const REVIEW_BUDGET_MS = 1000;

/**
 * The pressed card shows someone else's pending plan, or a plan that is over: it stays as it is, and
 * this plan (or the form with its errors) is posted as a new message everyone sees.
 */
function elsewhere(
  context: Parameters<CardAction["run"]>[0],
  kit: BotKit,
  reference: ConversationRef,
  pressed: MessageBinding,
  customer: string,
  work: Promise<ReviewShown>,
): InvokeAnswer {
  kit.log.info("Review plan on a card that shows another request: the plan goes to a new message", {
    kind: pressed.kind,
  });
  afterResponse(context, () => {
    void (async () => {
      const outcome = await work;
      const id = await kit.messenger.post(reference, outcome.card, outcome.requestId ? undefined : outcome.as);
      if (id && outcome.requestId) await kit.attachRequestCard(outcome.requestId, reference, id);
    })().catch((e) => kit.log.error("review failed", { error: describeError(e).message }));
  });
  return `This card shows another request and stays as it is. Your plan for ${truncate(customer, 63)} is posted as a new message.`;
}

function readingCard(customer: string, actor: Actor): Card {
  return progressCard({
    title: `Provision for ${customer}: preparing the plan`,
    text: "Reading the live registration and UMP settings…",
    detail: `Review plan pressed by ${actor.name}. The plan with Approve and Reject appears here.`,
  });
}

/** Reads live state and plans; every outcome is a card, and what that card shows. */
async function reviewOutcome(
  kit: BotKit,
  reference: ConversationRef,
  params: ProvisionParameters,
  actor: Actor,
): Promise<ReviewShown> {
  const form: CardSubject = { kind: "parameters", subject: params.customer };
  const outcome = await guardReview(kit.log, () =>
    kit.provisioning.review({
      params,
      kind: "provision",
      requester: actor,
      tenantId: kit.config.spTenantId,
      conversation: reference,
    }),
  );
  if ("error" in outcome) return { card: parametersCard({ values: params, formError: outcome.error }), as: form };
  switch (outcome.kind) {
    case "invalid":
      return { card: parametersCard({ values: params, errors: outcome.errors }), as: form };
    case "busy":
      return { card: parametersCard({ values: params, formError: outcome.reason }), as: form };
    case "nothing-to-do":
      return { card: driftCard(params.customer, params, []), as: { kind: "drift", subject: params.customer } };
    case "planned":
      return {
        card: approvalCard(kit.cardView(outcome.request)),
        as: { kind: "approval", subject: outcome.request.id },
        requestId: outcome.request.id,
      };
  }
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
