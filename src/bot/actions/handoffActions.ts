// Applied in UMP, pressed by the operator in the hand-off's personal chat: the confirmation replaces
// the hand-off card (through the Bot Connector, so every client of that chat shows it).

import { actorOf, UNIDENTIFIED } from "../actorOf";
import { answerInTime } from "../answerInTime";
import type { CardAction, InvokeAnswer } from "../botKit";
import { handoffCard } from "../cards/handoffCard";
import { credentialOf, signInAnswer } from "../stepUpSignIn";

const applied: CardAction = {
  verb: "handoff.applied",
  on: ["handoff"],
  async run(context, data, kit, pressed) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const requestId = typeof data.requestId === "string" ? data.requestId : "";
    if (pressed.subject !== requestId) return "This card shows another hand-off; nothing was changed.";
    const work = (async (): Promise<InvokeAnswer> => {
      const credential = await credentialOf(context, kit);
      if (credential && "badCode" in credential) return (await signInAnswer(context, kit, "bad_code", ""))!;
      const result = await kit.provisioning.handoffApplied(requestId, actor, credential);
      const signIn = result.ok ? undefined : await signInAnswer(context, kit, result.code, result.reason);
      if (signIn) return signIn;
      const card = handoffCard({
        title: "Hand-off",
        body: result.ok ? `Recorded: applied in UMP by ${actor.name}. syncbot finishes the run.` : result.reason,
        requestId,
        showButtons: false,
      });
      if (result.ok) await kit.messenger.updatePressedCard(context, card, { kind: "handoff", subject: requestId });
      return card;
    })();
    return answerInTime(kit.log, work, "Recording your confirmation…");
  },
};

export const handoffActions: CardAction[] = [applied];
