// The approver token verifier (CONTRACT section 4) against a throwaway JWKS server on loopback, signed
// with the Entra stand-in's shared keys: every rule, every refusal's reason, both issuer forms, the key
// cache (an unknown kid refetches once, rate-limited; an unreachable key set is a refusal, never a pass).

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createStepUp } from "../../src/domain/approverProof";
import { createApproverTokenVerifier } from "../../src/identity/createApproverTokenVerifier";
import { createEntraSigningKeys, type Forgery } from "../emulators/entra/entraSigningKeys";

const TENANT = "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f";
const OTHER_TENANT = "9e8d7c6b-5a49-4838-a726-150f4e3d2c1b";
const APPROVER = "22222222-2222-4222-8222-222222222222";
const REQUESTER = "11111111-1111-4111-8111-111111111111";
const RESOURCE = "api://syncbot.example.net/botid-7d2f3c41-9a0b-4c5d-8e6f-1a2b3c4d5e6f";
const APP_ID = "7d2f3c41-9a0b-4c5d-8e6f-1a2b3c4d5e6f";
const NOW = Date.parse("2026-12-03T12:00:00Z");

const keys = createEntraSigningKeys();
let server: Server;
let authority = "";
let jwksHits = 0;
let jwksStatus = 200;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === `/${TENANT}/discovery/v2.0/keys`) {
      jwksHits++;
      res.writeHead(jwksStatus, { "content-type": "application/json" });
      res.end(JSON.stringify(jwksStatus === 200 ? keys.jwks() : { error: "unavailable" }));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  authority = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  jwksHits = 0;
  jwksStatus = 200;
});

function verifier(opts: { authContext?: string; now?: () => number; minRefetchMs?: number } = {}) {
  const now = opts.now ?? (() => NOW);
  return createApproverTokenVerifier({
    authorityHost: authority,
    tenantId: TENANT,
    audiences: [RESOURCE, APP_ID],
    authContext: opts.authContext ?? "c1",
    maxAgeMinutes: 10,
    now: () => new Date(now()),
    jwks: { minRefetchMs: opts.minRefetchMs ?? 60_000 },
  });
}

function token(overrides: Record<string, unknown> = {}, forgery?: Forgery) {
  const iat = Math.floor(NOW / 1000) - 60;
  return keys.sign(
    {
      aud: RESOURCE,
      iss: `https://sts.windows.net/${TENANT}/`,
      tid: TENANT,
      oid: APPROVER,
      iat,
      nbf: iat,
      exp: iat + 3600,
      acrs: ["c1"],
      uti: "uti-1",
      ver: "1.0",
      ...overrides,
    },
    forgery ? { forgery } : undefined,
  );
}

