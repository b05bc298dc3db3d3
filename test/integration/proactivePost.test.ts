// The proactive post path (reminders, sweep notices, rotation stages) against the connector emulator under
// a real TeamsAdapter: it reuses one connector client for many posts (the expiry sweep's memory depends
// on it), still asks botbuilder's own authentication for its credentials exactly as
// continueConversationAsync does, signs every request, and sends what that turn sent.

import { TeamsAdapter } from "@microsoft/teams-ai";
import { ConfigurationServiceClientCredentialFactory, type ConversationReference } from "botbuilder";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Logger } from "../../src/domain/ports";
import type { ConversationRef } from "../../src/domain/records";
import { createConnectorClients } from "../../src/bot/createConnectorClients";
import { createMessenger } from "../../src/bot/createMessenger";
import type { Card } from "../../src/bot/cards/renderCard";
import { type ConnectorEmulator, startConnectorEmulator } from "../emulators/connectorEmulator";

const TENANT = "00000000-0000-0000-0000-000000000001";
const APP_ID = "0d5b1c2e-3f40-4a51-8b62-7c8d9e0f1a2b";
const APP_PASSWORD = "bot-password-never-sent";
const CHANNEL_CONVERSATION = "19:abc123@thread.tacv2;messageid=1712345678901";

/**
 * botbuilder's credentials factory as configured, except that the token is made here instead of by
 * login.microsoftonline.com (not reachable from tests): it records every request for credentials and
 * signs each HTTP request with a new token, as AppCredentials does from its token cache.
 */
class RecordingCredentialFactory extends ConfigurationServiceClientCredentialFactory {
  calls: Array<{ appId: string; audience: string | undefined; loginEndpoint: string; validateAuthority: boolean }> = [];
  signed = 0;
  constructor(private readonly withToken: boolean) {
    super(
      withToken
        ? {
            MicrosoftAppId: APP_ID,
            MicrosoftAppPassword: APP_PASSWORD,
            MicrosoftAppType: "SingleTenant",
            MicrosoftAppTenantId: TENANT,
          }
        : {},
    );
  }
  override async createCredentials(appId: string, audience: string, loginEndpoint: string, validateAuthority: boolean) {
    this.calls.push({ appId, audience, loginEndpoint, validateAuthority });
    if (!this.withToken) return super.createCredentials(appId, audience, loginEndpoint, validateAuthority);
    return {
      signRequest: async (request: { headers: { set(name: string, value: string): void } }) => {
        request.headers.set("authorization", `Bearer token-${++this.signed}`);
        return request;
      },
    } as never;
  }
}

const errors: string[] = [];
const log: Logger = {
  debug() {},
  info() {},
  warn() {},
  error: (msg, fields) => void errors.push(`${msg} ${JSON.stringify(fields ?? {})}`),
  child: () => log,
};

function adapterWith(credentials: RecordingCredentialFactory, withAuth: boolean) {
  return new TeamsAdapter(
    withAuth
      ? {
          MicrosoftAppId: APP_ID,
          MicrosoftAppPassword: APP_PASSWORD,
          MicrosoftAppType: "SingleTenant",
          MicrosoftAppTenantId: TENANT,
        }
      : {},
    credentials,
  );
}

let connector: ConnectorEmulator;
beforeAll(async () => {
  connector = await startConnectorEmulator();
});
afterAll(async () => {
  await connector.close();
});
beforeEach(() => {
  connector.reset();
  errors.length = 0;
});

function reference(serviceUrl = connector.url): ConversationRef {
  const ref: Partial<ConversationReference> = {
    channelId: "msteams",
    serviceUrl,
    locale: "en-US",
    conversation: { id: CHANNEL_CONVERSATION, conversationType: "channel", isGroup: true, name: "", tenantId: TENANT },
    bot: { id: `28:${APP_ID}`, name: "syncbot" },
    user: { id: "29:user-1", name: "Alex Wilber", aadObjectId: "aad-user-1" },
    activityId: "inbound-1",
  };
  return ref as unknown as ConversationRef;
}

const card = (n: number): Card => ({
  type: "AdaptiveCard",
  version: "1.5",
  body: [{ type: "TextBlock", text: `Secret of c${n} expires in 30 days` }],
});

/** The activity as the connector received it, without what differs between two posts. */
function shape(activity: Record<string, unknown>) {
  const { id: _id, replyToId: _replyToId, ...rest } = activity;
  return rest;
}

