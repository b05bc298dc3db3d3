// createGraphDirectory: the Directory port over Microsoft Graph v1.0, built on the Graph JS SDK with
// our own middleware chain (token, headers, throttling retries). It translates every HTTP and SDK
// failure into a SyncbotError at this boundary, and keeps `secretText` out of everything except the
// NewSecret that addPassword returns: no log line, error or retry notice ever sees a response body.

import type { TokenCredential } from "@azure/identity";
import {
  Client,
  type Context,
  HTTPMessageHandler,
  type Middleware,
  type MiddlewareOptions,
  ResponseType,
} from "@microsoft/microsoft-graph-client";
import { type ErrorCode, SyncbotError } from "../domain/errors";
import type {
  ApplicationFields,
  CallContext,
  Directory,
  LiveApplication,
  Logger,
  NewSecret,
  PasswordCredentialInfo,
  RequiredResourceAccess,
} from "../domain/ports";

export interface GraphRetryOptions {
  /** Retries (not counting the first attempt) of a 429/503/504 answer. Default 5. */
  maxAttempts?: number;
  /** Total time one call may spend waiting between retries. Default 120 000 ms. */
  maxTotalWaitMs?: number;
  /** Retries of a 404 on an object a create just returned. Default 5. */
  notFoundRetries?: number;
  /** First wait before retrying such a 404; doubles each time. Default 500 ms. */
  notFoundBaseDelayMs?: number;
  /** First backoff when a throttling answer carries no Retry-After; doubles each time. Default 1000 ms. */
  baseDelayMs?: number;
}

export interface GraphDirectoryDeps {
  /** e.g. https://graph.microsoft.com/v1.0 or http://127.0.0.1:4010/v1.0 */
  baseUrl: string;
  credential: TokenCredential | null;
  logger?: Logger;
  retry?: GraphRetryOptions;
  sleep?: (ms: number) => Promise<void>;
}

const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
const GLOBAL_ADMIN_ROLE_ID = "62e90394-69f5-4237-9190-012177145e10";
const APP_SELECT = [
  "id",
  "appId",
  "uniqueName",
  "displayName",
  "signInAudience",
  "tags",
  "web",
  "isFallbackPublicClient",
  "requiredResourceAccess",
  "passwordCredentials",
].join(",");
const THROTTLE_STATUSES = new Set([429, 503, 504]);
const MAX_BACKOFF_MS = 60_000;

type CallCtx = CallContext & { justCreated?: boolean };

// Per-request options travel through the SDK's middleware control, keyed by constructor.
class SyncbotCallOptions implements MiddlewareOptions {
  /** The first non-HTTP failure inside the chain; the SDK would otherwise wrap it into a GraphError. */
  failure?: unknown;
  constructor(readonly ctx: CallContext) {}
}

function callOptionsOf(context: Context): SyncbotCallOptions | undefined {
  return context.middlewareControl?.getMiddlewareOptions(SyncbotCallOptions) as SyncbotCallOptions | undefined;
}

