// Every outbound message that is not an invoke answer: replies in the current turn, updates of a shared
// card (what everyone in the conversation sees), proactive posts and the personal chat of a hand-off.
// Nothing leaves over the size limit (cards/cardSize.ts), and everything goes through the process's one
// outbound queue (createOutboundQueue.ts), which keeps each conversation within Teams' rate limits.

import { randomUUID } from "node:crypto";
import type { TeamsAdapter } from "@microsoft/teams-ai";
import {
  type Activity,
  ActivityTypes,
  CardFactory,
  type ConversationReference,
  InputHints,
  type Middleware,
  TurnContext,
} from "botbuilder";
import { describeError } from "../domain/errors";
import type { Logger } from "../domain/ports";
import type { ConversationRef } from "../domain/records";
import { referenceOf } from "./actorOf";
import { activityFits, fitCard, jsonSize, tooBigCard } from "./cards/cardSize";
import type { Card } from "./cards/renderCard";
import { createConnectorClients } from "./createConnectorClients";
import { ConnectorPostError, createConnectorPost } from "./createConnectorPost";
import { createOutboundQueue, type OutboundQueue } from "./createOutboundQueue";

export type Messenger = ReturnType<typeof createMessenger>;

export function createMessenger(deps: {
  adapter: TeamsAdapter;
  botAppId: string;
  spTenantId: string;
  log: Logger;
  queue?: OutboundQueue;
}) {
  const { adapter, botAppId, spTenantId, log } = deps;
  const connectors = createConnectorClients({ adapter, botAppId });
  const connector = createConnectorPost({ connectors });
  const queue =
    deps.queue ??
    createOutboundQueue({
      onRetry: (r) => log.info("outbound send retried", { status: r.status, waitMs: r.waitMs, attempt: r.attempt }),
    });

  function cardActivity(card: Card) {
    const fitted = fitCard(card);
    if (fitted.oversized) log.error("card over the size limit replaced", { bytes: fitted.oversized });
    return { type: ActivityTypes.Message, attachments: [CardFactory.adaptiveCard(fitted.card)] };
  }

  /**
   * Adapter middleware: every activity a turn sends through the Bot Connector (replies, texts) waits for
   * its conversation's turn in the queue. Invoke answers and expectReplies go back in the HTTP answer.
   */
  const queueTurnSends: Middleware = {
    async onTurn(context, next) {
      context.onSendActivities(async (ctx, activities, nextSend) => {
        const viaConnector =
          ctx.activity.deliveryMode !== "expectReplies" &&
          activities.some((a) => a.type !== ActivityTypes.InvokeResponse && a.type !== ActivityTypes.Trace);
        const conversationId = ctx.activity.conversation?.id;
        if (!viaConnector || !conversationId) return nextSend();
        activities.forEach((a, i) => {
          activities[i] = fitActivity(a);
        });
        return queue.send(conversationId, nextSend, { interactive: true });
      });
      await next();
    },
  };

  /**
   * The whole activity as sent (ids, conversation, names around the card) within Teams' stricter size
   * reading; otherwise its card gives way to a short one that says so.
   */
  function fitActivity<T extends Partial<Activity>>(activity: T): T {
    if (!activity.attachments?.length || activityFits(activity)) return activity;
    const { bytes } = jsonSize(JSON.stringify(activity));
    log.error("activity over the size limit replaced", { bytes });
    return { ...activity, attachments: [CardFactory.adaptiveCard(tooBigCard(bytes))] };
  }

  /** A reply in the current conversation; resolves the new activity (its id is the card's id). */
  async function sendCard(context: TurnContext, card: Card) {
    return context.sendActivity(cardActivity(card));
  }

  /**
   * Replaces the card of a posted message for everyone in the conversation: the PUT updateActivity sends,
   * through the queue. A newer card for the same message replaces one still waiting there.
   */
  async function updateCard(reference: ConversationRef, activityId: string, card: Card) {
    const ref = reference as Partial<ConversationReference>;
    const activity = fitActivity(
      TurnContext.applyConversationReference(
        { id: activityId, ...cardActivity(card) },
        { ...ref, activityId: randomUUID() },
      ),
    );
    const conversationId = ref.conversation?.id ?? "";
    await queue.send(conversationId, () => connector.updateActivity(ref.serviceUrl ?? "", activity), {
      coalesce: `update:${activityId}`,
    });
  }

  /**
   * Replaces, for everyone, the card whose button was pressed (the invoke's replyToId). The invoke's own
   * answer reaches the presser only; this is how the others see the change. Usable after the answer too.
   */
  async function updatePressedCard(context: TurnContext, card: Card): Promise<void> {
    const id = context.activity.replyToId;
    if (!id) return;
    await updateCard(referenceOf(context), id, card);
  }

  /**
   * Proactive post into a stored conversation (reminders, rotation stages). Resolves the new activity id,
   * or undefined when the post failed (logged), as continueConversationAsync's turn did. It sends what
   * that turn sent: the activity addressed from the bot to the user as a reply to a fresh id, signed by
   * a reused connector client's credentials (createConnectorClients), as one fetch (createConnectorPost).
   */
  async function post(reference: ConversationRef, card: Card | string): Promise<string | undefined> {
    const ref = reference as Partial<ConversationReference>;
    const serviceUrl = ref.serviceUrl ?? "";
    const content: Partial<Activity> =
      typeof card === "string"
        ? { type: ActivityTypes.Message, text: card, inputHint: InputHints.AcceptingInput }
        : cardActivity(card);
    const activity = fitActivity(TurnContext.applyConversationReference(content, { ...ref, activityId: randomUUID() }));
    try {
      return await queue.send(ref.conversation?.id ?? "", () => connector.replyToActivity(serviceUrl, activity));
    } catch (e) {
      // The connector's status and error code only (its message may quote the activity).
      const error = e instanceof ConnectorPostError ? e.message : describeError(e).message;
      log.error("proactive post failed", { error, status: e instanceof ConnectorPostError ? e.status : undefined });
      return undefined;
    }
  }

  /**
   * A personal (1:1) chat with a user, for the hand-off link: never a channel. Opened with the user's
   * Entra object id, which Teams accepts for a user who has the app, unlike a channel-scoped `29:` id.
   */
  async function postPersonal(reference: ConversationRef, user: { aadObjectId: string }, card: Card): Promise<void> {
    const ref = reference as Partial<ConversationReference>;
    // Teams budgets "create conversation" like a conversation of its own: the chat with that user.
    await queue.send(`personal:${user.aadObjectId}`, () =>
      adapter.createConversationAsync(
        botAppId,
        ref.channelId ?? "msteams",
        ref.serviceUrl ?? "",
        "",
        {
          isGroup: false,
          bot: ref.bot as never,
          members: [{ id: user.aadObjectId, aadObjectId: user.aadObjectId, name: "" }],
          tenantId: spTenantId,
          channelData: { tenant: { id: spTenantId } },
        } as never,
        async (ctx) => {
          await ctx.sendActivity(cardActivity(card));
        },
      ),
    );
  }

  return { sendCard, updateCard, updatePressedCard, post, postPersonal, queueTurnSends, queue };
}
