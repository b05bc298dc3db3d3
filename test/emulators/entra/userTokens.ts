// userTokens: the delegated (user) side of the Entra stand-in, for verified approvals (issue 16 part B).
// A Teams client gets an approver's SSO token silently for the bot's SSO resource; the Azure Bot OAuth
// connection's sign-in (the fallback) goes through Entra's authorize page, where this stand-in asks
// "approve with MFA" when the claims challenge demands the authentication context, and redeems the code
// at the token endpoint. Tokens are RS256, signed by the stand-in's shared keys, with the claims Entra
// puts in v1 access tokens for a web API (aud = App ID URI, iss = https://sts.windows.net/{tid}/, oid,
// tid, scp, amr, acrs, uti, iat/nbf/exp). Sources: learn.microsoft.com, "Access token claims reference"
// (entra/identity-platform/access-token-claims-reference), "Claims challenges, claims requests and
// client capabilities" (entra/identity-platform/claims-challenge: `claims={"access_token":{"acrs":
// {"essential":true,"value":"c1"}}}`), "OAuth 2.0 authorization code flow" (authorize + code redemption).
//
// A test decides how a user's sign-in turns out with a profile (no MFA, no acrs, too old, another
// audience or tenant, expired, another user's token, a forgery): what a real tenant does to a session
// whose sign-in is stale or weak. Every token issued is kept, so the e2e stacks scan for it on stop.

import { randomBytes, randomUUID } from "node:crypto";
import type { Forgery } from "./entraSigningKeys";
import type { EntraReply, EntraRequest, EntraStandIn } from "./entraStandIn";

/** Microsoft Teams' own client ids (desktop/mobile and web), which obtain SSO tokens for Teams apps. */
export const TEAMS_CLIENT_IDS = ["1fec8e78-bce4-4aaf-ab1b-5451cc387264", "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"];

export interface SignInProfile {
  /** The sign-in did not do MFA, so the authentication context is not satisfied (no `acrs` value). */
  noMfa?: boolean;
  /** The token carries no `acrs` claim at all (a tenant without the authentication context). */
  noAcrs?: boolean;
  /** Minutes since the sign-in the token reflects (`iat` that far back; `exp` still ahead). */
  ageMinutes?: number;
  /** The token expired (iat 2 h ago, exp 1 h ago). */
  expired?: boolean;
  audience?: string;
  tenantId?: string;
  /** The token is another user's (e.g. the requester's token replayed by the approver). */
  asUser?: string;
  forgery?: Forgery;
}

export interface UserTokens {
  /** Issues a user token now (tests that need one directly, e.g. unit tests). */
  issue(oid: string, opts?: { audience?: string; acrs?: string[] } & SignInProfile): string;
  /** How this user's next sign-ins turn out (until changed); `{}` is a good, fresh MFA sign-in. */
  setProfile(oid: string, profile: SignInProfile): void;
  /** Every token this issuer handed out (the leak scan looks for each). */
  issued(): string[];
}

const registry = new WeakMap<EntraStandIn, UserTokens & { profile(oid: string): SignInProfile }>();

/** Every user token a stand-in issued (none when it never issued any): the e2e stacks' leak scan. */
export function issuedUserTokens(entra: EntraStandIn): string[] {
  return registry.get(entra)?.issued() ?? [];
}

/** The user-token issuer of a stand-in (one per stand-in, so a stack's leak scan finds every token). */
export function userTokensOf(entra: EntraStandIn): UserTokens {
  const known = registry.get(entra);
  if (known) return known;
  const profiles = new Map<string, SignInProfile>();
  const issuedTokens: string[] = [];
  const issuer: UserTokens & { profile(oid: string): SignInProfile } = {
    issue(oid, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      const iat = opts.expired ? now - 7200 : now - Math.round((opts.ageMinutes ?? 0) * 60);
      const tid = opts.tenantId ?? entra.tenantId;
      const acrs = opts.noAcrs ? undefined : opts.noMfa ? [] : (opts.acrs ?? ["c1"]);
      const claims: Record<string, unknown> = {
        aud: opts.audience ?? "api://syncbot.example.net/botid-00000000-0000-0000-0000-000000000000",
        iss: `https://sts.windows.net/${tid}/`,
        iat,
        nbf: iat,
        exp: opts.expired ? now - 3600 : iat + 75 * 60 + Math.max(0, now - iat),
        ...(acrs ? { acrs } : {}),
        acr: "1",
        aio: randomBytes(24).toString("base64url"),
        amr: opts.noMfa ? ["pwd"] : ["pwd", "mfa"],
        appid: TEAMS_CLIENT_IDS[0],
        appidacr: "0",
        idtyp: "user",
        ipaddr: "127.0.0.1",
        name: "Test user",
        oid: opts.asUser ?? oid,
        scp: "access_as_user",
        sub: randomBytes(16).toString("base64url"),
        tid,
        unique_name: `${(opts.asUser ?? oid).slice(0, 8)}@contoso.example`,
        upn: `${(opts.asUser ?? oid).slice(0, 8)}@contoso.example`,
        uti: randomBytes(16).toString("base64url"),
        ver: "1.0",
      };
      const token = entra.keys.sign(claims, opts.forgery ? { forgery: opts.forgery } : undefined);
      issuedTokens.push(token);
      return token;
    },
    setProfile(oid, profile) {
      profiles.set(oid.toLowerCase(), profile);
    },
    profile(oid) {
      return profiles.get(oid.toLowerCase()) ?? {};
    },
    issued: () => [...issuedTokens],
  };
  registry.set(entra, issuer);
  addUserRoutes(entra, issuer);
  return issuer;
}

