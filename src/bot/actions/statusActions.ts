// Next page on the status card: the next page of registrations replaces the shared card for everyone,
// and only on a status overview message (never on another card whose id a press names).

import { answerInTime } from "../answerInTime";
import type { CardAction, InvokeAnswer } from "../botKit";
import { STATUS_OVERVIEW, statusOverview } from "../commands/statusCommand";

const nextPage: CardAction = {
  verb: "status.page",
  on: ["status"],
  async run(context, data, kit, pressed) {
    if (pressed.subject !== STATUS_OVERVIEW.subject) return "This card has no further pages; nothing was changed.";
    const page = Number(data.page);
    const work = (async (): Promise<InvokeAnswer> => {
      const card = await statusOverview(kit, Number.isInteger(page) && page > 0 ? page : 1);
      await kit.messenger.updatePressedCard(context, card, STATUS_OVERVIEW);
      return card;
    })();
    return answerInTime(kit.log, work, "Reading the next page…");
  },
};

export const statusActions: CardAction[] = [nextPage];
