// The Graph adapter against the emulator in strict mode (issue 10): least-privilege permissions,
// ownership, service principals, app management policies, the approver check without membership
// permissions, syncbot's own standing, removePassword by re-reading, `web` written whole and a
// fractional Retry-After. Every answer the adapter turns into a value is also checked on the wire.

import type { AccessToken, TokenCredential } from "@azure/identity";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SyncbotError } from "../../src/domain/errors";
import type { Logger } from "../../src/domain/ports";
import { createGraphDirectory, type GraphDirectoryDeps } from "../../src/graph/createGraphDirectory";
import { POLICY_CACHE_MS } from "../../src/graph/createPolicyOperations";
import { createTokenProver } from "../../src/graph/createTokenProver";
import { type GraphEmulator, LEAST_PRIVILEGE, startGraphEmulator } from "../emulators/graphEmulator";

const TENANT = "22222222-3333-4444-5555-666666666666";
const GA = "62e90394-69f5-4237-9190-012177145e10";
let emu: GraphEmulator;
const captured: string[] = [];
const allRequests: unknown[] = [];
const secrets: string[] = [];
let n = 0;
const uniq = (p: string) => `${p}-${++n}`;
const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString();

function logger(): Logger {
  const log = (msg: string, f?: Record<string, unknown>) => {
    captured.push(JSON.stringify({ msg, ...f }));
  };
  return { debug: log, info: log, warn: log, error: log, child: () => logger() };
}

function directory(credential: TokenCredential | null = null, policyCache?: GraphDirectoryDeps["policyCache"]) {
  const waits: number[] = [];
  const dir = createGraphDirectory({
    baseUrl: emu.graphBaseUrl,
    credential,
    logger: logger(),
    retry: { notFoundBaseDelayMs: 1 },
    sleep: async (ms) => {
      waits.push(ms);
    },
    policyCache,
  });
  return { dir, waits };
}

async function caught(p: Promise<unknown>): Promise<SyncbotError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SyncbotError) {
      captured.push(JSON.stringify({ m: e.message, h: e.hint }));
      return e;
    }
    throw e;
  }
  throw new Error("expected a SyncbotError");
}

beforeAll(async () => {
  emu = await startGraphEmulator({ tenantId: TENANT, strict: true });
});
beforeEach(() => {
  allRequests.push(...emu.requests);
  emu.resetRequests();
  emu.clearFaults();
  emu.setStrict(true, LEAST_PRIVILEGE);
  emu.setDefaultAppManagementPolicy(null);
});
afterAll(async () => {
  await emu?.close();
});

