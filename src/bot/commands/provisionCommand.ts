// `provision <customer>`: the parameters card, pre-filled from the stored registration or the defaults.
// `provision <customer> <customer> …`: the batch card's list, one customer per line (issue 13).

import { isCustomerSlug, type ProvisionParameters, validateParameters } from "../../domain/spec";
import type { Command } from "../botKit";
import { batchListCard } from "../cards/batchCard";
import { parametersCard } from "../cards/parametersCard";

type ParametersDefaults = Partial<Record<keyof ProvisionParameters, string | number>>;

export const provisionCommand: Command = {
  name: "provision",
  async run(context, args, _actor, kit) {
    const customer = (args[0] ?? "").toLowerCase();
    if (!customer) return void (await context.sendActivity("Usage: provision <customer>, e.g. provision contoso"));
    if (args.length > 1 && kit.batches)
      return void (await kit.messenger.sendCard(context, batchListCard({ lines: args.slice(0, 500).join("\n") }), {
        kind: "batchList",
        subject: "",
      }));
    const { defaults } = kit.config;
    const existing = isCustomerSlug(customer) ? await kit.repo.getRegistration(customer) : null;
    const values: ParametersDefaults = existing
      ? { ...existing.params }
      : {
          customer,
          appName: customer.slice(0, 63),
          serviceProviderFqdn: defaults.serviceProviderFqdn ?? "",
          displayName: `UMP-365 Delegated Token Sync - ${customer}`,
          umpInstance: (defaults.umpInstance ?? "").replaceAll("{customer}", customer),
          secretLifetimeMonths: 24,
        };
    const errors = isCustomerSlug(customer)
      ? undefined
      : validateParameters({ customer }).ok
        ? undefined
        : { customer: "Use lower-case letters, digits and hyphens (e.g. contoso)." };
    await kit.messenger.sendCard(context, parametersCard({ values, errors }), {
      kind: "parameters",
      subject: customer,
    });
  },
};
