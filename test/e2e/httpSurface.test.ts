// The HTTP surface outside the conversation: JWT validation when BOT_AUTH is enabled (against a local
// OpenID/JWKS server), health, the jobs key, the listen address, and the start-up refusal of a bad
// configuration.

import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { freePort, spawnBot } from "../support/botProcess";
import { CHANNEL_ISSUER, type OpenIdServer, startOpenIdServer } from "../support/openIdServer";
import { JOBS_KEY, type Stack, startStack, TENANT, USERS } from "../support/stack";
import { activityBase, messageActivity } from "../support/teamsActivity";

let stack: Stack | undefined;
let openId: OpenIdServer | undefined;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
  await openId?.close();
  openId = undefined;
  for (const c of cleanups.splice(0)) await c();
});

const APP_ID = "0d5b1c2e-3f40-4a51-8b62-7c8d9e0f1a2b";

/** The botbuilder settings that point JWT validation at the local OpenID server (CONTRACT section 2). */
function authEnv(metadataUrl: string): Record<string, string> {
  return {
    BOT_AUTH: "enabled",
    MicrosoftAppId: APP_ID,
    MicrosoftAppPassword: "not-used-in-this-test",
    MicrosoftAppType: "SingleTenant",
    MicrosoftAppTenantId: TENANT,
    ToBotFromChannelOpenIdMetadataUrl: metadataUrl,
    ToBotFromChannelTokenIssuer: CHANNEL_ISSUER,
    ToBotFromEmulatorOpenIdMetadataUrl: metadataUrl,
    ToChannelFromBotLoginUrl: `https://login.microsoftonline.com/${TENANT}`,
    ToChannelFromBotOAuthScope: "https://api.botframework.com",
    ValidateAuthority: "true",
    SSO_CONNECTION_NAME: "syncbot-sso",
  };
}

