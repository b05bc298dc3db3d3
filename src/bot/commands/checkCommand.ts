// `check <customer>`: live drift between the registration/UMP and the desired spec (reads only).

import { isCustomerSlug } from "../../domain/spec";
import type { Command } from "../botKit";
import { driftCard } from "../cards/driftCard";
import { truncate } from "../truncate";

export const checkCommand: Command = {
  name: "check",
  async run(context, args, _actor, kit) {
    const customer = (args[0] ?? "").toLowerCase();
    const report = isCustomerSlug(customer) ? await kit.provisioning.check(customer) : null;
    if (!report)
      return void (await context.sendActivity(
        `syncbot manages no registration for "${truncate(args[0] ?? "", 40)}". Use provision first.`,
      ));
    await kit.messenger.sendCard(context, driftCard(customer, report.params, report.differences));
  },
};
