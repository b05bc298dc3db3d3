// Production start from built output: `npm run build` compiles src/ to dist/ with tsc, and `npm start`
// (node dist/index.js, no tsx) serves /healthz against the emulators; the card templates are found
// from dist/ as from src/.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startGraphEmulator } from "../emulators/graphEmulator";
import { startUmpEmulator } from "../emulators/umpEmulator";
import { freePort, LOOPBACK_ONLY } from "../support/botProcess";
import { baseEnv, TENANT, UMP_TOKEN } from "../support/stack";

const ROOT = resolve(__dirname, "../..");
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("production start from dist/", () => {
  it("npm run build && npm start answers /healthz", async () => {
    execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "pipe", timeout: 180_000 });
    expect(existsSync(join(ROOT, "dist", "index.js"))).toBe(true);
    expect(existsSync(join(ROOT, "dist", "remindersCli.js"))).toBe(true);
    expect(existsSync(join(ROOT, "dist", "index.ts"))).toBe(false);

    const graph = await startGraphEmulator({ tenantId: TENANT });
    const ump = await startUmpEmulator({ token: UMP_TOKEN, instances: ["ump-contoso"] });
    cleanups.push(
      () => graph.close(),
      () => ump.close(),
    );
    const dir = mkdtempSync(join(tmpdir(), "syncbot-prod-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const child: ChildProcess = spawn("npm", ["start"], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        NODE_ENV: "production",
        ...LOOPBACK_ONLY,
        ...baseEnv(graph, ump, join(dir, "syncbot.db")),
        PORT: String(port),
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // npm runs node in a child: the whole group is stopped at the end
    });
    let output = "";
    child.stdout!.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    cleanups.push(async () => {
      if (child.exitCode === null) process.kill(-child.pid!, "SIGTERM");
      await exited;
    });

    const deadline = Date.now() + 30_000;
    let health: Response | undefined;
    while (Date.now() < deadline && child.exitCode === null) {
      health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (health?.ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(health?.status, output).toBe(200);
    expect(await health!.json()).toEqual({ status: "ok" });
    expect(output).toContain("syncbot listening");
    expect(output).toContain("node dist/index.js");
    expect(output).not.toContain("tsx");

    // Cards render from dist/ (adaptiveCards/ is found relative to dist/bot/ as to src/bot/).
    const card = execFileSync(
      process.execPath,
      ["-e", "process.stdout.write(JSON.stringify(require('./dist/bot/cards/helpCard.js').helpCard()))"],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(JSON.parse(card).type).toBe("AdaptiveCard");
  });
});
