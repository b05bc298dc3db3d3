// startTelemetry: Application Insights through the Azure Monitor OpenTelemetry distro (request and
// dependency telemetry, syncbot's log lines as log records). Started before http/restify/botbuilder
// load so their calls are traced; without a connection string nothing is loaded and nothing is sent.
// The distro (1.18.1) instruments node:http(s) only: the Bot Connector and @azure/identity's token
// requests. Graph, the token proof and UMP go through fetch (undici), traced by
// @opentelemetry/instrumentation-undici. Every outbound span gets the correlation id and no secret.

import { correlationIdOf, redact, redactAttributes } from "./telemetryAttributes";
import type { LogSink } from "./logger";

export interface Telemetry {
  /** Hands each (already masked) log record to Application Insights. */
  logSink: LogSink;
  /**
   * One run of a job (the reminders and doctor CLIs) as a request item named `name`, with the outbound
   * calls inside it as its dependencies; `outcome` says whether the run succeeded, and what (counts
   * only, never values) to attach.
   */
  run<T>(name: string, work: () => Promise<T>, outcome: (result: T) => RunOutcome): Promise<T>;
  /** Flushes what is buffered and stops the exporters (on SIGTERM/SIGINT, or when a CLI is done). */
  shutdown(): Promise<void>;
}

export interface RunOutcome {
  success: boolean;
  attributes?: Record<string, string | number | boolean>;
}

/** What the hooks touch of an SDK span. */
interface HookSpan {
  name?: string;
  attributes?: Record<string, unknown>;
  setAttribute(key: string, value: string): unknown;
  updateName(name: string): unknown;
}
/** An outgoing node:http request as the http instrumentation's hook receives it (incoming ones lack getHeader). */
interface OutgoingLike {
  getHeader?(name: string): unknown;
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
    requestHook: (span: HookSpan, request: OutgoingLike) => {
      redactAttributes(span.attributes, (k, v) => span.setAttribute(k, v));
      if (typeof span.name === "string") span.updateName(redact(span.name));
      // Outgoing (Bot Connector, token requests of @azure/identity): the correlation id, when there is one.
      if (typeof request?.getHeader === "function") {
        const id = correlationIdOf((name) => request.getHeader!(name));
        if (id) span.setAttribute("correlationId", id);
      }
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
  // After useAzureMonitor: the undici instrumentation finds the distro's tracer provider through the
  // global API. Its spans become dependency items like the http ones.
  const { UndiciInstrumentation } =
    require("@opentelemetry/instrumentation-undici") as typeof import("@opentelemetry/instrumentation-undici");
  const undici = new UndiciInstrumentation({
    requestHook: (span, request) => {
      redactAttributes((span as unknown as HookSpan).attributes, (k, v) => span.setAttribute(k, v));
      const id = correlationIdOf(request.headers);
      if (id) span.setAttribute("correlationId", id);
    },
  });
  const api = require("@opentelemetry/api") as typeof import("@opentelemetry/api");
  const tracer = api.trace.getTracer("syncbot");
  const otel = logs.getLogger("syncbot");
  return {
    run: (name, work, outcome) =>
      tracer.startActiveSpan(name, { kind: api.SpanKind.SERVER }, async (span) => {
        try {
          const result = await work();
          const { success, attributes } = outcome(result);
          span.setAttributes(attributes ?? {});
          span.setStatus({ code: success ? api.SpanStatusCode.OK : api.SpanStatusCode.ERROR });
          return result;
        } catch (e) {
          span.setStatus({ code: api.SpanStatusCode.ERROR, message: redact(String((e as Error)?.message ?? e)) });
          throw e;
        } finally {
          span.end();
        }
      }),
    logSink: ({ level, msg, fields }) => {
      const attributes: Record<string, string | number | boolean> = {};
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined || v === null) continue;
        attributes[k] = typeof v === "object" ? JSON.stringify(v) : (v as string | number | boolean);
      }
      otel.emit({ severityNumber: SEVERITY[level], severityText: level.toUpperCase(), body: msg, attributes });
    },
    shutdown: async () => {
      undici.disable();
      await distro.shutdownAzureMonitor();
    },
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
