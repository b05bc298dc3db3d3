// startUmpEmulator: the AudioCodes UMP-365 settings API of CONTRACT section 5 over real HTTP on loopback,
// for integration tests, e2e tests and `npm run dev`. It keeps the secret only as the fingerprint UMP
// shows (never the value), records every request with the secret redacted, and lets a test inject
// faults, latency and operator edits made in UMP's own UI.

import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const UMP_API_ROOT = "/api/ump-adapter/v1";

export interface UmpSettingsDoc {
  umpInstanceId: string;
  revision: number;
  syncApp: {
    clientId: string | null;
    redirectUri: string | null;
    clientSecret: {
      isSet: boolean;
      hint: string | null;
      fingerprint: string | null;
      version: number;
      expiresAt: string | null;
    };
  };
  customerAuthenticationPortalUrl: { value: string | null; validationStatus: string };
}

export interface RecordedRequest {
  method: string;
  /** Path below the host, including the API root and any query string. */
  path: string;
  headers: Record<string, string>;
  /** Parsed JSON body (any `clientSecret` replaced by "[redacted]"), or undefined when there was none. */
  body: unknown;
  /** 0 when an injected fault dropped the connection or left it hanging. */
  status: number;
  at: number;
}

export interface UmpFault {
  /** The status answered (mode "answer"); ignored by "reset" and "hang" (give any, e.g. 0). */
  status: number;
  /**
   * "answer" (default): answer `status`. "reset": destroy the connection without an answer (a dropped
   * connection, ECONNRESET). "hang": never answer (the client's timeout decides). With phase "after"
   * the write is applied first, so the client cannot know whether it was.
   */
  mode?: "answer" | "reset" | "hang";
  /** How many matching requests fail (default 1). */
  count?: number;
  /** Sent as `Retry-After`; 429 and 503 faults always carry one (default 1 second). */
  retryAfterSeconds?: number;
  match?: { method?: string; pathIncludes?: string };
  /**
   * "before" (default): the request fails without any effect, as a throttling gateway would answer.
   * "after": the request is applied (and its idempotent answer stored) but the client gets the fault,
   * as when a proxy times out after the backend committed; the retry must then be a replay.
   */
  phase?: "before" | "after";
}

/**
 * Test hook, called for every request before it is handled ("before") and after it was applied but
 * before the answer is sent ("after"). A returned promise holds the request until it settles.
 */
export type UmpRequestHook = (r: {
  method: string;
  path: string;
  phase: "before" | "after";
  status?: number;
}) => void | Promise<void>;

export interface UmpEmulatorOptions {
  port?: number;
  token: string;
  instances?: string[];
  /** GETs of an operation that still answer InProgress before it completes (default 1). */
  portalValidationPolls?: number;
  latencyMs?: number;
}

export interface UmpEmulator {
  /** The UMP_BASE_URL: `http://127.0.0.1:PORT/api/ump-adapter/v1`. */
  url: string;
  close(): Promise<void>;
  requests: RecordedRequest[];
  resetRequests(): void;
  addInstance(id: string): void;
  settings(instance: string): UmpSettingsDoc;
  injectFault(fault: UmpFault): void;
  setLatency(ms: number): void;
  /** An operator editing in UMP's UI: applies fn, then bumps revision and ETag. */
  mutate(instance: string, fn: (settings: UmpSettingsDoc) => void): void;
  failNextPortalValidation(instance: string, message: string): void;
  onRequest(hook: UmpRequestHook | null): void;
  clearFaults(): void;
}

interface Operation {
  id: string;
  instance: string;
  pollsLeft: number;
  failure: string | null;
  status: "InProgress" | "CompletedSuccess" | "CompletedFailed";
  executionMessages: string[];
}

