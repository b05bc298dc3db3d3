// Next page on the status card: the next page of registrations replaces the shared card for everyone.

import { answerInTime } from "../answerInTime";
import type { CardAction, InvokeAnswer } from "../botKit";
import { statusOverview } from "../commands/statusCommand";

const nextPage: CardAction = {
  verb: "status.page",
  async run(context, data, kit) {
    const page = Number(data.page);
    const work = (async (): Promise<InvokeAnswer> => {
      const card = await statusOverview(kit, Number.isInteger(page) && page > 0 ? page : 1);
      await kit.messenger.updatePressedCard(context, card);
      return card;
    })();
    return answerInTime(kit.log, work, "Reading the next page…");
  },
};

export const statusActions: CardAction[] = [nextPage];
