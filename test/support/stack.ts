// startStack: the whole bot over HTTP on port 0, with the Graph, UMP and Bot Connector emulators, a
// fresh SQLite file, and a "Teams" that sends activities shaped as Teams sends them and presses card
// buttons by title. Everything the bot says (connector records, invoke answers, log lines) is kept so
// tests can scan it for the secret.

import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { createBot, type BotOverrides, type Syncbot } from "../../src/createBot";
import { createLogger } from "../../src/logger";
import type { Clock } from "../../src/domain/ports";
import { type ConnectorEmulator, startConnectorEmulator } from "../emulators/connectorEmulator";
import { type GraphEmulator, startGraphEmulator } from "../emulators/graphEmulator";
import { startUmpEmulator, type UmpEmulator } from "../emulators/umpEmulator";
import { activityBase, cardActionActivity, messageActivity, type TeamsUser } from "./teamsActivity";

export const TENANT = "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f";
export const OTHER_TENANT = "9e8d7c6b-5a49-4838-a726-150f4e3d2c1b";
export const UMP_TOKEN = "ump-test-token-0123456789";
export const JOBS_KEY = "jobs-key-0123456789abcdef";

export type TestUser = TeamsUser;
export const USERS = {
  requester: { aadObjectId: "11111111-1111-4111-8111-111111111111", id: "29:requester", name: "Alex Wilber" },
  approver: { aadObjectId: "22222222-2222-4222-8222-222222222222", id: "29:approver", name: "Megan Bowen" },
  groupAdmin: { aadObjectId: "33333333-3333-4333-8333-333333333333", id: "29:groupadmin", name: "Lee Gu" },
  bystander: { aadObjectId: "44444444-4444-4444-8444-444444444444", id: "29:bystander", name: "Adele Vance" },
  listed: { aadObjectId: "55555555-5555-4555-8555-555555555555", id: "29:listed", name: "Diego Siciliani" },
} satisfies Record<string, TestUser>;

export { CHANNEL } from "./teamsActivity";

export interface StackOptions {
  env?: Record<string, string>;
  clock?: Clock;
  overrides?: BotOverrides;
  sqlitePath?: string;
  umpInstances?: string[];
}

