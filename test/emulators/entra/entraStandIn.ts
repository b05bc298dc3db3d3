// entraStandIn: the Microsoft identity platform (login.microsoftonline.com) as syncbot's production
// credential path meets it, served over HTTPS on loopback by the Graph emulator so tokens and
// directory share one state. It serves what MSAL (through @azure/identity) calls: the OpenID
// configuration of a tenant, instance discovery, the tenant's JWKS, and the token endpoint (whose
// decisions stay in the Graph emulator's token route: apps, secrets and service principals live there).
// Other modules add routes (a sign-in page, user tokens) with `addRoute`, in their own files.
//
// Shapes per Microsoft identity platform docs: "OpenID Connect on the Microsoft identity platform"
// (learn.microsoft.com/entra/identity-platform/v2-protocols-oidc) for the configuration document and
// MSAL's instance discovery call (msal-common Authority.getCloudDiscoveryMetadataFromNetwork:
// GET {authorityHost}/common/discovery/instance?api-version=1.1&authorization_endpoint=...).

import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { EntraSigningKeys } from "./entraSigningKeys";
import { makeSelfSignedTls } from "./entraTls";

export interface EntraRequest {
  method: string;
  /** Decoded path, no query. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  /** Raw body text. */
  body: string;
  /** The body as a form (token requests are application/x-www-form-urlencoded). */
  form: URLSearchParams;
}

export interface EntraReply {
  status: number;
  headers?: Record<string, string>;
  /** JSON unless `contentType` says otherwise (then a string is sent as is). */
  body?: unknown;
  contentType?: string;
}

/** A route answers the requests it knows (a reply) and passes the others on (null). */
export type EntraRoute = (req: EntraRequest) => EntraReply | null | Promise<EntraReply | null>;

/** What the stand-in saw: no secret, assertion or token values, only what tests need to assert on. */
export interface EntraRecordedRequest {
  method: string;
  path: string;
  /** For token requests: grant_type, client_id, scope and which client authentication came. */
  grantType?: string;
  clientId?: string;
  scope?: string;
  clientAuth?: "secret" | "assertion" | "none";
  status: number;
  at: number;
}

export interface EntraStandIn {
  /** `https://127.0.0.1:PORT`: the value for AUTHORITY_HOST. */
  readonly authorityHost: string;
  /** The self-signed certificate's PEM file: the value for NODE_EXTRA_CA_CERTS. */
  readonly caCertPath: string;
  /** The certificate's PEM text (for an in-process https agent). */
  readonly caCert: string;
  readonly keys: EntraSigningKeys;
  readonly tenantId: string;
  readonly requests: EntraRecordedRequest[];
  /** Routes added later are tried first, before the built-in ones. */
  addRoute(route: EntraRoute): void;
  close(): Promise<void>;
}

export interface EntraStandInOptions {
  tenantId: string;
  keys: EntraSigningKeys;
  port?: number;
  /** The token endpoint's decision (the Graph emulator's token route); `authorityHost` is this server's. */
  token(tenant: string, form: URLSearchParams, ctx: { authorityHost: string }): EntraReply;
  /**
   * The Graph emulator's test hook (onRequest), called before a request is handled and before its answer
   * is sent; a returned promise holds the request, so a crash test can kill a process mid token proof.
   */
  onRequest?(r: { method: string; path: string; phase: "before" | "after"; status?: number }): void | Promise<void>;
}

