// Approve and Reject on the approval card. Every decision is made on the stored request and the
// presser's identity; the run starts only after the invoke is answered.

import { describeError } from "../../domain/errors";
import { actorOf, referenceOf, UNIDENTIFIED } from "../actorOf";
import { afterResponse } from "../afterResponse";
import type { CardAction } from "../botKit";
import { approvalCard } from "../cards/approvalCard";

const approve: CardAction = {
  verb: "approval.approve",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const requestId = typeof data.requestId === "string" ? data.requestId : "";
    const result = await kit.provisioning.approve(requestId, actor, data.planHash);
    if (!result.request) return "This request is unknown to syncbot.";
    if (!result.ok)
      return approvalCard(kit.cardView(result.request, `${actor.name} pressed Approve: refused. ${result.reason}`));
    // Binds only a request without a card, and only from its own conversation.
    if (context.activity.replyToId && !result.request.cardActivityId)
      await kit.provisioning.attachCard(requestId, context.activity.replyToId, referenceOf(context));
    afterResponse(context, () => {
      void kit.provisioning
        .execute(requestId)
        .catch((e) => kit.log.error("run failed", { requestId, error: describeError(e).message }));
    });
    return approvalCard(kit.cardView(result.request));
  },
};

const reject: CardAction = {
  verb: "approval.reject",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const result = await kit.provisioning.reject(typeof data.requestId === "string" ? data.requestId : "", actor);
    if (!result.request) return "This request is unknown to syncbot.";
    return approvalCard(kit.cardView(result.request, result.ok ? undefined : result.reason));
  },
};

export const approvalActions: CardAction[] = [approve, reject];
