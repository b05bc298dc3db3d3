// The UMP adapter against the UMP emulator over real HTTP: reads, conditional and idempotent writes,
// throttling, error translation, operation polling, and that the secret never leaks anywhere.

import { createHash, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isSyncbotError, SyncbotError } from "../../src/domain/errors";
import type { Logger, RetryNotice } from "../../src/domain/ports";
import { createUmpApiClient, type UmpApiClientOptions } from "../../src/ump/createUmpApiClient";
import { startUmpEmulator, type UmpEmulator } from "../emulators/umpEmulator";

const TOKEN = "ump-test-token";
const CLIENT_ID = "11111111-2222-3333-4444-555555555555";
const REDIRECT = "https://acme.sp.example/authenticate/OAuth2Callback";
const PORTAL = "https://acme.sp.example/authenticate";

function captureLogger(lines: string[] = [], bound: Record<string, unknown> = {}): Logger & { lines: string[] } {
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(JSON.stringify({ level, msg, ...bound, ...fields }));
  };
  return {
    lines,
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    child: (fields) => captureLogger(lines, { ...bound, ...fields }),
  };
}

async function caught(p: Promise<unknown>): Promise<SyncbotError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SyncbotError) return e;
    throw e;
  }
  throw new Error("expected a SyncbotError, the call resolved");
}

const sha256Prefix = (v: string) => "sha256:" + createHash("sha256").update(v).digest("hex").slice(0, 16);

let emu: UmpEmulator;
let n = 0;
const newInstance = () => {
  const id = `ump-${++n}`;
  emu.addInstance(id);
  return id;
};
const key = () => randomUUID();

beforeAll(async () => {
  emu = await startUmpEmulator({ token: TOKEN, portalValidationPolls: 2 });
});
afterAll(async () => {
  await emu.close();
});
beforeEach(() => {
  emu.resetRequests();
});

function client(extra: Partial<UmpApiClientOptions> = {}) {
  return createUmpApiClient({ baseUrl: emu.url, token: TOKEN, sleep: async () => {}, ...extra });
}

