// startBotProcess: the real bot (`node --import tsx src/index.ts`) as a child process against the emulators, so a
// crash test can SIGKILL it at a chosen point (no exception, no finally, no clean shutdown) and start
// it again on the same SQLite file. A small Teams driver sends activities over HTTP as Teams does;
// the bot's replies and card updates land in the connector emulator.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRepository, type Repository } from "../../src/domain/repository";
import { createSqliteStore } from "../../src/store/createSqliteStore";
import { type ConnectorEmulator, startConnectorEmulator } from "../emulators/connectorEmulator";
import { type GraphEmulator, startGraphEmulator } from "../emulators/graphEmulator";
import { startUmpEmulator, type UmpEmulator } from "../emulators/umpEmulator";
import { baseEnv, TENANT, type TestUser, UMP_TOKEN, USERS } from "./stack";
import { activityBase, messageActivity } from "./teamsActivity";
import { createTeamsClient, type InvokeAnswer, type PressOptions, type SignInHandler } from "./teamsClient";

const ROOT = resolve(__dirname, "../..");

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

export interface BotProcess {
  url: string;
  pid: number;
  logs: string[];
  /** Resolves when the process has exited (killed or not). */
  exited: Promise<number | null>;
  kill(): Promise<void>;
}

/** Only loopback is a test target: every process a test spawns preloads a guard that fails any other connection. */
export const LOOPBACK_ONLY = { NODE_OPTIONS: `--require ${join(ROOT, "test/support/loopbackOnly.cjs")}` };

/**
 * Spawns the bot in its own process group and waits for GET /healthz. One node process with tsx's
 * loader (`node --import tsx`), not the tsx CLI: the CLI is a second process that relays SIGTERM and,
 * when the bot has not acknowledged it within 30 ms (a busy machine), signals it again and then
 * SIGKILLs it (exit 143): the bot's clean shutdown, and the telemetry flush it does, never ran.
 */
