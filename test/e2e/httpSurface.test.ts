// The HTTP surface outside the conversation: JWT validation when BOT_AUTH is enabled, health, and the
// start-up refusal of a bad configuration.

import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { type Stack, startStack, TENANT } from "../support/stack";

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe("HTTP surface", () => {
  it("rejects unauthenticated activities when BOT_AUTH is enabled, and writes nothing", async () => {
    stack = await startStack({
      env: {
        BOT_AUTH: "enabled",
        MicrosoftAppId: "0d5b1c2e-3f40-4a51-8b62-7c8d9e0f1a2b",
        MicrosoftAppPassword: "not-used-in-this-test",
        MicrosoftAppType: "SingleTenant",
        MicrosoftAppTenantId: TENANT,
      },
    });
    const res = await stack.say("provision contoso");
    expect(res.status).toBe(401);
    expect(stack.connector.activities).toHaveLength(0);
    expect(await stack.bot.repo.listRequests()).toHaveLength(0);
  });

  it("answers /healthz while the store is reachable", async () => {
    stack = await startStack();
    const res = await fetch(`${stack.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("refuses to start with an invalid configuration and lists every problem in one message", () => {
    const run = spawnSync("node_modules/.bin/tsx", ["src/index.ts"], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        BOT_AUTH: "maybe",
        SP_TENANT_ID: "not-a-guid",
        UMP_TARGET: "api",
        STORE: "mongo",
      },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status).toBe(2);
    for (const p of [
      "BOT_AUTH must be one of",
      "SP_TENANT_ID must be a tenant GUID",
      "UMP_TARGET=api needs UMP_BASE_URL",
      "STORE must be one of",
    ])
      expect(run.stderr).toContain(p);
  });
});
