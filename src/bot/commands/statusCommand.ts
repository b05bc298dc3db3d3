// `status [customer]`: a summary of every registration syncbot manages (counts by health, soonest
// expiries) with the first page of registrations, problems first; or one customer in full.

import { isCustomerSlug } from "../../domain/spec";
import type { BotKit, Command } from "../botKit";
import type { Card } from "../cards/renderCard";
import { assessRegistrations, statusCard } from "../cards/statusCard";
import { echo } from "../cards/markdownText";

export const statusCommand: Command = {
  name: "status",
  async run(context, args, _actor, kit) {
    const customer = args[0]?.toLowerCase();
    if (!customer) return void (await kit.messenger.sendCard(context, await statusOverview(kit, 1), STATUS_OVERVIEW));
    const registration = isCustomerSlug(customer) ? await kit.repo.getRegistration(customer) : null;
    if (!registration)
      return void (await context.sendActivity(`syncbot manages no registration for "${echo(args[0]!)}".`));
    const entries = assessRegistrations([registration], kit.clock.now(), await failedCustomers(kit));
    await kit.messenger.sendCard(
      context,
      statusCard({ entries, now: kit.clock.now(), title: `Status of ${customer}`, single: true }),
      { kind: "status", subject: customer },
    );
  },
};

/** What the overview's message shows, whichever page: every registration (no single customer). */
export const STATUS_OVERVIEW = { kind: "status", subject: "" } as const;

/** One page of the overview (page 1 opens with the summary). */
export async function statusOverview(kit: BotKit, page: number): Promise<Card> {
  const all = await kit.repo.listRegistrations();
  const now = kit.clock.now();
  const entries = assessRegistrations(all, now, await failedCustomers(kit));
  return statusCard({ entries, now, page, title: `Registrations managed by syncbot (${all.length})` });
}

/** Customers whose newest request failed (a provisioning or rotation that needs attention). */
async function failedCustomers(kit: BotKit): Promise<Set<string>> {
  const newest = new Map<string, { at: string; failed: boolean }>();
  for (const r of await kit.repo.listRequests()) {
    const known = newest.get(r.customer);
    if (!known || r.createdAt > known.at) newest.set(r.customer, { at: r.createdAt, failed: r.state === "failed" });
  }
  return new Set([...newest].filter(([, v]) => v.failed).map(([customer]) => customer));
}
