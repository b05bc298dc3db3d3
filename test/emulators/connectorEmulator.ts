// startConnectorEmulator: a Bot Framework Connector (the `serviceUrl` of inbound activities) over real
// HTTP on loopback, as strict as Teams. It records what the bot sends (replies, updates, deletes,
// proactive conversations) and refuses an activity over Teams' size limit with 413 MessageSizeTooBig.
// It also keeps what each user sees: posts and updates are seen by everyone in the conversation, the
// card of an `adaptiveCard/action` invoke answer only by the user who pressed (REPLACE_FOR_INTERACTOR),
// and a card's `refresh` (Universal Actions user-specific views) only by the users its client refreshes
// for. Sources for each behaviour: test/emulators/README.md, "Bot Connector emulator".
// Anonymous mode: no Authorization is required, but the header is recorded so a test can check it.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRateLimiter, type RateKind, type ThrottleRecord, TRANSIENT_STATUSES } from "./connectorRateLimits";

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
  /** Order of arrival among activities and invoke answers (what a client shows last wins). */
  seq: number;
  /** Size of the JSON body as sent: UTF-8 bytes, and UTF-16 bytes (what Teams' limit counts). */
  bytes: number;
  utf16Bytes: number;
}

/** An activity the emulator refused (413 MessageSizeTooBig): sent by the bot, seen by no one. */
export interface RefusedRecord {
  op: "create" | "update";
  conversationId: string;
  activityId?: string;
  activity: AnyActivity;
  bytes: number;
  utf16Bytes: number;
  at: number;
}

/**
 * The answer a Teams client received to an `adaptiveCard/action` invoke it sent for `userId`. The
 * bot's HTTP answer goes to that client only: the card in it replaces the message for that user alone.
 */
export interface InvokeRecord {
  conversationId: string;
  activityId: string;
  userId: string;
  trigger: "manual" | "automatic";
  verb?: string;
  status: number;
  body: AnyActivity;
  /** The Adaptive Card of the answer (`type: application/vnd.microsoft.card.adaptive`), if any. */
  card?: AnyActivity;
  bytes: number;
  at: number;
  seq: number;
}

/** What one user's client shows for one message. */
export interface UserView {
  conversationId: string;
  activityId: string;
  /** The Adaptive Card shown (undefined for a text message). */
  card: AnyActivity | undefined;
  activity: AnyActivity;
  /** "message": the posted or updated version everyone sees; "invoke"/"refresh": this user's own answer. */
  source: "message" | "invoke" | "refresh";
  seq: number;
  /**
   * The card's `refresh.action` when this user's client would now send an automatic refresh invoke
   * (the shown version is the shared one, it has `refresh`, and `refresh.userIds` is absent or lists
   * the user). The harness sends it and records the answer with trigger "automatic".
   */
  pendingRefresh?: AnyActivity;
}

/** A request answered 412/502/504 by the transient-fault mode (not applied). */
export interface FaultRecord {
  method: string;
  conversationId: string;
  status: number;
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
  /** Activities refused with 413 MessageSizeTooBig. */
  refused: RefusedRecord[];
  /** Invoke answers as each pressing client received them (see recordInvoke). */
  invokes: InvokeRecord[];
  /** The latest version of every non-deleted activity, in creation order (what everyone sees). */
  current(): CurrentActivity[];
  latest(activityId: string): CurrentActivity | undefined;
  /** Every current activity's Adaptive Card attachments. */
  cards(): CardView[];
  waitFor<T>(predicate: (current: CurrentActivity[]) => T | undefined, timeoutMs?: number): Promise<T>;
  /** Members answered by GET …/members for a conversation (besides those seen in created conversations). */
  addMember(conversationId: string, member: ChannelAccountLike): void;
  /**
   * The next `count` posts of a new activity (not typing) are answered `status` with Bot Connector's
   * error body and recorded nowhere, as when the service is unavailable (502/503) or throttles (429).
   */
  failNextPosts(count: number, status?: number): void;
  /**
   * Records the answer to an `adaptiveCard/action` invoke that `user`'s client sent about message
   * `activityId`: its card becomes what that user, and only that user, sees for the message, until
   * the bot posts a newer version (PUT) or the user presses again.
   */
  recordInvoke(r: {
    conversationId?: string;
    activityId: string;
    userId: string;
    trigger?: "manual" | "automatic";
    verb?: string;
    status: number;
    body: AnyActivity;
  }): InvokeRecord;
  /** Whether `userId` is in the conversation: a personal chat only for its members, a channel for anyone. */
  canSee(userId: string, conversationId: string): boolean;
  /** What `userId`'s client shows for message `activityId` now (undefined: deleted, unknown or not theirs). */
  viewOf(userId: string, activityId: string, opts?: { refreshes?: boolean }): UserView | undefined;
  /** Every version of the message `userId` has been shown (shared versions and their own answers). */
  versionsSeenBy(userId: string, activityId: string): AnyActivity[];
  /** The largest activity the bot sent (accepted or refused) and the largest invoke answer. */
  largest(): { activityBytes: number; activityUtf16Bytes: number; invokeBytes: number };
  /** Requests answered 429 by Teams' rate limits (connectorRateLimits.ts), in order. */
  throttled: ThrottleRecord[];
  /** 429s answered to requests sent after a 429 of the same scope had been answered ("after the first"). */
  throttledAfterFirst(): number;
  /** Teams' rate limits on (the default) or off (only for a test that measures something else). */
  setRateLimits(on: boolean): void;
  /**
   * Transient-fault mode: every `every`-th post or update of an activity (typing excluded) is answered
   * with the next of `statuses` (default 412, 502, 504 in turn) and not applied. `undefined` turns it off.
   */
  transientFaults(opts: { every: number; statuses?: readonly number[] } | undefined): void;
  /** Requests the transient-fault mode refused. */
  faulted: FaultRecord[];
  reset(): void;
}

