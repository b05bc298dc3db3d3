// createUmpApiClient: the UmpSettingsApi port over fetch against the UMP-365 settings API (CONTRACT
// section 5). It waits out throttling within a budget, and translates problem+json answers into
// SyncbotError codes here, at the boundary, so nothing upstream sent (nor the secret we sent) travels on.
// A write is classified: a 4xx is a definite refusal; a 5xx, timeout or dropped connection leaves its
// outcome unknown (`outcome_unknown`: UMP may have applied it), and the caller must read UMP back.
// A 429 pauses every call of this client until its Retry-After has passed (one throttling state per service).

import { SyncbotError } from "../domain/errors";
import { ThrottleGate } from "../http/throttleGate";
import type { CallContext, Logger, UmpOperation, UmpSettings, UmpSettingsApi, UmpSyncAppPatch } from "../domain/ports";
import { describeNetworkError, neverSent, retryAfterMs } from "./describeNetworkError";
import { translateUmpError } from "./translateUmpError";

export interface UmpRetryOptions {
  /** HTTP attempts per call, the first one included (default 5, so at most 4 retries). */
  maxAttempts?: number;
  /** Total time a call may spend waiting between attempts (default 120 000 ms). */
  maxTotalWaitMs?: number;
}

export interface UmpApiClientOptions {
  /** Up to and including `/api/ump-adapter/v1`. */
  baseUrl: string;
  token?: string;
  /** Called before every attempt, so a managed-identity token can refresh between retries. */
  getToken?: () => Promise<string>;
  logger?: Logger;
  retry?: UmpRetryOptions;
  /** Injected by tests to skip real waits. */
  sleep?: (ms: number) => Promise<void>;
  /** Per-attempt timeout (default 30 000 ms); a timeout counts as a network error. */
  timeoutMs?: number;
}

type Method = "GET" | "PATCH" | "PUT";

interface UmpResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

