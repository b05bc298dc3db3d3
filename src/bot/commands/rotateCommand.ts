// `rotate <customer> [service]`: posts an approval-gated plan for a new client secret.

import type { Command } from "../botKit";
import { approvalCard } from "../cards/approvalCard";
import { referenceOf } from "../actorOf";
import { planRotation } from "../planRotation";

export const rotateCommand: Command = {
  name: "rotate",
  async run(context, args, actor, kit) {
    if (!actor)
      return void (await context.sendActivity("syncbot cannot tell who you are (no Entra object id on the message)."));
    const outcome = await planRotation(referenceOf(context), kit, (args[0] ?? "").toLowerCase(), args[1], actor);
    if (typeof outcome === "string") return void (await context.sendActivity(outcome));
    const sent = await kit.messenger.sendCard(context, approvalCard(kit.cardView(outcome)));
    if (sent?.id) await kit.provisioning.attachCard(outcome.id, sent.id);
  },
};