interface PendingCode {
  oid: string;
  audience: string;
  acrsDemanded?: string;
  mfaDone: boolean;
  clientId: string;
  redirectUri: string;
}

/**
 * The stand-in's routes for users: the SSO token a Teams client gets with the user's session, the
 * authorize page (the fallback sign-in, "approve with MFA"), and the authorization code's redemption.
 */
function addUserRoutes(entra: EntraStandIn, tokens: UserTokens & { profile(oid: string): SignInProfile }) {
  const codes = new Map<string, PendingCode>();
  const tenantPath = (p: string) => new RegExp(`^/([^/]+)/oauth2/v2\\.0/${p}$`);

  entra.addRoute((req: EntraRequest): EntraReply | null => {
    const tokenMatch = tenantPath("token").exec(req.path);
    if (tokenMatch && req.method === "POST") {
      const grant = req.form.get("grant_type");
      // The Teams client's silent SSO: its own client id and the user's session (refresh token), for
      // the bot's resource. Only Teams' client ids are pre-authorized for it (bot-sso-register-aad).
      if (grant === "refresh_token" && TEAMS_CLIENT_IDS.includes(req.form.get("client_id") ?? "")) {
        const session = /^teams-session:([0-9a-f-]{36})$/.exec(req.form.get("refresh_token") ?? "");
        const scope = req.form.get("scope") ?? "";
        const resource = scope.replace(/\/access_as_user$/, "");
        if (!session || !scope.endsWith("/access_as_user"))
          return oauthError(400, "invalid_grant", "AADSTS9002313: Invalid request. Request is malformed or invalid.");
        const profile = tokens.profile(session[1]!);
        return accessToken(tokens.issue(session[1]!, { audience: resource, ...profile }));
      }
      if (grant === "authorization_code") {
        const pending = codes.get(req.form.get("code") ?? "");
        if (!pending)
          return oauthError(
            400,
            "invalid_grant",
            "AADSTS70008: The provided authorization code or refresh token has expired.",
          );
        codes.delete(req.form.get("code") ?? "");
        if (req.form.get("client_id") !== pending.clientId || req.form.get("redirect_uri") !== pending.redirectUri)
          return oauthError(
            400,
            "invalid_grant",
            "AADSTS50148: The code was issued to another client or redirect URI.",
          );
        // A fresh interactive sign-in: the old session's age and strength no longer count. The claims
        // challenge is met only when the user completed MFA on the page; a forgery profile still forges.
        const { forgery } = tokens.profile(pending.oid);
        const acrs = pending.acrsDemanded && pending.mfaDone ? [pending.acrsDemanded] : [];
        return accessToken(
          tokens.issue(pending.oid, { audience: pending.audience, acrs, noMfa: !pending.mfaDone, forgery }),
        );
      }
      return null; // client credentials and the rest: the Graph emulator's token route
    }
    const authorize = tenantPath("authorize").exec(req.path);
    if (authorize && req.method === "GET") return signInPage(req.query);
    if (authorize && req.method === "POST") {
      const form = req.form;
      const redirectUri = form.get("redirect_uri") ?? "";
      const oid = (form.get("login_hint") ?? "").toLowerCase();
      if (!/^[0-9a-f-]{36}$/.test(oid) || !redirectUri)
        return { status: 400, contentType: "text/plain", body: "Bad sign-in" };
      const code = randomBytes(24).toString("base64url");
      codes.set(code, {
        oid,
        audience: form.get("resource") ?? "",
        acrsDemanded: form.get("acrs") || undefined,
        mfaDone: form.get("mfa") === "approved",
        clientId: form.get("client_id") ?? "",
        redirectUri,
      });
      const back = new URL(redirectUri);
      back.searchParams.set("code", code);
      back.searchParams.set("state", form.get("state") ?? "");
      return { status: 302, headers: { location: back.toString() } };
    }
    return null;
  });

  function signInPage(q: URLSearchParams): EntraReply {
    let acrs = "";
    try {
      acrs = JSON.parse(q.get("claims") ?? "{}")?.access_token?.acrs?.value ?? "";
    } catch {}
    const hidden = (name: string, value: string) => `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
    const resource = (q.get("scope") ?? "")
      .split(" ")
      .find((s) => s.endsWith("/access_as_user"))
      ?.replace(/\/access_as_user$/, "");
    const html = `<!doctype html><html><head><title>Sign in to approve</title></head><body>
<h1>Sign in to approve</h1>
<p>${acrs ? `Your organisation requires multifactor authentication for this approval (authentication context ${escapeHtml(acrs)}).` : "Sign in again to approve."}</p>
<form method="post" action="">
${hidden("client_id", q.get("client_id") ?? "")}${hidden("redirect_uri", q.get("redirect_uri") ?? "")}${hidden("state", q.get("state") ?? "")}
${hidden("login_hint", q.get("login_hint") ?? "")}${hidden("resource", resource ?? "")}${hidden("acrs", acrs)}
<button type="submit" name="mfa" value="approved">Approve with MFA</button>
<button type="submit" name="mfa" value="skipped">Continue without MFA</button>
</form></body></html>`;
    return { status: 200, contentType: "text/html; charset=utf-8", body: html };
  }
}

function accessToken(token: string): EntraReply {
  return {
    status: 200,
    body: {
      token_type: "Bearer",
      scope: "access_as_user",
      expires_in: 4499,
      ext_expires_in: 4499,
      access_token: token,
    },
  };
}

function oauthError(status: number, error: string, description: string): EntraReply {
  return {
    status,
    body: {
      error,
      error_description: description,
      error_codes: [],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
    },
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