/**
 * Teams' bot message limit, counted on the activity JSON encoded as UTF-16: Microsoft documents 100 KB
 * (approximate, and says only messages within 80 KB are guaranteed to be delivered; older revisions
 * of the same page said 40 KB). The emulator refuses above the guaranteed 80 KB, i.e. about 40 KB of
 * ASCII JSON. See test/emulators/README.md.
 */
export const TEAMS_MESSAGE_LIMIT_UTF16_BYTES = 80 * 1024;

/** Bot Connector's answer to an activity over the limit (observed bodies quoted in README.md). */
export const MESSAGE_SIZE_TOO_BIG = { error: { code: "MessageSizeTooBig", message: "Message size too large." } };

export const ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";

/** Bot Connector's error body for a throttled request (the code is not documented; the shape is its errors'). */
export const TOO_MANY_REQUESTS = { error: { code: "TooManyRequests", message: "Too many requests." } };

/** Which of Teams' documented budgets a connector request counts against (README, "Rate limits"). */
function rateKindOf(
  method: string,
  parts: string[],
  body: AnyActivity,
): { method: string; kind: RateKind; conversationId?: string } {
  if (parts[0] !== "v3" || parts[1] !== "conversations") return { method, kind: "other" };
  if (parts.length === 2) {
    if (method === "POST") {
      // A created conversation is the thread its budget belongs to: the chat with its first member.
      const member = body?.members?.[0];
      return { method, kind: "create", conversationId: String(member?.aadObjectId ?? member?.id ?? "(new)") };
    }
    return { method, kind: "read", conversationId: "(conversations)" };
  }
  const conversationId = parts[2];
  if (parts[3] === "activities") return { method, kind: method === "GET" ? "read" : "send", conversationId };
  if (parts[3] === "members" || parts[3] === "pagedmembers") return { method, kind: "read", conversationId };
  return { method, kind: "other" };
}

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

export interface ConnectorEmulatorOptions {
  port?: number;
  /**
   * The tenant's users as Teams knows them. Teams accepts a conversation member named by its Entra object
   * id (`aadObjectId`) and resolves it to the user's Teams id; without a roster a member is taken as given.
   */
  roster?: ReadonlyArray<{ id: string; aadObjectId: string; name?: string }>;
  /** Teams' rate limits (default on: every e2e test runs under them). */
  rateLimits?: boolean;
  /** The clock the rate limits count with (tests of the 30 s and hour windows). */
  now?: () => number;
}

