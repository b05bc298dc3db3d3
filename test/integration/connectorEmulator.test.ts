// The connector emulator under a real botbuilder CloudAdapter in anonymous mode: an inbound activity
// whose serviceUrl is the emulator, replies, updates, deletes and proactive messages, as the bot will send them.
// Strict as Teams: an activity over the size limit is refused with 413 MessageSizeTooBig, an invoke
// answer's card is seen by the presser only, posts and updates by everyone, `refresh.userIds` only
// by the users listed.

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
import {
  type ConnectorEmulator,
  MESSAGE_SIZE_TOO_BIG,
  startConnectorEmulator,
  TEAMS_MESSAGE_LIMIT_UTF16_BYTES,
} from "../emulators/connectorEmulator";

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

/** A message activity whose JSON is exactly `bytes` long (ASCII). */
function activityOfSize(bytes: number, text = "x") {
  const shell = { type: "message", text: "", attachments: [] as never[] };
  const filler = bytes - JSON.stringify(shell).length;
  const activity = { ...shell, text: text.repeat(Math.ceil(filler / text.length)).slice(0, filler) };
  expect(JSON.stringify(activity).length).toBe(bytes);
  return activity;
}

const card = (title: string, extra: Record<string, unknown> = {}) => ({
  type: "AdaptiveCard",
  version: "1.5",
  body: [{ type: "TextBlock", text: title }],
  ...extra,
});

async function postCard(content: unknown, conversationId = CHANNEL_CONVERSATION) {
  const res = await fetch(`${connector.url}/v3/conversations/${encodeURIComponent(conversationId)}/activities`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      type: "message",
      conversation: { id: conversationId },
      attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content }],
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

async function putCard(activityId: string, content: unknown, conversationId = CHANNEL_CONVERSATION) {
  return fetch(`${connector.url}/v3/conversations/${encodeURIComponent(conversationId)}/activities/${activityId}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      type: "message",
      id: activityId,
      attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content }],
    }),
  });
}

const answerWith = (content: unknown) => ({
  statusCode: 200,
  type: "application/vnd.microsoft.card.adaptive",
  value: content,
});

describe("message size limit (Teams: 413 MessageSizeTooBig)", () => {
  it("refuses a 41 KB activity with 413 MessageSizeTooBig, through botbuilder, and records nothing as sent", async () => {
    const big = activityOfSize(41 * 1024);
    let thrown: any;
    await post(inbound("status"), async (ctx) => {
      try {
        await ctx.sendActivity(big);
      } catch (e) {
        thrown = e;
      }
    });
    expect(thrown?.statusCode).toBe(413);
    expect(JSON.stringify(thrown?.details ?? thrown?.response?.parsedBody ?? thrown?.message)).toMatch(
      /MessageSizeTooBig/,
    );
    expect(connector.activities).toHaveLength(0);
    expect(connector.refused).toHaveLength(1);
    expect(connector.refused[0]?.bytes).toBeGreaterThan(41 * 1024);
    expect(connector.largest().activityBytes).toBe(connector.refused[0]?.bytes);
  });

  it("answers the documented error body over raw HTTP, for posts, updates and new conversations alike", async () => {
    const url = `${connector.url}/v3/conversations/${encodeURIComponent(CHANNEL_CONVERSATION)}/activities`;
    const big = JSON.stringify(activityOfSize(41 * 1024));
    const created = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect(created.status).toBe(413);
    expect(await created.json()).toEqual({
      error: { code: "MessageSizeTooBig", message: expect.any(String) },
    });
    const id = await postCard(card("small"));
    const updated = await fetch(`${url}/${id}`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: big,
    });
    expect(updated.status).toBe(413);
    expect(await updated.json()).toEqual(MESSAGE_SIZE_TOO_BIG);
    expect(connector.latest(id)?.activity.attachments[0].content.body[0].text).toBe("small");
    const conv = await fetch(`${connector.url}/v3/conversations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ isGroup: false, members: [{ id: "29:user-1" }], activity: JSON.parse(big) }),
    });
    expect(conv.status).toBe(413);
    expect(connector.conversationsCreated).toHaveLength(0);
  });

  it("counts UTF-16: 40 KB of ASCII passes, the same characters outside the BMP count double and are refused", async () => {
    const limitChars = TEAMS_MESSAGE_LIMIT_UTF16_BYTES / 2;
    expect(limitChars).toBe(40 * 1024);
    const url = `${connector.url}/v3/conversations/${encodeURIComponent(CHANNEL_CONVERSATION)}/activities`;
    const send = (body: unknown) =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await send(activityOfSize(limitChars))).status).toBe(200);
    expect((await send(activityOfSize(limitChars + 1))).status).toBe(413);
    // 15,000 emoji: 60 KB of UTF-8, but 30,000 UTF-16 code units plus the shell → under the limit…
    const emoji = "\u{1F600}";
    expect((await send({ type: "message", text: emoji.repeat(15_000) })).status).toBe(200);
    // …and 21,000 of them are 84 KB as UTF-16: refused.
    expect((await send({ type: "message", text: emoji.repeat(21_000) })).status).toBe(413);
  });

  it("accepts and ignores a typing activity of any size", async () => {
    await post(inbound("help"), async (ctx) => {
      await ctx.sendActivity({ type: ActivityTypes.Typing });
    });
    expect(connector.typing).toHaveLength(1);
    expect(connector.refused).toHaveLength(0);
  });
});

