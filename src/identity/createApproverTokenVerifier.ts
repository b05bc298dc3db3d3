// The ApproverTokenVerifier port over node:crypto: checks the Entra token an approver's Teams client sent
// with an approving action (CONTRACT section 4). Signature first (RS256 only, by a key the tenant
// publishes), then who issued it and for whom, then when. Every refusal names its reason in words the
// approver can act on; the token itself appears in no reason, log line or error.

import { verify as verifySignature } from "node:crypto";
import type { ApproverTokenVerifier, TokenCheck, TokenRefusalCode } from "../domain/approverProof";
import { createJwksCache, type JwksCacheOptions } from "./createJwksCache";

export interface ApproverTokenVerifierOptions {
  authorityHost: string;
  tenantId: string;
  /** Accepted `aud` values: SSO_RESOURCE and MicrosoftAppId (v1 tokens carry the App ID URI, v2 the client id). */
  audiences: string[];
  /** APPROVAL_AUTH_CONTEXT: required in `acrs` when set. */
  authContext?: string;
  maxAgeMinutes: number;
  now: () => Date;
  jwks?: Partial<JwksCacheOptions>;
}

const SKEW_S = 5 * 60;

export function createApproverTokenVerifier(opts: ApproverTokenVerifierOptions): ApproverTokenVerifier {
  const tenant = opts.tenantId.toLowerCase();
  const authority = opts.authorityHost.replace(/\/+$/, "");
  const jwks = createJwksCache({
    jwksUrl: `${authority}/${tenant}/discovery/v2.0/keys`,
    now: () => opts.now().getTime(),
    ...opts.jwks,
  });
  const issuers = new Set([`https://sts.windows.net/${tenant}/`, `${authority}/${tenant}/v2.0`]);
  const audiences = new Set(opts.audiences.filter(Boolean));
  const refuse = (code: TokenRefusalCode, reason: string): TokenCheck => ({
    ok: false,
    code,
    reason: `${reason} Nothing was changed.`,
  });

  return {
    async verify(token, presserId) {
      const parts = token.split(".");
      if (parts.length !== 3) return refuse("malformed", "The sign-in token is not a signed JWT.");
      let header: Record<string, unknown>;
      let claims: Record<string, unknown>;
      try {
        header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString("utf8"));
        claims = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
        if (!header || typeof header !== "object" || !claims || typeof claims !== "object") throw new Error();
      } catch {
        return refuse("malformed", "The sign-in token is not a signed JWT.");
      }
      // Entra signs with RS256 alone; "none" and HMAC (keyed with the public key) are the classic forgeries.
      if (header.alg !== "RS256")
        return refuse(
          "bad_signature",
          `Bad signature: the token is signed with "${String(header.alg).slice(0, 20)}", only RS256 is accepted.`,
        );
      if (typeof header.kid !== "string" || !header.kid)
        return refuse("bad_signature", "Bad signature: the token names no signing key.");
      const lookup = await jwks.keyFor(header.kid);
      if (!lookup.ok)
        return lookup.unreachable
          ? refuse(
              "jwks_unreachable",
              `Your sign-in cannot be checked now: the tenant's signing keys could not be fetched (${lookup.detail.slice(0, 200)}). Try again in a minute.`,
            )
          : refuse("bad_signature", "Bad signature: the token is signed by a key your tenant does not publish.");
      const signed = verifySignature(
        "RSA-SHA256",
        Buffer.from(`${parts[0]}.${parts[1]}`),
        lookup.key,
        Buffer.from(parts[2]!, "base64url"),
      );
      if (!signed) return refuse("bad_signature", "Bad signature: the token was not signed by your tenant's key.");

      const tid = String(claims.tid ?? "").toLowerCase();
      if (tid !== tenant || !issuers.has(String(claims.iss ?? "")))
        return refuse(
          "other_tenant",
          "The sign-in is from another tenant: approve with your account in the service provider's tenant.",
        );
      if (!audiences.has(String(claims.aud ?? "")))
        return refuse("other_audience", "The token was issued for another application, not for syncbot.");
      if (String(claims.oid ?? "").toLowerCase() !== presserId.toLowerCase())
        return refuse("other_user", "The sign-in belongs to another user than the one who pressed the button.");

      const nowS = opts.now().getTime() / 1000;
      const exp = Number(claims.exp);
      const nbf = claims.nbf === undefined ? undefined : Number(claims.nbf);
      const iat = Number(claims.iat);
      if (!Number.isFinite(exp) || !Number.isFinite(iat) || (nbf !== undefined && !Number.isFinite(nbf)))
        return refuse("malformed", "The sign-in token has no valid lifetime (exp, iat).");
      if (exp + SKEW_S < nowS) return refuse("expired", "The sign-in token has expired: sign in again.");
      if ((nbf !== undefined && nbf - SKEW_S > nowS) || iat - SKEW_S > nowS)
        return refuse("expired", "The sign-in token is not valid yet: check the clock, then sign in again.");
      if (nowS - iat > opts.maxAgeMinutes * 60)
        return refuse(
          "too_old",
          `Your sign-in is too old: approving needs a sign-in from the last ${opts.maxAgeMinutes} minutes. Sign in again.`,
        );
      const acrs = Array.isArray(claims.acrs) ? claims.acrs.filter((a): a is string => typeof a === "string") : [];
      if (opts.authContext && !acrs.includes(opts.authContext))
        return refuse(
          "missing_auth_context",
          `Your sign-in does not satisfy the authentication context "${opts.authContext}" your tenant requires for approvals (e.g. MFA): sign in again.`,
        );
      const tokenId = typeof claims.uti === "string" ? claims.uti : typeof claims.jti === "string" ? claims.jti : "";
      if (!tokenId) return refuse("malformed", "The sign-in token carries no token id (uti or jti).");
      return {
        ok: true,
        proof: {
          oid: presserId.toLowerCase(),
          tokenId: tokenId.slice(0, 100),
          acrs,
          issuedAt: new Date(iat * 1000).toISOString(),
        },
      };
    },
  };
}
