// Every outbound message that is not an invoke answer: replies in the current turn, updates of a shared
// card, proactive posts (reminders, rotation notices) and the personal chat of a hand-off.

import type { TeamsAdapter } from "@microsoft/teams-ai";
import { ActivityTypes, CardFactory, type ConversationReference, type TurnContext } from "botbuilder";
import type { ConversationRef } from "../domain/records";
import type { Card } from "./cards/renderCard";

export type Messenger = ReturnType<typeof createMessenger>;

export function createMessenger(deps: { adapter: TeamsAdapter; botAppId: string; spTenantId: string }) {
  const { adapter, botAppId, spTenantId } = deps;
  const cardActivity = (card: Card) => ({ type: ActivityTypes.Message, attachments: [CardFactory.adaptiveCard(card)] });

  /** A reply in the current conversation; resolves the new activity (its id is the card's id). */
  async function sendCard(context: TurnContext, card: Card) {
    return context.sendActivity(cardActivity(card));
  }

  /** Replaces the card of a posted message for everyone in the conversation. */
  async function updateCard(reference: ConversationRef, activityId: string, card: Card) {
    await adapter.continueConversationAsync(botAppId, reference as Partial<ConversationReference>, async (ctx) => {
      await ctx.updateActivity({ id: activityId, ...cardActivity(card) });
    });
  }

  /** Proactive post into a stored conversation (reminders, rotation stages). Resolves the new activity id. */
  async function post(reference: ConversationRef, card: Card | string): Promise<string | undefined> {
    let id: string | undefined;
    await adapter.continueConversationAsync(botAppId, reference as Partial<ConversationReference>, async (ctx) => {
      const sent = typeof card === "string" ? await ctx.sendActivity(card) : await ctx.sendActivity(cardActivity(card));
      id = sent?.id;
    });
    return id;
  }

  /** A personal (1:1) chat with a user, for the hand-off link: never a channel. */
  async function postPersonal(reference: ConversationRef, user: { channelUserId: string }, card: Card): Promise<void> {
    const ref = reference as Partial<ConversationReference>;
    await adapter.createConversationAsync(
      botAppId,
      ref.channelId ?? "msteams",
      ref.serviceUrl ?? "",
      "",
      {
        isGroup: false,
        bot: ref.bot as never,
        members: [{ id: user.channelUserId, name: "" }],
        tenantId: spTenantId,
        channelData: { tenant: { id: spTenantId } },
      } as never,
      async (ctx) => {
        await ctx.sendActivity(cardActivity(card));
      },
    );
  }

  return { sendCard, updateCard, post, postPersonal };
}