describe("proactive posts", () => {
  it("with BOT_AUTH enabled: one connector client for many posts, credentials asked as continueConversationAsync asks, every request signed", async () => {
    const credentials = new RecordingCredentialFactory(true);
    const adapter = adapterWith(credentials, true);
    const messenger = createMessenger({ adapter, botAppId: APP_ID, spTenantId: TENANT, log });

    // What botbuilder's own proactive turn asks for and sends (the path post replaced).
    await adapter.continueConversationAsync(APP_ID, reference() as Partial<ConversationReference>, async (ctx) => {
      await ctx.sendActivity({
        type: "message",
        attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: card(0) }],
      });
    });
    // The turn asks twice: for its connector client, then for its user-token client.
    expect(credentials.calls).toHaveLength(2);
    const viaTurn = credentials.calls[0]!;
    expect(viaTurn).toMatchObject({ appId: APP_ID, audience: "https://api.botframework.com" });
    const [turnPost] = connector.activities;

    const ids: Array<string | undefined> = [];
    for (let i = 1; i <= 20; i++) ids.push(await messenger.post(reference(), card(i)));
    const text = await messenger.post(reference(), "Secret of c21 expired");

    // One more client for 21 posts, made with the very same arguments as the turn's.
    expect(credentials.calls).toHaveLength(3);
    expect(credentials.calls[2]).toEqual(viaTurn);
    const posts = connector.activities.slice(1);
    expect(posts).toHaveLength(21);
    expect(posts.map((p) => p.activityId)).toEqual([...ids, text]);
    // Signed per request (a reused client still reads the token cache, so an expiring token is renewed).
    expect(posts.map((p) => p.authorization)).toEqual(posts.map((_, i) => `Bearer token-${i + 2}`));
    expect(turnPost!.authorization).toBe("Bearer token-1");
    // The same activity the turn sent: from the bot to the user, in the stored conversation, as a reply
    // to an id made up for the post (never the stored inbound id, never an existing message).
    expect(shape(posts[0]!.activity)).toEqual({
      ...shape(turnPost!.activity),
      attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: card(1) }],
    });
    expect(posts[0]!.activity).toMatchObject({
      type: "message",
      from: { id: `28:${APP_ID}` },
      recipient: { id: "29:user-1" },
      conversation: { id: CHANNEL_CONVERSATION },
      serviceUrl: connector.url,
      locale: "en-US",
    });
    expect(posts.at(-1)!.activity).toMatchObject({
      type: "message",
      text: "Secret of c21 expired",
      inputHint: "acceptingInput",
    });
    const recordedIds = new Set(connector.activities.map((a) => a.activityId));
    const replyTo = new Set(posts.map((p) => p.replyToId));
    expect(replyTo.size).toBe(posts.length);
    for (const r of replyTo) expect(r !== "inbound-1" && !recordedIds.has(r!)).toBe(true);
    expect(JSON.stringify(connector.activities)).not.toContain(APP_PASSWORD);
    expect(errors).toEqual([]);
  });

  it("anonymous (BOT_AUTH disabled): one client for many posts, no Authorization header", async () => {
    const credentials = new RecordingCredentialFactory(false);
    const messenger = createMessenger({
      adapter: adapterWith(credentials, false),
      botAppId: "",
      spTenantId: TENANT,
      log,
    });
    for (let i = 0; i < 10; i++) expect(await messenger.post(reference(), card(i))).toBeTruthy();
    expect(credentials.calls).toHaveLength(1);
    expect(connector.activities).toHaveLength(10);
    expect(connector.activities.every((a) => a.authorization === undefined)).toBe(true);
  });

  it("a refused post resolves undefined and is logged, as the turn did; the next post goes through", async () => {
    const credentials = new RecordingCredentialFactory(false);
    const messenger = createMessenger({
      adapter: adapterWith(credentials, false),
      botAppId: "",
      spTenantId: TENANT,
      log,
    });
    // A text over Teams' limit (80 KB counted as UTF-16): the connector answers 413.
    expect(await messenger.post(reference(), "x".repeat(50_000))).toBeUndefined();
    expect(connector.refused).toHaveLength(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^proactive post failed/);
    expect(await messenger.post(reference(), card(1))).toBe(connector.activities[0]?.activityId);
    expect(credentials.calls).toHaveLength(1);
  });

  it("keeps a client for its TTL only, one per service URL, and a bounded number of them", async () => {
    const credentials = new RecordingCredentialFactory(false);
    let now = 0;
    const clients = createConnectorClients({
      adapter: adapterWith(credentials, false),
      botAppId: "",
      ttlMs: 1000,
      maxEntries: 2,
      now: () => now,
    });
    const a = await clients.get("http://127.0.0.1:1/a");
    now = 999;
    expect(await clients.get("http://127.0.0.1:1/a")).toBe(a);
    now = 1000;
    const a2 = await clients.get("http://127.0.0.1:1/a");
    expect(a2).not.toBe(a);
    const b = await clients.get("http://127.0.0.1:1/b");
    expect(await clients.get("http://127.0.0.1:1/a")).toBe(a2);
    await clients.get("http://127.0.0.1:1/c"); // a third URL: the oldest (a) is dropped
    expect(await clients.get("http://127.0.0.1:1/b")).toBe(b);
    expect(await clients.get("http://127.0.0.1:1/a")).not.toBe(a2);
    expect(credentials.calls.map((c) => c.audience)).toEqual(Array(5).fill("https://api.botframework.com"));
  });
});
