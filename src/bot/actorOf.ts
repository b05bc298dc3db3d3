// Who acts and where, read from a Teams activity: the Entra identity of the sender (decisions are made
// on it, never on card data) and the conversation reference used to answer later.

import { type TurnContext, TurnContext as Turn } from "botbuilder";
import type { Actor, ConversationRef } from "../domain/records";
import { truncate } from "./truncate";

export function actorOf(context: TurnContext): Actor | null {
  const from = context.activity.from;
  const id = from?.aadObjectId;
  if (!id || !/^[0-9a-f-]{36}$/i.test(id)) return null;
  return { id: id.toLowerCase(), name: truncate(from.name || id, 80), channelUserId: from.id } as Actor;
}

export function referenceOf(context: TurnContext): ConversationRef {
  return Turn.getConversationReference(context.activity) as unknown as ConversationRef;
}

export const UNIDENTIFIED = "syncbot cannot tell who pressed the button (no Entra object id); nothing was changed.";