export async function spawnBot(env: Record<string, string>, port: number): Promise<BotProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "src/index.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "production",
      ...LOOPBACK_ONLY,
      ...env,
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: SIGKILL and SIGTERM reach whatever it started too.
    detached: true,
  });
  const logs: string[] = [];
  let partial = "";
  child.stdout!.on("data", (d: Buffer) => {
    const lines = (partial + d.toString("utf8")).split("\n");
    partial = lines.pop() ?? "";
    logs.push(...lines);
  });
  child.stderr!.on("data", (d: Buffer) => logs.push(`[stderr] ${d.toString("utf8")}`));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the bot exited during start-up: ${logs.join("\n").slice(-2000)}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`the bot did not become healthy: ${logs.join("\n").slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: child.pid!,
    logs,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid!, "SIGKILL");
        } catch {
          child.kill("SIGKILL");
        }
      }
      await exited;
    },
  };
}

export interface ProcessStack {
  graph: GraphEmulator;
  ump: UmpEmulator;
  connector: ConnectorEmulator;
  sqlitePath: string;
  env: Record<string, string>;
  bot: BotProcess;
  /** Every log line of every process started so far. */
  logs(): string[];
  start(): Promise<BotProcess>;
  /** SIGKILL the running bot. */
  crash(): Promise<void>;
  /** A repository on the same SQLite file (open it only while you need it; close it after). */
  withRepo<T>(fn: (repo: Repository) => Promise<T>): Promise<T>;
  say(text: string, user?: TestUser): Promise<void>;
  /** As in stack.ts: the user (default requester) presses only on the card their own client shows. */
  press(activityId: string, title: string, opts?: PressOptions): Promise<InvokeAnswer>;
  /** The card everyone sees in the message. */
  cardOf(activityId: string): any;
  waitForView(user: TestUser, activityId: string, pred: (card: any) => boolean, timeoutMs?: number): Promise<any>;
  lastCardMessage(): { activityId: string; card: any };
  waitForCard(activityId: string, pred: (card: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Everything the bot processes said, logged and stored (to scan for secret values). */
  everything(): string;
  /** Verified approvals: how the Teams clients answer a `loginRequest` (unset: they do not sign in). */
  signIn?: SignInHandler;
  stop(): Promise<void>;
}

export async function startProcessStack(
  extraEnv: Record<string, string> = {},
  customers: string[] = ["contoso", "fabrikam"],
): Promise<ProcessStack> {
  const graph = await startGraphEmulator({ tenantId: TENANT, strict: true });
  const ump = await startUmpEmulator({ token: UMP_TOKEN, instances: customers.map((c) => `ump-${c}`) });
  const connector = await startConnectorEmulator({ roster: Object.values(USERS) });
  graph.seedUser({ id: USERS.approver.aadObjectId, displayName: USERS.approver.name, globalAdmin: true });
  graph.seedUser({ id: USERS.requester.aadObjectId, displayName: USERS.requester.name });
  const dir = mkdtempSync(join(tmpdir(), "syncbot-crash-"));
  const sqlitePath = join(dir, "syncbot.db");
  const env: Record<string, string> = {
    ...baseEnv(graph, ump, sqlitePath),
    LOG_LEVEL: "info",
    RUN_LEASE_SECONDS: "2",
    ...extraEnv,
  };
  // NODE_EXTRA_CA_CERTS names one file: a test trusting a certificate of its own gets a bundle that
  // still holds the Entra stand-in's, which syncbot's credential needs.
  if (extraEnv.NODE_EXTRA_CA_CERTS && extraEnv.NODE_EXTRA_CA_CERTS !== graph.entra.caCertPath) {
    env.NODE_EXTRA_CA_CERTS = join(dir, "ca-bundle.pem");
    writeFileSync(
      env.NODE_EXTRA_CA_CERTS,
      `${readFileSync(extraEnv.NODE_EXTRA_CA_CERTS, "utf8")}\n${graph.entra.caCert}`,
    );
  }
  const port = await freePort();
  const all: BotProcess[] = [];

  const stack: ProcessStack = {
    graph,
    ump,
    connector,
    sqlitePath,
    env,
    bot: undefined as unknown as BotProcess,
    logs: () => all.flatMap((b) => b.logs),
    everything() {
      const parts = [
        ...all.flatMap((b) => b.logs),
        JSON.stringify(connector.activities),
        JSON.stringify(connector.conversationsCreated),
        JSON.stringify(ump.requests),
        JSON.stringify(connector.refused),
        JSON.stringify(connector.invokes),
      ];
      for (const f of readdirSync(dir)) parts.push(readFileSync(join(dir, f)).toString("latin1"));
      return parts.join("\n");
    },
    async start() {
      const bot = await spawnBot(env, port);
      all.push(bot);
      stack.bot = bot;
      return bot;
    },
    async crash() {
      await stack.bot.kill();
    },
    async withRepo(fn) {
      const store = createSqliteStore({ path: sqlitePath });
      try {
        return await fn(createRepository(store));
      } finally {
        await store.close();
      }
    },
    async say(text, user = USERS.requester) {
      await post(messageActivity(base(user), text));
    },
    press: (activityId, title, opts) => client.press(activityId, title, opts),
    cardOf: (activityId) => client.sharedCard(activityId),
    lastCardMessage: () => client.lastCardMessage(),
    waitForView: (user, activityId, pred, timeoutMs) => client.waitForView(user, activityId, pred, timeoutMs),
    async waitForCard(activityId, pred, timeoutMs = 20_000) {
      try {
        return await client.waitForSharedCard(activityId, pred, timeoutMs);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n${stack.logs().slice(-30).join("\n")}`);
      }
    },
    async stop() {
      for (const b of all) await b.kill();
      graph.onRequest(null);
      ump.onRequest(null);
      await Promise.all([graph.close(), ump.close(), connector.close()]);
    },
  };

  function base(user: TestUser) {
    return activityBase({ serviceUrl: connector.url, user, tenantId: TENANT });
  }
  async function post(activity: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${stack.bot.url}/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(activity),
    });
    const text = await res.text();
    try {
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    } catch {
      return { status: res.status, body: text };
    }
  }
  const client = createTeamsClient({
    connector,
    post,
    tenantId: TENANT,
    defaultUser: USERS.requester,
    signIn: async (user, request) => stack.signIn?.(user, request),
  });
  return stack;
}

/**
 * Arms a hold: the first request matching `match` in `phase` is held forever (its effect applied when
 * phase is "after", its answer never sent). Resolves when it is being held, so the caller can SIGKILL.
 */
export function holdWhen(
  emulator: {
    onRequest(
      hook: ((r: { method: string; path: string; phase: "before" | "after" }) => void | Promise<void>) | null,
    ): void;
  },
  match: (r: { method: string; path: string; phase: "before" | "after" }) => boolean,
): Promise<void> {
  return new Promise<void>((reached) => {
    let done = false;
    emulator.onRequest((r) => {
      if (done || !match(r)) return;
      done = true;
      reached();
      return new Promise<void>(() => undefined);
    });
  });
}

/**
 * Runs one of syncbot's CLIs (`src/<script>`) to its end in a clean environment (only what the test
 * gives: no .env from the developer's checkout), loopback-only; resolves its exit code and output.
 */
export function runCli(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, "node_modules/.bin/tsx"), [join(ROOT, "src", script), ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", ...LOOPBACK_ONLY, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => {
      stdout += d;
    });
    child.stderr!.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
