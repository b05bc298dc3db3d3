// The proactive post path (reminders, sweep notices, rotation stages) against the connector emulator under
// a real TeamsAdapter: it reuses one connector client for many posts (the expiry sweep's memory depends
// on it), still asks botbuilder's own authentication for its credentials exactly as
// continueConversationAsync does, signs every request, and sends what that turn sent: the same request
// on the wire (path, JSON body byte for byte, headers), retried on 429/503 as the SDK retried.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { TeamsAdapter } from "@microsoft/teams-ai";
import { CardFactory, ConfigurationServiceClientCredentialFactory, type ConversationReference } from "botbuilder";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Logger } from "../../src/domain/ports";
import type { ConversationRef } from "../../src/domain/records";
import { createConnectorClients } from "../../src/bot/createConnectorClients";
import { createMessenger } from "../../src/bot/createMessenger";
import type { Card } from "../../src/bot/cards/renderCard";
import { SEND_ATTEMPTS } from "../../src/bot/createOutboundQueue";
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

/** A raw HTTP request as a loopback server received it. */
interface RawRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

/**
 * A loopback server that records every request raw and answers from `answers` (then 200 with an id),
 * to compare the bytes botbuilder's turn sends with the bytes of a post, and to script 429/503 answers.
 */
let recorder: {
  url: string;
  requests: RawRequest[];
  answers: Array<{ status: number; headers?: Record<string, string> }>;
};
let recorderServer: Server;