describe("least privilege and ownership", () => {
  it("creates, reads and writes its own application with Application.ReadWrite.OwnedBy", async () => {
    const { dir } = directory();
    const un = uniq("own");
    const { application } = await dir.upsertApplication(un, { displayName: "Own" });
    expect(emu.owners(application!.id)).toEqual([emu.caller.servicePrincipalId]);
    expect((await dir.getApplicationByUniqueName(un))?.id).toBe(application!.id);
    await dir.updateApplication(application!.id, { displayName: "Own 2" });
    const s = await dir.addPassword(application!.id, { displayName: "run", endDateTime: inDays(30) });
    secrets.push(s.secretText);
    await dir.removePassword(application!.id, s.keyId);
    expect(emu.application(application!.id)?.passwordCredentials).toEqual([]);
  });

  it("reads a foreign application under OwnedBy (tenant-wide reads), refuses every write to it with 403", async () => {
    const someoneElse = "aaaaaaaa-1111-4111-8111-000000000001";
    emu.seedUser({ id: someoneElse, displayName: "Adele Vance", userPrincipalName: "adele@contoso.example" });
    const un = uniq("foreign");
    const [app] = emu.seedApplications([{ uniqueName: un, displayName: "Foreign", owners: [someoneElse] }]);
    const { dir } = directory();

    expect((await dir.getApplicationByUniqueName(un))?.id).toBe(app!.id);
    const write = await caught(dir.upsertApplication(un, { displayName: "Taken over" }));
    expect([write.status, write.upstreamCode, write.code]).toEqual([
      403,
      "Authorization_RequestDenied",
      "upstream_rejected",
    ]);
    const pw = await caught(dir.addPassword(app!.id, { displayName: "x", endDateTime: inDays(1) }));
    expect(pw.status).toBe(403);
    expect((await caught(dir.updateApplication(app!.id, { displayName: "No" }))).status).toBe(403);
    expect(emu.application(app!.id)?.displayName).toBe("Foreign");
    expect(emu.application(app!.id)?.passwordCredentials).toEqual([]);
    // Its owners are listed, but a user only by type and id: OwnedBy does not read users.
    expect(await dir.listOwners(app!.id)).toEqual([
      { id: someoneElse, kind: "user", displayName: null, userPrincipalName: null, appId: null },
    ]);
    emu.setStrict(true, [...LEAST_PRIVILEGE, "User.Read.All"]);
    expect(await dir.listOwners(app!.id)).toEqual([
      {
        id: someoneElse,
        kind: "user",
        displayName: "Adele Vance",
        userPrincipalName: "adele@contoso.example",
        appId: null,
      },
    ]);
    // Reading is not writing: still 403.
    expect((await caught(dir.updateApplication(app!.id, { displayName: "No" }))).status).toBe(403);
    const gets = emu.requests.filter((r) => r.path.endsWith("/owners"));
    expect(gets.map((r) => r.status)).toEqual([200, 200]);
  });

  it("lists every application under OwnedBy (as Graph allows it) and refuses without an application permission", async () => {
    const tag = uniq("strict-tag");
    emu.seedApplications([
      { displayName: "Mine", tags: [tag] },
      { displayName: "Theirs", tags: [tag], owners: ["bbbbbbbb-0000-4000-8000-000000000009"] },
    ]);
    const { dir } = directory();
    const names = async () => {
      const out: string[] = [];
      for await (const page of dir.listApplicationsByTag(tag, ["id", "displayName"])) {
        out.push(...page.map((a) => a.displayName));
      }
      return out.sort();
    };
    expect(await names()).toEqual(["Mine", "Theirs"]);
    emu.setStrict(true, [...LEAST_PRIVILEGE, "Application.Read.All"]);
    expect(await names()).toEqual(["Mine", "Theirs"]);
    emu.setStrict(true, ["RoleManagement.Read.Directory"]);
    expect((await caught(names())).status).toBe(403);
  });
});

