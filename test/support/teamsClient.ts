// createTeamsClient: the Teams clients of several users in front of one bot, as strict as Teams about
// who sees which card. A user presses a button only on the card their own client shows: the last
// version the bot posted or updated (everyone sees those), or the card of their own invoke answer
// for that message (nobody else sees it), or what their client's automatic `refresh` fetched
// (Universal Actions user-specific views). The e2e harness (stack.ts) and the crash harness
// (botProcess.ts) drive the bot through it; the connector emulator keeps the records.

import type { ConnectorEmulator, UserView } from "../emulators/connectorEmulator";
import { activityBase, CHANNEL, cardActionActivity, type TeamsUser } from "./teamsActivity";

export interface PressOptions {
  user?: TeamsUser;
  inputs?: Record<string, unknown>;
  tenantId?: string;
  /** Override the data sent (a forged payload); the button must still be on a card the user sees. */
  data?: Record<string, unknown>;
  /**
   * Press on this older copy of the card, as a client that missed an update would. Strict: it must be
   * a version this user was really shown for this message (a shared version or their own answer).
   */
  card?: any;
}

export interface InvokeAnswer {
  status: number;
  body: any;
  /** The card of the answer: what replaces the message for the presser only. */
  card: any;
  text: string;
  /** How long the bot took to answer the invoke (Teams gives up after a few seconds). */
  ms: number;
  /** Sign-in requests (`loginRequest` bodies) the client met and answered before this answer. */
  signIns: any[];
}

/** Verified approvals: what the client sends again after a `loginRequest` (`authentication` or `state`). */
export type SignInHandler = (user: TeamsUser, loginRequest: any) => Promise<Record<string, unknown> | undefined>;

