// graphTokenCheck: what Microsoft Graph does with a bearer token before it looks at the request. The
// token must be a JWS signed RS256 by a key the tenant's authority publishes (looked up by `kid`), for
// Graph's audience, issued by the tenant, and within its lifetime; anything else is 401
// InvalidAuthenticationToken, never a fallback identity. Messages as Graph answers them (for example
// "Access token validation failure. Invalid audience.", microsoftgraph/microsoft-graph-docs issue
// #16208; "Lifetime validation failed, the token is expired."; "CompactToken parsing failed with error
// code: 80049217" for a token that is not a JWT at all).

import { createPublicKey, verify } from "node:crypto";
import type { EntraSigningKeys } from "./entraSigningKeys";

// Graph's identifiers as a token's audience. Each national cloud's Graph also answers to its own host
// (graph.microsoft.us, microsoftgraph.chinacloudapi.cn); the emulator likewise answers to its own origin,
// which is what syncbot asks a token for (`{GRAPH_BASE_URL origin}/.default`).
export const GRAPH_AUDIENCES = [
  "https://graph.microsoft.com",
  "https://graph.microsoft.com/",
  "00000003-0000-0000-c000-000000000000",
];

export function isGraphAudience(aud: string, ownOrigin: string): boolean {
  return GRAPH_AUDIENCES.includes(aud) || aud.replace(/\/+$/, "") === ownOrigin;
}

export interface GraphTokenClaims {
  appid?: string;
  azp?: string;
  oid?: string;
  tid?: string;
  roles?: string[];
  [k: string]: unknown;
}

export type GraphTokenCheck = { ok: true; claims: GraphTokenClaims } | { ok: false; message: string };

function part(p: string | undefined): Record<string, unknown> | null {
  try {
    const v = JSON.parse(Buffer.from(p ?? "", "base64url").toString("utf8")) as unknown;
    return v && typeof v === "object" ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function checkGraphToken(
  token: string,
  ctx: { keys: EntraSigningKeys; tenantId: string; nowSeconds: number; ownOrigin: string },
): GraphTokenCheck {
  const parts = token.split(".");
  const header = part(parts[0]);
  const claims = part(parts[1]);
  if (parts.length !== 3 || !header || !claims) {
    return { ok: false, message: "CompactToken parsing failed with error code: 80049217" };
  }
  const jwk = ctx.keys.jwks().keys.find((k) => k.kid === header.kid);
  // alg "none", HS256 and a key that is not published all end here: only RS256 with a published key passes.
  if (header.alg !== "RS256" || !jwk || !parts[2]) {
    return { ok: false, message: "Access token validation failure." };
  }
  const key = createPublicKey({ key: { kty: jwk.kty, n: jwk.n, e: jwk.e }, format: "jwk" });
  if (!verify("RSA-SHA256", Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2], "base64url"))) {
    return { ok: false, message: "Access token validation failure." };
  }
  if (typeof claims.aud !== "string" || !isGraphAudience(claims.aud, ctx.ownOrigin)) {
    return { ok: false, message: "Access token validation failure. Invalid audience." };
  }
  // Graph accepts v1.0 tokens only (its accessTokenAcceptedVersion), whose issuer is sts.windows.net.
  if (claims.iss !== `https://sts.windows.net/${ctx.tenantId}/` || claims.tid !== ctx.tenantId) {
    return { ok: false, message: "Access token validation failure. Invalid issuer." };
  }
  const exp = typeof claims.exp === "number" ? claims.exp : 0;
  const nbf = typeof claims.nbf === "number" ? claims.nbf : 0;
  if (exp <= ctx.nowSeconds) return { ok: false, message: "Lifetime validation failed, the token is expired." };
  if (nbf > ctx.nowSeconds + 300)
    return { ok: false, message: "Lifetime validation failed, the token is not yet valid." };
  return { ok: true, claims: claims as GraphTokenClaims };
}
