// The history card's paging button.

import { isCustomerSlug } from "../../domain/spec";
import type { CardAction } from "../botKit";
import { historyCard } from "../cards/historyCard";

const more: CardAction = {
  verb: "history.more",
  async run(_context, data, kit) {
    const customer = String(data.customer ?? "");
    if (!isCustomerSlug(customer)) return "Unknown customer.";
    const page = await kit.repo.listAudit(customer, {
      limit: 20,
      after: typeof data.after === "string" ? data.after : undefined,
    });
    return historyCard(customer, page.events, page.next);
  },
};

export const historyActions: CardAction[] = [more];