describe("service principal", () => {
  it("is absent after create, created tagged and owned by syncbot, then the token proof passes", async () => {
    const { dir } = directory();
    const { application } = await dir.upsertApplication(uniq("sp"), { displayName: "Sp", tags: ["syncbot-managed"] });
    const secret = await dir.addPassword(application!.id, { displayName: "run", endDateTime: inDays(30) });
    secrets.push(secret.secretText);
    const prover = createTokenProver({ authorityHost: emu.authorityHost, tenantId: TENANT, logger: logger() });

    expect(await dir.getServicePrincipal(application!.appId)).toBeNull();
    const refused = await prover.proveClientSecret(application!.appId, secret.secretText);
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error).toBe("invalid_client");
      expect(refused.description).toMatch(/^AADSTS7000229: .*missing service principal in the tenant/);
      captured.push(JSON.stringify(refused));
    }

    const sp = await dir.createServicePrincipal(application!.appId, ["syncbot-managed"]);
    expect(sp).toMatchObject({ appId: application!.appId, displayName: "Sp", tags: ["syncbot-managed"] });
    expect(await dir.getServicePrincipal(application!.appId)).toEqual(sp);
    const post = emu.requests.find((r) => r.method === "POST" && r.path === "/v1.0/servicePrincipals")!;
    expect(post.body).toEqual({ appId: application!.appId, tags: ["syncbot-managed"] });
    expect(post.status).toBe(201);
    expect(await prover.proveClientSecret(application!.appId, secret.secretText)).toEqual({ ok: true });

    // A second create is refused as Graph does: the caller must look first.
    const dup = await caught(dir.createServicePrincipal(application!.appId, []));
    expect(dup.status).toBe(409);
    expect(emu.servicePrincipals().filter((s) => s.appId === application!.appId)).toHaveLength(1);
  });

  it("lags behind a create for the replication window: SP create 400, SP read 404, token endpoint 700016/7000229/7000222", async () => {
    const { dir } = directory();
    const prover = createTokenProver({ authorityHost: emu.authorityHost, tenantId: TENANT, logger: logger() });
    emu.setReplicationWindow(1500);
    try {
      const { application } = await dir.upsertApplication(uniq("lag"), { displayName: "Lag" });
      const appId = application!.appId;
      const secret = await dir.addPassword(application!.id, { displayName: "run", endDateTime: inDays(30) });
      secrets.push(secret.secretText);
      const early = await caught(dir.createServicePrincipal(appId, []));
      expect([early.status, early.upstreamCode]).toEqual([400, "Request_BadRequest"]);
      expect(early.message).toContain(
        `The appId '${appId}' of the service principal does not reference a valid application object.`,
      );
      const post = emu.requests.find((r) => r.method === "POST" && r.path === "/v1.0/servicePrincipals")!;
      expect(post.status).toBe(400);
      const unknownApp = await prover.proveClientSecret(appId, secret.secretText);
      expect(!unknownApp.ok && unknownApp.description).toMatch(/^AADSTS700016: Application with identifier/);

      await new Promise((r) => setTimeout(r, 1600));
      // The app has replicated; its service principal is new now, and so lags in turn.
      const sp = await dir.createServicePrincipal(appId, []);
      expect(await dir.getServicePrincipal(appId)).toBeNull();
      // The write itself landed: a second create conflicts.
      expect((await caught(dir.createServicePrincipal(appId, []))).status).toBe(409);
      const noSp = await prover.proveClientSecret(appId, secret.secretText);
      expect(!noSp.ok && noSp.description).toMatch(/^AADSTS7000229: /);

      await new Promise((r) => setTimeout(r, 1600));
      expect((await dir.getServicePrincipal(appId))?.id).toBe(sp.id);
      expect(await prover.proveClientSecret(appId, secret.secretText)).toEqual({ ok: true });
      // A secret added now is refused as "expired" until it replicates.
      const fresh = await dir.addPassword(application!.id, { displayName: "run2", endDateTime: inDays(30) });
      secrets.push(fresh.secretText);
      const lagging = await prover.proveClientSecret(appId, fresh.secretText);
      expect(!lagging.ok && lagging.description).toMatch(/^AADSTS7000222: The provided client secret keys for app/);
      captured.push(JSON.stringify([unknownApp, noSp, lagging]));
    } finally {
      emu.setReplicationWindow(0);
    }
  });

  it("is not created under OwnedBy for an application someone else owns", async () => {
    const [app] = emu.seedApplications([{ displayName: "Not mine", owners: ["cccccccc-0000-4000-8000-000000000001"] }]);
    const { dir } = directory();
    expect((await caught(dir.createServicePrincipal(app!.appId, []))).status).toBe(403);
    emu.setStrict(true, ["Application.ReadWrite.All"]);
    expect((await dir.createServicePrincipal(app!.appId, [])).appId).toBe(app!.appId);
  });
});