describe("who sees which card (Teams: invoke answers REPLACE_FOR_INTERACTOR)", () => {
  it("shows an invoke answer's card to the presser only, and a later update to everyone", async () => {
    const id = await postCard(card("parameters"));
    expect(connector.viewOf("29:alex", id)?.card.body[0].text).toBe("parameters");
    expect(connector.viewOf("29:megan", id)?.card.body[0].text).toBe("parameters");

    connector.recordInvoke({ activityId: id, userId: "29:alex", status: 200, body: answerWith(card("plan")) });
    expect(connector.viewOf("29:alex", id)).toMatchObject({ source: "invoke", card: { body: [{ text: "plan" }] } });
    expect(connector.viewOf("29:megan", id)).toMatchObject({
      source: "message",
      card: { body: [{ text: "parameters" }] },
    });
    // The shared record (what the old harness read) is untouched by an invoke answer.
    expect(connector.latest(id)?.activity.attachments[0].content.body[0].text).toBe("parameters");
    expect(connector.versionsSeenBy("29:megan", id).map((c) => c.body[0].text)).toEqual(["parameters"]);
    expect(connector.versionsSeenBy("29:alex", id).map((c) => c.body[0].text)).toEqual(["parameters", "plan"]);

    // A text answer (application/vnd.microsoft.activity.message) leaves the card as it was.
    connector.recordInvoke({
      activityId: id,
      userId: "29:megan",
      status: 200,
      body: { statusCode: 200, type: "application/vnd.microsoft.activity.message", value: "refused" },
    });
    expect(connector.viewOf("29:megan", id)?.card.body[0].text).toBe("parameters");

    // updateActivity: everyone, the presser included, now sees the new version.
    expect((await putCard(id, card("plan for all"))).status).toBe(200);
    for (const user of ["29:alex", "29:megan", "29:adele"])
      expect(connector.viewOf(user, id)).toMatchObject({
        source: "message",
        card: { body: [{ text: "plan for all" }] },
      });
  });

  it("a 1:1 chat the bot created is seen by its members only", async () => {
    const res = await fetch(`${connector.url}/v3/conversations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ isGroup: false, members: [{ id: "29:megan" }], tenantId: TENANT }),
    });
    const { id: conversationId } = (await res.json()) as { id: string };
    const id = await postCard(card("hand-off"), conversationId);
    expect(connector.canSee("29:megan", conversationId)).toBe(true);
    expect(connector.viewOf("29:megan", id)?.card.body[0].text).toBe("hand-off");
    expect(connector.canSee("29:alex", conversationId)).toBe(false);
    expect(connector.viewOf("29:alex", id)).toBeUndefined();
    expect(connector.versionsSeenBy("29:alex", id)).toEqual([]);
    expect(connector.canSee("29:alex", CHANNEL_CONVERSATION)).toBe(true);
  });

  it("user-specific views: only the users in refresh.userIds get a refresh, the rest see the card as posted", async () => {
    const refresh = {
      action: { type: "Action.Execute", title: "Refresh", verb: "approval.view", data: { requestId: "r1" } },
      userIds: ["29:megan"],
    };
    const id = await postCard(card("plan, waiting for an approver", { refresh }));
    const megan = connector.viewOf("29:megan", id);
    expect(megan?.pendingRefresh).toEqual(refresh.action);
    expect(connector.viewOf("29:alex", id)?.pendingRefresh).toBeUndefined();
    // A client that does not refresh shows the base card.
    expect(connector.viewOf("29:megan", id, { refreshes: false })?.pendingRefresh).toBeUndefined();

    connector.recordInvoke({
      activityId: id,
      userId: "29:megan",
      trigger: "automatic",
      status: 200,
      body: answerWith(card("plan with Approve")),
    });
    expect(connector.viewOf("29:megan", id)).toMatchObject({
      source: "refresh",
      card: { body: [{ text: "plan with Approve" }] },
    });
    expect(connector.viewOf("29:megan", id)?.pendingRefresh).toBeUndefined();
    expect(connector.viewOf("29:alex", id)?.card.body[0].text).toBe("plan, waiting for an approver");

    // An update of the base card refreshes the listed user's view again.
    await putCard(id, card("approved, running", { refresh }));
    expect(connector.viewOf("29:megan", id)?.pendingRefresh).toEqual(refresh.action);
    // Without userIds every member's client refreshes (conversations of at most 60 members).
    await putCard(id, card("done", { refresh: { action: refresh.action } }));
    expect(connector.viewOf("29:alex", id)?.pendingRefresh).toEqual(refresh.action);
  });
});