const RETRYABLE_STATUSES = new Set([429, 503]);
const isWrite = (method: Method) => method !== "GET";
const DEFAULT_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createUmpApiClient(options: UmpApiClientOptions): UmpSettingsApi {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 5);
  const maxTotalWaitMs = options.retry?.maxTotalWaitMs ?? 120_000;
  const sleep = options.sleep ?? defaultSleep;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const logger = options.logger;
  if (options.token === undefined && options.getToken === undefined) {
    throw new SyncbotError("config_invalid", "UMP client needs a token or getToken");
  }
  const getToken = options.getToken ?? (async () => options.token as string);
  const gate = new ThrottleGate(sleep);

  interface Call {
    method: Method;
    /** Path below the base URL, already encoded. */
    path: string;
    /** A path with placeholders, for logs and messages (ids are not secret, but keep lines stable). */
    what: string;
    body?: unknown;
    etag?: string;
    idempotencyKey?: string;
    /** Values that must never appear in a message or log line. */
    secrets: readonly string[];
    ctx?: CallContext;
  }

  const fail = (call: Call, res: UmpResponse): never => {
    throw translateUmpError(call, res);
  };

  /**
   * One call with retries. 429/503 are waited out honouring Retry-After. Network errors are retried
   * for every method: reads are safe anyway, and every write carries an Idempotency-Key, so a write
   * repeated after a 503 or a lost answer is replayed by UMP rather than applied twice (a repeat
   * with a now-stale If-Match still gets the first answer).
   */
  const send = async (call: Call): Promise<UmpResponse> => {
    const url = baseUrl + call.path;
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    let waited = 0;
    // Whether an earlier attempt of this write may have been applied (no answer, or a 5xx).
    let uncertain = false;
    for (let attempt = 1; ; attempt++) {
      // Another call was told to back off: wait with it rather than collect a 429 of our own.
      if (gate.remainingMs() > 0) waited += await gate.wait();
      const headers: Record<string, string> = {
        Authorization: `Bearer ${await getToken()}`,
        Accept: "application/json",
        "Accept-Language": "en-US",
      };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (call.etag !== undefined) headers["If-Match"] = call.etag;
      if (call.idempotencyKey !== undefined) headers["Idempotency-Key"] = call.idempotencyKey;
      if (call.ctx?.correlationId) headers["x-correlation-id"] = call.ctx.correlationId;

      const started = Date.now();
      let res: UmpResponse | undefined;
      let networkError: unknown;
      try {
        const r = await fetch(url, { method: call.method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
        const text = await r.text();
        let parsed: unknown;
        try {
          parsed = text.length > 0 ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined; // a non-JSON body (proxy error page) is dropped, never echoed
        }
        res = { status: r.status, headers: r.headers, body: parsed };
      } catch (e) {
        networkError = e;
      }
      logger?.debug("ump request", {
        method: call.method,
        path: call.what,
        status: res?.status ?? 0,
        attempt,
        ms: Date.now() - started,
        correlationId: call.ctx?.correlationId,
      });

      const retryable = res === undefined || RETRYABLE_STATUSES.has(res.status);
      if (!retryable) {
        if (uncertain && isWrite(call.method) && res!.status >= 400) unknownOutcome(call, attempt, `${res!.status}`);
        return res as UmpResponse;
      }
      const status = res?.status ?? 0;
      if ((res === undefined && !neverSent(networkError)) || status >= 500) uncertain = true;
      const wait =
        (res && retryAfterMs(res.headers.get("retry-after"))) ??
        Math.min(DEFAULT_BACKOFF_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS);
      if (attempt >= maxAttempts || waited + wait > maxTotalWaitMs) {
        if (uncertain && isWrite(call.method))
          unknownOutcome(call, attempt, res ? `${status}` : describeNetworkError(networkError, call));
        if (res === undefined) {
          const reason = describeNetworkError(networkError, call);
          throw new SyncbotError(
            "upstream_failed",
            `UMP ${call.method} ${call.what}: unreachable after ${attempt} attempt(s) (${reason})`,
          );
        }
        throw new SyncbotError(
          "throttled",
          `UMP ${call.method} ${call.what}: still ${status} after ${attempt} attempt(s) and ${waited} ms of waiting`,
          { status, hint: "UMP is busy; try again later" },
        );
      }
      logger?.warn("ump retry", { method: call.method, path: call.what, status, attempt, waitMs: wait });
      call.ctx?.onRetry?.({ service: "ump", attempt, maxAttempts: maxAttempts - 1, waitMs: wait, status });
      if (res?.status === 429) {
        gate.pause(wait);
        waited += await gate.wait(true);
      } else {
        waited += wait;
        await sleep(wait);
      }
    }
  };

  /** A write whose last attempt got no definite answer: UMP may have applied it (or an earlier attempt). */
  const unknownOutcome = (call: Call, attempts: number, last: string): never => {
    throw new SyncbotError(
      "outcome_unknown",
      `UMP ${call.method} ${call.what}: no definite answer after ${attempts} attempt(s) (last: ${last}); it may have applied the write`,
      { hint: "read UMP back before deciding" },
    );
  };

  const requireEtag = (call: Call, res: UmpResponse): string => {
    const etag = res.headers.get("etag");
    if (!etag) throw new SyncbotError("upstream_failed", `UMP ${call.method} ${call.what}: answer without an ETag`);
    return etag;
  };

  const checkWriteArgs = (what: string, etag: string, idempotencyKey: string) => {
    // Without these UMP answers 428/400; refusing here keeps a caller bug from reaching UMP at all.
    if (etag.trim() === "") throw new SyncbotError("internal", `UMP ${what}: no ETag to send as If-Match`);
    if (idempotencyKey.trim() === "") throw new SyncbotError("internal", `UMP ${what}: no Idempotency-Key`);
  };

  const settingsPath = (instance: string) => `/instances/${encodeURIComponent(instance)}/system-settings`;

  return {
    async getSettings(instance, ctx) {
      const call: Call = {
        method: "GET",
        path: settingsPath(instance),
        what: settingsPath(instance),
        secrets: [],
        ctx,
      };
      const res = await send(call);
      if (res.status !== 200) fail(call, res);
      return { settings: res.body as UmpSettings, etag: requireEtag(call, res) };
    },

    async patchSyncApp(instance, etag, patch, idempotencyKey, ctx) {
      const what = `${settingsPath(instance)}/sync-app`;
      checkWriteArgs(`PATCH ${what}`, etag, idempotencyKey);
      // Only the fields given: an absent field means "leave as is" in UMP.
      const body: UmpSyncAppPatch = {};
      if (patch.clientId !== undefined) body.clientId = patch.clientId;
      if (patch.clientSecret !== undefined) body.clientSecret = patch.clientSecret;
      if (patch.clientSecretExpiresAt !== undefined) body.clientSecretExpiresAt = patch.clientSecretExpiresAt;
      if (patch.redirectUri !== undefined) body.redirectUri = patch.redirectUri;
      const call: Call = {
        method: "PATCH",
        path: what,
        what,
        body,
        etag,
        idempotencyKey,
        secrets: patch.clientSecret ? [patch.clientSecret] : [],
        ctx,
      };
      const res = await send(call);
      if (res.status !== 200) fail(call, res);
      return { settings: res.body as UmpSettings, etag: requireEtag(call, res) };
    },

    async putPortalUrl(instance, etag, value, idempotencyKey, ctx) {
      const what = `${settingsPath(instance)}/customer-authentication-portal-url`;
      checkWriteArgs(`PUT ${what}`, etag, idempotencyKey);
      const call: Call = { method: "PUT", path: what, what, body: { value }, etag, idempotencyKey, secrets: [], ctx };
      const res = await send(call);
      if (res.status !== 202 && res.status !== 200) fail(call, res);
      const operationId = (res.body as { operationId?: unknown } | undefined)?.operationId;
      if (typeof operationId !== "string" || operationId === "") {
        throw new SyncbotError("upstream_failed", `UMP PUT ${what}: answer without an operationId`, {
          status: res.status,
        });
      }
      return { operationId };
    },

    async getOperation(operationId, ctx): Promise<UmpOperation> {
      const path = `/operations/${encodeURIComponent(operationId)}`;
      const call: Call = { method: "GET", path, what: path, secrets: [], ctx };
      const res = await send(call);
      if (res.status !== 200) fail(call, res);
      const op = res.body as Partial<UmpOperation> | undefined;
      return {
        id: typeof op?.id === "string" ? op.id : operationId,
        status: op?.status ?? "InProgress",
        executionMessages: Array.isArray(op?.executionMessages) ? op.executionMessages.map(String) : [],
      };
    },
  };
}
