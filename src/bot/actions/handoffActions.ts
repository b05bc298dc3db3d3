// Applied in UMP, pressed by the operator in the hand-off's personal chat.

import { actorOf, UNIDENTIFIED } from "../actorOf";
import type { CardAction } from "../botKit";
import { handoffCard } from "../cards/handoffCard";

const applied: CardAction = {
  verb: "handoff.applied",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const result = await kit.provisioning.handoffApplied(String(data.requestId ?? ""), actor);
    return handoffCard({
      title: "Hand-off",
      body: result.ok ? `Recorded: applied in UMP by ${actor.name}. syncbot finishes the run.` : result.reason,
      requestId: String(data.requestId ?? ""),
      showButtons: false,
    });
  },
};

export const handoffActions: CardAction[] = [applied];