export interface Stack {
  bot: Syncbot;
  url: string;
  graph: GraphEmulator;
  ump: UmpEmulator;
  connector: ConnectorEmulator;
  logs: string[];
  sqlitePath: string;
  dataDir: string;
  env: Record<string, string>;
  /** Posts a message in the ops channel (with the @mention, as Teams does). */
  say(text: string, opts?: SayOptions): Promise<{ status: number; body: unknown }>;
  /** Presses the button titled `title` on the card shown in `activityId`, as Teams does. */
  press(activityId: string, title: string, opts?: PressOptions): Promise<InvokeAnswer>;
  /** What a user sees now in that message: the newest of the invoke answers and the bot's updates. */
  cardOf(activityId: string): any;
  /** Card of the newest bot message (created, not updated) in the channel. */
  lastCardMessage(): { activityId: string; card: any };
  waitForCard(activityId: string, pred: (card: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Every text the bot produced anywhere (connector, invoke answers, logs) + the database files. */
  everything(): string;
  /** `provision <customer>` in the channel, then Review plan on the parameters card. */
  reviewPlan(
    customer?: string,
    opts?: { inputs?: Record<string, unknown>; user?: TestUser },
  ): Promise<{ activityId: string; answer: InvokeAnswer }>;
  /** reviewPlan, Approve by `approver`, and wait until the run succeeded or failed. */
  provision(
    customer?: string,
    opts?: { inputs?: Record<string, unknown>; approver?: TestUser },
  ): Promise<{ activityId: string; approve: InvokeAnswer; card: any }>;
  restart(extraEnv?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

export interface SayOptions {
  user?: TestUser;
  tenantId?: string;
  conversation?: "channel" | "personal";
}
export interface PressOptions {
  user?: TestUser;
  inputs?: Record<string, unknown>;
  tenantId?: string;
  /** Override the data sent (a forged payload). */
  data?: Record<string, unknown>;
  /** Press on this (possibly stale) copy of the card instead of the current one, as a client that missed an update would. */
  card?: any;
}
export interface InvokeAnswer {
  status: number;
  body: any;
  card: any;
  text: string;
}

export function baseEnv(graph: GraphEmulator, ump: UmpEmulator, sqlitePath: string): Record<string, string> {
  return {
    PORT: "0",
    BOT_AUTH: "disabled",
    MicrosoftAppId: "",
    SP_TENANT_ID: TENANT,
    GRAPH_BASE_URL: graph.graphBaseUrl,
    GRAPH_CREDENTIAL: "none",
    AUTHORITY_HOST: graph.authorityHost,
    UMP_TARGET: "api",
    UMP_BASE_URL: ump.url,
    UMP_TOKEN,
    STORE: "sqlite",
    SQLITE_PATH: sqlitePath,
    APPROVAL_POLICY: "global-admin",
    LOG_LEVEL: "debug",
    JOBS_KEY,
    DEFAULT_SP_FQDN: "ump.example.net",
    DEFAULT_UMP_INSTANCE: "ump-{customer}",
    SWEEP_INTERVAL_HOURS: "0",
    RUN_LEASE_SECONDS: "2",
    TOKEN_PROOF_ATTEMPTS: "20",
    TOKEN_PROOF_DELAY_MS: "50",
    UMP_POLL_MS: "10",
  };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  // As strict as Microsoft Graph, with the least-privilege permissions the README documents.
  const graph = await startGraphEmulator({ tenantId: TENANT, strict: true });
  const ump = await startUmpEmulator({
    token: UMP_TOKEN,
    instances: options.umpInstances ?? ["ump-contoso", "ump-fabrikam", "ump-northwind"],
  });
  const connector = await startConnectorEmulator();
  graph.seedUser({ id: USERS.approver.aadObjectId, displayName: USERS.approver.name, globalAdmin: true });
  graph.seedUser({
    id: USERS.groupAdmin.aadObjectId,
    displayName: USERS.groupAdmin.name,
    globalAdmin: true,
    viaGroup: true,
  });
  graph.seedUser({ id: USERS.requester.aadObjectId, displayName: USERS.requester.name });
  graph.seedUser({ id: USERS.bystander.aadObjectId, displayName: USERS.bystander.name });
  graph.seedUser({ id: USERS.listed.aadObjectId, displayName: USERS.listed.name });

  const dataDir = mkdtempSync(join(tmpdir(), "syncbot-e2e-"));
  const sqlitePath = options.sqlitePath ?? join(dataDir, "syncbot.db");
  const env = { ...baseEnv(graph, ump, sqlitePath), ...(options.env ?? {}) };
  const logs: string[] = [];
  // Invoke answers replace the pressed card in Teams; kept with a time so updates can be ordered.
  const invokeViews = new Map<string, { at: number; card: any }>();
  const invokeTexts: string[] = [];
  let bot: Syncbot;
  let url = "";

  async function boot(extra: Record<string, string> = {}) {
    const config = loadConfig({ ...env, ...extra });
    bot = await createBot(config, {
      logger: createLogger({ level: "debug", write: (l) => logs.push(l) }),
      clock: options.clock,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50))),
      graphRetry: { baseDelayMs: 5, notFoundBaseDelayMs: 5 },
      ...options.overrides,
    });
    url = await bot.listen(0, "127.0.0.1");
  }
  await boot();

  async function post(activity: unknown) {
    const res = await fetch(`${url}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(activity),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, body };
  }

  function cardOf(activityId: string): any {
    const fromConnector = connector.activities
      .filter((a) => a.activityId === activityId && a.op !== "delete")
      .map((a) => ({ at: a.at, card: a.activity?.attachments?.[0]?.content }));
    const fromInvoke = invokeViews.get(activityId);
    const all = [...fromConnector, ...(fromInvoke ? [fromInvoke] : [])].sort((a, b) => a.at - b.at);
    return all[all.length - 1]?.card;
  }

  const stack: Stack = {
    get bot() {
      return bot;
    },
    get url() {
      return url;
    },
    graph,
    ump,
    connector,
    logs,
    sqlitePath,
    dataDir,
    env,
    async say(text, opts = {}) {
      const user = opts.user ?? USERS.requester;
      const conversation = opts.conversation ?? "channel";
      return post(
        messageActivity(
          activityBase({ serviceUrl: connector.url, user, tenantId: opts.tenantId ?? TENANT, conversation }),
          text,
        ),
      );
    },
    async press(activityId, title, opts = {}) {
      const card = opts.card ?? cardOf(activityId);
      if (!card) throw new Error(`no card in message ${activityId}`);
      const action = findAction(card, title);
      if (!action)
        throw new Error(`no button "${title}" on the card in ${activityId}: ${JSON.stringify(allActionTitles(card))}`);
      const inputs = { ...collectInputs(card), ...(opts.inputs ?? {}) };
      const data = opts.data ?? { ...(action.data ?? {}), ...inputs };
      const base = activityBase({
        serviceUrl: connector.url,
        user: opts.user ?? USERS.requester,
        tenantId: opts.tenantId ?? TENANT,
      });
      const res = await post(cardActionActivity(base, activityId, { title: action.title, verb: action.verb, data }));
      const body = res.body as any;
      const answer = body?.value;
      const newCard = body?.type === "application/vnd.microsoft.card.adaptive" ? answer : undefined;
      const text = typeof answer === "string" ? answer : "";
      if (newCard) invokeViews.set(activityId, { at: Date.now(), card: newCard });
      invokeTexts.push(JSON.stringify(body ?? ""));
      return { status: res.status, body, card: newCard, text };
    },
    cardOf,
    lastCardMessage() {
      const created = connector.activities.filter((a) => a.op === "create" && a.activity?.attachments?.length);
      const last = created[created.length - 1];
      if (!last) throw new Error("the bot has posted no card");
      return { activityId: last.activityId, card: cardOf(last.activityId) };
    },
    async waitForCard(activityId, pred, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const card = cardOf(activityId);
        if (card && pred(card)) return card;
        if (Date.now() > deadline)
          throw new Error(`card ${activityId} never matched; last: ${cardText(card).slice(0, 3000)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    everything() {
      const parts = [
        JSON.stringify(connector.activities),
        JSON.stringify(connector.typing),
        JSON.stringify(connector.conversationsCreated),
        invokeTexts.join("\n"),
        logs.join("\n"),
        JSON.stringify(ump.requests),
      ];
      for (const f of readdirSync(dataDir)) parts.push(readFileSync(join(dataDir, f)).toString("latin1"));
      return parts.join("\n");
    },
    async reviewPlan(customer = "contoso", opts = {}) {
      await stack.say(`provision ${customer}`, { user: opts.user });
      const { activityId } = stack.lastCardMessage();
      const answer = await stack.press(activityId, "Review plan", { inputs: opts.inputs, user: opts.user });
      return { activityId, answer };
    },
    async provision(customer = "contoso", opts = {}) {
      const { activityId } = await stack.reviewPlan(customer, { inputs: opts.inputs });
      const approve = await stack.press(activityId, "Approve", { user: opts.approver ?? USERS.approver });
      const card = await stack.waitForCard(activityId, runFinished);
      return { activityId, approve, card };
    },
    async restart(extraEnv = {}) {
      await bot.close();
      await boot(extraEnv);
    },
    async stop() {
      await bot.close().catch(() => undefined);
      await Promise.all([graph.close(), ump.close(), connector.close()]);
    },
  };
  return stack;
}

/** Fails when any secret value Entra (the emulator) ever issued appears in `haystack`. */
export function expectNoSecretIn(haystack: string, secrets: readonly string[]) {
  const leaked = secrets.filter((v) => haystack.includes(v));
  if (leaked.length > 0) throw new Error(`${leaked.length} secret value(s) leaked into messages, logs or storage`);
}

/** A clock tests move by hand (`clock.t += DAY`). */
export function manualClock(start = Date.now()) {
  return {
    t: start,
    now() {
      return new Date(this.t);
    },
  };
}

/** The approval card's title once its run is over. */
export const runFinished = (card: any) => /: (succeeded|failed)$/.test(card?.body?.[0]?.text ?? "");

// ---------------------------------------------------------------------------------------------
// Reading cards the way a person does.

export function walk(node: any, visit: (n: any) => void) {
  if (Array.isArray(node)) for (const n of node) walk(n, visit);
  else if (node && typeof node === "object") {
    visit(node);
    for (const v of Object.values(node)) walk(v, visit);
  }
}

export function findAction(card: any, title: string): any {
  let found: any;
  walk(card, (n) => {
    if (!found && typeof n.type === "string" && n.type.startsWith("Action.") && n.title === title) found = n;
  });
  return found;
}

export function allActionTitles(card: any): string[] {
  const titles: string[] = [];
  walk(card, (n) => {
    if (typeof n.type === "string" && n.type.startsWith("Action.")) titles.push(n.title);
  });
  return titles;
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
