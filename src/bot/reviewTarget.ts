// Where Review plan's outcome goes (issue 20: a bystander put their own plan on someone else's pending
// approval card, and the approver approved what the card's title said was another request). A form
// (parameters, drift) becomes the card of what is planned on it, once, by compare-and-set on the
// message's binding; a pending plan's card takes only its own requester's re-plan of the same customer,
// which withdraws the earlier plan and shows what changed; everything else is posted as a new message.

import { describeError } from "../domain/errors";
import type { CardSubject, MessageBinding } from "../domain/messageBindings";
import { describeChange } from "../domain/plan";
import type { Actor, ConversationRef } from "../domain/records";
import type { ProvisionParameters } from "../domain/spec";
import type { BotKit, InvokeAnswer } from "./botKit";
import { approvalCard } from "./cards/approvalCard";
import type { Card } from "./cards/renderCard";

export interface ReviewShown {
  card: Card;
  /** What the card shows (its message's binding). */
  as: CardSubject;
  /** Set when a request was planned: the card is then its approval card. */
  requestId?: string;
}

/** Whether this press may put its outcome on the pressed message (otherwise: a new message). */
export async function takesOver(
  kit: BotKit,
  pressed: MessageBinding,
  actor: Actor,
  params: ProvisionParameters,
): Promise<boolean> {
  if (pressed.kind !== "approval") return true;
  const shown = await kit.repo.getRequest(pressed.subject);
  return (
    !!shown &&
    shown.state === "planned" &&
    shown.kind === "provision" &&
    !shown.batchId &&
    shown.requester.id === actor.id &&
    shown.customer === params.customer
  );
}

/** Puts the outcome on the pressed message when it still may (else posts it); resolves the presser's answer. */
export async function settleOnPressed(
  kit: BotKit,
  reference: ConversationRef,
  pressed: MessageBinding,
  actor: Actor,
  outcome: ReviewShown,
): Promise<InvokeAnswer> {
  if (pressed.kind === "approval") {
    // The requester's re-plan came back with errors (or nothing to do): the pending plan stays on the card.
    if (!outcome.requestId) return outcome.card;
    return replan(kit, reference, pressed, actor, outcome.requestId, outcome);
  }
  const from = { kind: pressed.kind, subject: pressed.subject };
  if (!(await kit.messenger.bindings.rebind(pressed.conversationId, pressed.activityId, from, outcome.as)))
    return postNew(kit, reference, outcome);
  if (outcome.requestId) await kit.provisioning.attachCard(outcome.requestId, pressed.activityId);
  await show(kit, reference, pressed.activityId, outcome.card);
  return outcome.card;
}

async function replan(
  kit: BotKit,
  reference: ConversationRef,
  pressed: MessageBinding,
  actor: Actor,
  nextId: string,
  outcome: ReviewShown,
): Promise<InvokeAnswer> {
  const bindings = kit.messenger.bindings;
  const earlier = await kit.repo.getRequest(pressed.subject);
  const next = { kind: "approval", subject: nextId } as const;
  // The message moves first, so the withdrawn plan's "rejected" state never lands on it.
  if (!earlier || !(await bindings.rebind(pressed.conversationId, pressed.activityId, pressed, next)))
    return postNew(kit, reference, outcome);
  const withdrawn = await kit.provisioning.reject(earlier.id, actor);
  if (!withdrawn.ok) {
    // Approved (or expired) meanwhile: the card goes back to that request, this plan to a new message.
    await bindings.rebind(pressed.conversationId, pressed.activityId, next, pressed);
    const current = await kit.repo.getRequest(earlier.id);
    if (current) kit.onRequestChanged(current);
    return postNew(kit, reference, outcome);
  }
  const replaces = {
    requestId: earlier.id,
    params: earlier.params,
    planHash: earlier.plan.hash,
    changes: earlier.plan.changes.slice(0, 40).map(describeChange),
  };
  const saved = await kit.repo.updateRequest(nextId, (r) => ({ ...r, replaces }));
  await kit.provisioning.attachCard(nextId, pressed.activityId);
  const card = saved
    ? approvalCard(kit.cardView({ ...saved.value, cardActivityId: pressed.activityId }))
    : outcome.card;
  await show(kit, reference, pressed.activityId, card);
  return card;
}

async function postNew(kit: BotKit, reference: ConversationRef, outcome: ReviewShown): Promise<InvokeAnswer> {
  const id = await kit.messenger.post(reference, outcome.card, outcome.requestId ? undefined : outcome.as);
  if (id && outcome.requestId) await kit.attachRequestCard(outcome.requestId, reference, id);
  return "This card already shows another request and stays as it is: your plan is posted as a new message.";
}

async function show(kit: BotKit, reference: ConversationRef, cardId: string, card: Card): Promise<void> {
  await kit.messenger
    .updateCard(reference, cardId, card)
    .catch((e) => kit.log.warn("card update failed", { error: describeError(e).message }));
}
