// The Graph emulator's behaviours a client relies on, checked over raw HTTP: OData error shape,
// paging links, $select and $top limits, filters, uniqueName rules, secrets, faults and the token
// endpoint. If these drift from Graph, every adapter test built on the emulator drifts with them.

import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type GraphEmulator, startGraphEmulator } from "../emulators/graphEmulator";

const TENANT = "99999999-8888-7777-6666-555555555555";
let emu: GraphEmulator;

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

async function http(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const url = path.startsWith("http") ? path : `${emu.graphBaseUrl}${path}`;
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

async function token(form: Record<string, string>, tenant = TENANT): Promise<Answer> {
  const res = await fetch(`${emu.authorityHost}/${tenant}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

function listOf<T>(a: Answer): T[] {
  return (a.body?.value ?? []) as T[];
}

function errorOf(a: Answer): { code: string; message: string; innerError: Record<string, string> } {
  return (a.body as { error: { code: string; message: string; innerError: Record<string, string> } }).error;
}

beforeAll(async () => {
  emu = await startGraphEmulator({ tenantId: TENANT });
});
beforeEach(() => {
  emu.clearFaults();
  emu.resetRequests();
});
afterAll(async () => {
  await emu?.close();
});

describe("errors", () => {
  it("answers an unknown id with a 404 OData error body and a request-id header", async () => {
    const a = await http("GET", "/applications/00000000-0000-0000-0000-00000000abcd", undefined, {
      "client-request-id": "cr-1",
    });
    expect(a.status).toBe(404);
    const e = errorOf(a);
    expect(e.code).toBe("Request_ResourceNotFound");
    expect(e.message).toContain("00000000-0000-0000-0000-00000000abcd");
    expect(e.innerError["request-id"]).toBe(a.headers.get("request-id"));
    expect(e.innerError["client-request-id"]).toBe("cr-1");
    expect(e.innerError.date).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("answers an unknown route with 400 BadRequest and a malformed id with 400", async () => {
    const a = await http("GET", "/nothingHere");
    expect(a.status).toBe(400);
    expect(errorOf(a).code).toBe("BadRequest");
    expect(errorOf(a).message).toContain("Resource not found for the segment 'nothingHere'");
    const b = await http("GET", "/applications/not-a-guid");
    expect(b.status).toBe(400);
  });

  it("serves injected faults with Retry-After, only to matching requests, `count` times", async () => {
    emu.injectFault({
      status: 429,
      count: 2,
      retryAfterSeconds: 3,
      match: { method: "GET", pathIncludes: "/applications" },
    });
    const sp = await http("GET", "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')");
    expect(sp.status).toBe(200);
    const first = await http("GET", "/applications");
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("3");
    expect(errorOf(first).code).toBe("TooManyRequests");
    expect((await http("GET", "/applications")).status).toBe(429);
    expect((await http("GET", "/applications")).status).toBe(200);
  });

  it("throttles a deterministic seeded fraction of requests", async () => {
    const run = async () => {
      emu.setThrottleRate(0.3, { seed: 5, retryAfterSeconds: 1 });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await http("GET", "/applications?$top=1")).status);
      emu.setThrottleRate(0);
      return statuses;
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    const throttled = a.filter((s) => s === 429).length;
    expect(throttled).toBeGreaterThan(3);
    expect(throttled).toBeLessThan(20);
  });
});

describe("applications", () => {
  it("creates with upsert only under Prefer: create-if-missing and keeps uniqueName unique and immutable", async () => {
    const missing = await http("PATCH", "/applications(uniqueName='emu-a')", { displayName: "A" });
    expect(missing.status).toBe(404);
    const created = await http(
      "PATCH",
      "/applications(uniqueName='emu-a')",
      { displayName: "A" },
      { prefer: "create-if-missing" },
    );
    expect(created.status).toBe(201);
    expect(created.body?.uniqueName).toBe("emu-a");
    expect(created.body?.id).not.toBe(created.body?.appId);
    const updated = await http(
      "PATCH",
      "/applications(uniqueName='emu-a')",
      { displayName: "A2" },
      { prefer: "create-if-missing" },
    );
    expect(updated.status).toBe(204);
    expect(updated.body).toBeUndefined();

    const dup = await http("POST", "/applications", { displayName: "Dup", uniqueName: "EMU-A" });
    expect(dup.status).toBe(400);
    expect(errorOf(dup).message).toContain("uniqueName");
    const rename = await http("PATCH", `/applications/${created.body?.id}`, { uniqueName: "emu-b" });
    expect(rename.status).toBe(400);

    const posted = await http("POST", "/applications", { displayName: "Posted", uniqueName: "emu-c" });
    expect(posted.status).toBe(201);
    const byAppId = await http("GET", `/applications(appId='${posted.body?.appId}')?$select=displayName,uniqueName`);
    expect(byAppId.body).toEqual({ displayName: "Posted", uniqueName: "emu-c" });
  });

  it("POST /applications with a taken uniqueName is 400 Request_BadRequest, strict or not, and creates nothing", async () => {
    const taken = "Another object with the same value for property uniqueName already exists.";
    emu.seedApplications([{ displayName: "Mine", uniqueName: "emu-taken" }]);
    const before = emu.applications().length;
    const plain = await http("POST", "/applications", { displayName: "Again", uniqueName: "EMU-TAKEN" });
    expect(plain.status).toBe(400);
    expect(errorOf(plain)).toMatchObject({ code: "Request_BadRequest", message: taken });
    // Strict, least privilege: the name is the tenant's, whoever owns the app holding it.
    emu.seedApplications([
      { displayName: "Foreign", uniqueName: "emu-foreign", owners: ["cccccccc-0000-4000-8000-000000000009"] },
    ]);
    emu.setStrict(true);
    try {
      const foreign = await http("POST", "/applications", { displayName: "Mine too", uniqueName: "emu-foreign" });
      expect(foreign.status).toBe(400);
      expect(errorOf(foreign)).toMatchObject({ code: "Request_BadRequest", message: taken });
      const free = await http("POST", "/applications", { displayName: "Free", uniqueName: "emu-free" });
      expect(free.status).toBe(201);
      expect(free.body?.uniqueName).toBe("emu-free");
    } finally {
      emu.setStrict(false);
    }
    expect(emu.applications().length).toBe(before + 2); // the foreign seed and emu-free, nothing else
  });

  it('a fault with phase "after" applies the write and answers the fault instead (the client cannot know)', async () => {
    emu.injectFault({ status: 504, phase: "after", match: { method: "POST", path: "/v1.0/applications" } });
    const lost = await http("POST", "/applications", { displayName: "Lost", uniqueName: "emu-lost" });
    expect(lost.status).toBe(504);
    expect(emu.applications().filter((a) => a.uniqueName === "emu-lost")).toHaveLength(1);
    const retry = await http("POST", "/applications", { displayName: "Lost", uniqueName: "emu-lost" });
    expect(retry.status).toBe(400);
    expect(errorOf(retry).message).toContain("uniqueName already exists");
  });

  it("faults match a whole path and text in the body", async () => {
    emu.injectFault({ status: 403, match: { method: "POST", path: "/v1.0/applications", bodyIncludes: "emu-f1" } });
    const other = await http("POST", "/applications", { displayName: "F2", uniqueName: "emu-f2" });
    expect(other.status).toBe(201);
    const pw = await http("POST", `/applications/${other.body?.id}/addPassword`, { passwordCredential: {} });
    expect(pw.status).toBe(200);
    const hit = await http("POST", "/applications", { displayName: "F1", uniqueName: "emu-f1" });
    expect(hit.status).toBe(403);
  });

  it("honours $select and refuses unknown properties", async () => {
    const [app] = emu.seedApplications([{ displayName: "Selected", tags: ["sel"] }]);
    const a = await http("GET", `/applications/${app!.id}?$select=id,displayName`);
    expect(a.body).toEqual({ id: app!.id, displayName: "Selected" });
    const bad = await http("GET", `/applications/${app!.id}?$select=nope`);
    expect(bad.status).toBe(400);
  });

  it("validates writes like Entra and replaces collections whole", async () => {
    const [app] = emu.seedApplications([{ displayName: "Valid" }]);
    const path = `/applications/${app!.id}`;
    const ok = await http("PATCH", path, {
      web: { redirectUris: ["https://a.example.com/cb", "http://localhost:3000/cb"] },
      tags: ["x", "y"],
    });
    expect(ok.status).toBe(204);
    await http("PATCH", path, { web: { redirectUris: ["https://b.example.com/cb"] }, tags: ["z"] });
    const after = emu.application(app!.id)!;
    expect(after.web.redirectUris).toEqual(["https://b.example.com/cb"]);
    expect(after.tags).toEqual(["z"]);

    const cases: Array<[unknown, string]> = [
      [{ signInAudience: "Everyone" }, "signInAudience"],
      [{ web: { redirectUris: ["http://insecure.example.com/cb"] } }, "web.redirectUris"],
      [{ web: { redirectUris: [`https://a.example.com/${"x".repeat(260)}`] } }, "web.redirectUris"],
      [{ web: { redirectUris: ["https://a.example.com/cb;x"] } }, "web.redirectUris"],
      [
        { web: { redirectUris: Array.from({ length: 257 }, (_, i) => `https://a.example.com/${i}`) } },
        "web.redirectUris",
      ],
      [{ appId: "00000000-0000-0000-0000-000000000000" }, "appId"],
    ];
    for (const [body, property] of cases) {
      const a = await http("PATCH", path, body);
      expect(a.status).toBe(400);
      expect(errorOf(a).message).toContain(property);
    }
  });

  it("pages with absolute nextLinks, limits $top to 999 and defaults to 100", async () => {
    emu.seedApplications(Array.from({ length: 250 }, (_, i) => ({ displayName: `Page ${i}`, tags: ["pg"] })));
    const first = await http("GET", "/applications?$filter=tags/any(t:t eq 'pg')");
    expect(listOf<unknown>(first).length).toBe(100);
    let next = first.body?.["@odata.nextLink"] as string | undefined;
    expect(next).toMatch(new RegExp(`^${emu.graphBaseUrl}/applications\\?.*\\$skiptoken=`));
    const ids = new Set(listOf<{ id: string }>(first).map((a) => a.id));
    while (next) {
      const page = await http("GET", next);
      for (const a of listOf<{ id: string }>(page)) ids.add(a.id);
      next = page.body?.["@odata.nextLink"] as string | undefined;
    }
    expect(ids.size).toBe(250);
    expect((await http("GET", "/applications?$top=1000")).status).toBe(400);
    expect((await http("GET", "/applications?$top=999")).status).toBe(200);
  });

  it("supports the documented filters and refuses others", async () => {
    emu.seedApplications([
      { displayName: "Filter Alpha", tags: ["flt"], uniqueName: "flt-alpha" },
      { displayName: "Filter Beta", tags: ["flt"] },
      { displayName: "Other Gamma", tags: ["flt"] },
    ]);
    const q = async (f: string) =>
      listOf<{ displayName: string }>(await http("GET", `/applications?$filter=${encodeURIComponent(f)}`)).map(
        (a) => a.displayName,
      );
    expect(await q("tags/any(t:t eq 'flt') and startswith(displayName,'Filter')")).toEqual([
      "Filter Alpha",
      "Filter Beta",
    ]);
    expect(await q("uniqueName eq 'flt-alpha'")).toEqual(["Filter Alpha"]);
    expect(await q("displayName eq 'Other Gamma'")).toEqual(["Other Gamma"]);
    const unsupported = await http("GET", `/applications?$filter=${encodeURIComponent("notes eq 'x'")}`);
    expect(unsupported.status).toBe(400);
  });

  it("seeds 50,000 applications quickly and lists them by tag", async () => {
    const started = Date.now();
    emu.seedApplications(
      Array.from({ length: 50_000 }, (_, i) => ({
        tags: ["bulk"],
        passwordCredentials: [{ displayName: "s", endDateTime: new Date(Date.now() + i * 60_000).toISOString() }],
      })),
    );
    // About a second on a laptop; the margin absorbs a loaded CI worker.
    expect(Date.now() - started).toBeLessThan(5000);
    const page = await http(
      "GET",
      "/applications?$filter=tags/any(t:t eq 'bulk')&$select=id,passwordCredentials&$top=999",
    );
    expect(listOf<unknown>(page).length).toBe(999);
  });
});

