// Approve and Reject on the approval card. Every decision is made on the stored request and the
// presser's identity. An accepted decision reaches everyone through the request's shared card (the
// domain's onChange); a refusal's reason goes to the presser alone, unless it comes too late for the
// invoke answer, when the shared card shows it. The run starts only after the invoke is answered.

import { describeError } from "../../domain/errors";
import type { Actor } from "../../domain/records";
import { actorOf, referenceOf, UNIDENTIFIED } from "../actorOf";
import { afterResponse } from "../afterResponse";
import { answerInTime } from "../answerInTime";
import type { BotKit, CardAction, InvokeAnswer } from "../botKit";
import { approvalCard } from "../cards/approvalCard";
import type { Card } from "../cards/renderCard";
import { credentialOf, signInAnswer } from "../stepUpSignIn";

const approve: CardAction = {
  verb: "approval.approve",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const requestId = typeof data.requestId === "string" ? data.requestId : "";
    const pressedCardId = context.activity.replyToId;
    let refusal: Card | undefined;
    const work = (async (): Promise<InvokeAnswer> => {
      const credential = await credentialOf(context, kit);
      if (credential && "badCode" in credential) return (await signInAnswer(context, kit, "bad_code", ""))!;
      const result = await kit.provisioning.approve(requestId, actor, data.planHash, credential);
      if (!result.request) return "This request is unknown to syncbot.";
      if (!result.ok) {
        const signIn = await signInAnswer(context, kit, result.code, result.reason);
        if (signIn) return signIn;
        refusal = approvalCard(
          kit.cardView(result.request, `${actor.name} pressed Approve: refused. ${result.reason}`),
        );
        return refusal;
      }
      await showOn(kit, context, pressedCardId, result.request.id, result.request.cardActivityId);
      afterResponse(context, () => {
        void kit.provisioning
          .execute(requestId)
          .catch((e) => kit.log.error("run failed", { requestId, error: describeError(e).message }));
      });
      return approvalCard(kit.cardView(result.request));
    })();
    return answerInTime(kit.log, work, checking(actor, "approve"), (answer) =>
      lateRefusal(context, kit, answer, refusal),
    );
  },
};

const reject: CardAction = {
  verb: "approval.reject",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const requestId = typeof data.requestId === "string" ? data.requestId : "";
    let refusal: Card | undefined;
    const work = (async (): Promise<InvokeAnswer> => {
      const result = await kit.provisioning.reject(requestId, actor);
      if (!result.request) return "This request is unknown to syncbot.";
      if (!result.ok) {
        refusal = approvalCard(kit.cardView(result.request, result.reason));
        return refusal;
      }
      await showOn(kit, context, context.activity.replyToId, result.request.id, result.request.cardActivityId);
      return approvalCard(kit.cardView(result.request));
    })();
    return answerInTime(kit.log, work, checking(actor, "reject"), (answer) =>
      lateRefusal(context, kit, answer, refusal),
    );
  },
};

export const approvalActions: CardAction[] = [approve, reject];

function checking(actor: Actor, what: "approve" | "reject"): string {
  return `${actor.name}: syncbot is checking your ${what === "approve" ? "approval" : "rejection"}; the card updates for everyone when it is recorded.`;
}

/**
 * A decision pressed on another copy of the request's card (e.g. a re-posted one): that message becomes
 * the request's card from now on, so later states reach the copy people are looking at.
 */
async function showOn(
  kit: BotKit,
  context: Parameters<CardAction["run"]>[0],
  pressedCardId: string | undefined,
  requestId: string,
  current?: string,
) {
  if (!pressedCardId || pressedCardId === current) return;
  // Binds only a request without a card, and only from its own conversation (a press elsewhere never re-points it).
  await kit.provisioning.attachCard(requestId, pressedCardId, referenceOf(context));
  const request = await kit.repo.getRequest(requestId);
  if (request) kit.onRequestChanged(request);
}

/** The presser no longer waits for the answer: a late refusal is shown on the shared card instead. */
async function lateRefusal(
  context: Parameters<CardAction["run"]>[0],
  kit: BotKit,
  answer: InvokeAnswer,
  refusal: Card | undefined,
) {
  if (refusal && answer === refusal) await kit.messenger.updatePressedCard(context, refusal);
}
