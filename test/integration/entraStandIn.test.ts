// The Entra stand-in as MSAL and a careful client meet it: HTTPS with a certificate only the
// stand-in's own PEM makes trusted, the OpenID configuration, instance discovery, and the JWKS that
// verifies what it signs.

import { createPublicKey, verify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GraphEmulator, startGraphEmulator } from "../emulators/graphEmulator";
import { httpsCall } from "../support/httpsLoopback";

const TENANT = "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f";
let emu: GraphEmulator;

beforeAll(async () => {
  emu = await startGraphEmulator({ tenantId: TENANT, strict: true });
});
afterAll(async () => {
  await emu.close();
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