function setHeader(context: Context, name: string, value: string): void {
  const options = context.options ?? {};
  context.options = options;
  const h = options.headers;
  if (h instanceof Headers) h.set(name, value);
  else if (Array.isArray(h))
    options.headers = [...h.filter(([k]) => k?.toLowerCase() !== name.toLowerCase()), [name, value]];
  else options.headers = { ...(h ?? {}), [name]: value };
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

class AuthAndHeadersMiddleware implements Middleware {
  private next?: Middleware;
  private cached?: { token: string; expiresAt: number };

  constructor(
    private readonly credential: TokenCredential | null,
    private readonly scope: string,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const opts = callOptionsOf(context);
    // Node's fetch sends "Accept-Language: *"; Graph localises messages, and operators read them in English.
    setHeader(context, "Accept-Language", "en-US");
    if (opts?.ctx.correlationId) setHeader(context, "client-request-id", opts.ctx.correlationId);
    if (this.credential) {
      try {
        setHeader(context, "Authorization", `Bearer ${await this.token()}`);
      } catch (e) {
        if (opts) opts.failure ??= e;
        throw e;
      }
    }
    await this.next!.execute(context);
  }

  // Credentials cache too, but not all of them; holding the token until 2 minutes before expiry
  // keeps a 50,000-app sweep from asking for one per page.
  private async token(): Promise<string> {
    if (this.cached && this.cached.expiresAt - 120_000 > Date.now()) return this.cached.token;
    const t = await this.credential!.getToken(this.scope);
    if (!t) throw new SyncbotError("upstream_failed", "the Graph credential returned no token");
    this.cached = { token: t.token, expiresAt: t.expiresOnTimestamp };
    return t.token;
  }
}

class ThrottleRetryMiddleware implements Middleware {
  private next?: Middleware;

  constructor(
    private readonly maxAttempts: number,
    private readonly maxTotalWaitMs: number,
    private readonly baseDelayMs: number,
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly logger?: Logger,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const opts = callOptionsOf(context);
    let waited = 0;
    for (let retry = 1; ; retry++) {
      try {
        await this.next!.execute(context);
      } catch (e) {
        if (opts) opts.failure ??= e;
        throw e;
      }
      const res = context.response;
      if (!res || !THROTTLE_STATUSES.has(res.status) || retry > this.maxAttempts) return;
      const backoff = Math.min(MAX_BACKOFF_MS, this.baseDelayMs * 2 ** (retry - 1));
      const waitMs = parseRetryAfter(res.headers.get("retry-after")) ?? backoff;
      // Past the budget the last answer stands; the caller turns it into `throttled`.
      if (waited + waitMs > this.maxTotalWaitMs) return;
      await res.body?.cancel().catch(() => undefined);
      const notice = {
        service: "graph" as const,
        attempt: retry,
        maxAttempts: this.maxAttempts,
        waitMs,
        status: res.status,
      };
      this.logger?.warn("graph throttled, waiting", { ...notice, correlationId: opts?.ctx.correlationId });
      opts?.ctx.onRetry?.(notice);
      await this.sleep(waitMs);
      waited += waitMs;
    }
  }
}

interface GraphErrorBody {
  error?: { code?: string; message?: string };
}

interface GraphAppJson {
  id?: string;
  appId?: string;
  uniqueName?: string | null;
  displayName?: string | null;
  signInAudience?: string | null;
  tags?: string[] | null;
  web?: {
    redirectUris?: string[] | null;
    implicitGrantSettings?: { enableAccessTokenIssuance?: boolean; enableIdTokenIssuance?: boolean } | null;
  } | null;
  isFallbackPublicClient?: boolean | null;
  requiredResourceAccess?: RequiredResourceAccess[] | null;
  passwordCredentials?: Array<Partial<PasswordCredentialInfo>> | null;
}

function toLive(j: GraphAppJson): LiveApplication {
  return {
    id: j.id ?? "",
    appId: j.appId ?? "",
    uniqueName: j.uniqueName ?? null,
    displayName: j.displayName ?? "",
    signInAudience: j.signInAudience ?? "",
    tags: j.tags ?? [],
    web: {
      redirectUris: j.web?.redirectUris ?? [],
      implicitGrantSettings: {
        enableAccessTokenIssuance: j.web?.implicitGrantSettings?.enableAccessTokenIssuance ?? false,
        enableIdTokenIssuance: j.web?.implicitGrantSettings?.enableIdTokenIssuance ?? false,
      },
    },
    isFallbackPublicClient: j.isFallbackPublicClient ?? null,
    requiredResourceAccess: (j.requiredResourceAccess ?? []).map((r) => ({
      resourceAppId: r.resourceAppId,
      resourceAccess: (r.resourceAccess ?? []).map((a) => ({ id: a.id, type: a.type })),
    })),
    // Only the public fields are copied: a secretText, were one ever present, stays behind.
    passwordCredentials: (j.passwordCredentials ?? []).map((p) => ({
      keyId: p.keyId ?? "",
      displayName: p.displayName ?? null,
      hint: p.hint ?? null,
      startDateTime: p.startDateTime ?? null,
      endDateTime: p.endDateTime ?? null,
    })),
  };
}

/** OData string literal: quotes doubled, then percent-encoded for the URL. */
function odataString(value: string): string {
  return encodeURIComponent(`'${value.replace(/'/g, "''")}'`);
}

function hintFor(status: number, code: string): string {
  if (code === "Authorization_RequestDenied" || status === 403) {
    return "grant the bot's identity the Microsoft Graph application permissions Application.ReadWrite.OwnedBy and RoleManagement.Read.Directory (with admin consent)";
  }
  if (code === "CredentialInvalidLifetimeAsPerAppPolicy") {
    return "a tenant app-management policy caps secret lifetimes: lower secretLifetimeMonths below the policy's maximum";
  }
  if (status === 401) return "check GRAPH_CREDENTIAL: the bot's token for Graph was refused";
  if (status === 404) return "the object no longer exists in Entra ID; re-run check to refresh the plan";
  if (status === 412) return "the object changed meanwhile; re-read it and try again";
  return "check the request parameters against the message above";
}

export function createGraphDirectory(deps: GraphDirectoryDeps): Directory {
  const base = new URL(deps.baseUrl.replace(/\/+$/, ""));
  const origin = base.origin;
  const version = base.pathname.replace(/^\/+/, "");
  const logger = deps.logger;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const retry = {
    maxAttempts: deps.retry?.maxAttempts ?? 5,
    maxTotalWaitMs: deps.retry?.maxTotalWaitMs ?? 120_000,
    notFoundRetries: deps.retry?.notFoundRetries ?? 5,
    notFoundBaseDelayMs: deps.retry?.notFoundBaseDelayMs ?? 500,
    baseDelayMs: deps.retry?.baseDelayMs ?? 1000,
  };

  const auth = new AuthAndHeadersMiddleware(deps.credential, `${origin}/.default`);
  const throttle = new ThrottleRetryMiddleware(
    retry.maxAttempts,
    retry.maxTotalWaitMs,
    retry.baseDelayMs,
    sleep,
    logger,
  );
  auth.setNext(throttle);
  throttle.setNext(new HTTPMessageHandler());
  const client = Client.initWithMiddleware({ baseUrl: origin, defaultVersion: version, middleware: auth });

  type Method = "GET" | "POST" | "PATCH";
  interface Answer {
    status: number;
    body: unknown;
  }

  function translate(status: number, body: unknown, path: string): SyncbotError {
    const err = (body as GraphErrorBody | undefined)?.error;
    const upstreamCode = err?.code ?? `HTTP${status}`;
    const message = `Graph ${upstreamCode}: ${err?.message ?? `HTTP ${status}`}`;
    let code: ErrorCode;
    if (status === 404) code = "not_found";
    else if (status === 412) code = "precondition_failed";
    else if (THROTTLE_STATUSES.has(status)) code = "throttled";
    else if (status >= 400 && status < 500) code = "upstream_rejected";
    else code = "upstream_failed";
    const hint =
      code === "throttled"
        ? "Microsoft Graph kept throttling beyond the retry budget; try again in a few minutes"
        : code === "upstream_failed"
          ? "Microsoft Graph is failing; try again later"
          : hintFor(status, upstreamCode);
    logger?.warn("graph call failed", { path, status, upstreamCode, code });
    return new SyncbotError(code, message, { status, upstreamCode, hint });
  }

  async function call(
    method: Method,
    path: string,
    ctx: CallContext = {},
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const options = new SyncbotCallOptions(ctx);
    const started = Date.now();
    let res: Response;
    try {
      const req = client.api(path).headers(headers).middlewareOptions([options]).responseType(ResponseType.RAW);
      res = (await (method === "GET" ? req.get() : method === "POST" ? req.post(body) : req.patch(body))) as Response;
    } catch (e) {
      const failure = options.failure ?? e;
      if (failure instanceof SyncbotError) throw failure;
      const reason = failure instanceof Error ? `${failure.name}: ${failure.message}` : "unknown error";
      const isAuth = failure instanceof Error && /Credential|Authentication/.test(failure.name);
      logger?.error("graph call did not complete", { method, path, reason, correlationId: ctx.correlationId });
      throw new SyncbotError(
        "upstream_failed",
        isAuth ? `could not get a token for Microsoft Graph (${reason})` : `Microsoft Graph unreachable (${reason})`,
        {
          hint: isAuth
            ? "check GRAPH_CREDENTIAL and the identity behind it"
            : "check GRAPH_BASE_URL and the network path to it",
        },
      );
    }
    const text = await res.text();
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    // Path and status only: bodies may hold a secret (addPassword) and are never logged.
    logger?.debug("graph call", {
      method,
      path,
      status: res.status,
      ms: Date.now() - started,
      correlationId: ctx.correlationId,
    });
    if (res.status >= 400) throw translate(res.status, parsed, path);
    return { status: res.status, body: parsed };
  }

  // Right after a create, Graph's replicas may not know the new id yet: retry a 404 a few times.
  async function withNotFoundRetry<T>(ctx: CallCtx, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (
          !ctx.justCreated ||
          !(e instanceof SyncbotError) ||
          e.code !== "not_found" ||
          attempt > retry.notFoundRetries
        ) {
          throw e;
        }
        const waitMs = retry.notFoundBaseDelayMs * 2 ** (attempt - 1);
        ctx.onRetry?.({ service: "graph", attempt, maxAttempts: retry.notFoundRetries, waitMs, status: 404 });
        logger?.info("graph object not replicated yet, waiting", { attempt, waitMs, correlationId: ctx.correlationId });
        await sleep(waitMs);
      }
    }
  }

  /** A nextLink is absolute; only follow it on our own Graph host, so a token never leaves it. */
  function relativeNextLink(nextLink: string): string {
    const u = new URL(nextLink);
    if (u.origin !== origin) {
      throw new SyncbotError("upstream_failed", "Graph returned a nextLink to another host", {
        hint: "check GRAPH_BASE_URL",
      });
    }
    const prefix = `/${version}`;
    const path = u.pathname.startsWith(prefix) ? u.pathname.slice(prefix.length) : u.pathname;
    return path + u.search;
  }

  async function* pages<T>(firstPath: string, ctx: CallContext): AsyncGenerator<T[]> {
    let path: string | undefined = firstPath;
    while (path) {
      const { body } = await call("GET", path, ctx);
      const page = (body ?? {}) as { value?: T[]; "@odata.nextLink"?: string };
      yield page.value ?? [];
      const next = page["@odata.nextLink"];
      path = next ? relativeNextLink(next) : undefined;
    }
  }

  const appPath = (objectId: string) => `/applications/${encodeURIComponent(objectId)}`;
  let scopesCache: Promise<Map<string, string>> | undefined;

  return {
    async getApplicationByUniqueName(uniqueName, ctx = {}) {
      try {
        const { body } = await call(
          "GET",
          `/applications(uniqueName=${odataString(uniqueName)})?$select=${APP_SELECT}`,
          ctx,
        );
        return toLive(body as GraphAppJson);
      } catch (e) {
        if (e instanceof SyncbotError && e.code === "not_found") return null;
        throw e;
      }
    },

    async getApplication(objectId, ctx = {}) {
      return withNotFoundRetry(ctx, async () => {
        const { body } = await call("GET", `${appPath(objectId)}?$select=${APP_SELECT}`, ctx);
        return toLive(body as GraphAppJson);
      });
    },

    async upsertApplication(uniqueName, fields: ApplicationFields, ctx = {}) {
      const { status, body } = await call(
        "PATCH",
        `/applications(uniqueName=${odataString(uniqueName)})`,
        ctx,
        fields,
        {
          Prefer: "create-if-missing",
        },
      );
      const created = status === 201;
      return { created, application: body && typeof body === "object" ? toLive(body as GraphAppJson) : null };
    },

    async updateApplication(objectId, fields, ctx: CallCtx = {}) {
      await withNotFoundRetry(ctx, () => call("PATCH", appPath(objectId), ctx, fields));
    },

    async addPassword(objectId, credential, ctx = {}): Promise<NewSecret> {
      const { body } = await withNotFoundRetry(ctx, () =>
        call("POST", `${appPath(objectId)}/addPassword`, ctx, {
          passwordCredential: { displayName: credential.displayName, endDateTime: credential.endDateTime },
        }),
      );
      const b = (body ?? {}) as Partial<Record<keyof NewSecret, string | null>>;
      if (!b.keyId || !b.secretText) {
        throw new SyncbotError("upstream_failed", "Graph addPassword answered without a keyId or secret", {
          hint: "check in Entra ID whether a secret was added and remove it if so",
        });
      }
      return {
        keyId: b.keyId,
        displayName: b.displayName ?? credential.displayName,
        hint: b.hint ?? b.secretText.slice(0, 3),
        endDateTime: b.endDateTime ?? credential.endDateTime,
        secretText: b.secretText,
      };
    },

    async removePassword(objectId, keyId, ctx = {}) {
      try {
        await call("POST", `${appPath(objectId)}/removePassword`, ctx, { keyId });
      } catch (e) {
        // Graph answers 404 for a keyId the application no longer has: already removed is removed.
        if (e instanceof SyncbotError && e.code === "not_found") {
          logger?.info("password already absent", { objectId, keyId, correlationId: ctx.correlationId });
          return;
        }
        throw e;
      }
    },

    async *listApplicationsByTag(tag, select, ctx = {}) {
      const filter = encodeURIComponent(`tags/any(t:t eq '${tag.replace(/'/g, "''")}')`);
      const sel = select.length > 0 ? `&$select=${encodeURIComponent(select.join(","))}` : "";
      for await (const page of pages<GraphAppJson>(`/applications?$filter=${filter}${sel}&$top=999`, ctx)) {
        yield page.map(toLive);
      }
    },

    getGraphDelegatedScopes(ctx = {}) {
      scopesCache ??= (async () => {
        const { body } = await call(
          "GET",
          `/servicePrincipals(appId='${GRAPH_APP_ID}')?$select=id,appId,oauth2PermissionScopes,appRoles`,
          ctx,
        );
        const sp = (body ?? {}) as {
          oauth2PermissionScopes?: Array<{ id?: string; value?: string; isEnabled?: boolean }>;
        };
        const map = new Map<string, string>();
        for (const s of sp.oauth2PermissionScopes ?? []) {
          if (s.value && s.id && s.isEnabled !== false) map.set(s.value, s.id);
        }
        return map;
      })();
      // A failed lookup is not cached: the next call asks again.
      scopesCache.catch(() => {
        scopesCache = undefined;
      });
      return scopesCache.then((m) => new Map(m));
    },

    async isGlobalAdministrator(userObjectId, ctx = {}) {
      const filter = encodeURIComponent(
        `principalId eq '${userObjectId.replace(/'/g, "''")}' and roleDefinitionId eq '${GLOBAL_ADMIN_ROLE_ID}'`,
      );
      const { body } = await call("GET", `/roleManagement/directory/roleAssignments?$filter=${filter}`, ctx);
      if (((body as { value?: unknown[] } | undefined)?.value ?? []).length > 0) return true;
      // A role held through a role-assignable group has the group as principal; ask for the user's
      // transitive roles instead.
      try {
        const path = `/users/${encodeURIComponent(userObjectId)}/transitiveMemberOf/microsoft.graph.directoryRole`;
        for await (const page of pages<{ roleTemplateId?: string }>(path, ctx)) {
          if (page.some((r) => r.roleTemplateId === GLOBAL_ADMIN_ROLE_ID)) return true;
        }
      } catch (e) {
        if (e instanceof SyncbotError && e.code === "not_found") return false;
        throw e;
      }
      return false;
    },
  };
}
