// The Graph adapter (createGraphDirectory, createTokenProver) against the Graph emulator over real
// HTTP: happy paths, paging, throttling and replication-lag retries, error translation, role checks,
// and a scan that the secret value never shows up outside the NewSecret.

import type { AccessToken, TokenCredential } from "@azure/identity";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isSyncbotError, SyncbotError } from "../../src/domain/errors";
import type { Logger, RetryNotice } from "../../src/domain/ports";
import { createGraphDirectory, type GraphDirectoryDeps } from "../../src/graph/createGraphDirectory";
import { parseRetryAfter } from "../../src/graph/middleware/ThrottleRetryMiddleware";
import { createTokenProver } from "../../src/graph/createTokenProver";
import { type GraphEmulator, type RecordedRequest, startGraphEmulator } from "../emulators/graphEmulator";

const TENANT = "11111111-2222-3333-4444-555555555555";
const GA = "62e90394-69f5-4237-9190-012177145e10";
const NINE: Record<string, string> = {
  "AppCatalog.ReadWrite.All": "1ca167d5-1655-44a1-8adf-1414072e1ef9",
  offline_access: "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
  profile: "14dad69e-099b-42c9-810b-d002981feec1",
  "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
  "User.Read.All": "a154be20-db9c-4678-8ab7-66f6cc099a59",
  "Directory.Read.All": "06da0dbc-49e2-44d2-8312-53f166ab848a",
  "Directory.ReadWrite.All": "c5366453-9fb0-48a5-a156-24f0c49a4b84",
  "Group.ReadWrite.All": "4e46008b-f24c-477d-8fff-7bb4ec7aafe0",
  "User.ReadWrite.All": "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4",
};

let emu: GraphEmulator;
const allRequests: RecordedRequest[] = [];
// Everything the adapter said: log lines, errors, retry notices. Scanned for secrets at the end.
const captured: string[] = [];
const secrets: string[] = [];
let counter = 0;

function captureLogger(fields: Record<string, unknown> = {}): Logger {
  const log = (level: string) => (msg: string, f?: Record<string, unknown>) => {
    captured.push(JSON.stringify({ level, msg, ...fields, ...f }));
  };
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    child: (f) => captureLogger({ ...fields, ...f }),
  };
}

function directory(overrides: Partial<GraphDirectoryDeps> = {}) {
  const waits: number[] = [];
  const dir = createGraphDirectory({
    baseUrl: emu.graphBaseUrl,
    credential: null,
    logger: captureLogger(),
    retry: { notFoundBaseDelayMs: 1 },
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...overrides,
  });
  return { dir, waits };
}

async function caught(p: Promise<unknown>): Promise<SyncbotError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SyncbotError) {
      captured.push(JSON.stringify({ message: e.message, hint: e.hint, code: e.code, stack: e.stack }));
      return e;
    }
    throw e;
  }
  throw new Error("expected a SyncbotError");
}

function uniq(prefix: string): string {
  counter++;
  return `${prefix}-${counter}`;
}

const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString();

beforeAll(async () => {
  emu = await startGraphEmulator({ tenantId: TENANT, seed: 7 });
});

beforeEach(() => {
  allRequests.push(...emu.requests);
  emu.resetRequests();
  emu.clearFaults();
  emu.setNotFoundAfterCreate(0);
  emu.setPasswordLifetimePolicy(null);
  emu.setPropagationDelay(0);
});

afterAll(async () => {
  await emu?.close();
});