describe("app management policies", () => {
  it("reads the tenant default and the app's own policy with Policy.Read.All, and says 'not checked' without", async () => {
    let t = 0;
    const { dir } = directory(null, { now: () => t });
    const { application } = await dir.upsertApplication(uniq("pol"), { displayName: "Pol" });
    emu.setDefaultAppManagementPolicy({ maxLifetimeDays: 180 });
    const tenantReads = () => emu.requests.filter((r) => r.path === "/v1.0/policies/defaultAppManagementPolicy").length;
    const before = tenantReads();

    expect(await dir.getAppManagementPolicies(application!.id)).toEqual({ checked: false, reason: "forbidden" });

    emu.setStrict(true, [...LEAST_PRIVILEGE, "Policy.Read.All"]);
    // The 403 is remembered for the cache's time (10 minutes): no second read, still "not checked".
    t += POLICY_CACHE_MS - 1;
    expect(await dir.getAppManagementPolicies(application!.id)).toEqual({ checked: false, reason: "forbidden" });
    expect(tenantReads()).toBe(before + 1);
    // Past it, the grant shows.
    t += 1;
    expect(await dir.getAppManagementPolicies(application!.id)).toEqual({
      checked: true,
      tenantDefault: { passwordAddition: null, passwordLifetime: { maxLifetime: "P180D", appliesAfter: null } },
      application: null,
    });
    // The tenant default is now cached; the application's own policy is read every time.
    emu.setApplicationPolicy(application!.id, { blockPasswordAddition: true });
    const read = await dir.getAppManagementPolicies(application!.id);
    expect(read).toMatchObject({ checked: true, application: { passwordAddition: { appliesAfter: null } } });
    expect(tenantReads()).toBe(before + 2);
    expect(await dir.getAppManagementPolicies(null)).toMatchObject({ checked: true, application: null });
    expect(tenantReads()).toBe(before + 2);

    // What the policy says is what addPassword enforces.
    const blocked = await caught(dir.addPassword(application!.id, { displayName: "x", endDateTime: inDays(30) }));
    expect(blocked.upstreamCode).toBe("CredentialTypeNotAllowedAsPerAppPolicy");
    emu.setApplicationPolicy(application!.id, null);
    const tooLong = await caught(dir.addPassword(application!.id, { displayName: "x", endDateTime: inDays(730) }));
    expect(tooLong.upstreamCode).toBe("CredentialInvalidLifetimeAsPerAppPolicy");
    const ok = await dir.addPassword(application!.id, { displayName: "x", endDateTime: inDays(170) });
    secrets.push(ok.secretText);
  });

  it("reads any ISO 8601 maxLifetime and the enforcement date; an app created before it is not restricted", async () => {
    emu.setStrict(true, [...LEAST_PRIVILEGE, "Policy.Read.All"]);
    const { dir } = directory(null, { ttlMs: 0 });
    const after = "2025-06-01T00:00:00Z";
    const [old] = emu.seedApplications([{ displayName: "Old", createdDateTime: "2024-01-15T00:00:00Z" }]);
    const { application: fresh } = await dir.upsertApplication(uniq("new"), { displayName: "New" });
    emu.setDefaultAppManagementPolicy({ maxLifetime: "PT2160H", restrictForAppsCreatedAfterDateTime: after });
    expect(await dir.getAppManagementPolicies(old!.id)).toEqual({
      checked: true,
      tenantDefault: { passwordAddition: null, passwordLifetime: { maxLifetime: "PT2160H", appliesAfter: after } },
      application: null,
    });
    expect((await dir.getApplication(old!.id)).createdDateTime).toBe("2024-01-15T00:00:00Z");
    // The old app is not bound: a two-year secret is accepted.
    secrets.push((await dir.addPassword(old!.id, { displayName: "x", endDateTime: inDays(730) })).secretText);
    // The new one is: 90 days pass, 91 do not.
    secrets.push((await dir.addPassword(fresh!.id, { displayName: "x", endDateTime: inDays(89.9) })).secretText);
    const refused = await caught(dir.addPassword(fresh!.id, { displayName: "x", endDateTime: inDays(91) }));
    expect(refused.upstreamCode).toBe("CredentialInvalidLifetimeAsPerAppPolicy");
    // An app-specific policy with a mixed duration, enforced to the second.
    emu.setApplicationPolicy(fresh!.id, { maxLifetime: "P4DT12H30M5S" });
    const own = await dir.getAppManagementPolicies(fresh!.id);
    expect(own).toMatchObject({ checked: true, application: { passwordLifetime: { maxLifetime: "P4DT12H30M5S" } } });
    const limit = (4 * 86_400 + 12 * 3600 + 30 * 60 + 5) * 1000;
    // Graph starts the secret when it answers: 5 s over the limit is refused, a minute under accepted.
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const over = await caught(dir.addPassword(fresh!.id, { displayName: "x", endDateTime: at(limit + 5000) }));
    expect(over.upstreamCode).toBe("CredentialInvalidLifetimeAsPerAppPolicy");
    secrets.push((await dir.addPassword(fresh!.id, { displayName: "x", endDateTime: at(limit - 60_000) })).secretText);
    emu.setApplicationPolicy(fresh!.id, null);
  });
});