describe("createUmpApiClient against the UMP emulator", () => {
  it("reads the settings with an ETag and sends the agreed headers", async () => {
    const instance = newInstance();
    const { settings, etag } = await client().getSettings(instance, { correlationId: "corr-1" });
    expect(etag).toMatch(/^".+"$/);
    expect(settings).toEqual({
      umpInstanceId: instance,
      revision: 1,
      syncApp: {
        clientId: null,
        redirectUri: null,
        clientSecret: { isSet: false, hint: null, fingerprint: null, version: 0, expiresAt: null },
      },
      customerAuthenticationPortalUrl: { value: null, validationStatus: "NotValidated" },
    });
    const [req] = emu.requests;
    expect(req?.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      accept: "application/json",
      "accept-language": "en-US",
      "x-correlation-id": "corr-1",
    });
  });

  it("answers not_found for an unknown instance and an unknown operation", async () => {
    expect((await caught(client().getSettings("nope"))).code).toBe("not_found");
    expect((await caught(client().getOperation("no-such-op"))).code).toBe("not_found");
  });

  it("patches with If-Match and Idempotency-Key, storing only the secret's fingerprint", async () => {
    const instance = newInstance();
    const secret = "Abc~" + randomUUID();
    const c = client();
    const { etag } = await c.getSettings(instance);
    const k = key();
    const out = await c.patchSyncApp(
      instance,
      etag,
      {
        clientId: CLIENT_ID,
        clientSecret: secret,
        clientSecretExpiresAt: "2027-01-31T00:00:00Z",
        redirectUri: REDIRECT,
      },
      k,
    );
    expect(out.etag).not.toBe(etag);
    expect(out.settings.revision).toBe(2);
    expect(out.settings.syncApp).toEqual({
      clientId: CLIENT_ID,
      redirectUri: REDIRECT,
      clientSecret: {
        isSet: true,
        hint: "Abc",
        fingerprint: sha256Prefix(secret),
        version: 1,
        expiresAt: "2027-01-31T00:00:00Z",
      },
    });
    const patch = emu.requests.find((r) => r.method === "PATCH");
    expect(patch?.headers["if-match"]).toBe(etag);
    expect(patch?.headers["idempotency-key"]).toBe(k);
    expect(patch?.headers["content-type"]).toBe("application/json");
    expect(patch?.body).toMatchObject({ clientSecret: "[redacted]", clientId: CLIENT_ID });
    expect(JSON.stringify(emu.requests) + JSON.stringify(emu.settings(instance))).not.toContain(secret);
  });

  it("fails with precondition_failed when the ETag is stale (an operator edited in UMP)", async () => {
    const instance = newInstance();
    const c = client();
    const { etag } = await c.getSettings(instance);
    emu.mutate(instance, (s) => {
      s.syncApp.clientId = "99999999-2222-3333-4444-555555555555";
    });
    const err = await caught(c.patchSyncApp(instance, etag, { clientId: CLIENT_ID }, key()));
    expect(err.code).toBe("precondition_failed");
    expect(err.status).toBe(412);
    expect(emu.settings(instance).syncApp.clientId).toBe("99999999-2222-3333-4444-555555555555");
  });

  it("cannot produce a 428: writes without an ETag are refused before any request, a 428 would be our bug", async () => {
    const instance = newInstance();
    const c = client();
    expect((await caught(c.patchSyncApp(instance, "", { clientId: CLIENT_ID }, key()))).code).toBe("internal");
    expect((await caught(c.putPortalUrl(instance, " ", PORTAL, key()))).code).toBe("internal");
    expect(emu.requests).toHaveLength(0);

    const { etag } = await c.getSettings(instance);
    await c.patchSyncApp(instance, etag, { clientId: CLIENT_ID }, key());
    expect(emu.requests.filter((r) => r.method !== "GET").every((r) => r.headers["if-match"])).toBe(true);
    expect(emu.requests.every((r) => r.status !== 428)).toBe(true);

    emu.injectFault({ status: 428, match: { method: "PATCH" } });
    const { etag: etag2 } = await c.getSettings(instance);
    expect((await caught(c.patchSyncApp(instance, etag2, { clientId: CLIENT_ID }, key()))).code).toBe("internal");
  });

  it("replays a PATCH retried after a 503 that came after UMP applied it: revision bumped once", async () => {
    const instance = newInstance();
    const notices: RetryNotice[] = [];
    const c = client();
    const { etag } = await c.getSettings(instance);
    emu.injectFault({ status: 503, retryAfterSeconds: 0, phase: "after", match: { method: "PATCH" } });
    const out = await c.patchSyncApp(instance, etag, { clientId: CLIENT_ID }, key(), {
      onRetry: (x) => notices.push(x),
    });
    const patches = emu.requests.filter((r) => r.method === "PATCH");
    expect(patches.map((r) => r.status)).toEqual([503, 200]);
    expect(patches[0]?.headers["idempotency-key"]).toBe(patches[1]?.headers["idempotency-key"]);
    // The retry carried the (by then stale) ETag and still got the first answer.
    expect(patches[1]?.headers["if-match"]).toBe(etag);
    expect(out.settings.revision).toBe(2);
    expect(emu.settings(instance).revision).toBe(2);
    expect(notices).toEqual([{ service: "ump", attempt: 1, maxAttempts: 4, waitMs: 0, status: 503 }]);
  });

  it("retries a PATCH refused with 503 before UMP applied it, applying it once", async () => {
    const instance = newInstance();
    const c = client();
    const { etag } = await c.getSettings(instance);
    emu.injectFault({ status: 503, count: 2, retryAfterSeconds: 0, match: { method: "PATCH" } });
    const out = await c.patchSyncApp(instance, etag, { clientId: CLIENT_ID }, key());
    expect(emu.requests.filter((r) => r.method === "PATCH").map((r) => r.status)).toEqual([503, 503, 200]);
    expect(out.settings.revision).toBe(2);
  });

  it("rejects reusing an Idempotency-Key for a different body (422)", async () => {
    const instance = newInstance();
    const c = client();
    const { etag } = await c.getSettings(instance);
    const k = key();
    await c.patchSyncApp(instance, etag, { clientId: CLIENT_ID }, k);
    const err = await caught(c.patchSyncApp(instance, etag, { redirectUri: REDIRECT }, k));
    expect(err.code).toBe("upstream_rejected");
    expect(err.status).toBe(422);
    expect(emu.settings(instance).revision).toBe(2);
  });

  it("waits out 429 with Retry-After: 0 and reports each wait through onRetry", async () => {
    const instance = newInstance();
    const notices: RetryNotice[] = [];
    // Real sleeps here: Retry-After 0 must not cost time.
    const c = createUmpApiClient({ baseUrl: emu.url, token: TOKEN });
    emu.injectFault({ status: 429, count: 2, retryAfterSeconds: 0, match: { method: "GET" } });
    const started = Date.now();
    const { settings } = await c.getSettings(instance, { onRetry: (x) => notices.push(x) });
    expect(settings.umpInstanceId).toBe(instance);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(notices).toEqual([
      { service: "ump", attempt: 1, maxAttempts: 4, waitMs: 0, status: 429 },
      { service: "ump", attempt: 2, maxAttempts: 4, waitMs: 0, status: 429 },
    ]);
    expect(emu.requests.map((r) => r.status)).toEqual([429, 429, 200]);
  });

  it("gives up with throttled when the attempts run out", async () => {
    const instance = newInstance();
    const waits: number[] = [];
    const notices: RetryNotice[] = [];
    const c = client({ retry: { maxAttempts: 3 }, sleep: async (ms) => void waits.push(ms) });
    // Scoped to this instance so the unused faults cannot hit the next tests.
    emu.injectFault({ status: 429, count: 10, retryAfterSeconds: 7, match: { pathIncludes: instance } });
    const err = await caught(c.getSettings(instance, { onRetry: (x) => notices.push(x) }));
    expect(err.code).toBe("throttled");
    expect(err.status).toBe(429);
    expect(waits).toEqual([7000, 7000]);
    expect(notices.map((x) => [x.attempt, x.maxAttempts])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(emu.requests).toHaveLength(3);
  });

  it("gives up with throttled, without waiting, when Retry-After exceeds the wait budget", async () => {
    const instance = newInstance();
    const waits: number[] = [];
    const c = client({ retry: { maxTotalWaitMs: 120_000 }, sleep: async (ms) => void waits.push(ms) });
    emu.injectFault({ status: 503, count: 3, retryAfterSeconds: 100, match: { pathIncludes: instance } });
    const err = await caught(c.getSettings(instance));
    expect(err.code).toBe("throttled");
    expect(waits).toEqual([100_000]);
    expect(emu.requests).toHaveLength(2);
  });

  it("translates a 400 for a malformed GUID into upstream_rejected with UMP's words", async () => {
    const instance = newInstance();
    const c = client();
    const { etag } = await c.getSettings(instance);
    const err = await caught(c.patchSyncApp(instance, etag, { clientId: "not-a-guid" }, key()));
    expect(err.code).toBe("upstream_rejected");
    expect(err.status).toBe(400);
    expect(err.message).toContain("Invalid clientId");
    expect(err.upstreamCode).toMatch(/invalid-client-id$/);
    expect(emu.settings(instance).revision).toBe(1);
  });

  it("translates a 500 into upstream_failed without retrying", async () => {
    const instance = newInstance();
    emu.injectFault({ status: 500, match: { pathIncludes: instance } });
    const err = await caught(client().getSettings(instance));
    expect(err.code).toBe("upstream_failed");
    expect(emu.requests).toHaveLength(1);
  });

  it("translates a 422 for a portal host that differs from the redirect URI's", async () => {
    const instance = newInstance();
    const c = client();
    let { etag } = await c.getSettings(instance);
    // No redirect URI yet: refused too.
    expect((await caught(c.putPortalUrl(instance, etag, PORTAL, key()))).status).toBe(422);
    ({ etag } = await c.patchSyncApp(instance, etag, { redirectUri: REDIRECT }, key()));
    const err = await caught(c.putPortalUrl(instance, etag, "https://other.sp.example/authenticate", key()));
    expect(err.code).toBe("upstream_rejected");
    expect(err.status).toBe(422);
    expect(err.message).toContain("other.sp.example");
    expect(emu.settings(instance).customerAuthenticationPortalUrl).toEqual({
      value: null,
      validationStatus: "NotValidated",
    });
  });

  it("updates the portal URL and polls the operation to CompletedSuccess", async () => {
    const instance = newInstance();
    const c = client();
    let { etag } = await c.getSettings(instance);
    ({ etag } = await c.patchSyncApp(instance, etag, { redirectUri: REDIRECT }, key()));
    const { operationId } = await c.putPortalUrl(instance, etag, PORTAL, key());
    expect(emu.settings(instance).customerAuthenticationPortalUrl).toEqual({
      value: PORTAL,
      validationStatus: "InProgress",
    });
    const statuses: string[] = [];
    for (let i = 0; i < 10; i++) {
      const op = await c.getOperation(operationId);
      statuses.push(op.status);
      if (op.status !== "InProgress") break;
    }
    expect(statuses).toEqual(["InProgress", "InProgress", "CompletedSuccess"]);
    expect(emu.settings(instance).customerAuthenticationPortalUrl.validationStatus).toBe("Valid");
    expect(emu.settings(instance).revision).toBe(3);
  });

  it("polls a failing validation to CompletedFailed with UMP's message", async () => {
    const instance = newInstance();
    const c = client();
    let { etag } = await c.getSettings(instance);
    ({ etag } = await c.patchSyncApp(instance, etag, { redirectUri: REDIRECT }, key()));
    emu.failNextPortalValidation(instance, "The portal did not answer over TLS.");
    const { operationId } = await c.putPortalUrl(instance, etag, PORTAL, key());
    let op = await c.getOperation(operationId);
    while (op.status === "InProgress") op = await c.getOperation(operationId);
    expect(op.status).toBe("CompletedFailed");
    expect(op.executionMessages).toContain("The portal did not answer over TLS.");
    expect(emu.settings(instance).customerAuthenticationPortalUrl.validationStatus).toBe("Invalid");
  });

  it("answers upstream_rejected with a UMP_TOKEN hint for a wrong token", async () => {
    const instance = newInstance();
    const err = await caught(createUmpApiClient({ baseUrl: emu.url, token: "wrong" }).getSettings(instance));
    expect(err.code).toBe("upstream_rejected");
    expect(err.status).toBe(401);
    expect(err.hint).toBe("check UMP_TOKEN");
  });

  it("asks getToken before every attempt", async () => {
    const instance = newInstance();
    let calls = 0;
    const getToken = async () => {
      calls += 1;
      return TOKEN;
    };
    const c = createUmpApiClient({ baseUrl: emu.url, getToken, sleep: async () => {} });
    emu.injectFault({ status: 503, retryAfterSeconds: 0, match: { pathIncludes: instance } });
    await c.getSettings(instance);
    expect(calls).toBe(2);
  });

  it("retries network errors and then fails with upstream_failed", async () => {
    // A port that was just free: connections are refused.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const notices: RetryNotice[] = [];
    const c = createUmpApiClient({
      baseUrl: `http://127.0.0.1:${port}/api/ump-adapter/v1`,
      token: TOKEN,
      retry: { maxAttempts: 2 },
      sleep: async () => {},
    });
    const err = await caught(c.getSettings("x", { onRetry: (x) => notices.push(x) }));
    expect(err.code).toBe("upstream_failed");
    expect(notices).toEqual([{ service: "ump", attempt: 1, maxAttempts: 1, waitMs: 1000, status: 0 }]);
  });

  describe("a write's outcome: definite refusal or unknown (UMP may have applied it)", () => {
    const patchWith = async (
      fault: Parameters<UmpEmulator["injectFault"]>[0],
      opts: Partial<UmpApiClientOptions> = {},
    ) => {
      const instance = newInstance();
      const c = client({ timeoutMs: 200, ...opts });
      const { etag } = await c.getSettings(instance);
      emu.injectFault({ count: 20, ...fault, match: { method: "PATCH", pathIncludes: instance } });
      const err = await caught(c.patchSyncApp(instance, etag, { clientId: CLIENT_ID }, key()));
      emu.clearFaults();
      return { err, applied: emu.settings(instance).syncApp.clientId === CLIENT_ID };
    };

    for (const status of [500, 502, 504]) {
      it(`${status} after the write was applied: outcome_unknown, not retried`, async () => {
        const { err, applied } = await patchWith({ status, phase: "after" });
        expect(applied).toBe(true);
        expect(err.code).toBe("outcome_unknown");
        expect(err.status).toBe(status);
        expect(emu.requests.filter((r) => r.method === "PATCH")).toHaveLength(1);
      });
    }

    it("a dropped connection and a hanging UMP: retried (replays), then outcome_unknown", async () => {
      const reset = await patchWith({ status: 0, mode: "reset", phase: "after" }, { retry: { maxAttempts: 3 } });
      expect(reset.applied).toBe(true);
      expect(reset.err.code).toBe("outcome_unknown");
      const hang = await patchWith({ status: 0, mode: "hang", phase: "before" }, { retry: { maxAttempts: 2 } });
      expect(hang.applied).toBe(false);
      expect(hang.err.code).toBe("outcome_unknown");
      expect(hang.err.message).toMatch(/timed out/);
    });

    it("4xx, 429 beyond the budget, 501 and a refused connection are definite; reads never say outcome_unknown", async () => {
      for (const status of [400, 409, 422]) expect((await patchWith({ status })).err.code).toBe("upstream_rejected");
      expect((await patchWith({ status: 429, retryAfterSeconds: 0 }, { retry: { maxAttempts: 2 } })).err.code).toBe(
        "throttled",
      );
      expect((await patchWith({ status: 501 })).err.code).toBe("upstream_failed");
      const refused = createUmpApiClient({
        baseUrl: "http://127.0.0.1:1/api/ump-adapter/v1",
        token: TOKEN,
        retry: { maxAttempts: 2 },
        sleep: async () => {},
      });
      expect((await caught(refused.patchSyncApp("x", '"e"', { clientId: CLIENT_ID }, key()))).code).toBe(
        "upstream_failed",
      );
      const instance = newInstance();
      emu.injectFault({ status: 502, match: { method: "GET", pathIncludes: instance } });
      expect((await caught(client().getSettings(instance))).code).toBe("upstream_failed");
    });
  });

  it("never lets the secret reach an error, a log line or a recorded request, whatever fails", async () => {
    const secret = "S3cr~" + randomUUID() + "~value";
    const lines: string[] = [];
    const logger = captureLogger(lines);
    const errors: unknown[] = [];
    const c = client({ logger, retry: { maxAttempts: 2 } });
    const attempt = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };

    const instance = newInstance();
    const { etag } = await c.getSettings(instance);
    // 400: the GUID is malformed, the secret rides along.
    await attempt(() => c.patchSyncApp(instance, etag, { clientId: "bad", clientSecret: secret }, key()));
    // 400: bad date and a non-https redirect.
    await attempt(() =>
      c.patchSyncApp(
        instance,
        etag,
        { clientSecret: secret, clientSecretExpiresAt: "soon", redirectUri: "http://x" },
        key(),
      ),
    );
    // 412: stale ETag.
    emu.mutate(instance, () => {});
    await attempt(() => c.patchSyncApp(instance, etag, { clientSecret: secret }, key()));
    const fresh = (await c.getSettings(instance)).etag;
    // 503 beyond the budget, then 500.
    emu.injectFault({ status: 503, count: 2, retryAfterSeconds: 0, match: { method: "PATCH" } });
    await attempt(() => c.patchSyncApp(instance, fresh, { clientSecret: secret }, key()));
    emu.injectFault({ status: 500, match: { method: "PATCH" } });
    await attempt(() => c.patchSyncApp(instance, fresh, { clientSecret: secret }, key()));
    // 401 with a wrong token, and an unreachable UMP.
    await attempt(() =>
      createUmpApiClient({ baseUrl: emu.url, token: "wrong", logger }).patchSyncApp(
        instance,
        fresh,
        { clientSecret: secret },
        key(),
      ),
    );
    await attempt(() =>
      createUmpApiClient({
        baseUrl: "http://127.0.0.1:1/api/ump-adapter/v1",
        token: TOKEN,
        logger,
        retry: { maxAttempts: 1 },
      }).patchSyncApp(instance, fresh, { clientSecret: secret }, key()),
    );
    // And the success path.
    const ok = await c.patchSyncApp(instance, fresh, { clientSecret: secret }, key());
    expect(ok.settings.syncApp.clientSecret.fingerprint).toBe(sha256Prefix(secret));

    expect(errors).toHaveLength(7);
    expect(errors.every((e) => isSyncbotError(e))).toBe(true);
    expect(errors.map((e) => (e as SyncbotError).code)).toEqual([
      "upstream_rejected",
      "upstream_rejected",
      "precondition_failed",
      "outcome_unknown",
      "outcome_unknown",
      "upstream_rejected",
      "upstream_failed",
    ]);
    const everything = [
      ...errors.map((e) => {
        const err = e as SyncbotError;
        return [err.message, err.stack, err.hint, err.upstreamCode, JSON.stringify(err), String(err.cause)].join("\n");
      }),
      ...lines,
      JSON.stringify(emu.requests),
      JSON.stringify(emu.settings(instance)),
    ].join("\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(secret.slice(5));
  });
});
