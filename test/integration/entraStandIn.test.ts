// The Entra stand-in as MSAL and a careful client meet it: HTTPS with a certificate only the
// stand-in's own PEM makes trusted, the OpenID configuration, instance discovery, and the JWKS that
// verifies what it signs.

import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  randomUUID,
  sign,
  verify,
  X509Certificate,
} from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSelfSignedTls, type SelfSignedTls } from "../emulators/entra/entraTls";
import { type GraphEmulator, LEAST_PRIVILEGE, startGraphEmulator } from "../emulators/graphEmulator";
import { httpsCall } from "../support/httpsLoopback";

const TENANT = "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f";
let emu: GraphEmulator;
let clientCert: SelfSignedTls;
let otherCert: SelfSignedTls;
let secret: string;

beforeAll(async () => {
  emu = await startGraphEmulator({ tenantId: TENANT, strict: true });
  clientCert = makeSelfSignedTls("syncbot client");
  otherCert = makeSelfSignedTls("someone else");
  secret = emu.registerCallerApp({ certificatePem: clientCert.cert }).clientSecret;
});
afterAll(async () => {
  await emu.close();
  clientCert.dispose();
  otherCert.dispose();
});

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString());
const tokenUrl = () => `${emu.entra.authorityHost}/${TENANT}/oauth2/v2.0/token`;
const GRAPH_SCOPE = "https://graph.microsoft.com/.default";

function token(form: Record<string, string>) {
  return httpsCall(tokenUrl(), {
    ca: emu.entra.caCert,
    form: { grant_type: "client_credentials", scope: GRAPH_SCOPE, ...form },
  });
}

/** A client assertion as MSAL Node 3 makes it (PS256, x5t#S256), or varied for a refusal. */
function assertion(opts: {
  signWith?: SelfSignedTls;
  nameCert?: SelfSignedTls;
  claims?: Record<string, unknown>;
  rs256?: boolean;
}): string {
  const named = new X509Certificate((opts.nameCert ?? clientCert).cert);
  const header = opts.rs256
    ? { alg: "RS256", typ: "JWT", x5t: createHash("sha1").update(named.raw).digest("base64url") }
    : { alg: "PS256", typ: "JWT", "x5t#S256": createHash("sha256").update(named.raw).digest("base64url") };
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    aud: tokenUrl(),
    iss: emu.caller.appId,
    sub: emu.caller.appId,
    jti: randomUUID(),
    nbf: now,
    exp: now + 600,
    ...opts.claims,
  };
  const input = `${b64(header)}.${b64(claims)}`;
  const key = createPrivateKey((opts.signWith ?? clientCert).key);
  const signature = opts.rs256
    ? sign("RSA-SHA256", Buffer.from(input), key)
    : sign("sha256", Buffer.from(input), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  return `${input}.${signature.toString("base64url")}`;
}

const withAssertion = (jwt: string) =>
  token({
    client_id: emu.caller.appId,
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: jwt,
  });

