// startConnectorEmulator: a Bot Framework Connector (the `serviceUrl` of inbound activities) over real
// HTTP on loopback. It records what the bot sends (replies, updates, deletes, proactive
// conversations) so e2e tests can read the cards a person would see and press their buttons.
// Anonymous mode: no Authorization is required, but the header is recorded so a test can check it.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type AnyActivity = any;

export interface ActivityRecord {
  op: "create" | "update" | "delete";
  conversationId: string;
  activityId: string;
  replyToId?: string;
  activity: AnyActivity;
  /** The Authorization header as received (undefined in anonymous mode). */
  authorization?: string;
  at: number;
}

export interface ConversationCreatedRecord {
  id: string;
  activityId?: string;
  parameters: any;
  authorization?: string;
  at: number;
}

export interface CurrentActivity {
  conversationId: string;
  activityId: string;
  replyToId?: string;
  activity: AnyActivity;
}

export interface CardView {
  activityId: string;
  conversationId: string;
  /** The attachment's `content`: the Adaptive Card JSON. */
  content: any;
}

export interface ChannelAccountLike {
  id: string;
  name?: string;
  aadObjectId?: string;
  [k: string]: unknown;
}

export interface ConnectorEmulator {
  url: string;
  close(): Promise<void>;
  activities: ActivityRecord[];
  typing: ActivityRecord[];
  conversationsCreated: ConversationCreatedRecord[];
  /** The latest version of every non-deleted activity, in creation order. */
  current(): CurrentActivity[];
  latest(activityId: string): CurrentActivity | undefined;
  /** Every current activity's Adaptive Card attachments. */
  cards(): CardView[];
  waitFor<T>(predicate: (current: CurrentActivity[]) => T | undefined, timeoutMs?: number): Promise<T>;
  /** Members answered by GET …/members for a conversation (besides those seen in created conversations). */
  addMember(conversationId: string, member: ChannelAccountLike): void;
  reset(): void;
}

