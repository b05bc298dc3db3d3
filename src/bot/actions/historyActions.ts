// Next page on the history card: the next page replaces the shared card for everyone in the
// conversation (the invoke answer alone would change it for the presser only), and only on the history
// message of the same customer.

import { isCustomerSlug } from "../../domain/spec";
import { answerInTime } from "../answerInTime";
import type { CardAction, InvokeAnswer } from "../botKit";
import { HISTORY_PAGE_SIZE, historyCard } from "../cards/historyCard";

const nextPage: CardAction = {
  verb: "history.more",
  on: ["history"],
  async run(context, data, kit, pressed) {
    const customer = String(data.customer ?? "");
    if (!isCustomerSlug(customer)) return "Unknown customer.";
    if (pressed.subject !== customer) return "This card shows another customer's history; nothing was changed.";
    const work = (async (): Promise<InvokeAnswer> => {
      const page = await kit.repo.listAudit(customer, {
        limit: HISTORY_PAGE_SIZE,
        after: typeof data.after === "string" ? data.after : undefined,
      });
      const card = historyCard(customer, page.events, page.next);
      await kit.messenger.updatePressedCard(context, card, { kind: "history", subject: customer });
      return card;
    })();
    return answerInTime(kit.log, work, "Reading the next page…");
  },
};

export const historyActions: CardAction[] = [nextPage];