export interface TeamsClient {
  press(activityId: string, title: string, opts?: PressOptions): Promise<InvokeAnswer>;
  /** What `user`'s client shows for the message now, after any automatic refresh it would send. */
  viewOf(user: TeamsUser, activityId: string): Promise<UserView | undefined>;
  /** The card everyone sees in the message: its last posted or updated version. */
  sharedCard(activityId: string): any;
  /** Waits (bounded, event-driven) until the shared card matches. */
  waitForSharedCard(activityId: string, pred: (card: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Waits (bounded) until what `user` sees in the message matches. */
  waitForView(user: TeamsUser, activityId: string, pred: (card: any) => boolean, timeoutMs?: number): Promise<any>;
  /** The newest message the bot posted (created, not updated) with a card, and its shared card. */
  lastCardMessage(): { activityId: string; card: any };
  /** Whether this user's Teams client sends automatic refresh invokes (default: yes). */
  setRefreshes(user: TeamsUser, on: boolean): void;
}

export function createTeamsClient(deps: {
  connector: ConnectorEmulator;
  /** POSTs an activity to the bot's /api/messages; the parsed HTTP answer. */
  post(activity: unknown): Promise<{ status: number; body: unknown }>;
  tenantId: string;
  defaultUser: TeamsUser;
  /** As Teams does on a 401 `loginRequest`: obtain the user's token (SSO or sign-in) and send the action again. */
  signIn?: SignInHandler;
}): TeamsClient {
  const { connector } = deps;
  const noRefresh = new Set<string>();
  // A client refreshes a given version of a message once (Teams: at most once a minute per card).
  const refreshed = new Set<string>();

  function baseFor(user: TeamsUser, conversationId: string, tenantId: string) {
    if (conversationId.startsWith(`${CHANNEL.channelId};`))
      return activityBase({ serviceUrl: connector.url, user, tenantId, conversation: "channel" });
    const base = activityBase({ serviceUrl: connector.url, user, tenantId, conversation: "personal" });
    return { ...base, conversation: { ...base.conversation, id: conversationId } };
  }

  async function invoke(
    user: TeamsUser,
    view: { conversationId: string; activityId: string },
    action: { title?: string; verb: string; data: Record<string, unknown> },
    trigger: "manual" | "automatic",
    tenantId = deps.tenantId,
  ): Promise<InvokeAnswer> {
    const t0 = performance.now();
    const activity = cardActionActivity(baseFor(user, view.conversationId, tenantId), view.activityId, action, trigger);
    let res = await deps.post(activity);
    const signIns: any[] = [];
    // Universal Actions SSO: the client obtains a token (silently, or through the sign-in the request
    // links to) and sends the same action again; a second request (the fallback) is answered once more.
    while (
      deps.signIn &&
      trigger === "manual" &&
      signIns.length < 2 &&
      (res.body as any)?.type === "application/vnd.microsoft.activity.loginRequest"
    ) {
      signIns.push(res.body);
      const extra = await deps.signIn(user, (res.body as any).value);
      if (!extra) break;
      res = await deps.post({
        ...activity,
        id: `${activity.id}-${signIns.length}`,
        value: { ...activity.value, ...extra },
      });
    }
    const ms = performance.now() - t0;
    const body = res.body as any;
    connector.recordInvoke({
      conversationId: view.conversationId,
      activityId: view.activityId,
      userId: user.id,
      trigger,
      verb: action.verb,
      status: res.status,
      body,
    });
    const card = body?.type === "application/vnd.microsoft.card.adaptive" ? body.value : undefined;
    const text = typeof body?.value === "string" ? body.value : "";
    return { status: res.status, body, card, text, ms, signIns };
  }

  async function viewOf(user: TeamsUser, activityId: string): Promise<UserView | undefined> {
    for (let i = 0; i < 3; i++) {
      const view = connector.viewOf(user.id, activityId, { refreshes: !noRefresh.has(user.id) });
      if (!view?.pendingRefresh) return view;
      const key = `${user.id}\u0000${activityId}\u0000${view.seq}`;
      if (refreshed.has(key)) return view;
      refreshed.add(key);
      const a = view.pendingRefresh;
      await invoke(user, view, { title: a.title, verb: a.verb, data: a.data ?? {} }, "automatic");
    }
    return connector.viewOf(user.id, activityId, { refreshes: false });
  }

  function describe(card: any): string {
    const titles = allActionTitles(card);
    return `${JSON.stringify(card?.body?.[0]?.text ?? "(no title)")} with buttons ${JSON.stringify(titles)}`;
  }

  const client: TeamsClient = {
    async press(activityId, title, opts = {}) {
      const user = opts.user ?? deps.defaultUser;
      const conversationId = connector.activities.find((a) => a.activityId === activityId)?.conversationId;
      if (conversationId === undefined) throw new Error(`no message ${activityId} in any conversation`);
      if (!connector.canSee(user.id, conversationId))
        throw new Error(`${user.name} is not in the conversation of message ${activityId} and cannot press anything`);
      let card: any;
      if (opts.card) {
        const wanted = JSON.stringify(opts.card);
        if (!connector.versionsSeenBy(user.id, activityId).some((c) => JSON.stringify(c) === wanted))
          throw new Error(
            `${user.name} was never shown this copy of the card in ${activityId} (${describe(opts.card)}): ` +
              "it is another user's invoke answer or was never sent",
          );
        card = opts.card;
      } else {
        const view = await viewOf(user, activityId);
        if (!view?.card) throw new Error(`${user.name} sees no card in message ${activityId}`);
        card = view.card;
        if (!findAction(card, title))
          throw new Error(
            `${user.name} sees no button "${title}" in message ${activityId}: their client shows the ` +
              `${view.source === "message" ? "shared (posted/updated)" : `their own ${view.source} answer's`} card ` +
              describe(card),
          );
      }
      const action = findAction(card, title);
      if (!action) throw new Error(`no button "${title}" on that card of ${activityId}: ${describe(card)}`);
      const inputs = { ...collectInputs(card), ...(opts.inputs ?? {}) };
      const data = opts.data ?? { ...(action.data ?? {}), ...inputs };
      return invoke(
        user,
        { conversationId, activityId },
        { title: action.title, verb: action.verb, data },
        "manual",
        opts.tenantId,
      );
    },
    viewOf,
    sharedCard(activityId) {
      const view = connector.current().find((c) => c.activityId === activityId);
      return view?.activity?.attachments?.[0]?.content;
    },
    async waitForSharedCard(activityId, pred, timeoutMs = 15_000) {
      try {
        return await connector.waitFor(() => {
          const card = client.sharedCard(activityId);
          return card && pred(card) ? card : undefined;
        }, timeoutMs);
      } catch {
        throw new Error(
          `the shared card of ${activityId} never matched within ${timeoutMs} ms; everyone sees: ` +
            cardText(client.sharedCard(activityId)).slice(0, 3000),
        );
      }
    },
    async waitForView(user, activityId, pred, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const view = await viewOf(user, activityId);
        if (view?.card && pred(view.card)) return view.card;
        if (Date.now() > deadline)
          throw new Error(
            `what ${user.name} sees in ${activityId} never matched within ${timeoutMs} ms; ` +
              `their client shows (${view?.source ?? "nothing"}): ${cardText(view?.card).slice(0, 3000)}`,
          );
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    lastCardMessage() {
      const created = connector.activities.filter((a) => a.op === "create" && a.activity?.attachments?.length);
      const last = created[created.length - 1];
      if (!last) throw new Error("the bot has posted no card");
      return { activityId: last.activityId, card: client.sharedCard(last.activityId) };
    },
    setRefreshes(user, on) {
      if (on) noRefresh.delete(user.id);
      else noRefresh.add(user.id);
    },
  };
  return client;
}

// ---------------------------------------------------------------------------------------------
// Reading cards the way a person does.

export function walk(node: any, visit: (n: any) => void) {
  if (Array.isArray(node)) for (const n of node) walk(n, visit);
  else if (node && typeof node === "object") {
    visit(node);
    for (const v of Object.values(node)) walk(v, visit);
  }
}

/** A button by title; the card's `refresh` action is not a button and is never found. */
export function findAction(card: any, title: string): any {
  let found: any;
  walk(withoutRefresh(card), (n) => {
    if (!found && typeof n.type === "string" && n.type.startsWith("Action.") && n.title === title) found = n;
  });
  return found;
}

export function allActionTitles(card: any): string[] {
  const titles: string[] = [];
  walk(withoutRefresh(card), (n) => {
    if (typeof n.type === "string" && n.type.startsWith("Action.")) titles.push(n.title);
  });
  return titles;
}

function withoutRefresh(card: any) {
  if (!card || typeof card !== "object" || !("refresh" in card)) return card;
  const { refresh: _refresh, ...rest } = card;
  return rest;
}

export function collectInputs(card: any): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  walk(card, (n) => {
    if (typeof n.type === "string" && n.type.startsWith("Input.") && n.id) inputs[n.id] = n.value ?? "";
  });
  return inputs;
}

/** All visible text of a card: text blocks, fact titles and values. */
export function cardText(card: any): string {
  const out: string[] = [];
  walk(card, (n) => {
    if (n.type === "TextBlock" && typeof n.text === "string") out.push(n.text);
    if (typeof n.title === "string" && typeof n.value === "string") out.push(`${n.title}: ${n.value}`);
    if (typeof n.type === "string" && n.type.startsWith("Input.") && n.label) out.push(`${n.label}`);
  });
  return out.join("\n");
}

export function fact(card: any, title: string): string | undefined {
  let value: string | undefined;
  walk(card, (n) => {
    if (value === undefined && n.title === title && typeof n.value === "string" && !n.type) value = n.value;
  });
  return value;
}