describe("approver check", () => {
  const direct = "dddddddd-0000-4000-8000-000000000001";
  const viaGroup = "dddddddd-0000-4000-8000-000000000002";
  const nobody = "dddddddd-0000-4000-8000-000000000003";
  beforeAll(() => {
    emu.seedUser({ id: direct, displayName: "Direct", globalAdmin: true });
    emu.seedUser({ id: viaGroup, displayName: "Group", globalAdmin: true, viaGroup: true });
    emu.seedUser({ id: nobody, displayName: "Nobody" });
  });

  it("is eligible through a direct assignment with RoleManagement.Read.Directory alone", async () => {
    const { dir } = directory();
    expect(await dir.checkGlobalAdministrator(direct)).toBe("eligible");
    expect(emu.requests.map((r) => [r.path, r.query["$filter"]])).toEqual([
      ["/v1.0/roleManagement/directory/roleAssignments", `principalId eq '${direct}' and roleDefinitionId eq '${GA}'`],
    ]);
  });

  it("is 'unverified' (not an error) for a group-based role without a membership permission", async () => {
    const { dir } = directory();
    expect(await dir.checkGlobalAdministrator(viaGroup)).toBe("unverified");
    expect(await dir.checkGlobalAdministrator(nobody)).toBe("unverified");
    expect(emu.requests.filter((r) => r.path.includes("transitiveMemberOf")).map((r) => r.status)).toEqual([403, 403]);
    // The old boolean check still surfaces the 403 (callers move to checkGlobalAdministrator).
    expect((await caught(dir.isGlobalAdministrator(viaGroup))).status).toBe(403);
  });

  it("recognises the group-based role with GroupMember.Read.All, asking as an advanced query", async () => {
    emu.setStrict(true, [...LEAST_PRIVILEGE, "GroupMember.Read.All"]);
    const { dir } = directory();
    expect(await dir.checkGlobalAdministrator(viaGroup)).toBe("eligible");
    expect(await dir.checkGlobalAdministrator(nobody)).toBe("not_eligible");
    const casts = emu.requests.filter((r) => r.path.includes("transitiveMemberOf"));
    expect(casts.map((r) => [r.status, r.headers["consistencylevel"], r.query["$count"]])).toEqual([
      [200, "eventual", "true"],
      [200, "eventual", "true"],
    ]);
  });

  it("a 400 for the membership query is a clean 'query_refused', not an error", async () => {
    emu.setStrict(true, [...LEAST_PRIVILEGE, "GroupMember.Read.All"]);
    emu.injectFault({
      status: 400,
      code: "Request_UnsupportedQuery",
      message: "Unsupported Query.",
      match: { pathIncludes: "transitiveMemberOf" },
    });
    const { dir } = directory();
    expect(await dir.checkGlobalAdministrator(viaGroup)).toBe("query_refused");
  });

  it("fails as an error when even role assignments are not readable", async () => {
    emu.setStrict(true, ["Application.ReadWrite.OwnedBy"]);
    const { dir } = directory();
    expect((await caught(dir.checkGlobalAdministrator(direct))).status).toBe(403);
  });
});