describe("passwords and tokens", () => {
  it("adds a password like Entra, keeps only its hash, and proves it at the token endpoint", async () => {
    const created = await http("POST", "/applications", { displayName: "Pw" });
    const id = created.body?.id as string;
    const appId = created.body?.appId as string;
    const add = await http("POST", `/applications/${id}/addPassword`, {
      passwordCredential: { displayName: "run-1", endDateTime: new Date(Date.now() + 86_400_000).toISOString() },
    });
    expect(add.status).toBe(200);
    const secret = add.body?.secretText as string;
    expect(secret).toHaveLength(40);
    expect(add.body?.hint).toBe(secret.slice(0, 3));
    expect(add.body?.customKeyIdentifier).toBeNull();
    const keyId = add.body?.keyId as string;
    const digest = createHash("sha256").update(secret).digest("hex");
    expect(emu.secretFingerprint(id, keyId)).toBe(`sha256:${digest.slice(0, 16)}`);
    expect(JSON.stringify(emu.application(id))).not.toContain(secret);
    expect(JSON.stringify(emu.requests)).not.toContain(secret);

    const form = {
      grant_type: "client_credentials",
      client_id: appId,
      client_secret: secret,
      scope: "https://graph.microsoft.com/.default",
    };
    const ok = await token(form);
    expect(ok.status).toBe(200);
    expect(ok.body?.token_type).toBe("Bearer");
    expect(JSON.stringify(emu.requests)).not.toContain(secret);

    const wrong = await token({ ...form, client_secret: "nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.body?.error).toBe("invalid_client");
    expect(wrong.body?.error_description).toMatch(/^AADSTS7000215/);
    const otherTenant = await token(form, "00000000-0000-0000-0000-000000000000");
    expect(otherTenant.status).toBe(400);
    expect(otherTenant.body?.error).toBe("invalid_request");

    const removed = await http("POST", `/applications/${id}/removePassword`, { keyId });
    expect(removed.status).toBe(204);
    const again = await http("POST", `/applications/${id}/removePassword`, { keyId });
    expect(again.status).toBe(400); // not a 404: "already gone" is for the client to decide
    expect(errorOf(again).message).toContain(keyId);
    expect((await token(form)).status).toBe(401);
    expect(emu.secretFingerprint(id, keyId)).toBeNull();
  });

  it("enforces the lifetime policy and answers 404 for a just-created app while lagging", async () => {
    emu.setNotFoundAfterCreate(1);
    const created = await http(
      "PATCH",
      "/applications(uniqueName='emu-lag')",
      { displayName: "Lag" },
      { prefer: "create-if-missing" },
    );
    const id = created.body?.id as string;
    expect((await http("GET", `/applications/${id}`)).status).toBe(404);
    expect((await http("GET", `/applications/${id}`)).status).toBe(200);
    emu.setNotFoundAfterCreate(0);

    emu.setPasswordLifetimePolicy(30);
    const tooLong = await http("POST", `/applications/${id}/addPassword`, {
      passwordCredential: { displayName: "x", endDateTime: new Date(Date.now() + 40 * 86_400_000).toISOString() },
    });
    expect(tooLong.status).toBe(400);
    expect(errorOf(tooLong).code).toBe("CredentialInvalidLifetimeAsPerAppPolicy");
    emu.setPasswordLifetimePolicy(null);
  });

  it("serves Graph's service principal with the delegated scopes and the role endpoints", async () => {
    const sp = await http(
      "GET",
      "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')?$select=id,appId,oauth2PermissionScopes",
    );
    expect(Object.keys(sp.body ?? {}).sort()).toEqual(["appId", "id", "oauth2PermissionScopes"]);
    const scopes = sp.body?.oauth2PermissionScopes as Array<{
      value: string;
      id: string;
      type: string;
      isEnabled: boolean;
    }>;
    expect(scopes.find((s) => s.value === "User.Read")).toMatchObject({
      id: "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
      type: "User",
      isEnabled: true,
    });

    emu.seedUser({ id: "bbbbbbbb-0000-4000-8000-000000000001", displayName: "G", globalAdmin: true, viaGroup: true });
    const ra = await http(
      "GET",
      `/roleManagement/directory/roleAssignments?$filter=${encodeURIComponent("principalId eq 'bbbbbbbb-0000-4000-8000-000000000001'")}`,
    );
    expect(ra.body?.value).toEqual([]);
    // The OData cast is an advanced query: without ConsistencyLevel: eventual and $count=true it is a 400.
    const cast = "/users/bbbbbbbb-0000-4000-8000-000000000001/transitiveMemberOf/microsoft.graph.directoryRole";
    const advanced = { consistencylevel: "eventual" };
    for (const [path, headers] of [
      [cast, {}],
      [cast, advanced],
      [`${cast}?$count=true`, {}],
    ] as const) {
      const bare = await http("GET", path, undefined, headers);
      expect([bare.status, errorOf(bare).code]).toEqual([400, "Request_UnsupportedQuery"]);
    }
    const roles = await http("GET", `${cast}?$count=true`, undefined, advanced);
    expect(listOf<{ roleTemplateId: string }>(roles)[0]?.roleTemplateId).toBe("62e90394-69f5-4237-9190-012177145e10");
    expect(roles.body?.["@odata.count"]).toBe(1);
    expect(
      (
        await http(
          "GET",
          "/users/bbbbbbbb-0000-4000-8000-0000000000ff/transitiveMemberOf/microsoft.graph.directoryRole?$count=true",
          undefined,
          advanced,
        )
      ).status,
    ).toBe(404);
  });
});
