// What an outbound call's telemetry may carry: the correlation id (from the header syncbot sends, or
// the running request's scope) and no hand-off token or credential-like query value.

import { describe, expect, it } from "vitest";
import { withCorrelationId } from "../../src/correlationScope";
import { correlationIdOf, headerOf, redact, redactAttributes } from "../../src/telemetryAttributes";

describe("telemetry attributes of outbound calls", () => {
  it("reads the correlation id from undici's header list, a raw header block, or node's getHeader", () => {
    expect(correlationIdOf(["accept", "application/json", "client-request-id", "run-1"])).toBe("run-1");
    expect(correlationIdOf("Accept: */*\r\nX-Correlation-Id: run-2\r\n")).toBe("run-2");
    expect(correlationIdOf((n) => (n === "client-request-id" ? ["run-3"] : undefined))).toBe("run-3");
    expect(headerOf(["Authorization", "Bearer t"], "client-request-id")).toBeUndefined();
  });

  it("falls back to the running request's scope (card updates), and to nothing outside one", async () => {
    expect(correlationIdOf([])).toBeUndefined();
    const seen = await withCorrelationId("run-4", async () => {
      await new Promise((r) => setTimeout(r, 1));
      return correlationIdOf(["content-type", "application/json"]);
    });
    expect(seen).toBe("run-4");
    // The request's own header wins over the scope.
    expect(withCorrelationId("run-4", () => correlationIdOf(["x-correlation-id", "run-5"]))).toBe("run-5");
  });

  it("masks hand-off tokens and credential-like query values, and leaves the rest", () => {
    expect(redact("https://bot.example.net/handoff/abc123?x=1")).toBe("https://bot.example.net/handoff/[masked]?x=1");
    expect(redact("https://login.example.net/t/oauth2/v2.0/token?client_secret=s3cr3t&scope=x")).toBe(
      "https://login.example.net/t/oauth2/v2.0/token?client_secret=[masked]&scope=x",
    );
    expect(redact("https://h/api?sig=abc&api-version=1&access_token=zz")).toBe(
      "https://h/api?sig=[masked]&api-version=1&access_token=[masked]",
    );
    const graph = "https://graph.microsoft.com/v1.0/applications(uniqueName='syncbot-contoso')/addPassword";
    expect(redact(graph)).toBe(graph);
    const set: Record<string, string> = {};
    redactAttributes({ "url.full": "https://h/handoff/tok", "http.method": "GET", n: 3 }, (k, v) => {
      set[k] = v;
    });
    expect(set).toEqual({ "url.full": "https://h/handoff/[masked]" });
  });
});