interface StoredAnswer {
  requestHash: string;
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Injected: drop the connection or never answer instead of sending this. */
  cut?: "reset" | "hang";
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const SYNC_APP_FIELDS = new Set(["clientId", "clientSecret", "clientSecretExpiresAt", "redirectUri"]);

export function secretFingerprint(value: string): string {
  return "sha256:" + createHash("sha256").update(value, "utf8").digest("hex").slice(0, 16);
}

function emptySettings(instance: string): UmpSettingsDoc {
  return {
    umpInstanceId: instance,
    revision: 1,
    syncApp: {
      clientId: null,
      redirectUri: null,
      clientSecret: { isSet: false, hint: null, fingerprint: null, version: 0, expiresAt: null },
    },
    customerAuthenticationPortalUrl: { value: null, validationStatus: "NotValidated" },
  };
}

function etagOf(doc: UmpSettingsDoc): string {
  return `"${doc.umpInstanceId}-r${doc.revision}"`;
}

function problem(status: number, slug: string, title: string, detail: string): Answer {
  return {
    status,
    headers: { "content-type": "application/problem+json" },
    body: { type: `https://ump.example/problems/${slug}`, title, status, detail },
  };
}

function redact(body: unknown): unknown {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return body;
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  if ("clientSecret" in copy) copy.clientSecret = "[redacted]";
  return copy;
}

/** Canonical form of a request for idempotency comparison (sorted keys; hashed, so no secret is kept). */
function requestHash(method: string, path: string, body: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (Array.isArray(v)) return v.map(canonical);
    const obj = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .map((k) => [k, canonical(obj[k])]),
    );
  };
  return createHash("sha256")
    .update(method + " " + path + " " + JSON.stringify(canonical(body)))
    .digest("hex");
}

