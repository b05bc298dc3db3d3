// `status [customer]`: the registrations syncbot manages, with secret countdowns, UMP state and drift.

import type { Command } from "../botKit";
import { statusCard } from "../cards/statusCard";
import { truncate } from "../truncate";

export const statusCommand: Command = {
  name: "status",
  async run(context, args, _actor, kit) {
    const customer = args[0];
    const all = await kit.repo.listRegistrations();
    const regs = customer ? all.filter((r) => r.customer === customer.toLowerCase()) : all;
    if (customer && regs.length === 0)
      return void (await context.sendActivity(`syncbot manages no registration for "${truncate(customer, 40)}".`));
    const drift = new Map<string, string>();
    for (const r of regs)
      if (r.attention) drift.set(r.customer, `NEEDS ATTENTION: ${r.attention.reason} (check ${r.customer} settles it)`);
      else if (r.lastVerification && !r.lastVerification.ok)
        drift.set(r.customer, "DRIFT: last verification found differences");
    await kit.messenger.sendCard(
      context,
      statusCard(
        regs,
        kit.clock.now(),
        drift,
        customer ? `Status of ${customer}` : `Registrations managed by syncbot (${regs.length})`,
      ),
    );
  },
};
