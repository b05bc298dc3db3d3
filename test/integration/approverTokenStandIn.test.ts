// The approver token verifier against the Entra stand-in itself (HTTPS on loopback): the keys it
// publishes verify the user tokens it issues, in-process too (the stand-in's certificate handed over
// as `ca`, since this process read NODE_EXTRA_CA_CERTS before the certificate existed); without that
// certificate the keys cannot be fetched, and the verifier says so instead of letting the token pass.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApproverTokenVerifier } from "../../src/identity/createApproverTokenVerifier";
import { userTokensOf } from "../emulators/entra/userTokens";
import { type GraphEmulator, startGraphEmulator } from "../emulators/graphEmulator";

const TENANT = "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f";
const APPROVER = "22222222-2222-4222-8222-222222222222";
const RESOURCE = "api://syncbot.example.net/botid-7d2f3c41-9a0b-4c5d-8e6f-1a2b3c4d5e6f";
let emu: GraphEmulator;

beforeAll(async () => {
  emu = await startGraphEmulator({ tenantId: TENANT, strict: true });
});
afterAll(async () => {
  await emu.close();
});

function verifier(ca?: string) {
  return createApproverTokenVerifier({
    authorityHost: emu.entra.authorityHost,
    tenantId: TENANT,
    audiences: [RESOURCE],
    authContext: "c1",
    maxAgeMinutes: 10,
    now: () => new Date(),
    jwks: ca ? { ca } : {},
  });
}

describe("approver tokens from the Entra stand-in", () => {
  it("verifies a user token the stand-in issued against the keys it publishes over HTTPS", async () => {
    const token = userTokensOf(emu.entra).issue(APPROVER, { audience: RESOURCE });
    const check = await verifier(emu.entra.caCert).verify(token, APPROVER);
    expect(check).toMatchObject({ ok: true, proof: { oid: APPROVER, acrs: ["c1"] } });
    expect(emu.entra.requests.some((r) => r.path === `/${TENANT}/discovery/v2.0/keys` && r.status === 200)).toBe(true);
  });

  it("an untrusted certificate means the keys cannot be fetched: a refusal that says so", async () => {
    const token = userTokensOf(emu.entra).issue(APPROVER, { audience: RESOURCE });
    const check = await verifier().verify(token, APPROVER);
    expect(check).toMatchObject({ ok: false, code: "jwks_unreachable" });
  });
});
