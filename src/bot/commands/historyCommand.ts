// `history <customer>`: the audit trail, newest first, one page at a time.

import { isCustomerSlug } from "../../domain/spec";
import type { Command } from "../botKit";
import { HISTORY_PAGE_SIZE, historyCard } from "../cards/historyCard";

export const historyCommand: Command = {
  name: "history",
  async run(context, args, _actor, kit) {
    const customer = (args[0] ?? "").toLowerCase();
    if (!isCustomerSlug(customer)) return void (await context.sendActivity("Usage: history <customer>"));
    const page = await kit.repo.listAudit(customer, { limit: HISTORY_PAGE_SIZE });
    await kit.messenger.sendCard(context, historyCard(customer, page.events, page.next), {
      kind: "history",
      subject: customer,
    });
  },
};