let connector: ConnectorEmulator;
beforeAll(async () => {
  connector = await startConnectorEmulator();
  const requests: RawRequest[] = [];
  const answers: Array<{ status: number; headers?: Record<string, string> }> = [];
  recorderServer = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body, at: Date.now() });
      const answer = answers.shift();
      if (answer) {
        res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
        res.end(
          JSON.stringify({ error: { code: "ServiceError", message: "The service is temporarily unavailable." } }),
        );
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: `raw-${requests.length}` }));
    });
  });
  await new Promise<void>((r) => recorderServer.listen(0, "127.0.0.1", r));
  recorder = { url: `http://127.0.0.1:${(recorderServer.address() as AddressInfo).port}`, requests, answers };
});
afterAll(async () => {
  await connector.close();
  await new Promise((r) => recorderServer.close(r));
});
beforeEach(() => {
  connector.reset();
  recorder.requests.length = 0;
  recorder.answers.length = 0;
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
    // The turn's post went around the outbound queue (the bot's turns go through it), so the queue's
    // first post may meet one 429 and be sent again, signed again; never a second 429.
    const tokens = posts.map((p) => Number(/^Bearer token-(\d+)$/.exec(p.authorization ?? "")?.[1]));
    expect(tokens).toEqual([...new Set(tokens)].sort((a, b) => a - b));
    expect(tokens[0]).toBeGreaterThanOrEqual(2);
    expect(connector.throttledAfterFirst()).toBe(0);
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

  it("sends the very request botbuilder's turn sends: path, JSON body byte for byte, headers, a signed Authorization", async () => {
    const credentials = new RecordingCredentialFactory(true);
    const adapter = adapterWith(credentials, true);
    const messenger = createMessenger({ adapter, botAppId: APP_ID, spTenantId: TENANT, log });
    // A stored reference as Teams gives it, with a key the connector's model does not know (dropped).
    const ref = reference(`${recorder.url}/amer/`) as unknown as Record<string, unknown>;
    ref.conversation = { ...(ref.conversation as object), unknownKey: "dropped" };
    await adapter.continueConversationAsync(APP_ID, ref as Partial<ConversationReference>, async (ctx) => {
      await ctx.sendActivity({ type: "message", attachments: [CardFactory.adaptiveCard(card(7))] });
    });
    const id = await messenger.post(ref as unknown as ConversationRef, card(7));
    expect(errors).toEqual([]);
    const [turn, post] = recorder.requests;
    expect(recorder.requests).toHaveLength(2);
    expect(id).toBe("raw-2");

    const replyTo = (r: RawRequest) => (JSON.parse(r.body) as { replyToId: string }).replyToId;
    const path = (r: RawRequest) =>
      `/amer/v3/conversations/${encodeURIComponent(CHANNEL_CONVERSATION)}/activities/${encodeURIComponent(replyTo(r))}`;
    expect(turn!.method).toBe("POST");
    expect(turn!.url).toBe(path(turn!));
    expect(post!.method).toBe("POST");
    expect(post!.url).toBe(path(post!));
    expect(replyTo(post!)).not.toBe(replyTo(turn!));
    // The same bytes but for the fresh id replied to (key order, dropped keys and all).
    expect(post!.body).toBe(turn!.body.replace(replyTo(turn!), replyTo(post!)));
    expect(post!.body).not.toContain("unknownKey");

    for (const name of ["content-type", "x-ms-conversation-id", "accept", "content-length"])
      expect(post!.headers[name], name).toBe(turn!.headers[name]);
    expect(post!.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(post!.headers["x-ms-conversation-id"]).toBe(CHANNEL_CONVERSATION);
    // The SDK's user agent (bot framework and teams-ai tokens, runtime) without the pipeline it no longer uses.
    expect(post!.headers["user-agent"]).toBe(
      String(turn!.headers["user-agent"]).replace(/ core-rest-pipeline\/\S+/, ""),
    );
    expect(post!.headers["x-ms-client-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(turn!.headers.authorization).toBe("Bearer token-1");
    expect(post!.headers.authorization).toBe("Bearer token-2");
    expect(JSON.stringify(recorder.requests)).not.toContain(APP_PASSWORD);
  });

  it("anonymous: the raw request carries no Authorization header, as the turn's did not", async () => {
    const credentials = new RecordingCredentialFactory(false);
    const adapter = adapterWith(credentials, false);
    const messenger = createMessenger({ adapter, botAppId: "", spTenantId: TENANT, log });
    await adapter.continueConversationAsync(
      "",
      reference(recorder.url) as Partial<ConversationReference>,
      async (ctx) => {
        await ctx.sendActivity("Secret of c1 expired");
      },
    );
    expect(await messenger.post(reference(recorder.url), "Secret of c1 expired")).toBe("raw-2");
    const [turn, post] = recorder.requests;
    expect(turn!.headers.authorization).toBeUndefined();
    expect(post!.headers.authorization).toBeUndefined();
    // The same header names but Accept-Encoding: the post reads the answer uncompressed (it is an id).
    expect(Object.keys(post!.headers).sort()).toEqual(
      Object.keys(turn!.headers)
        .filter((h) => h !== "accept-encoding")
        .sort(),
    );
  });

  it("a 429 with Retry-After is waited out and retried, signed again; a 503 retried with backoff", async () => {
    const credentials = new RecordingCredentialFactory(true);
    const messenger = createMessenger({
      adapter: adapterWith(credentials, true),
      botAppId: APP_ID,
      spTenantId: TENANT,
      log,
    });
    recorder.answers.push({ status: 429, headers: { "retry-after": "1" } });
    expect(await messenger.post(reference(recorder.url), card(1))).toBe("raw-2");
    const [first, second] = recorder.requests;
    expect(recorder.requests).toHaveLength(2);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    expect(second!.body).toBe(first!.body);
    expect([first!.headers.authorization, second!.headers.authorization]).toEqual(["Bearer token-1", "Bearer token-2"]);

    // The connector emulator unavailable once: the post still lands, once.
    connector.failNextPosts(1, 503);
    const id = await messenger.post(reference(), card(2));
    expect(connector.activities.map((a) => a.activityId)).toEqual([id]);
    expect(errors).toEqual([]);
  });

  it("an activity over 40 KB counted as UTF-16 (its card fits, the names around it do not) goes out as a short notice", async () => {
    const messenger = createMessenger({
      adapter: adapterWith(new RecordingCredentialFactory(false), false),
      botAppId: "",
      spTenantId: TENANT,
      log,
    });
    const ref = reference() as unknown as Partial<ConversationReference>;
    const crowded = { ...ref, user: { ...ref.user!, name: "東".repeat(3000) } } as unknown as ConversationRef;
    const big: Card = { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "a".repeat(17_000) }] };
    expect(await messenger.post(crowded, big)).toBeTruthy();
    const [sent] = connector.activities;
    expect(sent!.utf16Bytes).toBeLessThanOrEqual(40 * 1024);
    expect(JSON.stringify(sent!.activity.attachments)).toContain("more than Teams shows");
    expect(errors).toEqual([expect.stringMatching(/^activity over the size limit replaced/)]);
  });

  it("retries are bounded: five 503s, a Retry-After over a minute, or a 400 fail the post (logged, undefined)", async () => {
    const credentials = new RecordingCredentialFactory(false);
    const messenger = createMessenger({
      adapter: adapterWith(credentials, false),
      botAppId: "",
      spTenantId: TENANT,
      log,
    });
    recorder.answers.push(...Array.from({ length: SEND_ATTEMPTS }, () => ({ status: 503 })));
    expect(await messenger.post(reference(recorder.url), card(1))).toBeUndefined();
    expect(recorder.requests).toHaveLength(SEND_ATTEMPTS);
    expect(errors).toEqual([expect.stringMatching(/^proactive post failed .*503 ServiceError/)]);

    recorder.requests.length = 0;
    recorder.answers.push({ status: 429, headers: { "retry-after": "120" } });
    expect(await messenger.post(reference(recorder.url), card(2))).toBeUndefined();
    recorder.answers.push({ status: 400 });
    expect(await messenger.post(reference(recorder.url), card(3))).toBeUndefined();
    expect(recorder.requests).toHaveLength(2);
    expect(errors).toHaveLength(3);
    expect(errors[2]).toMatch(/400/);
    // The next post goes through.
    expect(await messenger.post(reference(recorder.url), card(4))).toBe("raw-3");
  });
});
