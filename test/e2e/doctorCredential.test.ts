// `npm run doctor` on syncbot's production credential path, offline: GRAPH_CREDENTIAL=client-secret
// (and once client-certificate) with AUTHORITY_HOST at the Graph emulator's HTTPS Entra stand-in,
// trusted through NODE_EXTRA_CA_CERTS. MSAL must sign in there without reaching for Microsoft's public
// host (instance discovery), and doctor reports the `roles` of the token it got.

import { writeFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeSelfSignedTls } from "../emulators/entra/entraTls";
import { type GraphEmulator, LEAST_PRIVILEGE, startGraphEmulator } from "../emulators/graphEmulator";
import { startUmpEmulator, type UmpEmulator } from "../emulators/umpEmulator";
import { runCli } from "../support/botProcess";
import { baseEnv, TENANT, UMP_TOKEN } from "../support/stack";

let graph: GraphEmulator;
let ump: UmpEmulator;
let dir: string;

beforeEach(async () => {
  graph = await startGraphEmulator({ tenantId: TENANT, strict: true });
  ump = await startUmpEmulator({ token: UMP_TOKEN, instances: ["ump-contoso"] });
  dir = mkdtempSync(join(tmpdir(), "syncbot-doctor-"));
});
afterEach(async () => {
  await Promise.all([graph.close(), ump.close()]);
});

const doctor = (env: Record<string, string>) => runCli("doctorCli.ts", [], env, dir);
const tokenRequests = () => graph.entra.requests.filter((r) => r.path === `/${TENANT}/oauth2/v2.0/token`);

describe("npm run doctor with a real credential against the Entra stand-in", () => {
  it("client-secret: signs in at the stand-in and reports the roles its token carries", async () => {
    // One permission more than needed: the report can only name it if it read the token's roles.
    graph.setStrict(true, [...LEAST_PRIVILEGE, "Directory.ReadWrite.All"]);
    const env = baseEnv(graph, ump, join(dir, "syncbot.db"));
    expect(env).toMatchObject({ GRAPH_CREDENTIAL: "client-secret", AUTHORITY_HOST: graph.entra.authorityHost });

    const r = await doctor(env);

    expect(r.stdout).toMatch(/^OK {3}Graph reachable: Graph answered$/m);
    expect(r.stdout).toMatch(/^WARN Graph permissions: more than needed: Directory\.ReadWrite\.All /m);
    expect(r.code).toBe(0);
    // The stand-in saw the client-credentials request of syncbot's own app, with its secret.
    // (Calls made at once may each ask before the first token is cached: one or more requests.)
    expect(tokenRequests().length).toBeGreaterThan(0);
    for (const q of tokenRequests())
      expect(q).toMatchObject({
        method: "POST",
        grantType: "client_credentials",
        clientId: graph.caller.appId,
        scope: `${graph.url}/.default`,
        clientAuth: "secret",
        status: 200,
      });
    // Graph was called with that token (verified by the emulator as Graph verifies it), not without one.
    const graphCalls = graph.requests.filter((q) => q.path.startsWith("/v1.0"));
    expect(graphCalls.length).toBeGreaterThan(0);
    expect(graphCalls.every((q) => /^Bearer \S+\.\S+\.\S+$/.test(q.headers.authorization ?? ""))).toBe(true);
    expect(graphCalls.every((q) => q.status < 400)).toBe(true);
    // Nothing left loopback: MSAL's instance discovery (Microsoft's public host) was not attempted.
    expect(r.stderr).not.toMatch(/loopbackOnly: blocked/);
    expect(graph.entra.requests.some((q) => q.path.includes("discovery/instance"))).toBe(false);
    // Its own secret appears nowhere in what it printed.
    for (const secret of graph.issuedSecrets()) expect(r.stdout + r.stderr).not.toContain(secret);
  }, 60_000);

  it("client-certificate: signs a client assertion with its certificate, which the stand-in verifies", async () => {
    const clientCert = makeSelfSignedTls("syncbot client certificate");
    try {
      const certificatePath = join(dir, "syncbot-client.pem");
      // @azure/identity reads the private key and the certificate from one PEM file.
      writeFileSync(certificatePath, `${clientCert.key}${clientCert.cert}`, { mode: 0o600 });
      graph.registerCallerApp({ certificatePem: clientCert.cert });
      const env = {
        ...baseEnv(graph, ump, join(dir, "syncbot.db")),
        GRAPH_CREDENTIAL: "client-certificate",
        AZURE_CLIENT_SECRET: "",
        AZURE_CLIENT_CERTIFICATE_PATH: certificatePath,
      };

      const r = await doctor(env);

      expect(r.stdout).toMatch(
        /^OK {3}Graph permissions: holds Application\.ReadWrite\.OwnedBy, RoleManagement\.Read\.Directory: what the configuration needs$/m,
      );
      expect(r.code).toBe(0);
      expect(tokenRequests().length).toBeGreaterThan(0);
      for (const q of tokenRequests())
        expect(q).toMatchObject({ clientId: graph.caller.appId, clientAuth: "assertion", status: 200 });
      expect(r.stderr).not.toMatch(/loopbackOnly: blocked/);
    } finally {
      clientCert.dispose();
    }
  }, 60_000);

  it("a wrong secret: the stand-in refuses it, doctor fails naming Entra's reason, and Graph gets no token", async () => {
    const env = {
      ...baseEnv(graph, ump, join(dir, "syncbot.db")),
      AZURE_CLIENT_SECRET: "not~the~secret~0123456789abcdefghij",
    };

    const r = await doctor(env);

    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL Graph reachable: .*AADSTS7000215/m);
    expect(tokenRequests().map((q) => q.status)).toContain(401);
    expect(graph.requests.filter((q) => q.path.startsWith("/v1.0"))).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain("not~the~secret~0123456789abcdefghij");
  }, 60_000);
});
