// createTokenProver: proves a freshly created client secret really works by asking the tenant's token
// endpoint for a client-credentials token with it. The secret goes into the request body and nowhere
// else: not into errors, not into logs, not into the returned description.

import { SyncbotError } from "../domain/errors";
import type { CallContext, Logger, TokenProver } from "../domain/ports";

export interface TokenProverDeps {
  authorityHost: string;
  tenantId: string;
  logger?: Logger;
  /** Abort a token request that takes longer than this (default 30 s). */
  timeoutMs?: number;
}

const GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default";

export function createTokenProver(deps: TokenProverDeps): TokenProver {
  const endpoint = `${deps.authorityHost.replace(/\/+$/, "")}/${encodeURIComponent(deps.tenantId)}/oauth2/v2.0/token`;

  return {
    async proveClientSecret(clientId: string, secret: string, ctx: CallContext = {}) {
      const scrub = (text: string) => (secret.length > 0 ? text.split(secret).join("[redacted]") : text);
      const headers: Record<string, string> = {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        "accept-language": "en-US",
      };
      if (ctx.correlationId) headers["client-request-id"] = ctx.correlationId;
      const form = new URLSearchParams({
        grant_type: "client_credentials",
        client_id: clientId,
        client_secret: secret,
        scope: GRAPH_DEFAULT_SCOPE,
      });
      let res: Response;
      try {
        res = await fetch(endpoint, {
          method: "POST",
          headers,
          body: form.toString(),
          signal: AbortSignal.timeout(deps.timeoutMs ?? 30_000),
        });
      } catch (e) {
        // The cause is dropped on purpose: undici errors can carry the request, and so the body.
        const reason = e instanceof Error ? e.name : "error";
        throw new SyncbotError("upstream_failed", `token endpoint unreachable (${reason})`, {
          hint: "check AUTHORITY_HOST and the network path to it",
        });
      }
      const text = await res.text();
      let body: { access_token?: unknown; error?: unknown; error_description?: unknown } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // Non-JSON answers are handled by status below.
      }
      if (res.ok && typeof body.access_token === "string") {
        deps.logger?.debug("client secret proven", { clientId, correlationId: ctx.correlationId });
        return { ok: true as const };
      }
      if (res.status >= 500 || res.status === 429) {
        throw new SyncbotError("upstream_failed", `token endpoint answered ${res.status}`, {
          status: res.status,
          hint: "the identity platform is unavailable; try again later",
        });
      }
      const error = typeof body.error === "string" ? body.error : `http_${res.status}`;
      // The first line carries the AADSTS code and reason; trace and correlation ids follow on later lines.
      const fullDescription = typeof body.error_description === "string" ? body.error_description : "";
      const description = scrub(fullDescription.split(/\r?\n/)[0] ?? "");
      deps.logger?.info("client secret refused by the token endpoint", {
        clientId,
        error,
        description,
        correlationId: ctx.correlationId,
      });
      return { ok: false as const, error, description };
    },
  };
}
