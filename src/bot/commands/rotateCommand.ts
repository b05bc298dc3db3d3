// `rotate <customer> [service]`: posts an approval-gated plan for a new client secret.

import { referenceOf } from "../actorOf";
import type { Command } from "../botKit";
import { approvalCard } from "../cards/approvalCard";
import { planRotation } from "../planRotation";
import { postInTime } from "../postInTime";

export const rotateCommand: Command = {
  name: "rotate",
  async run(context, args, actor, kit) {
    if (!actor)
      return void (await context.sendActivity("syncbot cannot tell who you are (no Entra object id on the message)."));
    const customer = (args[0] ?? "").toLowerCase();
    const work = planRotation(referenceOf(context), kit, customer, args[1], actor).then((outcome) =>
      typeof outcome === "string" ? outcome : { card: approvalCard(kit.cardView(outcome)), requestId: outcome.id },
    );
    await postInTime(context, kit, work, {
      title: `Rotate the secret for ${customer}: preparing the plan`,
      text: "Reading the live registration and UMP settings…",
    });
  },
};