export async function startEntraStandIn(opts: EntraStandInOptions): Promise<EntraStandIn> {
  const tls = makeSelfSignedTls();
  const routes: EntraRoute[] = [];
  const requests: EntraRecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let authorityHost = "";

  const builtIn: EntraRoute = (req) => {
    const host = new URL(authorityHost).host;
    if (req.method === "GET" && req.path === "/common/discovery/instance") {
      // MSAL validates the authority against this list; our own host is its only alias.
      return {
        status: 200,
        body: {
          tenant_discovery_endpoint: `${authorityHost}/${opts.tenantId}/v2.0/.well-known/openid-configuration`,
          "api-version": "1.1",
          metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
        },
      };
    }
    const oidc = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(req.path);
    if (oidc && req.method === "GET") return { status: 200, body: openIdConfiguration(oidc[1]!) };
    const keys = /^\/([^/]+)\/discovery\/v2\.0\/keys$/.exec(req.path);
    if (keys && req.method === "GET") return { status: 200, body: opts.keys.jwks() };
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(req.path);
    if (token && req.method === "POST") return opts.token(token[1]!, req.form, { authorityHost });
    return null;
  };

  function openIdConfiguration(tenantSegment: string) {
    // Entra answers for the tenant id and for "organizations"/"common" with the {tenantid} placeholder.
    const t = tenantSegment.toLowerCase() === opts.tenantId.toLowerCase() ? opts.tenantId : tenantSegment;
    const issuerTenant = ["common", "organizations", "consumers"].includes(t) ? "{tenantid}" : opts.tenantId;
    return {
      token_endpoint: `${authorityHost}/${t}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      jwks_uri: `${authorityHost}/${t}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      issuer: `${authorityHost}/${issuerTenant}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${authorityHost}/oidc/userinfo`,
      authorization_endpoint: `${authorityHost}/${t}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${authorityHost}/${t}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${authorityHost}/${t}/oauth2/v2.0/logout`,
      claims_supported: ["sub", "iss", "cloud_instance_name", "aud", "exp", "iat", "nbf", "tid", "oid", "acrs"],
      kerberos_endpoint: `${authorityHost}/${t}/kerberos`,
      tenant_region_scope: "EU",
      cloud_instance_name: "microsoftonline.com",
      cloud_graph_host_name: "graph.windows.net",
      msgraph_host: "graph.microsoft.com",
      rbac_url: "https://pas.windows.net",
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", authorityHost);
    let path = url.pathname;
    try {
      path = decodeURIComponent(path);
    } catch {}
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : (v ?? "");
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const form = new URLSearchParams(headers["content-type"]?.includes("x-www-form-urlencoded") ? body : "");
    const method = (req.method ?? "GET").toUpperCase();
    const request: EntraRequest = { method, path, query: url.searchParams, headers, body, form };
    const record: EntraRecordedRequest = { method, path, status: 0, at: Date.now() };
    if (/\/oauth2\/v2\.0\/token$/.test(path)) {
      record.grantType = form.get("grant_type") ?? undefined;
      record.clientId = form.get("client_id") ?? undefined;
      record.scope = form.get("scope") ?? undefined;
      record.clientAuth = form.has("client_assertion") ? "assertion" : form.has("client_secret") ? "secret" : "none";
    }
    requests.push(record);
    await opts.onRequest?.({ method, path, phase: "before" });

    let reply: EntraReply | null = null;
    for (const route of [...routes].reverse()) {
      reply = await route(request);
      if (reply) break;
    }
    reply ??= await builtIn(request);
    reply ??= notFound(path);
    record.status = reply.status;
    await opts.onRequest?.({ method, path, phase: "after", status: reply.status });
    const h: Record<string, string> = {
      "x-ms-request-id": randomUUID(),
      "cache-control": "no-store, no-cache",
      ...(reply.headers ?? {}),
    };
    if (reply.body === undefined) {
      res.writeHead(reply.status, h);
      res.end();
      return;
    }
    const payload = typeof reply.body === "string" && reply.contentType ? reply.body : JSON.stringify(reply.body);
    h["content-type"] = reply.contentType ?? "application/json; charset=utf-8";
    h["content-length"] = String(Buffer.byteLength(payload));
    res.writeHead(reply.status, h);
    res.end(payload);
  }

  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  authorityHost = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    authorityHost,
    caCertPath: tls.certPath,
    caCert: tls.cert,
    keys: opts.keys,
    tenantId: opts.tenantId,
    requests,
    addRoute(route) {
      routes.push(route);
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      tls.dispose();
    },
  };
}

/** Entra's answer to a path it does not serve (an HTML 404 page in reality; JSON is enough for clients). */
function notFound(path: string): EntraReply {
  return { status: 404, body: { error: "not_found", error_description: `No route for ${path}` } };
}
