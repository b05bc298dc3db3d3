// startDevStack: the offline demo of `npm run dev` as a function, so the browser test starts exactly
// what a newcomer gets: Graph and UMP emulators with a seeded tenant, the bot with the dev
// configuration (signing in with a client secret at the Graph emulator's Entra stand-in), and the
// Microsoft 365 Agents Playground pointed at it.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { loadConfig } from "../src/config";
import { createBot, type Syncbot } from "../src/createBot";
import { createTokenProver } from "../src/graph/createTokenProver";
import { createLogger } from "../src/logger";
import { startGraphEmulator } from "../test/emulators/graphEmulator";
import { startUmpEmulator } from "../test/emulators/umpEmulator";

export const DEV_TENANT = "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f";
export const DEV_APPROVER = "22222222-2222-4222-8222-222222222222"; // Megan Bowen, the Playground's user
export const DEV_CUSTOMERS = ["contoso", "fabrikam", "northwind", "adatum", "tailspin", "litware", "woodgrove"];

export interface DevStackOptions {
  root: string;
  botPort?: number;
  graphPort?: number;
  umpPort?: number;
  playgroundPort?: number;
  /** Default `.data/syncbot.db`, emptied at every start (the emulators start empty too). */
  sqlitePath?: string;
  env?: Record<string, string>;
  log?: (line: string) => void;
  /** Start the Agents Playground (the browser test and `npm run dev` do). */
  playground?: boolean;
}

export interface DevStack {
  bot: Syncbot;
  botUrl: string;
  playgroundUrl: string;
  graph: Awaited<ReturnType<typeof startGraphEmulator>>;
  ump: Awaited<ReturnType<typeof startUmpEmulator>>;
  stop(): Promise<void>;
}

/** The environment variable `npm run dev` reads for each port (scripts/dev.ts), named in port errors. */
export const DEV_PORT_VARIABLES = {
  bot: "DEV_BOT_PORT",
  graph: "DEV_GRAPH_PORT",
  ump: "DEV_UMP_PORT",
  playground: "DEV_PLAYGROUND_PORT",
} as const;

