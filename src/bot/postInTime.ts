// A command whose answer needs live reads (rotate, check) must not hold Teams' HTTP request while Graph
// or UMP throttle (Teams gives a turn about 15 s). The reads race a budget: in time, the answer is
// posted as it is; late, a "reading…" card is posted now and replaced by the answer when it comes.

import type { TurnContext } from "botbuilder";
import { describeError } from "../domain/errors";
import type { CardSubject } from "../domain/messageBindings";
import { referenceOf } from "./actorOf";
import { afterResponse } from "./afterResponse";
import type { BotKit } from "./botKit";
import { progressCard } from "./cards/progressCard";
import type { Card } from "./cards/renderCard";

export const COMMAND_BUDGET_MS = 1500;

/**
 * What a command posts: a card (optionally the card of a request, attached once posted, or another card
 * with buttons and what it shows) or a text.
 */
export type CommandAnswer = { card: Card; requestId?: string; as?: CardSubject } | string;

export async function postInTime(
  context: TurnContext,
  kit: BotKit,
  work: Promise<CommandAnswer>,
  pending: { title: string; text: string },
  budgetMs = COMMAND_BUDGET_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), budgetMs);
  });
  const first = await Promise.race([work, deadline]);
  clearTimeout(timer);
  if (first !== "late") {
    if (typeof first === "string") return void (await context.sendActivity(first));
    const sent = await kit.messenger.sendCard(context, first.card);
    if (sent?.id) await bindAnswer(kit, referenceOf(context), sent.id, first);
    return;
  }
  const sent = await kit.messenger.sendCard(context, progressCard(pending));
  const reference = referenceOf(context);
  afterResponse(context, () => {
    void (async () => {
      const answer = await work;
      if (!sent?.id) return;
      const card = typeof answer === "string" ? progressCard({ ...pending, text: answer }) : answer.card;
      if (typeof answer !== "string") await bindAnswer(kit, reference, sent.id, answer);
      await kit.messenger.updateCard(reference, sent.id, card);
    })().catch((e) => kit.log.error("late answer failed", { error: describeError(e).message }));
  });
}

async function bindAnswer(
  kit: BotKit,
  reference: ReturnType<typeof referenceOf>,
  activityId: string,
  answer: Exclude<CommandAnswer, string>,
) {
  if (answer.requestId) await kit.attachRequestCard(answer.requestId, reference, activityId);
  else if (answer.as)
    await kit.messenger.bindings.bind(
      String((reference.conversation as { id?: unknown })?.id ?? ""),
      activityId,
      answer.as,
    );
}