describe("Entra stand-in: discovery and keys", () => {
  it("serves HTTPS on loopback with a certificate that is trusted only through its own PEM", async () => {
    expect(emu.entra.authorityHost).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ok = await httpsCall(`${emu.entra.authorityHost}/${TENANT}/discovery/v2.0/keys`, { ca: emu.entra.caCert });
    expect(ok.status).toBe(200);
    // Without the certificate a client refuses the connection: nothing here is trusted by default.
    await expect(fetch(`${emu.entra.authorityHost}/${TENANT}/discovery/v2.0/keys`)).rejects.toThrow();
  });

  it("publishes its OpenID configuration with the tenant's endpoints", async () => {
    const a = emu.entra.authorityHost;
    const r = await httpsCall(`${a}/${TENANT}/v2.0/.well-known/openid-configuration`, { ca: emu.entra.caCert });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      issuer: `${a}/${TENANT}/v2.0`,
      token_endpoint: `${a}/${TENANT}/oauth2/v2.0/token`,
      jwks_uri: `${a}/${TENANT}/discovery/v2.0/keys`,
      authorization_endpoint: `${a}/${TENANT}/oauth2/v2.0/authorize`,
    });
    expect(r.json.token_endpoint_auth_methods_supported).toContain("private_key_jwt");
  });

  it("answers MSAL's instance discovery with its own host as the only alias", async () => {
    const a = emu.entra.authorityHost;
    const r = await httpsCall(
      `${a}/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(`${a}/${TENANT}/oauth2/v2.0/authorize`)}`,
      { ca: emu.entra.caCert },
    );
    const host = new URL(a).host;
    expect(r.status).toBe(200);
    expect(r.json.tenant_discovery_endpoint).toBe(`${a}/${TENANT}/v2.0/.well-known/openid-configuration`);
    expect(r.json.metadata).toEqual([{ preferred_network: host, preferred_cache: host, aliases: [host] }]);
  });

  it("publishes the key that verifies what it signs, under the token's kid", async () => {
    const r = await httpsCall(`${emu.entra.authorityHost}/${TENANT}/discovery/v2.0/keys`, { ca: emu.entra.caCert });
    const token = emu.entra.keys.sign({ hello: "world" });
    const [h, p, s] = token.split(".");
    const header = JSON.parse(Buffer.from(h!, "base64url").toString());
    const jwk = r.json.keys.find((k: { kid: string }) => k.kid === header.kid);
    expect(jwk).toMatchObject({ kty: "RSA", use: "sig", alg: "RS256" });
    const key = createPublicKey({ key: jwk, format: "jwk" });
    expect(verify("RSA-SHA256", Buffer.from(`${h}.${p}`), key, Buffer.from(s!, "base64url"))).toBe(true);
  });

  it("lets another module add routes on the same server", async () => {
    emu.entra.addRoute((req) =>
      req.path === "/extra" ? { status: 200, contentType: "text/html", body: "<p>added</p>" } : null,
    );
    const r = await httpsCall(`${emu.entra.authorityHost}/extra`, { ca: emu.entra.caCert });
    expect(r.status).toBe(200);
    expect(r.text).toBe("<p>added</p>");
    expect(emu.entra.requests.some((q) => q.path === "/extra")).toBe(true);
  });
});

