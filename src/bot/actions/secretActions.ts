// Rotate secret (status and reminder cards) and Snooze (reminder card).

import { actorOf, UNIDENTIFIED } from "../actorOf";
import type { CardAction } from "../botKit";
import { approvalCard } from "../cards/approvalCard";
import { reminderCard } from "../cards/reminderCard";
import { planRotation } from "../planRotation";

const rotate: CardAction = {
  verb: "secret.rotate",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const customer = typeof data.customer === "string" ? data.customer : "";
    const service = typeof data.service === "string" ? data.service : undefined;
    const outcome = await planRotation(context, kit, customer, service, actor);
    if (typeof outcome === "string") return outcome;
    if (context.activity.replyToId) await kit.provisioning.attachCard(outcome.id, context.activity.replyToId);
    return approvalCard(kit.cardView(outcome));
  },
};

const snooze: CardAction = {
  verb: "reminder.snooze",
  async run(context, data, kit) {
    const actor = actorOf(context);
    if (!actor) return UNIDENTIFIED;
    const sweeper = kit.sweeper();
    if (!sweeper) return "Reminders are not configured.";
    const result = await sweeper.snooze(String(data.customer ?? ""), String(data.keyId ?? ""), actor);
    if (!result.ok) return result.reason;
    return reminderCard({
      ...result.view,
      showButtons: true,
      notice: `Snoozed until ${result.until.slice(0, 10)} by ${actor.name}.`,
    });
  },
};

export const secretActions: CardAction[] = [rotate, snooze];