describe("applications", () => {
  it("creates with upsert (201) and updates with upsert (204)", async () => {
    const { dir } = directory();
    const un = uniq("contoso");
    const first = await dir.upsertApplication(un, { displayName: "Contoso Sync", tags: ["syncbot-managed"] });
    expect(first.created).toBe(true);
    expect(first.application?.uniqueName).toBe(un);
    expect(first.application?.appId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.application?.web.redirectUris).toEqual([]);

    const second = await dir.upsertApplication(un, { displayName: "Contoso Sync 2" });
    expect(second).toEqual({ created: false, application: null });
    expect(emu.application(first.application!.id)?.displayName).toBe("Contoso Sync 2");

    const writes = emu.writes();
    expect(writes.map((w) => [w.method, w.status])).toEqual([
      ["PATCH", 201],
      ["PATCH", 204],
    ]);
    expect(writes[0]!.headers["prefer"]).toBe("create-if-missing");
    expect(writes[0]!.path).toBe(`/v1.0/applications(uniqueName='${un}')`);
  });

  it("creates with POST /applications (uniqueName in the body); a taken name is `taken`, not an error, and no write", async () => {
    const { dir } = directory();
    const un = uniq("posted");
    const first = await dir.createApplication(un, { displayName: "Posted", tags: ["syncbot-managed"] });
    if (!first.created) throw new Error("expected a create");
    expect(first.application.uniqueName).toBe(un);
    expect(first.application.tags).toEqual(["syncbot-managed"]);
    const again = await dir.createApplication(un, { displayName: "Posted twice" });
    expect(again).toEqual({ created: false, taken: true, ambiguous: false });
    expect(emu.applications().filter((a) => a.uniqueName === un)).toHaveLength(1);
    expect(emu.application(first.application.id)?.displayName).toBe("Posted");
    const writes = emu.writes();
    expect(writes.map((w) => [w.method, w.path, w.status])).toEqual([
      ["POST", "/v1.0/applications", 201],
      ["POST", "/v1.0/applications", 400],
    ]);
    expect(writes[0]!.body).toMatchObject({ displayName: "Posted", uniqueName: un });
    // Other 400s stay errors.
    const bad = await caught(dir.createApplication(uniq("bad"), { displayName: "" }));
    expect(bad.code).toBe("upstream_rejected");
  });

  it("a create answered 504 after Graph applied it: the retry finds the name taken and says the answer was ambiguous", async () => {
    const notices: RetryNotice[] = [];
    const { dir } = directory();
    const un = uniq("lost");
    emu.injectFault({
      status: 504,
      phase: "after",
      retryAfterSeconds: 0,
      match: { method: "POST", path: "/v1.0/applications" },
    });
    const answer = await dir.createApplication(un, { displayName: "Lost" }, { onRetry: (n) => notices.push(n) });
    expect(answer).toEqual({ created: false, taken: true, ambiguous: true });
    expect(notices.map((n) => n.status)).toEqual([504]);
    expect(emu.applications().filter((a) => a.uniqueName === un)).toHaveLength(1);
    // A 429 is not ambiguous: Graph did not handle the request.
    emu.injectFault({ status: 429, retryAfterSeconds: 0, match: { method: "POST", path: "/v1.0/applications" } });
    expect(await dir.createApplication(un, { displayName: "Lost" })).toEqual({
      created: false,
      taken: true,
      ambiguous: false,
    });
  });

  it("reads by uniqueName and id; a missing one is null or not_found", async () => {
    const { dir } = directory();
    const un = uniq("fabrikam");
    const { application } = await dir.upsertApplication(un, { displayName: "Fabrikam" });
    expect((await dir.getApplicationByUniqueName(un))?.id).toBe(application!.id);
    expect(await dir.getApplicationByUniqueName("nobody-has-this")).toBeNull();
    const live = await dir.getApplication(application!.id);
    expect(live.displayName).toBe("Fabrikam");
    const e = await caught(dir.getApplication("00000000-0000-0000-0000-000000000001"));
    expect(e.code).toBe("not_found");
    expect(e.status).toBe(404);
    expect(e.upstreamCode).toBe("Request_ResourceNotFound");
  });

  it("updates fields and reports Graph's validation as upstream_rejected naming the property", async () => {
    const { dir } = directory();
    const { application } = await dir.upsertApplication(uniq("val"), { displayName: "Val" });
    const id = application!.id;
    await dir.updateApplication(id, {
      signInAudience: "AzureADMultipleOrgs",
      web: {
        redirectUris: ["https://val.example.com/authenticate/OAuth2Callback"],
        implicitGrantSettings: { enableAccessTokenIssuance: true, enableIdTokenIssuance: true },
      },
    });
    const live = await dir.getApplication(id);
    expect(live.signInAudience).toBe("AzureADMultipleOrgs");
    expect(live.web.implicitGrantSettings.enableIdTokenIssuance).toBe(true);

    const e = await caught(
      dir.updateApplication(id, {
        web: {
          redirectUris: ["http://val.example.com/cb"],
          implicitGrantSettings: { enableAccessTokenIssuance: true, enableIdTokenIssuance: true },
        },
      }),
    );
    expect(e.code).toBe("upstream_rejected");
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/^Graph \S+: .*web\.redirectUris/);
    const bad = await caught(dir.updateApplication(id, { signInAudience: "Everyone" }));
    expect(bad.message).toContain("signInAudience");
  });

  it("pages through 2500 tagged applications with $top=999 and $select", async () => {
    const tag = uniq("paging-tag");
    emu.seedApplications(
      Array.from({ length: 2500 }, (_, i) => ({
        displayName: `Paged ${i}`,
        tags: [tag],
        passwordCredentials: [{ displayName: "s", endDateTime: inDays(i % 90) }],
      })),
    );
    emu.seedApplications(20); // untagged noise
    const { dir } = directory();
    const seen = new Set<string>();
    let pages = 0;
    for await (const page of dir.listApplicationsByTag(tag, ["id", "appId", "passwordCredentials"])) {
      pages++;
      for (const app of page) {
        seen.add(app.id);
        expect(app.passwordCredentials).toHaveLength(1);
        expect(app.displayName).toBe(""); // not selected → default
        expect(app.tags).toEqual([]);
      }
    }
    expect(seen.size).toBe(2500);
    expect(pages).toBe(3);
    expect(emu.requests).toHaveLength(3);
    for (const r of emu.requests) {
      expect(r.query["$top"]).toBe("999");
      expect(r.query["$select"]).toBe("id,appId,passwordCredentials");
      expect(r.query["$filter"]).toBe(`tags/any(t:t eq '${tag}')`);
    }
    expect(emu.requests[1]!.query["$skiptoken"]).toBeTruthy();
  });
});