export const ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body?: unknown) {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function plausibleMember(id: string): ChannelAccountLike {
  return {
    id,
    name: "Test User",
    aadObjectId: "00000000-0000-0000-0000-00000000a11c",
    givenName: "Test",
    surname: "User",
    email: "test.user@contoso.example",
    userPrincipalName: "test.user@contoso.example",
    tenantId: "00000000-0000-0000-0000-000000000001",
    userRole: "user",
  };
}

export async function startConnectorEmulator(opts: { port?: number } = {}): Promise<ConnectorEmulator> {
  const activities: ActivityRecord[] = [];
  const typing: ActivityRecord[] = [];
  const conversationsCreated: ConversationCreatedRecord[] = [];
  const members = new Map<string, ChannelAccountLike[]>();
  const listeners = new Set<() => void>();
  let counter = 0;
  const freshId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;

  const notify = () => {
    for (const l of [...listeners]) l();
  };

  const current = (): CurrentActivity[] => {
    const byId = new Map<string, CurrentActivity>();
    for (const r of activities) {
      // Keyed by conversation and id: ids are only unique within a conversation in the real service.
      const key = `${r.conversationId}\u0000${r.activityId}`;
      if (r.op === "delete") {
        byId.delete(key);
        continue;
      }
      const prior = byId.get(key);
      byId.set(key, {
        conversationId: r.conversationId,
        activityId: r.activityId,
        replyToId: prior?.replyToId ?? r.replyToId,
        activity: r.activity,
      });
    }
    return [...byId.values()];
  };

  const rememberMember = (conversationId: string, m: unknown) => {
    if (!m || typeof m !== "object" || typeof (m as ChannelAccountLike).id !== "string") return;
    const list = members.get(conversationId) ?? [];
    if (!list.some((x) => x.id === (m as ChannelAccountLike).id)) list.push(m as ChannelAccountLike);
    members.set(conversationId, list);
  };

  const record = (r: ActivityRecord) => {
    if (r.activity?.type === "typing") typing.push(r);
    else activities.push(r);
    notify();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? "GET";
    const authorization = req.headers.authorization;
    const raw = await readBody(req);
    let body: AnyActivity;
    try {
      body = raw.length > 0 ? JSON.parse(raw) : undefined;
    } catch {
      return send(res, 400, { error: { code: "BadSyntax", message: "Body is not JSON" } });
    }
    // Split before decoding: conversation ids carry encoded ';', ':' and '=' (and could carry '/').
    const pathname = (req.url ?? "/").split("?")[0] ?? "/";
    const parts = pathname
      .split("/")
      .filter((p) => p !== "")
      .map((p) => decodeURIComponent(p));
    const at = Date.now();

    if (parts[0] === "v3" && parts[1] === "teams" && parts.length === 3 && method === "GET") {
      return send(res, 200, { id: parts[2], name: "Test Team", aadGroupId: "00000000-0000-0000-0000-0000000000aa" });
    }
    if (parts[0] !== "v3" || parts[1] !== "conversations") {
      return send(res, 404, { error: { code: "NotFound", message: "No such route" } });
    }

    if (parts.length === 2) {
      if (method === "POST") {
        const id = freshId("conv");
        for (const m of body?.members ?? []) rememberMember(id, m);
        let activityId: string | undefined;
        if (body?.activity) {
          activityId = freshId("act");
          record({
            op: "create",
            conversationId: id,
            activityId,
            activity: { ...body.activity, id: activityId },
            authorization,
            at,
          });
        }
        conversationsCreated.push({ id, activityId, parameters: body, authorization, at });
        notify();
        return send(res, 200, activityId ? { id, activityId } : { id });
      }
      if (method === "GET") return send(res, 200, { conversations: conversationsCreated.map((c) => ({ id: c.id })) });
      return send(res, 405);
    }

    const conversationId = parts[2]!;
    const sub = parts[3];

    if ((sub === "members" || sub === "pagedmembers") && method === "GET") {
      const known = members.get(conversationId) ?? [];
      if (sub === "pagedmembers")
        return send(res, 200, { members: known.length > 0 ? known : [plausibleMember("29:test-user")] });
      if (parts.length === 5) return send(res, 200, known.find((m) => m.id === parts[4]) ?? plausibleMember(parts[4]!));
      return send(res, 200, known.length > 0 ? known : [plausibleMember("29:test-user")]);
    }

    if (sub === "activities") {
      const pathActivityId = parts[4];
      if (method === "POST" && parts.length <= 5) {
        const activityId = freshId("act");
        const replyToId = pathActivityId ?? body?.replyToId ?? undefined;
        rememberMember(conversationId, body?.recipient);
        record({
          op: "create",
          conversationId,
          activityId,
          replyToId,
          activity: { ...body, id: activityId },
          authorization,
          at,
        });
        return send(res, 200, { id: activityId });
      }
      if (method === "PUT" && pathActivityId !== undefined && parts.length === 5) {
        record({
          op: "update",
          conversationId,
          activityId: pathActivityId,
          activity: { ...body, id: pathActivityId },
          authorization,
          at,
        });
        return send(res, 200, { id: pathActivityId });
      }
      if (method === "DELETE" && pathActivityId !== undefined && parts.length === 5) {
        record({ op: "delete", conversationId, activityId: pathActivityId, activity: null, authorization, at });
        return send(res, 200);
      }
      return send(res, 405);
    }
    return send(res, 404, { error: { code: "NotFound", message: "No such route" } });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: { code: "InternalError", message: "emulator error" } });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const describeSeen = () =>
    current()
      .map((c) => {
        const a = c.activity ?? {};
        const cards = (a.attachments ?? []).filter(
          (x: AnyActivity) => x?.contentType === ADAPTIVE_CARD_CONTENT_TYPE,
        ).length;
        const text = typeof a.text === "string" ? JSON.stringify(a.text.slice(0, 80)) : "";
        return `  ${c.activityId} in ${c.conversationId}: ${a.type ?? "?"} ${text}${cards ? ` [${cards} card(s)]` : ""}`;
      })
      .join("\n") || "  (nothing)";

  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
    activities,
    typing,
    conversationsCreated,
    current,
    latest: (activityId) => current().find((c) => c.activityId === activityId),
    cards: () =>
      current().flatMap((c) =>
        ((c.activity?.attachments ?? []) as AnyActivity[])
          .filter((a) => a?.contentType === ADAPTIVE_CARD_CONTENT_TYPE)
          .map((a) => ({ activityId: c.activityId, conversationId: c.conversationId, content: a.content })),
      ),
    waitFor: <T>(predicate: (cur: CurrentActivity[]) => T | undefined, timeoutMs = 10_000) =>
      new Promise<T>((resolve, reject) => {
        let done = false;
        const check = () => {
          if (done) return;
          let value: T | undefined;
          try {
            value = predicate(current());
          } catch (e) {
            finish();
            reject(e);
            return;
          }
          if (value !== undefined) {
            finish();
            resolve(value);
          }
        };
        const timer = setTimeout(() => {
          if (done) return;
          finish();
          reject(
            new Error(`connectorEmulator.waitFor: nothing matched within ${timeoutMs} ms; seen:\n${describeSeen()}`),
          );
        }, timeoutMs);
        const finish = () => {
          done = true;
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
    addMember: rememberMember,
    reset: () => {
      activities.length = 0;
      typing.length = 0;
      conversationsCreated.length = 0;
      members.clear();
    },
  };
}
