// A proactive post or an update as one plain HTTP request: the request botframework-connector's
// replyToActivity (updateActivity) sends (path, JSON body, headers, Authorization from the client's own
// credentials) without its serializer and HTTP pipeline, whose per-post garbage grew the expiry sweep's
// peak memory with thousands of reminders. One attempt each: retries and Teams' rate limits belong to the
// outbound queue (createOutboundQueue.ts), which needs to see every 429 itself.

import { randomUUID } from "node:crypto";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { arch, release, type } from "node:os";
import { toWireActivity } from "./activityWire";
import type { ConnectorClientLike, ConnectorClients, SignableHeaders } from "./createConnectorClients";

/** One attempt's time limit (the connector client had none; a hung connection must not hold a sweep). */
export const POST_TIMEOUT_MS = 30_000;

/** A post the connector did not take; `status` is the HTTP status (undefined: no answer). */
export class ConnectorPostError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** What the connector's Retry-After asked for, in milliseconds. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const RUNTIME = `Node/${process.versions.node} (${type()} ${release()}; ${arch()})`;

/** Headers as AppCredentials.signRequest expects them (the compat HttpHeaders it calls set on). */
function signableHeaders(): SignableHeaders & { entries(): Array<[string, string]> } {
  const map = new Map<string, [string, string]>();
  return {
    set: (name, value) => void map.set(name.toLowerCase(), [name, String(value)]),
    get: (name) => map.get(name.toLowerCase())?.[1],
    contains: (name) => map.has(name.toLowerCase()),
    remove: (name) => map.delete(name.toLowerCase()),
    entries: () => [...map.values()],
  };
}

/** What an attempt got back. */
export interface PostAnswer {
  status: number;
  headers: { get(name: string): string | null };
  text: string;
}

/** Keep-alive connections, as the SDK's pipeline kept them. */
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/**
 * One request over node:http(s): far less garbage per request than fetch (no web streams, Request/Response
 * objects), which is what the sweep's memory bound needs.
 */
export function postOnce(
  url: string,
  headers: Array<[string, string]>,
  body: string,
  timeoutMs: number,
  method: "POST" | "PUT" = "POST",
) {
  return new Promise<PostAnswer>((resolve, reject) => {
    const secure = url.startsWith("https:");
    const outgoing: Record<string, string> = { "Content-Length": String(Buffer.byteLength(body)) };
    for (const [name, value] of headers) outgoing[name] = value;
    const req = (secure ? httpsRequest : httpRequest)(
      url,
      { method, headers: outgoing, agent: secure ? agents.https : agents.http, timeout: timeoutMs },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: { get: (name) => String(res.headers[name.toLowerCase()] ?? "") || null },
            text,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

/** Milliseconds a 429/503 asks to wait (Retry-After seconds or date, retry-after-ms), if it says. */
export function retryAfterMs(headers: PostAnswer["headers"], now = Date.now()): number | undefined {
  const ms = Number(headers.get("retry-after-ms") ?? headers.get("x-ms-retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get("retry-after");
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function createConnectorPost(deps: { connectors: ConnectorClients; post?: typeof postOnce }) {
  const send = deps.post ?? postOnce;

  function userAgentOf(client: ConnectorClientLike): string {
    const prefix = client.options?.userAgent;
    return typeof prefix === "string" && prefix.trim() !== "" ? `${prefix} ${RUNTIME}` : RUNTIME;
  }

  async function attempt(
    client: ConnectorClientLike,
    method: "POST" | "PUT",
    url: string,
    conversationId: string,
    body: string,
  ) {
    const headers = signableHeaders();
    headers.set("Content-Type", "application/json; charset=utf-8");
    headers.set("x-ms-conversation-id", conversationId);
    headers.set("User-Agent", userAgentOf(client));
    headers.set("x-ms-client-request-id", randomUUID());
    headers.set("accept", "*/*");
    // Signed per attempt, as the SDK's pipeline did: the token comes from the credentials' cache,
    // renewed before it expires. Empty credentials (BOT_AUTH disabled) add no Authorization.
    await client.credentials.signRequest({ url, method, headers });
    return send(url, headers.entries(), body, POST_TIMEOUT_MS, method);
  }

  /** One request; resolves the answer's activity id, throws ConnectorPostError unless it was 2xx. */
  async function once(method: "POST" | "PUT", serviceUrl: string, wire: Record<string, unknown>, pathId: string) {
    const conversationId = String((wire.conversation as { id?: unknown } | undefined)?.id ?? "");
    const base = serviceUrl.replace(/\/+$/, "");
    const url = `${base}/v3/conversations/${encodeURIComponent(conversationId)}/activities/${encodeURIComponent(pathId)}`;
    const client = await deps.connectors.get(serviceUrl);
    let res: PostAnswer;
    try {
      res = await attempt(client, method, url, conversationId, JSON.stringify(wire));
    } catch (e) {
      throw new ConnectorPostError(`Bot Connector did not answer (${(e as Error).name})`);
    }
    if (res.status >= 200 && res.status < 300) return idOf(res.text);
    throw new ConnectorPostError(
      `Bot Connector answered ${res.status}${codeOf(res.text)}`,
      res.status,
      retryAfterMs(res.headers),
    );
  }

  /**
   * POST {serviceUrl}/v3/conversations/{conversationId}/activities/{activity.replyToId}: resolves the new
   * activity's id; throws ConnectorPostError when the connector refused or never answered.
   */
  function replyToActivity(serviceUrl: string, activity: object): Promise<string | undefined> {
    const wire = toWireActivity(activity);
    return once("POST", serviceUrl, wire, String(wire.replyToId ?? ""));
  }

  /** PUT {serviceUrl}/v3/conversations/{conversationId}/activities/{activity.id}, as updateActivity sends it. */
  async function updateActivity(serviceUrl: string, activity: object): Promise<void> {
    const wire = toWireActivity(activity);
    await once("PUT", serviceUrl, wire, String(wire.id ?? ""));
  }

  return { replyToActivity, updateActivity };
}

function idOf(text: string): string | undefined {
  try {
    const id = (JSON.parse(text) as { id?: unknown }).id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The connector's error code (e.g. MessageSizeTooBig), never its message (it may quote the activity). */
function codeOf(text: string): string {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === "string" && /^[A-Za-z_]{1,64}$/.test(code) ? ` ${code}` : "";
  } catch {
    return "";
  }
}
