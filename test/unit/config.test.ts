// loadConfig(env): defaults, and one start-up error that lists every problem (CONTRACT section 2).

import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { SyncbotError } from "../../src/domain/errors";

const TENANT = "11111111-2222-3333-4444-555555555555";
const MINIMAL = {
  MicrosoftAppId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
  SP_TENANT_ID: TENANT,
  UMP_BASE_URL: "https://ump.example.com/api/ump-adapter/v1",
  UMP_TOKEN: "ump-token",
  // BOT_AUTH=enabled makes verified approvals the default (CONTRACT section 2): they need the OAuth connection.
  SSO_CONNECTION_NAME: "syncbot-sso",
};
const KEY32 = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 97 + 13) ^ (i << 3))).toString("base64");

function problemsOf(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(SyncbotError);
    expect((e as SyncbotError).code).toBe("config_invalid");
    return (e as Error).message;
  }
  throw new Error("expected loadConfig to refuse the configuration");
}

describe("loadConfig", () => {
  it("fills in the documented defaults", () => {
    const c = loadConfig(MINIMAL);
    expect(c).toMatchObject({
      port: 3978,
      botAuth: "enabled",
      spTenantId: TENANT,
      graphBaseUrl: "https://graph.microsoft.com/v1.0",
      graphCredential: "managed-identity",
      authorityHost: "https://login.microsoftonline.com",
      umpTarget: "api",
      umpBaseUrl: "https://ump.example.com/api/ump-adapter/v1",
      handoffTtlMinutes: 15,
      store: { kind: "sqlite", path: ".data/syncbot.db" },
      approvalPolicy: "global-admin",
      approverIds: [],
      approvalTtlHours: 24,
      allowSelfApproval: false,
      reminderDays: [60, 30, 14, 7, 1],
      logLevel: "info",
    });
  });

  it("treats blank values as unset", () => {
    expect(loadConfig({ ...MINIMAL, PORT: "  ", LOG_LEVEL: "" }).port).toBe(3978);
  });

  it("lists every problem in one error", () => {
    const message = problemsOf({
      ...MINIMAL,
      PORT: "not-a-port",
      BOT_AUTH: "maybe",
      SP_TENANT_ID: "contoso.onmicrosoft.com",
      LOG_LEVEL: "verbose",
      APPROVAL_POLICY: "anyone",
      REMINDER_DAYS: "30,abc",
      STORE: "postgres",
      ALLOW_SELF_APPROVAL: "perhaps",
      GRAPH_BASE_URL: "not a url",
    });
    for (const v of [
      "PORT",
      "BOT_AUTH",
      "SP_TENANT_ID",
      "LOG_LEVEL",
      "APPROVAL_POLICY",
      "REMINDER_DAYS",
      "STORE",
      "ALLOW_SELF_APPROVAL",
      "GRAPH_BASE_URL",
    ])
      expect(message).toContain(v);
    expect(message.split("\n").filter((l) => l.startsWith("  - ")).length).toBeGreaterThanOrEqual(9);
  });

  it("requires SP_TENANT_ID", () => {
    expect(problemsOf({ ...MINIMAL, SP_TENANT_ID: undefined })).toContain("SP_TENANT_ID");
  });

  it("refuses an empty MicrosoftAppId while BOT_AUTH is enabled", () => {
    expect(problemsOf({ ...MINIMAL, MicrosoftAppId: "" })).toContain("MicrosoftAppId");
    expect(problemsOf({ ...MINIMAL, MicrosoftAppId: "", BOT_AUTH: "enabled" })).toContain("MicrosoftAppId");
    expect(loadConfig({ ...MINIMAL, MicrosoftAppId: "", BOT_AUTH: "disabled" }).botAuth).toBe("disabled");
  });

  it("refuses GRAPH_CREDENTIAL=none against the real Graph host", () => {
    expect(problemsOf({ ...MINIMAL, GRAPH_CREDENTIAL: "none" })).toContain("GRAPH_CREDENTIAL=none");
    expect(
      problemsOf({ ...MINIMAL, GRAPH_CREDENTIAL: "none", GRAPH_BASE_URL: "https://GRAPH.microsoft.com/v1.0/" }),
    ).toContain("GRAPH_CREDENTIAL=none");
    expect(
      problemsOf({ ...MINIMAL, GRAPH_CREDENTIAL: "none", GRAPH_BASE_URL: "https://graph.microsoft.us/v1.0" }),
    ).toContain("GRAPH_CREDENTIAL=none");
    const c = loadConfig({ ...MINIMAL, GRAPH_CREDENTIAL: "none", GRAPH_BASE_URL: "http://127.0.0.1:4010/v1.0/" });
    expect(c.graphCredential).toBe("none");
    expect(c.graphBaseUrl).toBe("http://127.0.0.1:4010/v1.0");
  });

  // BUG (src/config.ts): the host comparison ignores the equivalent absolute form with a trailing dot.
  it("refuses GRAPH_CREDENTIAL=none against graph.microsoft.com. (trailing dot)", () => {
    problemsOf({ ...MINIMAL, GRAPH_CREDENTIAL: "none", GRAPH_BASE_URL: "https://graph.microsoft.com./v1.0" });
  });

  it("requires the client-secret credential's variables", () => {
    const m = problemsOf({ ...MINIMAL, GRAPH_CREDENTIAL: "client-secret", AZURE_CLIENT_ID: "x" });
    expect(m).toContain("AZURE_CLIENT_SECRET");
  });

  it.each([
    ["GRAPH_BASE_URL", "http://graph.example.com/v1.0"],
    ["UMP_BASE_URL", "http://ump.example.com/api/ump-adapter/v1"],
    ["AUTHORITY_HOST", "http://login.example.com"],
    ["PUBLIC_BASE_URL", "http://bot.example.com"],
  ])("refuses http for %s on a non-loopback host", (k, v) => {
    expect(problemsOf({ ...MINIMAL, [k]: v })).toContain(k);
  });

  it.each([
    "http://127.0.0.1:4010/v1.0",
    "http://localhost:4010/v1.0",
    "http://[::1]:4010/v1.0",
    "http://127.8.9.10/v1.0",
  ])("allows http on loopback: %s", (v) => {
    expect(loadConfig({ ...MINIMAL, GRAPH_BASE_URL: v }).graphBaseUrl).toBe(v);
  });

  // BUG (src/envReaders.ts isLoopback): /^127\./ also matches DNS names such as 127.0.0.1.nip.io.
  it("refuses http for a DNS name that merely starts with 127.", () => {
    problemsOf({ ...MINIMAL, GRAPH_BASE_URL: "http://127.0.0.1.nip.io/v1.0" });
  });

  it("checks HANDOFF_KEY is 32 bytes", () => {
    expect(problemsOf({ ...MINIMAL, HANDOFF_KEY: Buffer.alloc(16).toString("base64") })).toContain("HANDOFF_KEY");
    expect(problemsOf({ ...MINIMAL, HANDOFF_KEY: Buffer.alloc(33).toString("base64") })).toContain("HANDOFF_KEY");
    expect(problemsOf({ ...MINIMAL, UMP_TARGET: "handoff" })).toContain("HANDOFF_KEY");
    const c = loadConfig({
      SP_TENANT_ID: TENANT,
      MicrosoftAppId: "x",
      UMP_TARGET: "handoff",
      HANDOFF_KEY: KEY32,
      PUBLIC_BASE_URL: "https://bot.example.com",
      SSO_CONNECTION_NAME: "syncbot-sso",
    });
    expect(c.handoffKey?.length).toBe(32);
    expect(c.umpTarget).toBe("handoff");
  });

  it.each([
    ["all one byte", Buffer.alloc(32, 7), "one byte repeated"],
    ["all zero", Buffer.alloc(32), "one byte repeated"],
    ["a 2-byte pattern", Buffer.from("ab".repeat(16)), "2-byte pattern"],
    ["a counting sequence", Buffer.from(Array.from({ length: 32 }, (_, i) => i)), "counting sequence"],
    ["four symbols", Buffer.from("abcdabdcadbcacbdbadcbcdadcbaabcd"), "4 distinct symbols"],
  ])("refuses a HANDOFF_KEY that is %s, in the one error listing every problem", (_n, key, why) => {
    const m = problemsOf({ ...MINIMAL, HANDOFF_KEY: key.toString("base64"), LOG_LEVEL: "loud" });
    expect(m).toContain("HANDOFF_KEY must be 32 random bytes");
    expect(m).toContain(why);
    expect(m).toContain("LOG_LEVEL");
  });

  it.each([
    ["one repeated character", "xxxxxxxxxxxxxxxxxxxxxxxx", "one byte repeated"],
    ["a short repeated word", "secretsecretsecretsecret", "6-byte pattern"],
    ["the alphabet", "abcdefghijklmnopqrstuvwx", "counting sequence"],
    ["two symbols", "abbaabababbbaabaabbbabab", "2 distinct symbols"],
  ])("refuses a JOBS_KEY that is %s", (_n, key, why) => {
    const m = problemsOf({ ...MINIMAL, JOBS_KEY: key });
    expect(m).toContain("JOBS_KEY must be random");
    expect(m).toContain(why);
  });

  it("accepts random keys", () => {
    const c = loadConfig({
      ...MINIMAL,
      JOBS_KEY: "q8Vt3xJw0bL2mZr9Kd4s",
      UMP_TARGET: "handoff",
      HANDOFF_KEY: KEY32,
      PUBLIC_BASE_URL: "https://bot.example.com",
    });
    expect(c.jobsKey).toBe("q8Vt3xJw0bL2mZr9Kd4s");
    expect(c.handoffKey?.length).toBe(32);
  });

  it("refuses ALLOW_SELF_APPROVAL=true unless BOT_AUTH=disabled", () => {
    expect(problemsOf({ ...MINIMAL, ALLOW_SELF_APPROVAL: "true" })).toContain(
      "ALLOW_SELF_APPROVAL=true is refused unless BOT_AUTH=disabled",
    );
    expect(problemsOf({ ...MINIMAL, BOT_AUTH: "enabled", ALLOW_SELF_APPROVAL: "yes" })).toContain(
      "ALLOW_SELF_APPROVAL",
    );
    expect(loadConfig({ ...MINIMAL, ALLOW_SELF_APPROVAL: "false" }).allowSelfApproval).toBe(false);
    expect(loadConfig({ ...MINIMAL, BOT_AUTH: "disabled", ALLOW_SELF_APPROVAL: "true" }).allowSelfApproval).toBe(true);
  });

  it("requires UMP_BASE_URL and a token for UMP_TARGET=api", () => {
    const m = problemsOf({ SP_TENANT_ID: TENANT, MicrosoftAppId: "x" });
    expect(m).toContain("UMP_BASE_URL");
    expect(m).toContain("UMP_TOKEN");
  });

  it("requires APPROVER_IDS to be GUIDs, and lower-cases them", () => {
    const m = problemsOf({ ...MINIMAL, APPROVER_IDS: `${TENANT},alice@contoso.com` });
    expect(m).toContain("APPROVER_IDS");
    expect(m).toContain("alice@contoso.com");
    const ids = loadConfig({
      ...MINIMAL,
      APPROVER_IDS: " AAAAAAAA-0000-0000-0000-000000000001 , bbbbbbbb-0000-0000-0000-000000000002,",
    }).approverIds;
    expect(ids).toEqual(["aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"]);
  });

  it("refuses APPROVAL_POLICY=allow-list without APPROVER_IDS", () => {
    expect(problemsOf({ ...MINIMAL, APPROVAL_POLICY: "allow-list" })).toContain("APPROVER_IDS");
    expect(loadConfig({ ...MINIMAL, APPROVAL_POLICY: "allow-list", APPROVER_IDS: TENANT }).approvalPolicy).toBe(
      "allow-list",
    );
    expect(loadConfig({ ...MINIMAL, APPROVAL_POLICY: "either" }).approvalPolicy).toBe("either");
  });

  it.each([
    ["30, 7,1", [30, 7, 1]],
    ["1,7,30", [30, 7, 1]],
    ["14,14,7", [14, 7]],
    ["365", [365]],
  ])("parses REMINDER_DAYS=%j", (v, days) => {
    expect(loadConfig({ ...MINIMAL, REMINDER_DAYS: v }).reminderDays).toEqual(days);
  });

  it.each(["0", "-1", "1.5", "abc", "30,,7", "366"])("refuses REMINDER_DAYS=%j", (v) => {
    expect(problemsOf({ ...MINIMAL, REMINDER_DAYS: v })).toContain("REMINDER_DAYS");
  });

  it("reads booleans and numbers", () => {
    const c = loadConfig({
      ...MINIMAL,
      BOT_AUTH: "disabled",
      ALLOW_SELF_APPROVAL: "TRUE",
      PORT: "0",
      APPROVAL_TTL_HOURS: "2",
    });
    expect(c.allowSelfApproval).toBe(true);
    expect(c.port).toBe(0);
    expect(c.approvalTtlHours).toBe(2);
    expect(problemsOf({ ...MINIMAL, PORT: "70000" })).toContain("PORT");
  });

  // BUG (src/config.ts int()): PORT accepts non-integers such as "3978.5".
  it("refuses a fractional PORT", () => {
    problemsOf({ ...MINIMAL, PORT: "3978.5" });
  });

  it("reads STORE=azure-tables with its connection string", () => {
    expect(problemsOf({ ...MINIMAL, STORE: "azure-tables" })).toContain("AZURE_STORAGE_CONNECTION_STRING");
    expect(
      loadConfig({ ...MINIMAL, STORE: "azure-tables", AZURE_STORAGE_CONNECTION_STRING: "UseDevelopmentStorage=true" })
        .store,
    ).toEqual({
      kind: "azure-tables",
      connectionString: "UseDevelopmentStorage=true",
      tableName: "syncbot",
    });
  });

  it("returns a frozen object", () => {
    const c = loadConfig(MINIMAL);
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(c.port).toBe(3978);
  });
});

