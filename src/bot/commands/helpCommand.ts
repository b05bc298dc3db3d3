// `help`, and the answer to anything syncbot does not understand: the command list.

import type { TurnContext } from "botbuilder";
import type { BotKit, Command } from "../botKit";
import { helpCard } from "../cards/helpCard";
import { echo } from "../cards/markdownText";

export const helpCommand: Command = {
  name: "help",
  async run(context, _args, _actor, kit) {
    await kit.messenger.sendCard(context, helpCard());
  },
};

/** An unknown first word (or an empty message): the command list, saying what was not understood. */
export async function answerUnknown(context: TurnContext, word: string, kit: BotKit): Promise<void> {
  await kit.messenger.sendCard(context, helpCard(word ? `I don't know "${echo(word)}".` : ""));
}