export async function startConnectorEmulator(opts: ConnectorEmulatorOptions = {}): Promise<ConnectorEmulator> {
  const activities: ActivityRecord[] = [];
  const typing: ActivityRecord[] = [];
  const conversationsCreated: ConversationCreatedRecord[] = [];
  const members = new Map<string, ChannelAccountLike[]>();
  const refused: RefusedRecord[] = [];
  const failingPosts = { count: 0, status: 503 };
  const invokes: InvokeRecord[] = [];
  const limiter = createRateLimiter(opts.now ?? Date.now);
  let limitsOn = opts.rateLimits ?? true;
  const faults: { every: number; statuses: readonly number[]; seen: number; sent: number } = {
    every: 0,
    statuses: TRANSIENT_STATUSES,
    seen: 0,
    sent: 0,
  };
  const faulted: FaultRecord[] = [];
  // Conversations only their members see: 1:1 chats the bot created, and chats marked "personal".
  const personal = new Set<string>();
  const listeners = new Set<() => void>();
  let counter = 0;
  let seq = 0;
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

  const rememberMember = (conversationId: string, given: unknown) => {
    if (!given || typeof given !== "object" || typeof (given as ChannelAccountLike).id !== "string") return;
    const byAad = opts.roster?.find((u) => u.aadObjectId === (given as ChannelAccountLike).id);
    const m: ChannelAccountLike = byAad
      ? { ...(given as ChannelAccountLike), id: byAad.id, aadObjectId: byAad.aadObjectId }
      : (given as ChannelAccountLike);
    const list = members.get(conversationId) ?? [];
    if (!list.some((x) => x.id === m.id)) list.push(m);
    members.set(conversationId, list);
  };

  const record = (r: Omit<ActivityRecord, "seq">) => {
    const full = { ...r, seq: ++seq };
    if (r.activity?.type === "typing") typing.push(full);
    else activities.push(full);
    notify();
  };

  /** Size as Teams counts it: the JSON as UTF-16 (JS strings are UTF-16 code units). */
  const sizes = (json: string) => ({ bytes: Buffer.byteLength(json, "utf8"), utf16Bytes: json.length * 2 });
  const tooBig = (utf16Bytes: number) => utf16Bytes > TEAMS_MESSAGE_LIMIT_UTF16_BYTES;
  const notePersonal = (conversationId: string, activity: AnyActivity) => {
    if (activity?.conversation?.conversationType === "personal") personal.add(conversationId);
  };

  const conversationOf = (activityId: string) => activities.find((a) => a.activityId === activityId)?.conversationId;

  const canSee = (userId: string, conversationId: string) =>
    !personal.has(conversationId) || (members.get(conversationId) ?? []).some((m) => m.id === userId);

  const cardIn = (activity: AnyActivity) =>
    ((activity?.attachments ?? []) as AnyActivity[]).find((a) => a?.contentType === ADAPTIVE_CARD_CONTENT_TYPE)
      ?.content;

  const viewOf = (userId: string, activityId: string, opts: { refreshes?: boolean } = {}): UserView | undefined => {
    const conversationId = conversationOf(activityId);
    if (conversationId === undefined || !canSee(userId, conversationId)) return undefined;
    const versions = activities.filter((a) => a.activityId === activityId && a.conversationId === conversationId);
    const last = versions[versions.length - 1];
    if (!last || last.op === "delete") return undefined;
    const own = invokes
      .filter((i) => i.activityId === activityId && i.userId === userId && i.card !== undefined && i.seq > last.seq)
      .at(-1);
    if (own)
      return {
        conversationId,
        activityId,
        card: own.card,
        activity: { ...last.activity, attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: own.card }] },
        source: own.trigger === "automatic" ? "refresh" : "invoke",
        seq: own.seq,
      };
    const card = cardIn(last.activity);
    const refresh = card?.refresh;
    const refreshFor =
      (opts.refreshes ?? true) &&
      refresh?.action?.type === "Action.Execute" &&
      (!Array.isArray(refresh.userIds) || refresh.userIds.includes(userId));
    return {
      conversationId,
      activityId,
      card,
      activity: last.activity,
      source: "message",
      seq: last.seq,
      ...(refreshFor ? { pendingRefresh: refresh.action } : {}),
    };
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
    if (limitsOn) {
      const throttle = limiter.admit(rateKindOf(method, parts, body));
      if (!throttle.ok) {
        res.writeHead(429, {
          "content-type": "application/json",
          "retry-after": String(throttle.record.retryAfterSeconds),
        });
        res.end(JSON.stringify(TOO_MANY_REQUESTS), () => limiter.answered(throttle.record));
        notify();
        return;
      }
    }
    if (parts[0] !== "v3" || parts[1] !== "conversations") {
      return send(res, 404, { error: { code: "NotFound", message: "No such route" } });
    }

    if (parts.length === 2) {
      if (method === "POST") {
        let activitySize: { bytes: number; utf16Bytes: number } | undefined;
        if (body?.activity) {
          activitySize = sizes(JSON.stringify(body.activity));
          if (tooBig(activitySize.utf16Bytes)) {
            refused.push({ op: "create", conversationId: "(new)", activity: body.activity, ...activitySize, at });
            notify();
            return send(res, 413, MESSAGE_SIZE_TOO_BIG);
          }
        }
        const id = freshId("conv");
        for (const m of body?.members ?? []) rememberMember(id, m);
        if (body?.isGroup !== true) personal.add(id);
        let activityId: string | undefined;
        if (body?.activity && activitySize) {
          activityId = freshId("act");
          record({
            op: "create",
            conversationId: id,
            activityId,
            activity: { ...body.activity, id: activityId },
            authorization,
            at,
            ...activitySize,
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
      const size = sizes(raw);
      const isTyping = body?.type === "typing";
      if (
        (method === "POST" || method === "PUT") &&
        !isTyping &&
        faults.every > 0 &&
        ++faults.seen % faults.every === 0
      ) {
        const status = faults.statuses[faults.sent++ % faults.statuses.length] ?? 502;
        faulted.push({ method, conversationId, status, at });
        notify();
        return send(res, status, {
          error: { code: "ServiceError", message: "The service is temporarily unavailable." },
        });
      }
      if (method === "POST" && !isTyping && failingPosts.count > 0) {
        failingPosts.count--;
        return send(res, failingPosts.status, {
          error: { code: "ServiceError", message: "The service is temporarily unavailable." },
        });
      }
      if ((method === "POST" || method === "PUT") && !isTyping && tooBig(size.utf16Bytes)) {
        refused.push({
          op: method === "POST" ? "create" : "update",
          conversationId,
          activityId: method === "PUT" ? pathActivityId : undefined,
          activity: body,
          ...size,
          at,
        });
        notify();
        return send(res, 413, MESSAGE_SIZE_TOO_BIG);
      }
      if (method === "POST" && parts.length <= 5) {
        const activityId = freshId("act");
        const replyToId = pathActivityId ?? body?.replyToId ?? undefined;
        rememberMember(conversationId, body?.recipient);
        notePersonal(conversationId, body);
        record({
          op: "create",
          conversationId,
          activityId,
          replyToId,
          activity: { ...body, id: activityId },
          authorization,
          at,
          ...size,
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
          ...size,
        });
        return send(res, 200, { id: pathActivityId });
      }
      if (method === "DELETE" && pathActivityId !== undefined && parts.length === 5) {
        record({
          op: "delete",
          conversationId,
          activityId: pathActivityId,
          activity: null,
          authorization,
          at,
          bytes: 0,
          utf16Bytes: 0,
        });
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
    refused,
    invokes,
    recordInvoke(r) {
      const conversationId = r.conversationId ?? conversationOf(r.activityId) ?? "";
      const isCard = r.body?.type === ADAPTIVE_CARD_CONTENT_TYPE && r.body?.value && typeof r.body.value === "object";
      const full: InvokeRecord = {
        conversationId,
        activityId: r.activityId,
        userId: r.userId,
        trigger: r.trigger ?? "manual",
        verb: r.verb,
        status: r.status,
        body: r.body,
        card: isCard ? r.body.value : undefined,
        bytes: Buffer.byteLength(JSON.stringify(r.body ?? ""), "utf8"),
        at: Date.now(),
        seq: ++seq,
      };
      invokes.push(full);
      notify();
      return full;
    },
    canSee,
    failNextPosts(count: number, status = 503) {
      failingPosts.count = count;
      failingPosts.status = status;
    },
    viewOf,
    versionsSeenBy(userId, activityId) {
      const conversationId = conversationOf(activityId);
      if (conversationId === undefined || !canSee(userId, conversationId)) return [];
      const shared = activities
        .filter((a) => a.activityId === activityId && a.op !== "delete")
        .map((a) => cardIn(a.activity));
      const own = invokes.filter((i) => i.activityId === activityId && i.userId === userId).map((i) => i.card);
      return [...shared, ...own].filter((c) => c !== undefined);
    },
    largest() {
      const sent = [...activities, ...typing, ...refused];
      return {
        activityBytes: Math.max(0, ...sent.map((a) => a.bytes)),
        activityUtf16Bytes: Math.max(0, ...sent.map((a) => a.utf16Bytes)),
        invokeBytes: Math.max(0, ...invokes.map((i) => i.bytes)),
      };
    },
    throttled: limiter.throttled,
    throttledAfterFirst: () => limiter.throttled.filter((t) => t.afterFirst).length,
    setRateLimits(on: boolean) {
      limitsOn = on;
    },
    transientFaults(o) {
      faults.every = o?.every ?? 0;
      faults.statuses = o?.statuses ?? TRANSIENT_STATUSES;
      faults.seen = 0;
      faults.sent = 0;
    },
    faulted,
    reset: () => {
      limiter.reset();
      faulted.length = 0;
      activities.length = 0;
      typing.length = 0;
      conversationsCreated.length = 0;
      refused.length = 0;
      invokes.length = 0;
      members.clear();
      personal.clear();
    },
  };
}