describe("approver token verifier", () => {
  it("accepts a good token and returns the proof the audit keeps (never the token)", async () => {
    const check = await verifier().verify(token(), APPROVER);
    expect(check).toEqual({
      ok: true,
      proof: { oid: APPROVER, tokenId: "uti-1", acrs: ["c1"], issuedAt: new Date(NOW - 60_000).toISOString() },
    });
  });

  it("accepts the v2 issuer form and the app id as audience, and jti when there is no uti", async () => {
    const check = await verifier().verify(
      token({ iss: `${authority}/${TENANT}/v2.0`, aud: APP_ID, uti: undefined, jti: "jti-9", ver: "2.0" }),
      APPROVER,
    );
    expect(check).toMatchObject({ ok: true, proof: { tokenId: "jti-9" } });
  });

  it.each<[string, Record<string, unknown>, Forgery | undefined, string, RegExp]>([
    ["another user's token (the requester's, replayed)", { oid: REQUESTER }, undefined, "other_user", /another user/],
    [
      "another tenant",
      { tid: OTHER_TENANT, iss: `https://sts.windows.net/${OTHER_TENANT}/` },
      undefined,
      "other_tenant",
      /another tenant/,
    ],
    [
      "the right tid but another issuer",
      { iss: "https://evil.example/v2.0" },
      undefined,
      "other_tenant",
      /another tenant/,
    ],
    ["another audience", { aud: "api://other" }, undefined, "other_audience", /another application/],
    ["expired beyond the 5 minutes of skew", { exp: Math.floor(NOW / 1000) - 301 }, undefined, "expired", /expired/],
    ["not valid yet beyond the skew", { nbf: Math.floor(NOW / 1000) + 400 }, undefined, "expired", /not valid yet/],
    ["issued more than 10 minutes ago", { iat: Math.floor(NOW / 1000) - 601, nbf: 0 }, undefined, "too_old", /too old/],
    ["without the authentication context", { acrs: ["c2"] }, undefined, "missing_auth_context", /"c1"/],
    ["without acrs at all", { acrs: undefined }, undefined, "missing_auth_context", /"c1"/],
    ["without a token id", { uti: undefined }, undefined, "malformed", /token id/],
    [
      "signed by another key under the published kid",
      {},
      "foreign-key",
      "bad_signature",
      /not signed by your tenant's key/,
    ],
    ["alg none", {}, "alg-none", "bad_signature", /"none", only RS256/],
    ["HS256 keyed with the public key", {}, "hs256-public-key", "bad_signature", /"HS256", only RS256/],
  ])("refuses %s", async (_name, claims, forgery, code, reason) => {
    const check = await verifier().verify(token(claims, forgery), APPROVER);
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.code).toBe(code);
    expect(check.reason).toMatch(reason);
    expect(check.reason).toMatch(/Nothing was changed\.$/);
  });

  it("accepts a token 4 minutes past exp (5 minutes of skew)", async () => {
    const check = await verifier().verify(token({ exp: Math.floor(NOW / 1000) - 240 }), APPROVER);
    expect(check.ok).toBe(true);
  });

  it("refuses what is not a JWT", async () => {
    for (const t of ["", "abc", "a.b", "a.b.c.d", `${Buffer.from("{").toString("base64url")}.e30.x`]) {
      const check = await verifier().verify(t, APPROVER);
      expect(check).toMatchObject({ ok: false, code: "malformed" });
    }
  });

  it("caches the key set; an unknown kid refetches once, and at most once a minute", async () => {
    let now = NOW;
    const v = verifier({ now: () => now });
    expect((await v.verify(token(), APPROVER)).ok).toBe(true);
    expect((await v.verify(token(), APPROVER)).ok).toBe(true);
    expect(jwksHits).toBe(1);
    // Rollover: a token signed by the new key makes one refetch and passes.
    keys.rotate();
    expect((await v.verify(token(), APPROVER)).ok).toBe(true);
    expect(jwksHits).toBe(2);
    // A kid nobody publishes: within the minute no refetch; the token is refused as badly signed.
    keys.rotate({ dropPrevious: true });
    const early = await v.verify(token(), APPROVER);
    expect(early).toMatchObject({ ok: false, code: "bad_signature" });
    expect(jwksHits).toBe(2);
    now += 61_000;
    expect((await v.verify(token({ iat: Math.floor(now / 1000) - 60 }), APPROVER)).ok).toBe(true);
    expect(jwksHits).toBe(3);
  });

  it("an unreachable key set is a refusal that says so, never a pass", async () => {
    jwksStatus = 503;
    const check = await verifier().verify(token(), APPROVER);
    expect(check).toMatchObject({ ok: false, code: "jwks_unreachable" });
    if (!check.ok) expect(check.reason).toMatch(/signing keys could not be fetched \(the key set answered HTTP 503\)/);
    // Recovered: the next token is checked at once (a failed fetch starts no quiet period).
    jwksStatus = 200;
    expect((await verifier().verify(token(), APPROVER)).ok).toBe(true);
  });

  it("no authentication context configured: acrs is not required", async () => {
    const v = createApproverTokenVerifier({
      authorityHost: authority,
      tenantId: TENANT,
      audiences: [RESOURCE],
      maxAgeMinutes: 10,
      now: () => new Date(NOW),
    });
    expect((await v.verify(token({ acrs: undefined }), APPROVER)).ok).toBe(true);
  });
});

describe("step-up gate (the domain's view)", () => {
  it("required: no token is a sign-in request, a bad one the verifier's refusal; off: nothing is asked", async () => {
    const gate = createStepUp(true, verifier());
    expect(await gate.check(undefined, APPROVER)).toMatchObject({ ok: false, code: "sign_in_needed" });
    expect(await gate.check({ token: token({ oid: REQUESTER }) }, APPROVER)).toMatchObject({
      ok: false,
      code: "other_user",
    });
    expect(await gate.check({ token: token() }, APPROVER)).toMatchObject({ ok: true, proof: { tokenId: "uti-1" } });
    expect(await createStepUp(false, verifier()).check(undefined, APPROVER)).toEqual({ ok: true });
  });
});
