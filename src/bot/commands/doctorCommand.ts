// `doctor`: syncbot's own standing (Graph reachable and permissions, UMP, store, clock, bot identity),
// the same checks as `npm run doctor`. Reads only; anyone in the tenant may ask.

import type { Command } from "../botKit";
import { doctorCard } from "../cards/doctorCard";

export const doctorCommand: Command = {
  name: "doctor",
  async run(context, _args, _actor, kit) {
    const lines = await kit.doctor();
    await kit.messenger.sendCard(context, doctorCard(lines));
  },
};
