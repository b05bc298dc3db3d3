// The Graph JS SDK client with our middleware chain (token and headers, 404 after create,
// throttling), and the three things every directory operation needs from it: one call as a coded
// answer or a SyncbotError, paging over nextLinks on our own host, and OData string literals.

import type { TokenCredential } from "@azure/identity";
import { Client, HTTPMessageHandler, ResponseType } from "@microsoft/microsoft-graph-client";
import { SyncbotError } from "../domain/errors";
import type { CallContext, Logger } from "../domain/ports";
import { AuthAndHeadersMiddleware } from "./middleware/AuthAndHeadersMiddleware";
import { type GraphCallContext, SyncbotCallOptions } from "./middleware/callOptions";
import { NotFoundAfterCreateMiddleware } from "./middleware/NotFoundAfterCreateMiddleware";
import { ThrottleRetryMiddleware } from "./middleware/ThrottleRetryMiddleware";
import { translateGraphError, unansweredGraphError } from "./translateGraphError";

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

export interface GraphHttpDeps {
  /** e.g. https://graph.microsoft.com/v1.0 or http://127.0.0.1:4010/v1.0 */
  baseUrl: string;
  credential: TokenCredential | null;
  logger?: Logger;
  retry?: GraphRetryOptions;
  sleep?: (ms: number) => Promise<void>;
}

export type GraphMethod = "GET" | "POST" | "PATCH";

export interface GraphAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

export interface GraphHttp {
  /** One call; any status >= 400 (after the middleware's retries) throws the translated SyncbotError. */
  call(
    method: GraphMethod,
    path: string,
    ctx?: GraphCallContext,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<GraphAnswer>;
  /** The `value` of each page, following `@odata.nextLink` on our own host only; `headers` go with every page. */
  pages<T>(firstPath: string, ctx?: CallContext, headers?: Record<string, string>): AsyncGenerator<T[]>;
  /** Claims of syncbot's own access token for Graph (null without a credential); see AuthAndHeadersMiddleware. */
  tokenClaims(): Promise<Record<string, unknown> | null>;
  readonly logger?: Logger;
}

/** OData string literal: quotes doubled, then percent-encoded for the URL. */
export function odataString(value: string): string {
  return encodeURIComponent(`'${value.replace(/'/g, "''")}'`);
}

/** The same literal unencoded, for use inside an expression that is encoded as a whole ($filter). */
export function odataLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function createGraphHttp(deps: GraphHttpDeps): GraphHttp {
  const base = new URL(deps.baseUrl.replace(/\/+$/, ""));
  const origin = base.origin;
  const version = base.pathname.replace(/^\/+/, "");
  const logger = deps.logger;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const retry = deps.retry ?? {};

  const auth = new AuthAndHeadersMiddleware(deps.credential, `${origin}/.default`);
  const notFound = new NotFoundAfterCreateMiddleware(
    retry.notFoundRetries ?? 5,
    retry.notFoundBaseDelayMs ?? 500,
    sleep,
    logger,
  );
  const throttle = new ThrottleRetryMiddleware(
    retry.maxAttempts ?? 5,
    retry.maxTotalWaitMs ?? 120_000,
    retry.baseDelayMs ?? 1000,
    sleep,
    logger,
  );
  auth.setNext(notFound);
  notFound.setNext(throttle);
  throttle.setNext(new HTTPMessageHandler());
  const client = Client.initWithMiddleware({ baseUrl: origin, defaultVersion: version, middleware: auth });

  async function call(
    method: GraphMethod,
    path: string,
    ctx: GraphCallContext = {},
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<GraphAnswer> {
    const options = new SyncbotCallOptions(ctx);
    const started = Date.now();
    let res: Response;
    try {
      const req = client.api(path).headers(headers).middlewareOptions([options]).responseType(ResponseType.RAW);
      res = (await (method === "GET" ? req.get() : method === "POST" ? req.post(body) : req.patch(body))) as Response;
    } catch (e) {
      const failure = unansweredGraphError(options.failure ?? e);
      logger?.error("graph call did not complete", {
        method,
        path,
        reason: failure.message,
        correlationId: ctx.correlationId,
      });
      throw failure;
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
    if (res.status >= 400) {
      const error = translateGraphError(res.status, parsed);
      // A read answered 404 (absent) or 403 (a permission syncbot may lack on purpose, e.g. Policy.Read.All)
      // is an answer its caller interprets and reports; a failed write is worth a warning on its own.
      const expected = method === "GET" && (res.status === 404 || res.status === 403);
      logger?.[expected ? "debug" : "warn"]("graph call failed", {
        path,
        status: res.status,
        upstreamCode: error.upstreamCode,
        code: error.code,
      });
      throw error;
    }
    return { status: res.status, body: parsed, headers: res.headers };
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

  async function* pages<T>(
    firstPath: string,
    ctx: CallContext = {},
    headers: Record<string, string> = {},
  ): AsyncGenerator<T[]> {
    let path: string | undefined = firstPath;
    while (path) {
      const { body } = await call("GET", path, ctx, undefined, headers);
      const page = (body ?? {}) as { value?: T[]; "@odata.nextLink"?: string };
      yield page.value ?? [];
      const next = page["@odata.nextLink"];
      path = next ? relativeNextLink(next) : undefined;
    }
  }

  async function tokenClaims(): Promise<Record<string, unknown> | null> {
    try {
      return await auth.claims();
    } catch (e) {
      throw unansweredGraphError(e);
    }
  }

  return { call, pages, tokenClaims, logger };
}
