// The activities Teams sends a bot, in one place: the e2e harness, the crash-test driver and the
// benchmarks all speak to syncbot with these shapes (see ../shared/PLAYGROUND.md for what Teams and
// the Agents Playground really send).

import { randomUUID } from "node:crypto";

export interface TeamsUser {
  aadObjectId: string;
  id: string; // Teams user id
  name: string;
}

export const CHANNEL = {
  teamId: "19:team-general@thread.tacv2",
  channelId: "19:ops-channel@thread.tacv2",
};

const BOT = { id: "28:syncbot", name: "syncbot" };
const MENTION = { type: "mention", mentioned: BOT, text: "<at>syncbot</at>" };
let seq = 0;

/** What every activity from `user` carries: sender, recipient, conversation and tenant. */
export function activityBase(opts: {
  serviceUrl: string;
  user: TeamsUser;
  tenantId: string;
  conversation?: "channel" | "personal";
}) {
  const { user, tenantId } = opts;
  const channel = (opts.conversation ?? "channel") === "channel";
  return {
    channelId: "msteams",
    serviceUrl: opts.serviceUrl,
    id: `act-${++seq}-${randomUUID().slice(0, 8)}`,
    timestamp: new Date().toISOString(),
    localTimestamp: new Date().toISOString(),
    locale: "en-US",
    from: { id: user.id, name: user.name, aadObjectId: user.aadObjectId },
    recipient: BOT,
    conversation: channel
      ? { isGroup: true, conversationType: "channel", id: `${CHANNEL.channelId};messageid=1700000000000`, tenantId }
      : { conversationType: "personal", id: `a:personal-${user.aadObjectId}`, tenantId },
    channelData: channel
      ? {
          teamsChannelId: CHANNEL.channelId,
          teamsTeamId: CHANNEL.teamId,
          tenant: { id: tenantId },
          team: { id: CHANNEL.teamId },
          channel: { id: CHANNEL.channelId },
        }
      : { tenant: { id: tenantId } },
  };
}

/** A message; in a channel it carries the @mention, as Teams delivers only mentioned channel posts. */
export function messageActivity(base: ReturnType<typeof activityBase>, text: string) {
  const mention = base.conversation.conversationType === "channel";
  return {
    ...base,
    type: "message",
    text: mention ? `<at>syncbot</at> ${text}` : text,
    textFormat: "plain",
    entities: mention ? [MENTION] : [],
  };
}

/**
 * A button press on an Adaptive Card (Action.Execute), as Teams sends it; with trigger "automatic" it
 * is the invoke a client sends on its own to refresh a card that has `refresh` (user-specific views).
 */
export function cardActionActivity(
  base: ReturnType<typeof activityBase>,
  replyToId: string,
  action: { title?: string; verb: string; data: Record<string, unknown> },
  trigger: "manual" | "automatic" = "manual",
) {
  return {
    ...base,
    type: "invoke",
    name: "adaptiveCard/action",
    replyToId,
    value: { action: { type: "Action.Execute", ...action }, trigger },
  };
}