describe("throttling and transient failures", () => {
  it("waits out a 429 storm honouring Retry-After and reports each retry", async () => {
    const { dir, waits } = directory();
    emu.injectFault({ status: 429, count: 3, retryAfterSeconds: 0 });
    const notices: RetryNotice[] = [];
    const un = uniq("storm");
    const r = await dir.upsertApplication(un, { displayName: "Storm" }, { onRetry: (n) => notices.push(n) });
    expect(r.created).toBe(true);
    expect(notices.map((n) => [n.attempt, n.status, n.waitMs, n.maxAttempts, n.service])).toEqual([
      [1, 429, 0, 5, "graph"],
      [2, 429, 0, 5, "graph"],
      [3, 429, 0, 5, "graph"],
    ]);
    expect(waits).toEqual([0, 0, 0]);
    expect(emu.requests.map((q) => q.status)).toEqual([429, 429, 429, 201]);
  });

  it("uses real time for Retry-After without an injected sleep", async () => {
    const dir = createGraphDirectory({ baseUrl: emu.graphBaseUrl, credential: null });
    emu.injectFault({ status: 429, count: 2, retryAfterSeconds: 0, match: { method: "GET" } });
    expect(await dir.getApplicationByUniqueName("absent-everywhere")).toBeNull();
    expect(emu.requests.map((q) => q.status)).toEqual([429, 429, 404]);
  });

  it("gives up as throttled after maxAttempts retries", async () => {
    const { dir } = directory();
    emu.injectFault({ status: 429, count: 50, retryAfterSeconds: 0 });
    const e = await caught(dir.getApplicationByUniqueName("x"));
    expect(e.code).toBe("throttled");
    expect(e.status).toBe(429);
    expect(e.hint).toBeTruthy();
    expect(emu.requests).toHaveLength(6); // 1 + 5 retries
  });

  it("gives up as throttled when Retry-After would exceed the wait budget", async () => {
    const { dir, waits } = directory({ retry: { maxTotalWaitMs: 5_000 } });
    emu.injectFault({ status: 429, count: 5, retryAfterSeconds: 2 });
    const e = await caught(dir.getApplicationByUniqueName("x"));
    expect(e.code).toBe("throttled");
    expect(waits).toEqual([2000, 2000]);
    expect(emu.requests).toHaveLength(3);
  });

  it("retries 503 and 504 with exponential backoff when no Retry-After is given", async () => {
    const { dir, waits } = directory({ retry: { baseDelayMs: 100 } });
    emu.injectFault({ status: 503, count: 2 });
    emu.injectFault({ status: 504, count: 1 });
    const notices: RetryNotice[] = [];
    await dir.getGraphDelegatedScopes({ onRetry: (n) => notices.push(n) });
    expect(waits).toEqual([100, 200, 400]);
    expect(notices.map((n) => n.status)).toEqual([503, 503, 504]);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Tue, 31 Dec 2024 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("does not retry a 500 and reports upstream_failed", async () => {
    const { dir } = directory();
    emu.injectFault({ status: 500 });
    const e = await caught(dir.getApplicationByUniqueName("x"));
    expect(e.code).toBe("upstream_failed");
    expect(emu.requests).toHaveLength(1);
  });

  it("reports an unreachable Graph as upstream_failed", async () => {
    const dir = createGraphDirectory({ baseUrl: "http://127.0.0.1:1/v1.0", credential: null });
    const e = await caught(dir.getApplicationByUniqueName("x"));
    expect(e.code).toBe("upstream_failed");
  });

  it("retries a 404 right after a create (justCreated) and reports it as status 404", async () => {
    const { dir, waits } = directory({ retry: { notFoundBaseDelayMs: 10 } });
    emu.setNotFoundAfterCreate(2);
    const { application } = await dir.upsertApplication(uniq("lag"), { displayName: "Lag" });
    const notices: RetryNotice[] = [];
    const secret = await dir.addPassword(
      application!.id,
      { displayName: "run-1", endDateTime: inDays(30) },
      { justCreated: true, onRetry: (n) => notices.push(n) },
    );
    secrets.push(secret.secretText);
    expect(notices.map((n) => [n.status, n.attempt])).toEqual([
      [404, 1],
      [404, 2],
    ]);
    expect(waits).toEqual([10, 20]);

    emu.setNotFoundAfterCreate(1);
    const other = await dir.upsertApplication(uniq("lag"), { displayName: "Lag 2" });
    const e = await caught(dir.getApplication(other.application!.id));
    expect(e.code).toBe("not_found"); // without justCreated a 404 is final

    emu.setNotFoundAfterCreate(10);
    const third = await dir.upsertApplication(uniq("lag"), { displayName: "Lag 3" });
    const bounded = await caught(dir.getApplication(third.application!.id, { justCreated: true }));
    expect(bounded.code).toBe("not_found");
    expect(emu.requests.filter((q) => q.path === `/v1.0/applications/${third.application!.id}`)).toHaveLength(6);
  });
});

describe("error translation", () => {
  it("turns 403 Authorization_RequestDenied into upstream_rejected with an operator hint", async () => {
    const { dir } = directory();
    emu.injectFault({ status: 403, match: { method: "PATCH" } });
    const e = await caught(dir.upsertApplication(uniq("denied"), { displayName: "Denied" }));
    expect(e.code).toBe("upstream_rejected");
    expect(e.status).toBe(403);
    expect(e.upstreamCode).toBe("Authorization_RequestDenied");
    expect(e.message).toBe("Graph Authorization_RequestDenied: Insufficient privileges to complete the operation.");
    expect(e.hint).toContain("Application.ReadWrite.OwnedBy");
    expect(e.hint).toContain("RoleManagement.Read.Directory");
  });

  it("reports the tenant's secret lifetime policy with a hint to lower the lifetime", async () => {
    const { dir } = directory();
    const { application } = await dir.upsertApplication(uniq("policy"), { displayName: "Policy" });
    emu.setPasswordLifetimePolicy(180);
    const e = await caught(dir.addPassword(application!.id, { displayName: "run-2", endDateTime: inDays(730) }));
    expect(e.code).toBe("upstream_rejected");
    expect(e.upstreamCode).toBe("CredentialInvalidLifetimeAsPerAppPolicy");
    expect(e.hint).toMatch(/lifetime/i);
    const ok = await dir.addPassword(application!.id, { displayName: "run-2", endDateTime: inDays(90) });
    secrets.push(ok.secretText);
  });

  it("maps a 412 to precondition_failed", async () => {
    const { dir } = directory();
    emu.injectFault({ status: 412 });
    expect((await caught(dir.getApplicationByUniqueName("x"))).code).toBe("precondition_failed");
  });
});

describe("passwords", () => {
  it("adds a password and removes it idempotently", async () => {
    const { dir } = directory();
    const { application } = await dir.upsertApplication(uniq("pw"), { displayName: "Pw" });
    const id = application!.id;
    const s = await dir.addPassword(id, { displayName: "syncbot run-9", endDateTime: inDays(60) });
    secrets.push(s.secretText);
    expect(s.secretText).toHaveLength(40);
    expect(s.hint).toBe(s.secretText.slice(0, 3));
    expect(s.displayName).toBe("syncbot run-9");
    const live = await dir.getApplication(id);
    expect(live.passwordCredentials.map((p) => p.keyId)).toEqual([s.keyId]);
    expect(JSON.stringify(live)).not.toContain(s.secretText);

    await dir.removePassword(id, s.keyId);
    await dir.removePassword(id, s.keyId); // already removed is removed
    const byHand = emu.addPasswordByHand(id, { displayName: "portal", endDateTime: inDays(10) });
    secrets.push(byHand.secretText);
    emu.removePasswordByHand(id, byHand.keyId);
    await expect(dir.removePassword(id, byHand.keyId)).resolves.toBeUndefined();
    expect((await dir.getApplication(id)).passwordCredentials).toEqual([]);
  });
});

describe("lookups", () => {
  it("reads the delegated scopes once and caches them", async () => {
    const { dir } = directory();
    const scopes = await dir.getGraphDelegatedScopes();
    for (const [value, id] of Object.entries(NINE)) expect(scopes.get(value)).toBe(id);
    expect(emu.requests).toHaveLength(1);
    expect(emu.requests[0]!.query["$select"]).toBe("id,appId,oauth2PermissionScopes,appRoles");
    const again = await dir.getGraphDelegatedScopes();
    expect(again.get("User.Read")).toBe(NINE["User.Read"]);
    expect(emu.requests).toHaveLength(1);
  });

  it("checks Global Administrator directly, through a group, and not at all", async () => {
    const { dir } = directory();
    const direct = "aaaaaaaa-0000-4000-8000-000000000001";
    const viaGroup = "aaaaaaaa-0000-4000-8000-000000000002";
    const nobody = "aaaaaaaa-0000-4000-8000-000000000003";
    emu.seedUser({ id: direct, displayName: "Direct", globalAdmin: true });
    emu.seedUser({ id: viaGroup, displayName: "Group", globalAdmin: true, viaGroup: true });
    emu.seedUser({ id: nobody, displayName: "Nobody" });

    expect(await dir.isGlobalAdministrator(direct)).toBe(true);
    expect(emu.requests).toHaveLength(1);
    expect(emu.requests[0]!.query["$filter"]).toBe(`principalId eq '${direct}' and roleDefinitionId eq '${GA}'`);

    emu.resetRequests();
    expect(await dir.isGlobalAdministrator(viaGroup)).toBe(true);
    expect(emu.requests.map((q) => q.path)).toEqual([
      "/v1.0/roleManagement/directory/roleAssignments",
      `/v1.0/users/${viaGroup}/transitiveMemberOf/microsoft.graph.directoryRole`,
    ]);
    expect(await dir.isGlobalAdministrator(nobody)).toBe(false);
    expect(await dir.isGlobalAdministrator("aaaaaaaa-0000-4000-8000-0000000000ff")).toBe(false);
  });
});

describe("headers and credentials", () => {
  it("sends a bearer token for <origin>/.default, cached across calls, and the correlation id", async () => {
    const scopes: string[] = [];
    // A token the emulator's Entra stand-in signed: Graph refuses anything else.
    const tok = emu.callerToken();
    const credential: TokenCredential = {
      async getToken(scope): Promise<AccessToken> {
        scopes.push(String(scope));
        return { token: tok, expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const { dir } = directory({ credential });
    await dir.getApplicationByUniqueName("a", { correlationId: "corr-1" });
    await dir.getApplicationByUniqueName("b");
    expect(scopes).toEqual([`${emu.url}/.default`]);
    expect(emu.requests.map((q) => q.headers["authorization"])).toEqual([`Bearer ${tok}`, `Bearer ${tok}`]);
    expect(emu.requests[0]!.headers["client-request-id"]).toBe("corr-1");
  });

  it("reports a failing credential as upstream_failed", async () => {
    const credential: TokenCredential = {
      async getToken() {
        const e = new Error("no identity endpoint");
        e.name = "CredentialUnavailableError";
        throw e;
      },
    };
    const { dir } = directory({ credential });
    const e = await caught(dir.getApplicationByUniqueName("a"));
    expect(e.code).toBe("upstream_failed");
    expect(e.message).toContain("token");
    expect(emu.requests).toHaveLength(0);
  });
});

describe("token prover", () => {
  it("accepts a working secret, refuses a wrong one, and waits for propagation", async () => {
    const { dir } = directory();
    const { application } = await dir.upsertApplication(uniq("prove"), { displayName: "Prove" });
    const s = await dir.addPassword(application!.id, { displayName: "run-3", endDateTime: inDays(30) });
    secrets.push(s.secretText);
    const prover = createTokenProver({ authorityHost: emu.authorityHost, tenantId: TENANT, logger: captureLogger() });
    expect(await prover.proveClientSecret(application!.appId, s.secretText, { correlationId: "c-9" })).toEqual({
      ok: true,
    });
    const tokenReq = emu.requests.find((q) => q.path.endsWith("/oauth2/v2.0/token"))!;
    expect(tokenReq.path).toBe(`/${TENANT}/oauth2/v2.0/token`);
    expect((tokenReq.body as Record<string, string>).scope).toBe("https://graph.microsoft.com/.default");

    const wrong = `${s.secretText.slice(0, 39)}x`;
    const bad = await prover.proveClientSecret(application!.appId, wrong);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error).toBe("invalid_client");
      expect(bad.description).toMatch(/^AADSTS7000215/);
      captured.push(JSON.stringify(bad));
    }

    emu.setPropagationDelay(300);
    const fresh = await dir.addPassword(application!.id, { displayName: "run-4", endDateTime: inDays(30) });
    secrets.push(fresh.secretText);
    const early = await prover.proveClientSecret(application!.appId, fresh.secretText);
    expect(early.ok).toBe(false);
    captured.push(JSON.stringify(early));
    await new Promise((r) => setTimeout(r, 350));
    expect(await prover.proveClientSecret(application!.appId, fresh.secretText)).toEqual({ ok: true });
  });

  it("throws upstream_failed without the secret when the authority is unreachable", async () => {
    const prover = createTokenProver({ authorityHost: "http://127.0.0.1:1", tenantId: TENANT });
    const e = await caught(prover.proveClientSecret("app", "super-secret-value-123"));
    expect(e.code).toBe("upstream_failed");
    expect(JSON.stringify({ m: e.message, h: e.hint, c: String(e.cause) })).not.toContain("super-secret-value-123");
  });
});

describe("whole-file checks", () => {
  it("sent Accept-Language: en-US on every Graph request", () => {
    const all = [...allRequests, ...emu.requests].filter((r) => r.path.startsWith("/v1.0"));
    expect(all.length).toBeGreaterThan(50);
    for (const r of all) expect(r.headers["accept-language"]).toBe("en-US");
  });

  it("never let a secret value into a log line, error, notice or recorded request", () => {
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    const haystack = [...captured, JSON.stringify([...allRequests, ...emu.requests])].join("\n");
    for (const s of secrets) expect(haystack).not.toContain(s);
    expect(isSyncbotError(new SyncbotError("internal", "x"))).toBe(true);
  });
});