describe("own standing (doctor)", () => {
  const tokenCredential = (token: () => string): TokenCredential => ({
    async getToken(): Promise<AccessToken> {
      return { token: token(), expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  });

  it("reads its roles from its own token and its app role assignments where readable", async () => {
    emu.setStrict(true, [...LEAST_PRIVILEGE, "Application.Read.All"]);
    const { dir } = directory(tokenCredential(() => emu.callerToken()));
    expect((await dir.getOwnTokenRoles())?.sort()).toEqual(
      ["Application.Read.All", "Application.ReadWrite.OwnedBy", "RoleManagement.Read.Directory"].sort(),
    );
    const assigned = await dir.listOwnAppRoleAssignments();
    expect(assigned).toMatchObject({ readable: true });
    if (!assigned?.readable) throw new Error("own app role assignments not readable");
    expect(assigned.assignments.map((a) => a.value).sort()).toEqual(
      ["Application.Read.All", "Application.ReadWrite.OwnedBy", "RoleManagement.Read.Directory"].sort(),
    );
    expect(assigned.assignments.every((a) => a.resourceDisplayName === "Microsoft Graph")).toBe(true);
    const asked = emu.requests.find((r) => r.path.endsWith("/appRoleAssignments"))!;
    expect(asked.path).toBe(`/v1.0/servicePrincipals/${emu.caller.servicePrincipalId}/appRoleAssignments`);
    expect(asked.headers["authorization"]).toMatch(/^Bearer /);
  });

  it("says 'not readable' under least privilege and null without a credential", async () => {
    const { dir } = directory(tokenCredential(() => emu.callerToken()));
    expect(await dir.listOwnAppRoleAssignments()).toEqual({ readable: false });
    expect((await directory().dir.getOwnTokenRoles()) ?? "none").toBe("none");
    expect(await directory().dir.listOwnAppRoleAssignments()).toBeNull();
  });
});

describe("robust writes", () => {
  it("treats a 400 for a secret deleted by hand as gone after re-reading, and a present keyId as a failure", async () => {
    const { dir } = directory();
    const { application } = await dir.upsertApplication(uniq("rm"), { displayName: "Rm" });
    const id = application!.id;
    const s = await dir.addPassword(id, { displayName: "run", endDateTime: inDays(30) });
    secrets.push(s.secretText);
    emu.removePasswordByHand(id, s.keyId);
    await expect(dir.removePassword(id, s.keyId)).resolves.toBeUndefined();
    expect(emu.requests.slice(-2).map((r) => [r.method, r.status])).toEqual([
      ["POST", 400],
      ["GET", 200],
    ]);

    // A 400 while the keyId is still there is a real failure, not "already gone".
    const kept = emu.addPasswordByHand(id, { displayName: "portal", endDateTime: inDays(10) });
    secrets.push(kept.secretText);
    emu.injectFault({ status: 400, match: { method: "POST", pathIncludes: "removePassword" } });
    const e = await caught(dir.removePassword(id, kept.keyId));
    expect(e.status).toBe(400);
    expect(emu.application(id)?.passwordCredentials.map((p) => p.keyId)).toEqual([kept.keyId]);

    // Any other failure stays a failure, without a re-read.
    emu.resetRequests();
    emu.injectFault({ status: 500, match: { method: "POST", pathIncludes: "removePassword" } });
    expect((await caught(dir.removePassword(id, kept.keyId))).code).toBe("upstream_failed");
    expect(emu.requests).toHaveLength(1);
  });

  it("writes web whole, keeping homePageUrl, logoutUrl and foreign redirect URIs (strict replaces complex values)", async () => {
    const { dir } = directory();
    const un = uniq("web");
    const [app] = emu.seedApplications([
      {
        uniqueName: un,
        displayName: "Web",
        web: {
          homePageUrl: "https://home.example.com",
          logoutUrl: "https://home.example.com/logout",
          redirectUris: ["https://other.example.com/cb"],
        },
      },
    ]);
    const live = (await dir.getApplicationByUniqueName(un))!;
    expect(live.web.homePageUrl).toBe("https://home.example.com");
    await dir.updateApplication(app!.id, {
      web: { ...live.web, redirectUris: [...live.web.redirectUris, "https://ump.example.com/cb"] },
    });
    const after = emu.application(app!.id)!.web;
    expect(after.homePageUrl).toBe("https://home.example.com");
    expect(after.logoutUrl).toBe("https://home.example.com/logout");
    expect(after.redirectUris).toEqual(["https://other.example.com/cb", "https://ump.example.com/cb"]);
    expect(after.redirectUriSettings.map((r) => r.uri)).toEqual(after.redirectUris);
    const patch = emu.requests.find((r) => r.method === "PATCH")!;
    expect((patch.body as { web: Record<string, unknown> }).web).toMatchObject({
      homePageUrl: "https://home.example.com",
      redirectUriSettings: [
        { uri: "https://other.example.com/cb", index: null },
        { uri: "https://ump.example.com/cb", index: null },
      ],
    });

    // The emulator is not kinder than that: a partial web loses what it leaves out.
    await dir.updateApplication(app!.id, {
      web: {
        redirectUris: ["https://ump.example.com/cb"],
        implicitGrantSettings: { enableAccessTokenIssuance: true, enableIdTokenIssuance: true },
      },
    });
    expect(emu.application(app!.id)!.web.homePageUrl).toBeNull();
  });

  it("honours a fractional Retry-After", async () => {
    const { dir, waits } = directory();
    emu.injectFault({ status: 429, count: 1, retryAfterSeconds: 1.5, match: { method: "GET" } });
    expect(await dir.getServicePrincipal("99999999-0000-4000-8000-000000000000")).toBeNull();
    expect(emu.requests[0]!.status).toBe(429);
    expect(waits).toEqual([1500]);
  });
});

describe("whole-file checks", () => {
  it("never let a secret value into a log line, error or recorded request", () => {
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    const haystack = [...captured, JSON.stringify([...allRequests, ...emu.requests])].join("\n");
    for (const s of secrets) expect(haystack).not.toContain(s);
    for (const s of emu.issuedSecrets()) expect(haystack).not.toContain(s);
  });
});
