// Telemetry off unless configured (nothing loaded), the connection string's shape checked at start, and
// the logger's extra sink fed only masked fields. The exporter itself is exercised in test/e2e/telemetry.

import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { createLogger, type LogSink } from "../../src/logger";
import { isConnectionString, startTelemetry } from "../../src/telemetry";

const nodeRequire = createRequire(__filename);
const MINIMAL = {
  MicrosoftAppId: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
  SP_TENANT_ID: "11111111-2222-3333-4444-555555555555",
  UMP_BASE_URL: "https://ump.example.com/api/ump-adapter/v1",
  UMP_TOKEN: "ump-token",
  SSO_CONNECTION_NAME: "syncbot-sso",
};
const GOOD =
  "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/;ApplicationId=11111111-2222-3333-4444-555555555555";

describe("startTelemetry", () => {
  it("without a connection string starts nothing and loads no OpenTelemetry module", () => {
    expect(startTelemetry(undefined)).toBeUndefined();
    expect(startTelemetry("")).toBeUndefined();
    const loaded = Object.keys(nodeRequire.cache).filter((p) =>
      /[\\/]@(azure[\\/]monitor-|opentelemetry[\\/])/.test(p),
    );
    expect(loaded).toEqual([]);
  });

  it("is off when APPLICATIONINSIGHTS_CONNECTION_STRING is unset or blank", () => {
    expect(loadConfig(MINIMAL).applicationInsightsConnectionString).toBeUndefined();
    expect(
      loadConfig({ ...MINIMAL, APPLICATIONINSIGHTS_CONNECTION_STRING: "  " }).applicationInsightsConnectionString,
    ).toBeUndefined();
    expect(
      loadConfig({ ...MINIMAL, APPLICATIONINSIGHTS_CONNECTION_STRING: GOOD }).applicationInsightsConnectionString,
    ).toBe(GOOD);
  });
});

describe("APPLICATIONINSIGHTS_CONNECTION_STRING", () => {
  it.each([
    [GOOD, true],
    ["InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:4443/", true],
    ["IngestionEndpoint=https://dc.example.com/;InstrumentationKey=00000000-0000-0000-0000-000000000000", true],
    ["00000000-0000-0000-0000-000000000000", false], // a bare instrumentation key (retired)
    ["InstrumentationKey=00000000-0000-0000-0000-000000000000", false], // no ingestion endpoint
    ["InstrumentationKey=not-a-guid;IngestionEndpoint=https://dc.example.com/", false],
    ["InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://dc.example.com/", false],
    ["InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=dc.example.com", false],
    ["InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://a/=b", false],
  ])("%s → %s", (value, ok) => {
    expect(isConnectionString(value)).toBe(ok);
  });

  it("a malformed one stops start-up with the expected shape (and not the value)", () => {
    const value = "InstrumentationKey=abc;IngestionEndpoint=http://dc.example.com";
    try {
      loadConfig({ ...MINIMAL, APPLICATIONINSIGHTS_CONNECTION_STRING: value });
      expect.unreachable("loadConfig accepted a malformed connection string");
    } catch (e) {
      const message = (e as Error).message;
      expect(message).toContain(
        "APPLICATIONINSIGHTS_CONNECTION_STRING must be InstrumentationKey=<guid>;IngestionEndpoint=https://…",
      );
      expect(message).not.toContain(value);
    }
  });
});

describe("the logger's telemetry sink", () => {
  it("receives the masked record, never a credential-named field's value", () => {
    const lines: string[] = [];
    const received: Parameters<LogSink>[0][] = [];
    const log = createLogger({ level: "info", write: (l) => lines.push(l), sink: (r) => received.push(r) });
    log
      .child({ component: "bot", clientSecret: "s3cret-in-base" })
      .warn("token refresh", { customer: "contoso", accessToken: "eyJ-token", nested: { password: "p4ss" } });
    log.debug("below the level");
    expect(received).toEqual([
      {
        level: "warn",
        msg: "token refresh",
        fields: {
          component: "bot",
          clientSecret: "[masked]",
          customer: "contoso",
          accessToken: "[masked]",
          nested: { password: "[masked]" },
        },
      },
    ]);
    expect(JSON.stringify(received)).not.toMatch(/s3cret-in-base|eyJ-token|p4ss/);
    expect(lines).toHaveLength(1);
  });

  it("a failing sink does not stop the JSON line", () => {
    const lines: string[] = [];
    const log = createLogger({
      level: "info",
      write: (l) => lines.push(l),
      sink: () => {
        throw new Error("exporter down");
      },
    });
    log.info("still written");
    expect(JSON.parse(lines[0]!).msg).toBe("still written");
  });
});
