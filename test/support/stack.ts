// startStack: the whole bot over HTTP on port 0, with the Graph, UMP and Bot Connector emulators, a
// fresh SQLite file, and a "Teams" that sends activities shaped as Teams sends them and presses card
// buttons by title, strictly as each user's client can (see teamsClient.ts: a user presses only on
// the card their own client shows). Everything the bot says (connector records, invoke answers, log
// lines) is kept so tests can scan it for the secret.

import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config";
import { createBot, type BotOverrides, type Syncbot } from "../../src/createBot";
import { createTokenProver } from "../../src/graph/createTokenProver";
import { createLogger } from "../../src/logger";
import type { Clock } from "../../src/domain/ports";
import { type ConnectorEmulator, startConnectorEmulator, type UserView } from "../emulators/connectorEmulator";
import { issuedUserTokens } from "../emulators/entra/userTokens";
import { type GraphEmulator, startGraphEmulator } from "../emulators/graphEmulator";
import { startUmpEmulator, type UmpEmulator } from "../emulators/umpEmulator";
import { activityBase, CHANNEL, messageActivity, type TeamsUser } from "./teamsActivity";
import {
  cardText,
  createTeamsClient,
  findAction,
  type InvokeAnswer,
  type PressOptions,
  type TeamsClient,
} from "./teamsClient";
import { seededParams } from "./fixtures";

export type { InvokeAnswer, PressOptions } from "./teamsClient";

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

