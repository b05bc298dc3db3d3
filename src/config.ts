// loadConfig(env): the whole configuration, read once, typed and frozen. Every problem is collected so
// start-up fails with one message listing all of them (CONTRACT section 2).

import type { ApprovalPolicy } from "./domain/approval";
import { SyncbotError } from "./domain/errors";
import type { LogLevel } from "./domain/ports";
import type { StoreConfig } from "./store/createStore";
import { isConnectionString } from "./telemetry";
import { createEnvReaders } from "./settings/envReaders";
import { readStepUpConfig, type StepUpConfig } from "./settings/stepUpConfig";
import { weakKeyReason } from "./settings/weakKeyReason";

export type MicrosoftAppType = "SingleTenant" | "MultiTenant" | "UserAssignedMSI";
export type GraphCredentialKind = "managed-identity" | "client-secret" | "client-certificate" | "default" | "none";

export interface Config extends StepUpConfig {
  port: number;
  botAuth: "enabled" | "disabled";
  microsoftAppId: string;
  microsoftAppPassword: string;
  /** "" only for an anonymous bot (BOT_AUTH=disabled without MicrosoftAppId). */
  microsoftAppType: MicrosoftAppType | "";
  microsoftAppTenantId: string;
  /** Every env var, for botbuilder's ConfigurationBotFrameworkAuthentication (it reads its own names). */
  botFrameworkEnv: Record<string, string | undefined>;
  spTenantId: string;
  graphBaseUrl: string;
  graphCredential: GraphCredentialKind;
  azureClientId?: string;
  azureClientSecret?: string;
  azureClientCertificatePath?: string;
  authorityHost: string;
  umpTarget: "api" | "handoff";
  umpBaseUrl?: string;
  umpToken?: string;
  umpScope?: string;
  handoffKey?: Buffer;
  handoffTtlMinutes: number;
  publicBaseUrl?: string;
  store: StoreConfig;
  approvalPolicy: ApprovalPolicy;
  approverIds: string[];
  approvalTtlHours: number;
  allowSelfApproval: boolean;
  reminderDays: number[];
  rotationGraceHours: number;
  sweepIntervalHours: number;
  logLevel: LogLevel;
  /** Application Insights (InstrumentationKey=…;IngestionEndpoint=https://…); unset: no telemetry. */
  applicationInsightsConnectionString?: string;
  jobsKey?: string;
  defaults: { serviceProviderFqdn?: string; umpInstance?: string };
  /** Tuning (tests shorten them). */
  runLeaseSeconds: number;
  /** Batch onboarding: runs in flight at once (issue 13). */
  batchConcurrency: number;
  /** ENTRA_REPLICATION_*: the wait for Entra's replication after a create (service principal, token proof). */
  replication: { budgetMs: number; firstDelayMs: number; maxDelayMs: number };
  operationPollMs: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MICROSOFT_GRAPH_HOSTS = [
  "graph.microsoft.com",
  "graph.microsoft.us",
  "dod-graph.microsoft.us",
  "microsoftgraph.chinacloudapi.cn",
];

export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<Config> {
  const problems: string[] = [];
  const { get, oneOf, int, bool, url } = createEnvReaders(env, problems);

  const botAuth = oneOf("BOT_AUTH", ["enabled", "disabled"] as const, "enabled");
  const microsoftAppId = get("MicrosoftAppId") ?? "";
  if (!microsoftAppId && botAuth === "enabled")
    problems.push(
      "MicrosoftAppId is empty: set the bot's app id, or BOT_AUTH=disabled for local development and tests only",
    );

  // Bot Framework identity: single-tenant by default (new multi-tenant registrations are no longer
  // created); UserAssignedMSI is the App Service's managed identity and has no password.
  const APP_TYPES = ["SingleTenant", "MultiTenant", "UserAssignedMSI"] as const;
  const rawAppType = get("MicrosoftAppType");
  let microsoftAppType: MicrosoftAppType | "" = microsoftAppId ? "SingleTenant" : "";
  if (rawAppType) {
    const known = APP_TYPES.find((t) => t.toLowerCase() === rawAppType.toLowerCase());
    if (known) microsoftAppType = known;
    else problems.push(`MicrosoftAppType must be one of ${APP_TYPES.join(", ")} (got "${rawAppType}")`);
  }
  if (microsoftAppType === "UserAssignedMSI") {
    if (!microsoftAppId)
      problems.push("MicrosoftAppType=UserAssignedMSI needs MicrosoftAppId (the managed identity's client id)");
    if (get("MicrosoftAppPassword"))
      problems.push(
        "MicrosoftAppType=UserAssignedMSI must not have a MicrosoftAppPassword (the managed identity has none)",
      );
  }

  const spTenantId = get("SP_TENANT_ID") ?? "";
  if (!spTenantId) problems.push("SP_TENANT_ID is required (the service provider's Entra tenant id)");
  else if (!GUID.test(spTenantId)) problems.push(`SP_TENANT_ID must be a tenant GUID (got "${spTenantId}")`);

  const graphBaseUrl = url("GRAPH_BASE_URL", "https://graph.microsoft.com/v1.0")!;
  const graphCredential = oneOf(
    "GRAPH_CREDENTIAL",
    ["managed-identity", "client-secret", "client-certificate", "default", "none"] as const,
    "managed-identity",
  );
  let graphHost = "";
  try {
    graphHost = new URL(graphBaseUrl).hostname.toLowerCase().replace(/\.+$/, "");
  } catch {}
  if (graphCredential === "none" && MICROSOFT_GRAPH_HOSTS.includes(graphHost))
    problems.push(
      "GRAPH_CREDENTIAL=none is only allowed when GRAPH_BASE_URL points at an emulator, not at Microsoft Graph",
    );
  if (graphCredential === "client-secret" && (!get("AZURE_CLIENT_ID") || !get("AZURE_CLIENT_SECRET")))
    problems.push("GRAPH_CREDENTIAL=client-secret needs AZURE_CLIENT_ID and AZURE_CLIENT_SECRET");
  if (graphCredential === "client-certificate" && (!get("AZURE_CLIENT_ID") || !get("AZURE_CLIENT_CERTIFICATE_PATH")))
    problems.push("GRAPH_CREDENTIAL=client-certificate needs AZURE_CLIENT_ID and AZURE_CLIENT_CERTIFICATE_PATH");

  const umpTarget = oneOf("UMP_TARGET", ["api", "handoff"] as const, "api");
  const umpBaseUrl = url("UMP_BASE_URL");
  if (umpTarget === "api") {
    if (!umpBaseUrl) problems.push("UMP_TARGET=api needs UMP_BASE_URL (…/api/ump-adapter/v1)");
    if (!get("UMP_TOKEN") && !get("UMP_SCOPE"))
      problems.push("UMP_TARGET=api needs UMP_TOKEN (or UMP_SCOPE to use the Graph credential)");
  }
  let handoffKey: Buffer | undefined;
  const rawKey = get("HANDOFF_KEY");
  if (rawKey) {
    handoffKey = Buffer.from(rawKey, "base64");
    const weak = handoffKey.length === 32 ? weakKeyReason(handoffKey) : undefined;
    if (handoffKey.length !== 32 || weak) {
      problems.push(
        `HANDOFF_KEY must be 32 random bytes, base64-encoded (openssl rand -base64 32)${weak ? `; this one ${weak}` : ""}`,
      );
      handoffKey = undefined;
    }
  } else if (umpTarget === "handoff") problems.push("UMP_TARGET=handoff needs HANDOFF_KEY (32 bytes, base64)");
  if (umpTarget === "handoff" && !get("PUBLIC_BASE_URL"))
    problems.push("UMP_TARGET=handoff needs PUBLIC_BASE_URL (the https address operators open the one-time link at)");

  const storeKind = oneOf("STORE", ["sqlite", "azure-tables"] as const, "sqlite");
  let store: Config["store"];
  if (storeKind === "azure-tables") {
    const cs = get("AZURE_STORAGE_CONNECTION_STRING");
    const endpoint = url("AZURE_TABLES_ENDPOINT");
    if (!cs && !endpoint)
      problems.push(
        "STORE=azure-tables needs AZURE_TABLES_ENDPOINT (with the managed identity) or AZURE_STORAGE_CONNECTION_STRING",
      );
    if (cs && endpoint) problems.push("set AZURE_TABLES_ENDPOINT or AZURE_STORAGE_CONNECTION_STRING, not both");
    if (endpoint && !cs && graphCredential === "none")
      problems.push("AZURE_TABLES_ENDPOINT needs a token credential: GRAPH_CREDENTIAL must not be none");
    store = {
      kind: "azure-tables",
      connectionString: cs,
      tableName: get("AZURE_TABLE_NAME") ?? "syncbot",
      ...(endpoint && !cs
        ? {
            endpoint,
            credential: {
              kind: graphCredential,
              tenantId: spTenantId.toLowerCase(),
              authorityHost: url("AUTHORITY_HOST", "https://login.microsoftonline.com")!,
              clientId: get("AZURE_CLIENT_ID"),
              clientSecret: get("AZURE_CLIENT_SECRET"),
              certificatePath: get("AZURE_CLIENT_CERTIFICATE_PATH"),
            },
          }
        : {}),
    };
  } else store = { kind: "sqlite", path: get("SQLITE_PATH") ?? ".data/syncbot.db" };

  const approvalPolicy = oneOf("APPROVAL_POLICY", ["global-admin", "allow-list", "either"] as const, "global-admin");
  const approverIds = (get("APPROVER_IDS") ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const id of approverIds)
    if (!GUID.test(id)) problems.push(`APPROVER_IDS has "${id}", which is not an Entra object id`);
  if (approvalPolicy === "allow-list" && approverIds.length === 0)
    problems.push("APPROVAL_POLICY=allow-list needs APPROVER_IDS (comma-separated Entra object ids)");

  const reminderDays = (get("REMINDER_DAYS") ?? "60,30,14,7,1").split(",").map((s) => Number(s.trim()));
  if (reminderDays.some((d) => !Number.isInteger(d) || d < 1 || d > 365))
    problems.push(`REMINDER_DAYS must be whole days from 1 to 365, comma-separated (got "${get("REMINDER_DAYS")}")`);

  const jobsKey = get("JOBS_KEY");
  const weakJobsKey = jobsKey ? weakKeyReason(Buffer.from(jobsKey, "utf8")) : undefined;
  if (jobsKey && jobsKey.length < 16) problems.push("JOBS_KEY must be at least 16 characters");
  else if (weakJobsKey) problems.push(`JOBS_KEY must be random (openssl rand -base64 32); this one ${weakJobsKey}`);

  const allowSelfApproval = bool("ALLOW_SELF_APPROVAL", false);
  if (allowSelfApproval && botAuth !== "disabled")
    problems.push(
      "ALLOW_SELF_APPROVAL=true is refused unless BOT_AUTH=disabled (local development only): four-eyes stays on in production",
    );

  const logLevel = oneOf("LOG_LEVEL", ["debug", "info", "warn", "error"] as const, "info");
  const port = int("PORT", 3978, 0, 65535);
  const publicBaseUrl = url("PUBLIC_BASE_URL");
  const appInsights = get("APPLICATIONINSIGHTS_CONNECTION_STRING");
  if (appInsights && !isConnectionString(appInsights))
    problems.push(
      "APPLICATIONINSIGHTS_CONNECTION_STRING must be InstrumentationKey=<guid>;IngestionEndpoint=https://…",
    );

  const stepUp = readStepUpConfig({ get, oneOf, int, bool, url }, problems, botAuth, microsoftAppId);

  const config: Config = {
    ...stepUp,
    port,
    botAuth,
    microsoftAppId,
    microsoftAppPassword: get("MicrosoftAppPassword") ?? "",
    microsoftAppType,
    // A single-tenant or managed-identity bot lives in a tenant; by default the service provider's.
    microsoftAppTenantId:
      get("MicrosoftAppTenantId") ??
      (microsoftAppType && microsoftAppType !== "MultiTenant" ? spTenantId.toLowerCase() : ""),
    botFrameworkEnv: { ...env },
    spTenantId: spTenantId.toLowerCase(),
    graphBaseUrl,
    graphCredential,
    azureClientId: get("AZURE_CLIENT_ID"),
    azureClientSecret: get("AZURE_CLIENT_SECRET"),
    azureClientCertificatePath: get("AZURE_CLIENT_CERTIFICATE_PATH"),
    authorityHost: url("AUTHORITY_HOST", "https://login.microsoftonline.com")!,
    umpTarget,
    umpBaseUrl,
    umpToken: get("UMP_TOKEN"),
    umpScope: get("UMP_SCOPE"),
    handoffKey,
    handoffTtlMinutes: int("HANDOFF_TTL_MINUTES", 15, 1, 60),
    publicBaseUrl,
    store,
    approvalPolicy,
    approverIds,
    approvalTtlHours: int("APPROVAL_TTL_HOURS", 24, 0.01, 24 * 14, true),
    allowSelfApproval,
    reminderDays: [...new Set(reminderDays)].sort((a, b) => b - a),
    rotationGraceHours: int("ROTATION_GRACE_HOURS", 24, 0, 24 * 30),
    sweepIntervalHours: int("SWEEP_INTERVAL_HOURS", 24, 0, 24 * 7),
    logLevel,
    applicationInsightsConnectionString: appInsights,
    jobsKey,
    defaults: { serviceProviderFqdn: get("DEFAULT_SP_FQDN"), umpInstance: get("DEFAULT_UMP_INSTANCE") },
    runLeaseSeconds: int("RUN_LEASE_SECONDS", 15, 1, 3600),
    batchConcurrency: int("BATCH_CONCURRENCY", 4, 1, 32),
    replication: {
      budgetMs: int("ENTRA_REPLICATION_WAIT_SECONDS", 120, 0, 900) * 1000,
      firstDelayMs: int("ENTRA_REPLICATION_FIRST_DELAY_MS", 1000, 0, 60_000),
      maxDelayMs: int("ENTRA_REPLICATION_MAX_DELAY_MS", 15_000, 0, 300_000),
    },
    operationPollMs: int("UMP_POLL_MS", 2000, 0, 60_000),
  };

  if (problems.length > 0)
    throw new SyncbotError(
      "config_invalid",
      `syncbot cannot start; fix the configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  return Object.freeze(config);
}
