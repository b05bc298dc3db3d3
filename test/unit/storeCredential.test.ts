// STORE=azure-tables reaches the table either with a connection string or with AZURE_TABLES_ENDPOINT
// and the token credential syncbot uses for Graph (the managed identity in Azure, per GRAPH_CREDENTIAL
// and AZURE_CLIENT_ID). Azurite accepts OAuth only over HTTPS with its own certificate, so the selection
// is tested here and the token path's refusal of plain http is tested against a local listener.

import { createServer, type Server } from "node:http";
import type { AccessToken, TokenCredential } from "@azure/identity";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { SyncbotError } from "../../src/domain/errors";
import { createStore } from "../../src/store/createStore";
import { createTableStore } from "../../src/store/createTableStore";

const TENANT = "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f";
const MI = "0d5b1c2e-3f40-4a51-8b62-7c8d9e0f1a2b";
const BASE = {
  MicrosoftAppId: MI,
  MicrosoftAppType: "UserAssignedMSI",
  SP_TENANT_ID: TENANT,
  UMP_BASE_URL: "https://ump.example.com/api/ump-adapter/v1",
  UMP_TOKEN: "ump-token",
  STORE: "azure-tables",
  // BOT_AUTH=enabled verifies approvals by default: the settings infra/azure.bicep gives App Service.
  SSO_RESOURCE: `api://syncbot-abc.azurewebsites.net/botid-${MI}`,
  SSO_CONNECTION_NAME: "syncbot-sso",
};
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(SyncbotError);
    return (e as Error).message;
  }
  throw new Error("expected a configuration error");
};

describe("Azure Tables credential selection", () => {
  it("AZURE_TABLES_ENDPOINT uses the Graph credential: the user-assigned managed identity by AZURE_CLIENT_ID", () => {
    const config = loadConfig({
      ...BASE,
      AZURE_TABLES_ENDPOINT: "https://st.table.core.windows.net/",
      AZURE_CLIENT_ID: MI,
    });
    expect(config.store).toEqual({
      kind: "azure-tables",
      tableName: "syncbot",
      endpoint: "https://st.table.core.windows.net",
      credential: {
        kind: "managed-identity",
        clientId: MI,
        tenantId: TENANT,
        authorityHost: "https://login.microsoftonline.com",
      },
    });
    // Constructing the store does no I/O and needs no key.
    expect(typeof createStore(config.store).ping).toBe("function");
  });

  it("GRAPH_CREDENTIAL=default selects DefaultAzureCredential for the table too", () => {
    const config = loadConfig({
      ...BASE,
      AZURE_TABLES_ENDPOINT: "https://st.table.core.windows.net",
      GRAPH_CREDENTIAL: "default",
    });
    expect(config.store).toMatchObject({ credential: { kind: "default" } });
    expect(typeof createStore(config.store).get).toBe("function");
  });

  it("a connection string is used as before, without a credential", () => {
    const config = loadConfig({ ...BASE, AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true" });
    expect(config.store).toEqual({
      kind: "azure-tables",
      connectionString: "UseDevelopmentStorage=true",
      tableName: "syncbot",
    });
  });

  it("refuses neither, both, and an endpoint without a token credential", () => {
    expect(problemsOf(BASE)).toContain("STORE=azure-tables needs AZURE_TABLES_ENDPOINT");
    expect(
      problemsOf({
        ...BASE,
        AZURE_TABLES_ENDPOINT: "https://st.table.core.windows.net",
        AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true",
      }),
    ).toContain("not both");
    expect(
      problemsOf({
        ...BASE,
        AZURE_TABLES_ENDPOINT: "https://st.table.core.windows.net",
        GRAPH_CREDENTIAL: "none",
        GRAPH_BASE_URL: "http://127.0.0.1:4010/v1.0",
      }),
    ).toContain("AZURE_TABLES_ENDPOINT needs a token credential");
    expect(problemsOf({ ...BASE, AZURE_TABLES_ENDPOINT: "http://st.example.net" })).toContain(
      "AZURE_TABLES_ENDPOINT must use https",
    );
    expect(() => createStore({ kind: "azure-tables", endpoint: "https://st.table.core.windows.net" })).toThrow(
      "AZURE_TABLES_ENDPOINT with a token credential",
    );
  });
});

describe("Bot Framework identity type", () => {
  it("defaults to SingleTenant in the service provider's tenant", () => {
    const c = loadConfig({ ...BASE, MicrosoftAppType: "", STORE: "sqlite" });
    expect([c.microsoftAppType, c.microsoftAppTenantId]).toEqual(["SingleTenant", TENANT]);
  });

  it("accepts UserAssignedMSI without a password, refuses one with a password, refuses unknown types", () => {
    const c = loadConfig({ ...BASE, STORE: "sqlite" });
    expect([c.microsoftAppType, c.microsoftAppTenantId, c.microsoftAppPassword]).toEqual([
      "UserAssignedMSI",
      TENANT,
      "",
    ]);
    expect(problemsOf({ ...BASE, STORE: "sqlite", MicrosoftAppPassword: "p" })).toContain(
      "must not have a MicrosoftAppPassword",
    );
    expect(problemsOf({ ...BASE, STORE: "sqlite", MicrosoftAppType: "Multi" })).toContain(
      "MicrosoftAppType must be one of",
    );
    expect(loadConfig({ ...BASE, STORE: "sqlite", MicrosoftAppType: "userassignedmsi" }).microsoftAppType).toBe(
      "UserAssignedMSI",
    );
  });
});

describe("Table store over a token credential", () => {
  let server: Server | undefined;
  afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it("never sends a bearer token over plain http, and fails as upstream_failed", async () => {
    const requests: string[] = [];
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`);
      res.statusCode = 204;
      res.end();
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as { port: number }).port;
    const asked: string[] = [];
    const credential: TokenCredential = {
      async getToken(scopes): Promise<AccessToken> {
        asked.push(String(scopes));
        return { token: "token-that-must-not-travel-over-http", expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const store = createTableStore({
      endpoint: `http://127.0.0.1:${port}/devstoreaccount1`,
      credential,
      tableName: "t1",
    });
    const err = await store.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncbotError);
    expect((err as SyncbotError).code).toBe("upstream_failed");
    expect(requests.filter((r) => r.includes("token-that-must-not-travel"))).toEqual([]);
  });
});