export { CHANNEL };

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
  /**
   * `opts.user` (default: the requester) presses the button titled `title` in message `activityId`,
   * on the card their own client shows; fails clearly when that user cannot see such a button.
   */
  press(activityId: string, title: string, opts?: PressOptions): Promise<InvokeAnswer>;
  /** The card everyone sees in that message: its last posted or updated version. */
  cardOf(activityId: string): any;
  /** What `user`'s client shows in that message now (after any automatic refresh it sends). */
  viewOf(user: TestUser, activityId: string): Promise<UserView | undefined>;
  /** Card of the newest bot message (created, not updated) in the channel, as everyone sees it. */
  lastCardMessage(): { activityId: string; card: any };
  /** Waits (bounded, no fixed sleep) until the card everyone sees in the message matches. */
  waitForCard(activityId: string, pred: (card: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Waits (bounded) until what `user` sees in the message matches. */
  waitForView(user: TestUser, activityId: string, pred: (card: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Waits (bounded) until `user` sees a button titled `title` in the message; the card they see. */
  seesButton(user: TestUser, activityId: string, title: string, timeoutMs?: number): Promise<any>;
  /** Whether this user's Teams client sends automatic refresh invokes (Universal Actions); default yes. */
  setRefreshes(user: TestUser, on: boolean): void;
  /** The largest activity the bot sent to the connector (accepted or refused) and the largest invoke answer. */
  largestSent(): { activityBytes: number; activityUtf16Bytes: number; invokeBytes: number };
  /**
   * Seeds `count` provisioned registrations directly: applications in the Graph emulator, instances
   * in the UMP emulator, registration records in the store (as a finished provisioning leaves them).
   */
  seedRegistrations(count: number, opts?: SeedOptions): Promise<SeededRegistration[]>;
  /** Every text the bot produced anywhere (connector, invoke answers, logs) + the database files. */
  everything(): string;
  /**
   * `provision <customer>` in the channel, then Review plan on the parameters card; waits until the
   * requester's card settles (a card with buttons: the plan, or the form with its errors).
   * `card` is what the requester then sees; `answer` is the invoke answer itself.
   */
  reviewPlan(
    customer?: string,
    opts?: { inputs?: Record<string, unknown>; user?: TestUser },
  ): Promise<{ activityId: string; answer: InvokeAnswer; card: any }>;
  /** reviewPlan, wait until `approver` sees Approve, press it, and wait until the run succeeded or failed. */
  provision(
    customer?: string,
    opts?: { inputs?: Record<string, unknown>; approver?: TestUser },
  ): Promise<{ activityId: string; approve: InvokeAnswer; card: any }>;
  restart(extraEnv?: Record<string, string>): Promise<void>;
  /**
   * Stops everything, then scans every message, invoke answer, log line, UMP request and store file of
   * the test for every secret value the Graph emulator ever issued: every e2e test that stops its stack
   * proves the secret went nowhere. `scan: false` only for a test that plants a value on purpose.
   */
  stop(opts?: { scan?: boolean }): Promise<void>;
}

export interface SayOptions {
  user?: TestUser;
  tenantId?: string;
  conversation?: "channel" | "personal";
}
export interface SeedOptions {
  /** Customer slug for index i (default `cust-001`…). */
  customer?: (i: number) => string;
  /** Secret end date for index i (default: spread over the next two years, in no particular order). */
  endDateTime?: (i: number) => string;
}
export interface SeededRegistration {
  customer: string;
  objectId: string;
  appId: string;
  keyId: string;
  endDateTime: string;
}

/**
 * syncbot's production credential path against the emulator's Entra stand-in: its own app registration
 * gets a client secret there, MSAL signs in over HTTPS, and a process trusts the stand-in's self-signed
 * certificate through NODE_EXTRA_CA_CERTS. The token's `roles` are the permissions granted to it.
 */
export function credentialEnv(graph: GraphEmulator): Record<string, string> {
  const { clientId, clientSecret } = graph.registerCallerApp();
  return {
    GRAPH_CREDENTIAL: "client-secret",
    AZURE_CLIENT_ID: clientId,
    AZURE_CLIENT_SECRET: clientSecret,
    AUTHORITY_HOST: graph.entra.authorityHost,
    NODE_EXTRA_CA_CERTS: graph.entra.caCertPath,
  };
}

export function baseEnv(graph: GraphEmulator, ump: UmpEmulator, sqlitePath: string): Record<string, string> {
  return {
    PORT: "0",
    BOT_AUTH: "disabled",
    MicrosoftAppId: "",
    SP_TENANT_ID: TENANT,
    GRAPH_BASE_URL: graph.graphBaseUrl,
    ...credentialEnv(graph),
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
    // A test that never lets Entra catch up gives up after 2 s, not the production 2 minutes.
    ENTRA_REPLICATION_WAIT_SECONDS: "2",
    ENTRA_REPLICATION_FIRST_DELAY_MS: "50",
    ENTRA_REPLICATION_MAX_DELAY_MS: "400",
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
  const connector = await startConnectorEmulator({ roster: Object.values(USERS) });
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
  let bot: Syncbot;
  let url = "";

  async function boot(extra: Record<string, string> = {}) {
    const config = loadConfig({ ...env, ...extra });
    const logger = createLogger({ level: "debug", write: (l) => logs.push(l) });
    bot = await createBot(config, {
      logger,
      clock: options.clock,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50))),
      graphRetry: { baseDelayMs: 5, notFoundBaseDelayMs: 5 },
      // Real tokens in-process too: MSAL signs in at the HTTPS stand-in, trusting its certificate through
      // the credential's own TLS options, because NODE_EXTRA_CA_CERTS is read when a process starts and
      // this test worker started before the certificate existed. Node's fetch, which the token proof
      // uses, has no such option: the proof asks the same token route over the emulator's plain-HTTP
      // mirror. Processes (botProcess.ts, runCli) take the whole path over HTTPS.
      authorityCa: graph.entra.caCert,
      tokenProver: createTokenProver({ authorityHost: graph.authorityHost, tenantId: config.spTenantId, logger }),
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

  const client: TeamsClient = createTeamsClient({ connector, post, tenantId: TENANT, defaultUser: USERS.requester });

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
    press: (activityId, title, opts) => client.press(activityId, title, opts),
    cardOf: (activityId) => client.sharedCard(activityId),
    viewOf: (user, activityId) => client.viewOf(user, activityId),
    lastCardMessage: () => client.lastCardMessage(),
    waitForCard: (activityId, pred, timeoutMs) => client.waitForSharedCard(activityId, pred, timeoutMs),
    waitForView: (user, activityId, pred, timeoutMs) => client.waitForView(user, activityId, pred, timeoutMs),
    seesButton: (user, activityId, title, timeoutMs = 5_000) =>
      client.waitForView(user, activityId, (c) => findAction(c, title) !== undefined, timeoutMs),
    setRefreshes: (user, on) => client.setRefreshes(user, on),
    largestSent: () => connector.largest(),
    async seedRegistrations(count, opts = {}) {
      const now = Date.now();
      const iso = new Date(now).toISOString();
      const seeded: SeededRegistration[] = [];
      for (let i = 0; i < count; i++) {
        const customer = opts.customer?.(i) ?? `cust-${String(i + 1).padStart(3, "0")}`;
        // A permutation of the days (37 is coprime with any count not a multiple of 37): no order to lean on.
        const days = 20 + ((i * 37 + 11) % Math.max(count, 1)) * 2;
        const endDateTime = opts.endDateTime?.(i) ?? new Date(now + days * 86_400_000).toISOString();
        const [app] = stack.graph.seedApplications([
          {
            uniqueName: `syncbot-${customer}`,
            displayName: `UMP-365 Delegated Token Sync - ${customer}`,
            signInAudience: "AzureADMultipleOrgs",
            tags: ["syncbot-managed", `syncbot-customer:${customer}`],
            passwordCredentials: [{ displayName: `syncbot:ump:seed-${customer}`, hint: "abc", endDateTime }],
          },
        ]);
        const keyId = app!.passwordCredentials[0]!.keyId;
        stack.ump.addInstance(`ump-${customer}`);
        const fingerprint = `sha256:seed-${customer}`;
        await bot.repo.saveRegistration(customer, () => ({
          customer,
          params: seededParams(customer),
          objectId: app!.id,
          appId: app!.appId,
          conversation: {
            activityId: "1700000000000",
            user: { id: USERS.requester.id, name: USERS.requester.name, aadObjectId: USERS.requester.aadObjectId },
            bot: { id: "28:syncbot", name: "syncbot" },
            conversation: {
              isGroup: true,
              conversationType: "channel",
              id: `${CHANNEL.channelId};messageid=1700000000000`,
              tenantId: TENANT,
            },
            channelId: "msteams",
            locale: "en-US",
            serviceUrl: connector.url,
          },
          secrets: [
            {
              keyId,
              service: "ump",
              runId: `seed-${customer}`,
              displayName: `syncbot:ump:seed-${customer}`,
              hint: "abc",
              endDateTime,
              fingerprint,
              createdAt: iso,
              status: "active",
            },
          ],
          ump: { revision: 1, fingerprint, portalValidated: true, at: iso },
          createdAt: iso,
          updatedAt: iso,
        }));
        seeded.push({ customer, objectId: app!.id, appId: app!.appId, keyId, endDateTime });
      }
      return seeded;
    },
    everything() {
      const parts = [
        JSON.stringify(connector.activities),
        JSON.stringify(connector.typing),
        JSON.stringify(connector.conversationsCreated),
        JSON.stringify(connector.refused),
        JSON.stringify(connector.invokes),
        logs.join("\n"),
        JSON.stringify(ump.requests),
      ];
      for (const f of readdirSync(dataDir)) parts.push(readFileSync(join(dataDir, f)).toString("latin1"));
      return parts.join("\n");
    },
    async reviewPlan(customer = "contoso", opts = {}) {
      const user = opts.user ?? USERS.requester;
      await stack.say(`provision ${customer}`, { user });
      const { activityId } = stack.lastCardMessage();
      const answer = await stack.press(activityId, "Review plan", { inputs: opts.inputs, user });
      // The plan (or "nothing to change", or the form with its errors) may come in the answer or, after
      // slow live reads, in an update of the message: wait until the "reading…" placeholder is gone.
      const card = await stack.waitForView(user, activityId, (c) => !/Reading the live registration/.test(cardText(c)));
      return { activityId, answer, card };
    },
    async provision(customer = "contoso", opts = {}) {
      const { activityId } = await stack.reviewPlan(customer, { inputs: opts.inputs });
      const approver = opts.approver ?? USERS.approver;
      await stack.waitForView(approver, activityId, (c) => findAction(c, "Approve") !== undefined, 10_000);
      const approve = await stack.press(activityId, "Approve", { user: approver });
      const card = await stack.waitForCard(activityId, runFinished);
      return { activityId, approve, card };
    },
    async restart(extraEnv = {}) {
      await bot.close();
      await boot(extraEnv);
    },
    async stop(opts = {}) {
      await bot.close().catch(() => undefined);
      // Read before the emulators close (their records stay, but nothing may arrive meanwhile).
      // Secrets Entra issued, and approvers' tokens (verified approvals): neither may appear anywhere.
      const issued = () => [...graph.issuedSecrets(), ...issuedUserTokens(graph.entra)];
      const scanned = opts.scan === false ? null : { everything: stack.everything(), issued: issued() };
      await Promise.all([graph.close(), ump.close(), connector.close()]);
      if (scanned) expectNoSecretIn(scanned.everything, scanned.issued);
    },
  };
  return stack;
}

/** Fails when any secret value (or approver's token) Entra (the emulator) ever issued appears in `haystack`. */
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

// Reading cards the way a person does (defined with the Teams client, which presses by them).
export { allActionTitles, cardText, collectInputs, fact, findAction, walk } from "./teamsClient";