export async function startDevStack(opts: DevStackOptions): Promise<DevStack> {
  const log = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const botPort = opts.botPort ?? 3978;
  const playgroundPort = opts.playgroundPort ?? 56150;
  const ports = {
    bot: botPort,
    graph: opts.graphPort ?? 4010,
    ump: opts.umpPort ?? 4020,
    ...(opts.playground !== false ? { playground: playgroundPort } : {}),
  };
  // Checked before anything starts: the Playground silently takes a random port when its own is taken,
  // and the URL printed would then open whatever else holds it (often another `npm run dev`).
  await assertPortsFree(ports);
  // Strict like Microsoft Graph, holding the least-privilege permissions the README documents.
  const graph = await startGraphEmulator({ tenantId: DEV_TENANT, port: ports.graph, strict: true });
  graph.seedUser({ id: DEV_APPROVER, displayName: "Megan Bowen", globalAdmin: true });
  graph.seedUser({ id: "11111111-1111-4111-8111-111111111111", displayName: "Alex Wilber" });
  const umpToken = "dev-ump-token";
  const ump = await startUmpEmulator({
    token: umpToken,
    port: ports.ump,
    instances: DEV_CUSTOMERS.map((c) => `ump-${c}`),
  });

  const dataDir = join(opts.root, ".data");
  mkdirSync(dataDir, { recursive: true });
  const sqlitePath = opts.sqlitePath ?? join(dataDir, "syncbot.db");
  // The emulators keep their tenant and UMP instances in memory: a store left from an earlier run would
  // list registrations and secrets that this Graph emulator never issued. Start it empty as well.
  if (!opts.sqlitePath)
    for (const f of [sqlitePath, `${sqlitePath}-wal`, `${sqlitePath}-shm`]) rmSync(f, { force: true });
  // syncbot's own app registration in the emulated tenant, with a client secret: the bot signs in at the
  // Graph emulator's Entra stand-in (HTTPS on loopback) as it signs in at Entra in production, and its
  // token's roles are the permissions granted to it.
  const own = graph.registerCallerApp();
  const env: Record<string, string> = {
    PORT: String(botPort),
    BOT_AUTH: "disabled",
    MicrosoftAppId: "",
    SP_TENANT_ID: DEV_TENANT,
    GRAPH_BASE_URL: graph.graphBaseUrl,
    GRAPH_CREDENTIAL: "client-secret",
    AZURE_CLIENT_ID: own.clientId,
    AZURE_CLIENT_SECRET: own.clientSecret,
    AUTHORITY_HOST: graph.entra.authorityHost,
    UMP_TARGET: "api",
    UMP_BASE_URL: ump.url,
    UMP_TOKEN: umpToken,
    STORE: "sqlite",
    SQLITE_PATH: sqlitePath,
    APPROVAL_POLICY: "either",
    APPROVER_IDS: DEV_APPROVER,
    ALLOW_SELF_APPROVAL: "true",
    DEFAULT_SP_FQDN: "ump.sp.example.net",
    DEFAULT_UMP_INSTANCE: "ump-{customer}",
    JOBS_KEY: "dev-jobs-key-change-me",
    ENTRA_REPLICATION_FIRST_DELAY_MS: "500",
    UMP_POLL_MS: "300",
    LOG_LEVEL: "info",
    ...(opts.env ?? {}),
  };
  const config = loadConfig(env);
  const logger = createLogger({ level: config.logLevel, pretty: true, write: log });
  const bot = await createBot(config, {
    logger,
    // The stand-in's certificate is made after this process started, too late for NODE_EXTRA_CA_CERTS:
    // the credential trusts it through its own TLS options, and the token proof (Node's fetch has no
    // such option) asks the same token route over the Graph emulator's plain-HTTP mirror.
    authorityCa: graph.entra.caCert,
    tokenProver: createTokenProver({ authorityHost: graph.authorityHost, tenantId: DEV_TENANT, logger }),
  });
  const botUrl = await bot.listen(botPort, "127.0.0.1");

  let playground: ChildProcess | undefined;
  let stopping = false;
  if (opts.playground !== false) {
    const bin = join(opts.root, "node_modules", ".bin", "agentsplayground");
    playground = spawn(
      bin,
      ["-e", `${botUrl}/api/messages`, "-c", "msteams", "-p", String(playgroundPort), "--disable-telemetry"],
      {
        cwd: opts.root,
        env: { ...process.env, TEAMSAPPTESTER_BROWSER: "none" },
        stdio: ["ignore", "pipe", "pipe"],
        detached: false,
      },
    );
    playground.stdout?.on("data", () => undefined);
    playground.stderr?.on("data", () => undefined);
    playground.on("exit", (code, signal) => {
      if (!stopping)
        log(
          `the Agents Playground stopped (${signal ?? `exit ${code}`}); the bot keeps running. See devTools/m365agentsplayground.log`,
        );
    });
    try {
      await waitForHttp(`http://127.0.0.1:${playgroundPort}/`, 60_000, () => {
        if (playground?.exitCode !== null && playground?.exitCode !== undefined)
          throw new Error(
            `the Agents Playground exited (${playground.exitCode}); see devTools/m365agentsplayground.log:\n${tail(join(opts.root, "devTools", "m365agentsplayground.log"))}`,
          );
      });
    } catch (e) {
      // Leave nothing running behind the error (a test would otherwise keep the emulators' ports).
      stopping = true;
      playground.kill("SIGKILL");
      await bot.close().catch(() => undefined);
      await Promise.all([graph.close(), ump.close()]);
      throw e;
    }
  }

  return {
    bot,
    botUrl,
    playgroundUrl: `http://localhost:${playgroundPort}`,
    graph,
    ump,
    async stop() {
      stopping = true;
      if (playground && playground.exitCode === null) {
        playground.kill("SIGTERM");
        await new Promise((r) => setTimeout(r, 300));
        if (playground.exitCode === null) playground.kill("SIGKILL");
      }
      await bot.close().catch(() => undefined);
      await Promise.all([graph.close(), ump.close()]);
    },
  };
}

async function assertPortsFree(ports: Partial<Record<keyof typeof DEV_PORT_VARIABLES, number>>) {
  const taken: string[] = [];
  for (const [part, port] of Object.entries(ports) as Array<[keyof typeof DEV_PORT_VARIABLES, number]>) {
    if (port === 0 || (await portIsFree(port))) continue;
    taken.push(`port ${port} (${part}) is in use; stop what holds it (ss -ltnp) or set ${DEV_PORT_VARIABLES[part]}`);
  }
  if (taken.length > 0) throw new Error(taken.join("\n"));
}

/** Free on every interface (the Playground listens on all of them, the bot and emulators on 127.0.0.1). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, () => srv.close(() => resolve(true)));
  });
}

async function waitForHttp(url: string, timeoutMs: number, check: () => void) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    check();
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} did not come up in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "(no log)";
  }
}