describe("verified approvals settings (CONTRACT section 2)", () => {
  const DEV = { ...MINIMAL, BOT_AUTH: "disabled", MicrosoftAppId: "", SSO_CONNECTION_NAME: undefined };

  it("is required by default with BOT_AUTH=enabled, off by default with BOT_AUTH=disabled", () => {
    expect(loadConfig(MINIMAL)).toMatchObject({
      approvalStepUp: "required",
      approvalTokenMaxAgeMinutes: 10,
      ssoConnectionName: "syncbot-sso",
    });
    expect(loadConfig(DEV).approvalStepUp).toBe("off");
  });

  it("required also works with BOT_AUTH=disabled (tests and dev), given the SSO resource and connection", () => {
    const c = loadConfig({
      ...DEV,
      APPROVAL_STEP_UP: "required",
      APPROVAL_AUTH_CONTEXT: "c1",
      APPROVAL_TOKEN_MAX_AGE_MINUTES: "5",
      SSO_RESOURCE: "api://syncbot.example.net/botid-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
      SSO_CONNECTION_NAME: "syncbot-sso",
    });
    expect(c).toMatchObject({
      approvalStepUp: "required",
      approvalAuthContext: "c1",
      approvalTokenMaxAgeMinutes: 5,
      ssoResource: "api://syncbot.example.net/botid-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    });
  });

  it("refuses contradictory or incomplete settings, all in one message", () => {
    const message = problemsOf({
      ...DEV,
      APPROVAL_STEP_UP: "required",
      APPROVAL_AUTH_CONTEXT: "mfa",
      APPROVAL_TOKEN_MAX_AGE_MINUTES: "0",
    });
    expect(message).toContain(
      "APPROVAL_AUTH_CONTEXT must be a Conditional Access authentication context id, c1 to c99",
    );
    expect(message).toContain("APPROVAL_STEP_UP=required needs SSO_RESOURCE");
    expect(message).toContain("APPROVAL_STEP_UP=required needs SSO_CONNECTION_NAME");
    expect(message).toContain("APPROVAL_TOKEN_MAX_AGE_MINUTES must be a whole number from 1 to 1440");
    expect(problemsOf({ ...DEV, APPROVAL_AUTH_CONTEXT: "c1" })).toContain(
      "APPROVAL_AUTH_CONTEXT is set but APPROVAL_STEP_UP=off",
    );
    expect(problemsOf({ ...MINIMAL, APPROVAL_STEP_UP: "maybe" })).toContain(
      'APPROVAL_STEP_UP must be one of required, off (got "maybe")',
    );
    expect(problemsOf({ ...MINIMAL, SSO_RESOURCE: "syncbot" })).toContain("SSO_RESOURCE must be the App ID URI");
  });
});
