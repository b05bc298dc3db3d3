// startTelemetry: Application Insights through the Azure Monitor OpenTelemetry distro (request and
// dependency telemetry, syncbot's log lines as log records). Started before http/restify/botbuilder
// load so their calls are traced; without a connection string nothing is loaded and nothing is sent.

import type { LogSink } from "./logger";

export interface Telemetry {
  /** Hands each (already masked) log record to Application Insights. */
  logSink: LogSink;
  /** Flushes what is buffered and stops the exporters (on SIGTERM/SIGINT). */
  shutdown(): Promise<void>;
}

/** The one-time hand-off link carries its token in the path: it never reaches telemetry. */
const HANDOFF_TOKEN = /\/handoff\/[^/?#\s"]+/g;
/** What the request hook touches of an SDK span. */
interface HookSpan {
  name?: string;
  attributes?: Record<string, unknown>;
  setAttribute(key: string, value: string): unknown;
  updateName(name: string): unknown;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SEVERITY = { debug: 5, info: 9, warn: 13, error: 17 } as const;

export function startTelemetry(connectionString: string | undefined): Telemetry | undefined {
  if (!connectionString) return undefined;
  // Loaded here, not at the top: with telemetry off the distro and its ~180 packages stay unloaded.
  const distro = require("@azure/monitor-opentelemetry") as typeof import("@azure/monitor-opentelemetry");
  const { logs } = require("@opentelemetry/api-logs") as typeof import("@opentelemetry/api-logs");
  // HttpInstrumentationConfig (the distro passes it through; its type declares only `enabled`).
  const http = {
    enabled: true,
    requestHook: (span: HookSpan) => {
      for (const [k, v] of Object.entries(span.attributes ?? {}))
        if (typeof v === "string" && v.includes("/handoff/")) span.setAttribute(k, redact(v));
      if (typeof span.name === "string") span.updateName(redact(span.name));
    },
  };
  distro.useAzureMonitor({
    azureMonitorExporterOptions: { connectionString },
    instrumentationOptions: {
      http,
      // syncbot uses none of these; the Azure SDK's own spans would duplicate the http dependencies.
      azureSdk: { enabled: false },
      mongoDb: { enabled: false },
      mySql: { enabled: false },
      postgreSql: { enabled: false },
      redis: { enabled: false },
      redis4: { enabled: false },
    },
  });
  const otel = logs.getLogger("syncbot");
  return {
    logSink: ({ level, msg, fields }) => {
      const attributes: Record<string, string | number | boolean> = {};
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined || v === null) continue;
        attributes[k] = typeof v === "object" ? JSON.stringify(v) : (v as string | number | boolean);
      }
      otel.emit({ severityNumber: SEVERITY[level], severityText: level.toUpperCase(), body: msg, attributes });
    },
    shutdown: () => distro.shutdownAzureMonitor(),
  };
}

/** InstrumentationKey=<guid>;IngestionEndpoint=https://… (other fields such as LiveEndpoint allowed). */
export function isConnectionString(value: string): boolean {
  const fields = new Map<string, string>();
  for (const part of value.split(";").filter(Boolean)) {
    const [k, v, extra] = part.split("=");
    if (!k || !v || extra !== undefined) return false;
    fields.set(k.trim().toLowerCase(), v.trim());
  }
  const endpoint = URL.canParse(fields.get("ingestionendpoint") ?? "")
    ? new URL(fields.get("ingestionendpoint")!)
    : undefined;
  return GUID.test(fields.get("instrumentationkey") ?? "") && endpoint?.protocol === "https:";
}

function redact(value: string): string {
  return value.replace(HANDOFF_TOKEN, "/handoff/[masked]");
}