/** POSTs an activity as the Bot Connector does, with `Authorization: Bearer <token>`. */
async function postWithToken(s: Stack, activity: unknown, token: string) {
  const res = await fetch(`${s.url}/api/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(activity),
  });
  return { status: res.status, text: await res.text() };
}

describe("HTTP surface", () => {
  it("rejects unauthenticated activities when BOT_AUTH is enabled, and writes nothing", async () => {
    stack = await startStack({
      env: {
        BOT_AUTH: "enabled",
        MicrosoftAppId: "0d5b1c2e-3f40-4a51-8b62-7c8d9e0f1a2b",
        MicrosoftAppPassword: "not-used-in-this-test",
        MicrosoftAppType: "SingleTenant",
        MicrosoftAppTenantId: TENANT,
        SSO_CONNECTION_NAME: "syncbot-sso",
      },
    });
    const res = await stack.say("provision contoso");
    expect(res.status).toBe(401);
    expect(stack.connector.activities).toHaveLength(0);
    expect(await stack.bot.repo.listRequests()).toHaveLength(0);
  });

  it("answers a forged token (bad signature) with 401, and a genuine one passes", async () => {
    openId = await startOpenIdServer();
    stack = await startStack({ env: authEnv(openId.metadataUrl) });
    const serviceUrl = stack.connector.url;
    const base = () => activityBase({ serviceUrl, user: USERS.requester, tenantId: TENANT });

    // The control: the same kind of token signed with the published key is accepted (a typing
    // activity needs no reply, so nothing has to reach the real Bot Connector).
    const genuine = openId.sign({ aud: APP_ID, serviceUrl });
    const typing = await postWithToken(stack, { ...base(), type: "typing" }, genuine);
    expect(typing.status).toBe(200);

    const forged = openId.sign({ aud: APP_ID, serviceUrl }, { forged: true });
    const res = await postWithToken(stack, messageActivity(base(), "provision contoso"), forged);
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toEqual({ error: "unauthorized", message: "The request is not authenticated." });
    expect(stack.connector.activities).toHaveLength(0);
    expect(await stack.bot.repo.listRequests()).toHaveLength(0);
    expect(stack.graph.applications()).toHaveLength(0);
  });

  it("answers 503 with no internal detail when the OpenID metadata is unreachable or failing", async () => {
    openId = await startOpenIdServer();
    const closedPort = await freePort();
    const unreachable = `http://127.0.0.1:${closedPort}/v1/.well-known/openidconfiguration`;
    stack = await startStack({ env: authEnv(unreachable) });
    const serviceUrl = stack.connector.url;
    const activity = () =>
      messageActivity(activityBase({ serviceUrl, user: USERS.requester, tenantId: TENANT }), "provision contoso");
    const token = openId.sign({ aud: APP_ID, serviceUrl });

    const down = await postWithToken(stack, activity(), token);
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toEqual({
      error: "auth_unavailable",
      message: "The sender cannot be verified right now; try again later.",
    });
    for (const detail of [String(closedPort), "127.0.0.1", "ECONNREFUSED", "openidconfiguration", "request to"])
      expect(down.text).not.toContain(detail);

    // The metadata server answers 500 (botbuilder turns that into its own AuthenticationError).
    openId.mode = "failing";
    await stack.restart(authEnv(openId.metadataUrl));
    const failing = await postWithToken(stack, activity(), token);
    expect(openId.requests.length).toBeGreaterThan(0);
    expect(failing.status).toBe(503);
    expect(failing.text).not.toMatch(/Failed to load|openID|127\.0\.0\.1/);

    // Once it is back, the same token is served.
    openId.mode = "up";
    const typing = await postWithToken(
      stack,
      { ...activityBase({ serviceUrl, user: USERS.requester, tenantId: TENANT }), type: "typing" },
      token,
    );
    expect(typing.status).toBe(200);
    expect(stack.connector.activities).toHaveLength(0);
    expect(await stack.bot.repo.listRequests()).toHaveLength(0);
  });

  it("answers a malformed activity with 400 and no internal detail, and keeps serving", async () => {
    stack = await startStack();
    for (const body of ['{"type":5,"serviceUrl":{}}', '{"serviceUrl":"x"}']) {
      const res = await fetch(`${stack.url}/api/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "bad_request", message: "The activity is malformed." });
    }
    expect((await stack.say("help")).status).toBe(200);
    expect(stack.connector.activities.length).toBeGreaterThan(0);
  });

  it("refuses a wrong x-jobs-key of any length and accepts the right one", async () => {
    stack = await startStack();
    const sweep = (key?: string) =>
      fetch(`${stack!.url}/api/jobs/expiry-sweep?dryRun=true`, {
        method: "POST",
        headers: key === undefined ? {} : { "x-jobs-key": key },
      });
    for (const wrong of [
      undefined,
      "",
      JOBS_KEY.slice(0, -1),
      `${JOBS_KEY}x`,
      JOBS_KEY.toUpperCase(),
      "x".repeat(4096),
    ]) {
      const res = await sweep(wrong);
      expect(res.status, `key ${JSON.stringify(wrong?.slice(0, 30))}`).toBe(401);
      expect(await res.text()).not.toContain(JOBS_KEY);
    }
    expect((await sweep(JOBS_KEY)).status).toBe(200);
  });

  it("with BOT_AUTH=disabled listens on loopback only and says so; with auth on, on every interface", async () => {
    const env = {
      BOT_AUTH: "disabled",
      MicrosoftAppId: "",
      SP_TENANT_ID: TENANT,
      GRAPH_BASE_URL: "http://127.0.0.1:9/v1.0",
      // GRAPH_CREDENTIAL=none on purpose: no emulator runs here (Graph and UMP point at a closed port);
      // only the address the bot listens on is under test, and it never calls Graph.
      GRAPH_CREDENTIAL: "none",
      UMP_TARGET: "api",
      UMP_BASE_URL: "http://127.0.0.1:9/api/ump-adapter/v1",
      UMP_TOKEN: "ump-test-token-0123456789",
      SQLITE_PATH: ":memory:",
      SWEEP_INTERVAL_HOURS: "0",
      LOG_LEVEL: "info",
    };
    const open = await spawnBot(env, await freePort());
    cleanups.push(() => open.kill());
    const port = new URL(open.url).port;
    // 127.0.0.2 is another loopback address: a socket bound to every interface answers there, one
    // bound to 127.0.0.1 does not. (Tests only ever target loopback.)
    await expect(fetch(`http://127.0.0.2:${port}/healthz`)).rejects.toThrow();
    expect((await fetch(`${open.url}/healthz`)).status).toBe(200);
    const warning = open.logs.find((l) => /BOT_AUTH=disabled/.test(l));
    expect(warning).toMatch(/listening on loopback only \(127\.0\.0\.1\)/);

    const authed = await spawnBot({ ...env, ...authEnv("http://127.0.0.1:9/openid") }, await freePort());
    cleanups.push(() => authed.kill());
    expect((await fetch(`http://127.0.0.2:${new URL(authed.url).port}/healthz`)).status).toBe(200);
    expect(authed.logs.some((l) => /loopback only/.test(l))).toBe(false);
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

  it("refuses to start with four-eyes off under real auth, or with low-entropy keys", () => {
    const run = spawnSync("node_modules/.bin/tsx", ["src/index.ts"], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        BOT_AUTH: "enabled",
        MicrosoftAppId: APP_ID,
        SP_TENANT_ID: TENANT,
        UMP_TARGET: "handoff",
        HANDOFF_KEY: Buffer.alloc(32, 7).toString("base64"),
        PUBLIC_BASE_URL: "https://bot.example.com",
        JOBS_KEY: "a".repeat(32),
        ALLOW_SELF_APPROVAL: "true",
      },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status).toBe(2);
    for (const p of [
      "ALLOW_SELF_APPROVAL=true is refused unless BOT_AUTH=disabled",
      "HANDOFF_KEY must be 32 random bytes, base64-encoded (openssl rand -base64 32); this one is one byte repeated",
      "JOBS_KEY must be random (openssl rand -base64 32); this one is one byte repeated",
    ])
      expect(run.stderr).toContain(p);
    expect(run.stderr).not.toContain("a".repeat(32));
  });
});