function isHttpsUrl(v: unknown): v is string {
  if (typeof v !== "string") return false;
  try {
    return new URL(v).protocol === "https:";
  } catch {
    return false;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function startUmpEmulator(opts: UmpEmulatorOptions): Promise<UmpEmulator> {
  const instances = new Map<string, UmpSettingsDoc>();
  const operations = new Map<string, Operation>();
  const idempotency = new Map<string, StoredAnswer>();
  const pendingValidationFailures = new Map<string, string>();
  const faults: Array<Required<Pick<UmpFault, "status" | "count" | "phase" | "mode">> & UmpFault> = [];
  const requests: RecordedRequest[] = [];
  const polls = opts.portalValidationPolls ?? 1;
  let latencyMs = opts.latencyMs ?? 0;
  let requestHook: UmpRequestHook | null = null;

  const addInstance = (id: string) => {
    if (!instances.has(id)) instances.set(id, emptySettings(id));
  };
  for (const id of opts.instances ?? []) addInstance(id);

  const takeFault = (method: string, path: string, phase: "before" | "after") => {
    const i = faults.findIndex(
      (f) =>
        f.phase === phase &&
        (f.match?.method === undefined || f.match.method.toUpperCase() === method) &&
        (f.match?.pathIncludes === undefined || path.includes(f.match.pathIncludes)),
    );
    if (i < 0) return null;
    const fault = faults[i]!;
    fault.count -= 1;
    if (fault.count <= 0) faults.splice(i, 1);
    const answer = problem(
      fault.status,
      "injected-fault",
      fault.status === 429 ? "Too Many Requests" : "Injected fault",
      `The emulator was told to answer ${fault.status}.`,
    );
    const retryAfter = fault.retryAfterSeconds ?? (fault.status === 429 || fault.status === 503 ? 1 : undefined);
    if (retryAfter !== undefined) answer.headers = { ...answer.headers, "retry-after": String(retryAfter) };
    if (fault.mode !== "answer") answer.cut = fault.mode;
    return answer;
  };

  const settingsAnswer = (doc: UmpSettingsDoc, status = 200): Answer => ({
    status,
    headers: { "content-type": "application/json", etag: etagOf(doc) },
    body: structuredClone(doc),
  });

  /** The If-Match / Idempotency-Key rules shared by both writes; returns an answer when the write must stop. */
  const writePreconditions = (
    req: IncomingMessage,
    doc: UmpSettingsDoc,
    hash: string,
  ): { stop: Answer } | { key: string } => {
    const key = req.headers["idempotency-key"];
    if (typeof key !== "string" || key.trim() === "") {
      return {
        stop: problem(
          400,
          "idempotency-key-required",
          "Idempotency-Key required",
          "Writes need an Idempotency-Key header.",
        ),
      };
    }
    const stored = idempotency.get(key);
    if (stored) {
      if (stored.requestHash !== hash) {
        return {
          stop: problem(
            422,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            "This Idempotency-Key was already used with a different request.",
          ),
        };
      }
      // A replay answers exactly as the first time, even though If-Match is stale by now.
      return {
        stop: {
          status: stored.status,
          headers: { ...stored.headers, "idempotent-replayed": "true" },
          body: stored.body,
        },
      };
    }
    const ifMatch = req.headers["if-match"];
    if (typeof ifMatch !== "string" || ifMatch === "") {
      return {
        stop: problem(428, "precondition-required", "Precondition Required", "Writes need an If-Match header."),
      };
    }
    if (ifMatch !== "*" && ifMatch !== etagOf(doc)) {
      return {
        stop: problem(
          412,
          "precondition-failed",
          "Precondition Failed",
          `The settings changed since they were read (current revision ${doc.revision}).`,
        ),
      };
    }
    return { key };
  };

  const patchSyncApp = (req: IncomingMessage, doc: UmpSettingsDoc, path: string, body: unknown): Answer => {
    const pre = writePreconditions(req, doc, requestHash("PATCH", path, body));
    if ("stop" in pre) return pre.stop;
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      return problem(400, "invalid-body", "Invalid body", "The body must be a JSON object.");
    }
    const patch = body as Record<string, unknown>;
    const keys = Object.keys(patch);
    const unknown = keys.filter((k) => !SYNC_APP_FIELDS.has(k));
    if (unknown.length > 0) {
      return problem(400, "unknown-field", "Unknown field", `Unknown field(s): ${unknown.join(", ")}.`);
    }
    if (keys.length === 0) return problem(400, "empty-patch", "Nothing to change", "The body names no field.");
    if ("clientId" in patch && (typeof patch.clientId !== "string" || !GUID.test(patch.clientId))) {
      return problem(400, "invalid-client-id", "Invalid clientId", "clientId must be a GUID.");
    }
    // The detail never repeats the value: it might be a secret pasted into the wrong field.
    if ("clientSecret" in patch && (typeof patch.clientSecret !== "string" || patch.clientSecret.length === 0)) {
      return problem(400, "invalid-client-secret", "Invalid clientSecret", "clientSecret must be a non-empty string.");
    }
    if (
      "clientSecretExpiresAt" in patch &&
      (typeof patch.clientSecretExpiresAt !== "string" ||
        !ISO_DATE.test(patch.clientSecretExpiresAt) ||
        Number.isNaN(Date.parse(patch.clientSecretExpiresAt)))
    ) {
      return problem(
        400,
        "invalid-date",
        "Invalid clientSecretExpiresAt",
        "clientSecretExpiresAt must be an ISO 8601 date.",
      );
    }
    if ("redirectUri" in patch && !isHttpsUrl(patch.redirectUri)) {
      return problem(400, "invalid-redirect-uri", "Invalid redirectUri", "redirectUri must be an absolute https URL.");
    }
    const app = doc.syncApp;
    if (typeof patch.clientId === "string") app.clientId = patch.clientId;
    if (typeof patch.redirectUri === "string") app.redirectUri = patch.redirectUri;
    if (typeof patch.clientSecret === "string") {
      // Only what UMP's page shows is kept; the value itself is dropped here.
      app.clientSecret = {
        isSet: true,
        hint: patch.clientSecret.slice(0, 3),
        fingerprint: secretFingerprint(patch.clientSecret),
        version: app.clientSecret.version + 1,
        expiresAt: app.clientSecret.expiresAt,
      };
    }
    if (typeof patch.clientSecretExpiresAt === "string") app.clientSecret.expiresAt = patch.clientSecretExpiresAt;
    doc.revision += 1;
    const answer = settingsAnswer(doc);
    idempotency.set(pre.key, {
      requestHash: requestHash("PATCH", path, body),
      status: answer.status,
      headers: answer.headers ?? {},
      body: answer.body,
    });
    return answer;
  };

  const putPortalUrl = (req: IncomingMessage, doc: UmpSettingsDoc, path: string, body: unknown): Answer => {
    const hash = requestHash("PUT", path, body);
    const pre = writePreconditions(req, doc, hash);
    if ("stop" in pre) return pre.stop;
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      return problem(400, "invalid-body", "Invalid body", "The body must be a JSON object { value }.");
    }
    const b = body as Record<string, unknown>;
    const unknown = Object.keys(b).filter((k) => k !== "value");
    if (unknown.length > 0)
      return problem(400, "unknown-field", "Unknown field", `Unknown field(s): ${unknown.join(", ")}.`);
    if (!isHttpsUrl(b.value)) return problem(400, "invalid-url", "Invalid URL", "value must be an absolute https URL.");
    const redirectHost = doc.syncApp.redirectUri ? new URL(doc.syncApp.redirectUri).host : null;
    const host = new URL(b.value).host;
    if (redirectHost !== host) {
      return problem(
        422,
        "portal-host-mismatch",
        "Portal host mismatch",
        redirectHost === null
          ? "Set the sync app's redirect URI before the Customer Authentication Portal URL."
          : `The portal URL's host ${host} differs from the redirect URI's host ${redirectHost}.`,
      );
    }
    doc.customerAuthenticationPortalUrl = { value: b.value, validationStatus: "InProgress" };
    doc.revision += 1;
    const failure = pendingValidationFailures.get(doc.umpInstanceId) ?? null;
    pendingValidationFailures.delete(doc.umpInstanceId);
    const id = randomUUID();
    operations.set(id, {
      id,
      instance: doc.umpInstanceId,
      pollsLeft: polls,
      failure,
      status: "InProgress",
      executionMessages: ["Validation started."],
    });
    const answer: Answer = {
      status: 202,
      headers: {
        "content-type": "application/json",
        etag: etagOf(doc),
        location: `${UMP_API_ROOT}/operations/${id}`,
      },
      body: { operationId: id },
    };
    idempotency.set(pre.key, {
      requestHash: hash,
      status: answer.status,
      headers: answer.headers ?? {},
      body: answer.body,
    });
    return answer;
  };

  const getOperation = (id: string): Answer => {
    const op = operations.get(id);
    if (!op) return problem(404, "not-found", "Not Found", `No operation ${id}.`);
    if (op.status === "InProgress") {
      if (op.pollsLeft > 0) {
        op.pollsLeft -= 1;
      } else {
        const doc = instances.get(op.instance);
        if (op.failure !== null) {
          op.status = "CompletedFailed";
          op.executionMessages.push(op.failure);
        } else {
          op.status = "CompletedSuccess";
          op.executionMessages.push("The Customer Authentication Portal URL is reachable.");
        }
        // A validation outcome is server-side state, not an edit: it does not bump the revision, so a
        // writer holding the ETag from its PUT can carry on.
        if (doc && doc.customerAuthenticationPortalUrl.validationStatus === "InProgress") {
          doc.customerAuthenticationPortalUrl.validationStatus = op.status === "CompletedSuccess" ? "Valid" : "Invalid";
        }
      }
    }
    return {
      status: 200,
      headers: { "content-type": "application/json" },
      body: { id: op.id, status: op.status, executionMessages: [...op.executionMessages] },
    };
  };

  const route = async (req: IncomingMessage, path: string, body: unknown, bodyError: boolean): Promise<Answer> => {
    const method = req.method ?? "GET";
    if (req.headers.authorization !== `Bearer ${opts.token}`) {
      return problem(401, "unauthorized", "Unauthorized", "A valid bearer token is required.");
    }
    const before = takeFault(method, path, "before");
    if (before) return before;
    if (bodyError) return problem(400, "invalid-json", "Invalid JSON", "The body is not valid JSON.");

    const pathname = path.split("?")[0] ?? "";
    if (!pathname.startsWith(UMP_API_ROOT + "/")) return problem(404, "not-found", "Not Found", "No such resource.");
    const parts = pathname
      .slice(UMP_API_ROOT.length + 1)
      .split("/")
      .map((p) => decodeURIComponent(p));

    if (parts[0] === "operations" && parts.length === 2) {
      if (method !== "GET")
        return problem(405, "method-not-allowed", "Method Not Allowed", `${method} is not allowed here.`);
      return getOperation(parts[1]!);
    }
    if (parts[0] !== "instances" || parts[2] !== "system-settings" || parts.length < 3 || parts.length > 4) {
      return problem(404, "not-found", "Not Found", "No such resource.");
    }
    const doc = instances.get(parts[1]!);
    if (!doc) return problem(404, "instance-not-found", "Not Found", `No UMP instance ${parts[1]}.`);
    const sub = parts[3];
    if (sub === undefined && method === "GET") return settingsAnswer(doc);
    if (sub === "sync-app" && method === "PATCH") return patchSyncApp(req, doc, pathname, body);
    if (sub === "customer-authentication-portal-url" && method === "PUT") return putPortalUrl(req, doc, pathname, body);
    if (sub === undefined || sub === "sync-app" || sub === "customer-authentication-portal-url") {
      return problem(405, "method-not-allowed", "Method Not Allowed", `${method} is not allowed here.`);
    }
    return problem(404, "not-found", "Not Found", "No such resource.");
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const at = Date.now();
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const raw = await readBody(req);
    let body: unknown;
    let bodyError = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        bodyError = true;
      }
    }
    if (latencyMs > 0) await sleep(latencyMs);
    if (requestHook) await requestHook({ method, path, phase: "before" });
    let answer = await route(req, path, body, bodyError);
    // "after" faults hit only requests that got through (the write is applied, the answer is lost).
    if (answer.status < 400 && !answer.cut) answer = takeFault(method, path, "after") ?? answer;

    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    }
    requests.push({
      method,
      path,
      headers,
      body: bodyError ? "[invalid json]" : redact(body),
      status: answer.cut ? 0 : answer.status,
      at,
    });

    if (requestHook) await requestHook({ method, path, phase: "after", status: answer.status });
    if (answer.cut === "reset") return void req.socket.destroy();
    // Held until the client gives up (its socket closes) or the emulator closes.
    if (answer.cut === "hang") return;
    const payload = answer.body === undefined ? "" : JSON.stringify(answer.body);
    res.writeHead(answer.status, answer.headers ?? {});
    res.end(payload);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // Only an emulator bug lands here; answer something rather than hang the client.
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ type: "about:blank", title: "Emulator error", status: 500, detail: "" }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const mustGet = (instance: string) => {
    const doc = instances.get(instance);
    if (!doc) throw new Error(`umpEmulator: unknown instance ${instance}`);
    return doc;
  };

  return {
    url: `http://127.0.0.1:${port}${UMP_API_ROOT}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
    requests,
    resetRequests: () => {
      requests.length = 0;
    },
    addInstance,
    settings: (instance) => structuredClone(mustGet(instance)),
    injectFault: (fault) => {
      faults.push({ ...fault, count: fault.count ?? 1, phase: fault.phase ?? "before", mode: fault.mode ?? "answer" });
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    mutate: (instance, fn) => {
      const doc = mustGet(instance);
      const revision = doc.revision;
      fn(doc);
      doc.umpInstanceId = instance;
      doc.revision = revision + 1;
    },
    failNextPortalValidation: (instance, message) => {
      mustGet(instance);
      pendingValidationFailures.set(instance, message);
    },
    onRequest: (hook) => {
      requestHook = hook;
    },
    clearFaults: () => {
      faults.length = 0;
    },
  };
}
