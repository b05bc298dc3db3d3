// Approve and Reject on the approval card. Every decision is made on the stored request and the
// presser's identity. An accepted decision reaches everyone through the request's shared card (the
// domain's onChange); a refusal's reason goes to the presser alone, unless it comes too late for the
// invoke answer, when the shared card shows it. The run starts only after the invoke is answered.
// A decision counts only on the message that shows that very request (its binding): a copy elsewhere,
// or a forged message id, is refused with nothing changed.

import { describeError } from "../../domain/errors";
import type { Actor } from "../../domain/records";
import type { MessageBinding } from "../../domain/messageBindings";
import { actorOf, UNIDENTIFIED } from "../actorOf";
import { afterResponse } from "../afterResponse";
import { answerInTime } from "../answerInTime";
import type { BotKit, CardAction, InvokeAnswer } from "../botKit";
import { approvalCard } from "../cards/approvalCard";
import type { Card } from "../cards/renderCard";
import { credentialOf, signInAnswer } from "../stepUpSignIn";

const approve: CardAction = {
  verb: "approval.approve",
  on: ["approval"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const requestId = typeof data.requestId === "string" ? data.requestId : "";
    if (!isItsCard(pressed, requestId)) return OTHER_REQUEST;
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
      afterResponse(context, () => {
        void kit.provisioning
          .execute(requestId)
          .catch((e) => kit.log.error("run failed", { requestId, error: describeError(e).message }));
      });
      return approvalCard(kit.cardView(result.request));
    })();
    return answerInTime(kit.log, work, checking(actor, "approve"), (answer) =>
      lateRefusal(context, kit, answer, refusal, requestId),
    );
  },
};

const reject: CardAction = {
  verb: "approval.reject",
  on: ["approval"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const requestId = typeof data.requestId === "string" ? data.requestId : "";
    if (!isItsCard(pressed, requestId)) return OTHER_REQUEST;
    let refusal: Card | undefined;
    const work = (async (): Promise<InvokeAnswer> => {
      const result = await kit.provisioning.reject(requestId, actor);
      if (!result.request) return "This request is unknown to syncbot.";
      if (!result.ok) {
        refusal = approvalCard(kit.cardView(result.request, result.reason));
        return refusal;
      }
      return approvalCard(kit.cardView(result.request));
    })();
    return answerInTime(kit.log, work, checking(actor, "reject"), (answer) =>
      lateRefusal(context, kit, answer, refusal, requestId),
    );
  },
};

export const approvalActions: CardAction[] = [approve, reject];

function checking(actor: Actor, what: "approve" | "reject"): string {
  return `${actor.name}: syncbot is checking your ${what === "approve" ? "approval" : "rejection"}; the card updates for everyone when it is recorded.`;
}

const OTHER_REQUEST = "This card shows another request; nothing was changed.";

function isItsCard(pressed: MessageBinding, requestId: string): boolean {
  return pressed.kind === "approval" && pressed.subject === requestId && requestId !== "";
}

/** The presser no longer waits for the answer: a late refusal is shown on the shared card instead. */
async function lateRefusal(
  context: Parameters<CardAction["run"]>[0],
  kit: BotKit,
  answer: InvokeAnswer,
  refusal: Card | undefined,
  requestId: string,
) {
  if (refusal && answer === refusal)
    await kit.messenger.updatePressedCard(context, refusal, { kind: "approval", subject: requestId });
}
