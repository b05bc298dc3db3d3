// Starts a private, in-memory Azurite Table service on a free loopback port for one test suite, so
// the Azure Tables store is tested over real HTTP without any shared state or fixed ports.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const HOST = "127.0.0.1";
const TABLE_MAIN = join(__dirname, "..", "..", "node_modules", "azurite", "dist", "src", "table", "main.js");

export interface AzuriteHandle {
  connectionString: string;
  port: number;
  stop(): Promise<void>;
}

export async function startAzurite(options: { startTimeoutMs?: number } = {}): Promise<AzuriteHandle> {
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  const port = await freePort();
  // Azurite refuses --location together with --inMemoryPersistence, so the temp directory is its
  // working directory instead: anything it might still write lands there and is removed on stop.
  const dir = mkdtempSync(join(tmpdir(), "syncbot-azurite-"));
  const child = spawn(
    process.execPath,
    [
      TABLE_MAIN,
      "--inMemoryPersistence",
      "--silent",
      "--skipApiVersionCheck",
      "--disableProductStyleUrl",
      "--tableHost",
      HOST,
      "--tablePort",
      String(port),
    ],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });

  const cleanup = async () => {
    await kill(child);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitForPort(port, child, timeoutMs);
  } catch (e) {
    await cleanup();
    throw new Error(
      `Azurite did not start on ${HOST}:${port}: ${(e as Error).message}\n--- azurite output ---\n${output}`,
    );
  }

  return {
    port,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${ACCOUNT_KEY};` +
      `TableEndpoint=http://${HOST}:${port}/devstoreaccount1;`,
    stop: cleanup,
  };
}

/** A port the OS just handed out; closed again so Azurite can bind it (a tiny race we accept). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`process exited (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (await accepts(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port not accepting connections after ${timeoutMs} ms`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