describe("Entra stand-in: token endpoint (client credentials)", () => {
  it("issues an RS256 app-only Graph token with Entra's claims and the roles granted to syncbot", async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await token({ client_id: emu.caller.appId, client_secret: secret });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ token_type: "Bearer", expires_in: 3599 });
    const jwt: string = r.json.access_token;
    const header = JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString());
    expect(header).toMatchObject({ alg: "RS256", typ: "JWT", kid: emu.entra.keys.currentKid() });
    const c = claimsOf(jwt);
    expect(c).toMatchObject({
      aud: "https://graph.microsoft.com",
      iss: `https://sts.windows.net/${TENANT}/`,
      tid: TENANT,
      oid: emu.caller.servicePrincipalId,
      appid: emu.caller.appId,
      appidacr: "1",
      idtyp: "app",
      ver: "1.0",
    });
    expect([...c.roles].sort()).toEqual([...LEAST_PRIVILEGE].sort());
    expect(c.uti).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(c.iat).toBeGreaterThanOrEqual(before);
    expect(c.nbf).toBe(c.iat);
    expect(c.exp - c.iat).toBe(3599);
    const jwk = emu.entra.keys.jwks().keys.find((k) => k.kid === header.kid)!;
    const [h, p, sig] = jwt.split(".");
    expect(
      verify(
        "RSA-SHA256",
        Buffer.from(`${h}.${p}`),
        createPublicKey({ key: { ...jwk }, format: "jwk" }),
        Buffer.from(sig!, "base64url"),
      ),
    ).toBe(true);
    // Two tokens are two tokens: uti is unique per token.
    const again = await token({ client_id: emu.caller.appId, client_secret: secret });
    expect(claimsOf(again.json.access_token).uti).not.toBe(c.uti);
  });

  it("a token for the emulator's own origin is a Graph token too (syncbot asks for {GRAPH_BASE_URL origin}/.default)", async () => {
    const r = await token({ client_id: emu.caller.appId, client_secret: secret, scope: `${emu.url}/.default` });
    expect(r.status).toBe(200);
    expect(claimsOf(r.json.access_token)).toMatchObject({ aud: emu.url, roles: expect.any(Array) });
  });

  it("accepts a certificate assertion (PS256 with x5t#S256, and RS256 with x5t) for the certificate on the app", async () => {
    for (const rs256 of [false, true]) {
      const r = await withAssertion(assertion({ rs256 }));
      expect(r.status, r.text).toBe(200);
      expect(claimsOf(r.json.access_token)).toMatchObject({ appid: emu.caller.appId, appidacr: "2" });
    }
  });

  it.each([
    [
      "signed by another key under the registered certificate's thumbprint",
      () => assertion({ signWith: otherCert }),
      /^AADSTS700027: Client assertion failed signature validation/,
    ],
    [
      "naming a certificate that is not on the app",
      () => assertion({ signWith: otherCert, nameCert: otherCert }),
      /^AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application/,
    ],
    [
      "issued for another client",
      () => assertion({ claims: { iss: randomUUID(), sub: randomUUID() } }),
      /^AADSTS700021: /,
    ],
    [
      "for another audience",
      () => assertion({ claims: { aud: "https://login.microsoftonline.com/x/oauth2/v2.0/token" } }),
      /^AADSTS700023: /,
    ],
    [
      "expired",
      () =>
        assertion({ claims: { exp: Math.floor(Date.now() / 1000) - 3600, nbf: Math.floor(Date.now() / 1000) - 4000 } }),
      /^AADSTS700024: /,
    ],
    [
      "with alg none",
      () =>
        `${b64({ alg: "none", typ: "JWT" })}.${b64({ iss: emu.caller.appId, sub: emu.caller.appId, aud: tokenUrl() })}.`,
      /^AADSTS700027: /,
    ],
  ])("refuses an assertion %s", async (_name, make, message) => {
    const r = await withAssertion(make());
    expect(r.status).toBe(401);
    expect(r.json.error).toBe("invalid_client");
    expect(r.json.error_description).toMatch(message);
    expect(r.json.access_token).toBeUndefined();
  });

  it("refuses an unknown client (AADSTS700016) and a wrong secret (AADSTS7000215)", async () => {
    const unknown = await token({ client_id: randomUUID(), client_secret: secret });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ error: "unauthorized_client", error_codes: [700016] });
    const wrong = await token({ client_id: emu.caller.appId, client_secret: `${secret.slice(0, -1)}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toMatchObject({ error: "invalid_client", error_codes: [7000215] });
    expect(wrong.text).not.toContain(secret);
  });

  it("refuses an expired secret (AADSTS7000222)", async () => {
    const [app] = emu.seedApplications([{ displayName: "expiring" }]);
    emu.seedServicePrincipal(app!.appId);
    const added = emu.addPasswordByHand(app!.id, {
      displayName: "old",
      endDateTime: new Date(Date.now() + 86_400_000).toISOString(),
    });
    emu.mutateApplication(app!.id, (a) => {
      a.passwordCredentials[0]!.endDateTime = new Date(Date.now() - 60_000).toISOString();
    });
    const r = await token({ client_id: app!.appId, client_secret: added.secretText });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ error: "invalid_client", error_codes: [7000222] });
  });

  it("refuses, in strict mode, an app without a service principal in the tenant (AADSTS7000229)", async () => {
    const [app] = emu.seedApplications([{ displayName: "no sp" }]);
    const added = emu.addPasswordByHand(app!.id, {
      displayName: "s",
      endDateTime: new Date(Date.now() + 86_400_000).toISOString(),
    });
    const r = await token({ client_id: app!.appId, client_secret: added.secretText });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ error: "invalid_client", error_codes: [7000229] });
  });

  it("refuses a scope without /.default (AADSTS1002012) and a resource it does not know (AADSTS500011)", async () => {
    const bare = await token({ client_id: emu.caller.appId, client_secret: secret, scope: "User.Read" });
    expect(bare.json).toMatchObject({ error: "invalid_scope", error_codes: [1002012] });
    const other = await token({
      client_id: emu.caller.appId,
      client_secret: secret,
      scope: "https://unknown.example/.default",
    });
    expect(other.json).toMatchObject({ error: "invalid_resource", error_codes: [500011] });
  });

  it("records token requests without secrets or assertions", async () => {
    await withAssertion(assertion({}));
    const text = JSON.stringify(emu.entra.requests);
    expect(text).not.toContain(secret);
    expect(text).not.toContain("eyJ");
    expect(emu.entra.requests.at(-1)).toMatchObject({
      clientAuth: "assertion",
      clientId: emu.caller.appId,
      status: 200,
    });
  });
});

describe("Graph emulator: bearer tokens checked as Graph checks them", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const graphClaims = () => ({
    aud: "https://graph.microsoft.com",
    iss: `https://sts.windows.net/${TENANT}/`,
    tid: TENANT,
    appid: emu.caller.appId,
    oid: emu.caller.servicePrincipalId,
    idtyp: "app",
    roles: [...LEAST_PRIVILEGE, "Application.ReadWrite.All"],
    iat: now(),
    nbf: now(),
    exp: now() + 3600,
  });
  async function create(bearer: string) {
    const before = emu.applications().length;
    const res = await fetch(`${emu.graphBaseUrl}/applications`, {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
      body: JSON.stringify({ displayName: "forged-call" }),
    });
    const body = (await res.json()) as { error?: { code: string; message: string } };
    return {
      status: res.status,
      body,
      wwwAuthenticate: res.headers.get("www-authenticate"),
      created: emu.applications().length - before,
    };
  }

  it("accepts a token the stand-in issued, with the permissions its roles name", async () => {
    const r = await token({ client_id: emu.caller.appId, client_secret: secret });
    const ok = await create(r.json.access_token);
    expect(ok.status).toBe(201);
    expect(ok.created).toBe(1);
  });

  it.each([
    ["signed by a key nobody published, under the published kid", "foreign-key", "Access token validation failure."],
    ["with alg none", "alg-none", "Access token validation failure."],
    ["HS256 keyed with the published public key", "hs256-public-key", "Access token validation failure."],
  ] as const)("refuses a token %s: 401 InvalidAuthenticationToken, nothing written", async (_n, forgery, message) => {
    const r = await create(emu.entra.keys.sign(graphClaims(), { forgery }));
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: "InvalidAuthenticationToken", message });
    expect(r.wwwAuthenticate).toMatch(/^Bearer /);
    expect(r.created).toBe(0);
  });

  it.each([
    ["for another audience", { aud: "api://syncbot" }, "Access token validation failure. Invalid audience."],
    ["expired", { exp: now() - 60 }, "Lifetime validation failed, the token is expired."],
    [
      "from another tenant",
      {
        iss: "https://sts.windows.net/9e8d7c6b-5a49-4838-a726-150f4e3d2c1b/",
        tid: "9e8d7c6b-5a49-4838-a726-150f4e3d2c1b",
      },
      "Access token validation failure. Invalid issuer.",
    ],
  ])("refuses a properly signed token %s", async (_n, change, message) => {
    const r = await create(emu.entra.keys.sign({ ...graphClaims(), ...change }));
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: "InvalidAuthenticationToken", message });
    expect(r.created).toBe(0);
  });

  it("refuses what is not a JWT at all", async () => {
    const r = await create("not-a-token");
    expect(r.status).toBe(401);
    expect(r.body.error?.code).toBe("InvalidAuthenticationToken");
    expect(r.created).toBe(0);
  });
});
