// The connector emulator under a real botbuilder CloudAdapter in anonymous mode: an inbound activity
// whose serviceUrl is the emulator, replies, updates, deletes and proactive messages, as the bot will send them.

import {
  ActivityTypes,
  CardFactory,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConversationReference,
  MessageFactory,
  TurnContext,
} from "botbuilder";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ConnectorEmulator, startConnectorEmulator } from "../emulators/connectorEmulator";

const TENANT = "00000000-0000-0000-0000-000000000001";
// Teams channel conversation ids carry ';messageid=' and ':'; they must survive URL encoding.
const CHANNEL_CONVERSATION = "19:abc123@thread.tacv2;messageid=1712345678901";

let connector: ConnectorEmulator;
let adapter: CloudAdapter;

beforeAll(async () => {
  connector = await startConnectorEmulator();
  adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  adapter.onTurnError = async (_ctx, err) => {
    throw err;
  };
});
afterAll(async () => {
  await connector.close();
});
beforeEach(() => connector.reset());

function inbound(text: string, conversationId = CHANNEL_CONVERSATION) {
  return {
    type: "message",
    id: "inbound-1",
    timestamp: new Date().toISOString(),
    channelId: "msteams",
    serviceUrl: connector.url,
    from: { id: "29:user-1", name: "Alex Wilber", aadObjectId: "aad-user-1" },
    recipient: { id: "28:bot", name: "syncbot" },
    conversation: { id: conversationId, conversationType: "channel", isGroup: true, tenantId: TENANT },
    channelData: { tenant: { id: TENANT } },
    text,
  };
}

/** Drives adapter.process as the restify route will, with a minimal request/response pair. */
async function post(body: Record<string, unknown>, logic: (ctx: TurnContext) => Promise<void>) {
  const result: { status?: number; body?: unknown } = {};
  const res = {
    socket: undefined,
    status(code: number) {
      result.status = code;
    },
    header() {},
    send(b: unknown) {
      result.body = b;
    },
    end() {},
  };
  await adapter.process({ body, headers: {}, method: "POST" }, res, logic);
  return result;
}

describe("connector emulator with a real CloudAdapter (anonymous mode)", () => {
  it("records a reply with replyToId, then its update and deletion", async () => {
    let replyId: string | undefined;
    let reference: Partial<ConversationReference> | undefined;
    const result = await post(inbound("provision contoso"), async (ctx) => {
      await ctx.sendActivity({ type: ActivityTypes.Typing });
      const sent = await ctx.sendActivity(
        MessageFactory.attachment(CardFactory.adaptiveCard({ type: "AdaptiveCard", version: "1.5", body: [] })),
      );
      replyId = sent?.id;
      reference = TurnContext.getConversationReference(ctx.activity);
    });
    expect(result.status).toBe(200);
    expect(replyId).toBeTruthy();

    expect(connector.typing).toHaveLength(1);
    expect(connector.activities).toHaveLength(1);
    const [created] = connector.activities;
    expect(created).toMatchObject({
      op: "create",
      conversationId: CHANNEL_CONVERSATION,
      activityId: replyId,
      replyToId: "inbound-1",
      authorization: undefined,
    });
    expect(connector.cards()).toEqual([
      {
        activityId: replyId,
        conversationId: CHANNEL_CONVERSATION,
        content: { type: "AdaptiveCard", version: "1.5", body: [] },
      },
    ]);

    // Update and delete from a later turn, as the bot does when an approval completes.
    await adapter.continueConversationAsync("", reference!, async (ctx) => {
      await ctx.updateActivity({ id: replyId, type: "message", text: "Approved by Alex" });
    });
    expect(connector.latest(replyId!)?.activity.text).toBe("Approved by Alex");
    expect(connector.cards()).toEqual([]);
    expect(connector.current()).toHaveLength(1);

    await adapter.continueConversationAsync("", reference!, async (ctx) => {
      await ctx.deleteActivity(replyId!);
    });
    expect(connector.current()).toEqual([]);
    expect(connector.activities.map((a) => a.op)).toEqual(["create", "update", "delete"]);
  });

  it("records a proactive message from continueConversationAsync, and waitFor resolves on it", async () => {
    const reference: Partial<ConversationReference> = {
      channelId: "msteams",
      serviceUrl: connector.url,
      conversation: {
        id: "a:1personal-chat",
        conversationType: "personal",
        isGroup: false,
        name: "",
        tenantId: TENANT,
      },
      bot: { id: "28:bot", name: "syncbot" },
      user: { id: "29:user-1", name: "Alex Wilber" },
    };
    const seen = connector.waitFor((cur) => cur.find((c) => c.activity.text === "Secret expires in 30 days"));
    await adapter.continueConversationAsync("", reference, async (ctx) => {
      await ctx.sendActivity("Secret expires in 30 days");
    });
    const found = await seen;
    expect(found.conversationId).toBe("a:1personal-chat");
    // botbuilder posts a proactive message as a reply to an id it makes up; no recorded activity has it.
    expect(connector.activities.some((a) => a.activityId === found.replyToId)).toBe(false);
  });

  it("creates a personal conversation for a proactive message and answers member look-ups", async () => {
    const reference: Partial<ConversationReference> = {
      channelId: "msteams",
      serviceUrl: connector.url,
      conversation: {
        id: CHANNEL_CONVERSATION,
        conversationType: "channel",
        isGroup: true,
        name: "",
        tenantId: TENANT,
      },
      bot: { id: "28:bot", name: "syncbot" },
    };
    let memberName: string | undefined;
    await adapter.continueConversationAsync("", reference, async (ctx) => {
      const client = ctx.turnState.get(adapter.ConnectorClientKey);
      const member = await client.conversations.getConversationMember(CHANNEL_CONVERSATION, "29:user-1");
      memberName = member.name;
      await adapter.createConversationAsync(
        "",
        "msteams",
        connector.url,
        "",
        {
          isGroup: false,
          bot: { id: "28:bot", name: "syncbot" },
          members: [{ id: "29:user-1", name: "Alex Wilber" }],
          tenantId: TENANT,
          channelData: { tenant: { id: TENANT } },
        },
        async (personal) => {
          await personal.sendActivity("Your hand-off link is ready");
        },
      );
    });
    expect(memberName).toBeTruthy();
    expect(connector.conversationsCreated).toHaveLength(1);
    const [conv] = connector.conversationsCreated;
    expect(conv?.parameters).toMatchObject({ tenantId: TENANT, members: [{ id: "29:user-1" }] });
    const sent = connector.current().find((c) => c.activity.text === "Your hand-off link is ready");
    expect(sent?.conversationId).toBe(conv?.id);
  });

  it("waitFor rejects with what it saw", async () => {
    await post(inbound("help"), async (ctx) => {
      await ctx.sendActivity("Commands: provision, status");
    });
    await expect(connector.waitFor(() => undefined, 100)).rejects.toThrow(/Commands: provision/);
  });
});
