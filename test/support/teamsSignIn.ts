// The Teams client's part of verified approvals (issue 16 part B): what Teams does with a 401
// `loginRequest` answer to an Action.Execute. With `tokenExchangeResource` it obtains the user's token
// for that resource silently (Teams' own client and the user's session, from the Entra stand-in) and
// sends the action again with `value.authentication = { id, connectionName, token }`. Without it (the
// fallback) it opens the sign-in button's link in a browser: the token service sends it to the stand-in's
// sign-in page, the user presses "Approve with MFA" (or not), and the client sends the action again with
// the magic code in `value.state`. Sources: MicrosoftDocs/msteams-docs, Universal-actions-for-adaptive-cards/
// sso-adaptive-cards-universal-action.md and authentication-flow-in-universal-action-for-adaptive-cards.md.

import type { EntraStandIn } from "../emulators/entra/entraStandIn";
import { TEAMS_CLIENT_IDS } from "../emulators/entra/userTokens";
import { httpsCall } from "./httpsLoopback";
import type { SignInHandler } from "./teamsClient";
import type { TeamsUser } from "./teamsActivity";

export interface TeamsSignIn {
  handler: SignInHandler;
  /** What the user does on the sign-in page: complete MFA (default) or continue without it. */
  setMfa(user: TeamsUser, approve: boolean): void;
  /** Whether the user's Teams client has a session that can get SSO tokens (default yes). */
  setSso(user: TeamsUser, on: boolean): void;
  /** The sign-in pages the users saw (their text), newest last. */
  pages: string[];
}

export function createTeamsSignIn(entra: EntraStandIn): TeamsSignIn {
  const noMfa = new Set<string>();
  const noSso = new Set<string>();
  const pages: string[] = [];

  async function sso(user: TeamsUser, request: any) {
    const ter = request.tokenExchangeResource;
    const answer = await httpsCall(`${entra.authorityHost}/${entra.tenantId}/oauth2/v2.0/token`, {
      ca: entra.caCert,
      form: {
        grant_type: "refresh_token",
        client_id: TEAMS_CLIENT_IDS[0]!,
        refresh_token: `teams-session:${user.aadObjectId}`,
        scope: `${ter.uri}/access_as_user`,
      },
    });
    if (answer.status !== 200) throw new Error(`SSO failed: ${answer.text.slice(0, 300)}`);
    return { authentication: { id: ter.id, connectionName: request.connectionName, token: answer.json.access_token } };
  }

  async function browser(user: TeamsUser, request: any) {
    const link = request.buttons?.find((b: any) => b.type === "signin")?.value;
    if (typeof link !== "string") throw new Error("the sign-in request has no sign-in button");
    // The token service's link redirects to the Entra stand-in's authorize page.
    const first = await fetch(link, { redirect: "manual" });
    const authorize = first.headers.get("location");
    if (first.status !== 302 || !authorize) throw new Error(`sign-in link answered ${first.status}`);
    const page = await httpsCall(authorize, { ca: entra.caCert });
    pages.push(
      page.text
        .replace(/<[^>]+>/g, " ")
        .replace(/\s+/g, " ")
        .trim(),
    );
    const form: Record<string, string> = {};
    for (const m of page.text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
      form[m[1]!] = m[2]!.replace(/&#(\d+);/g, (_x, c) => String.fromCharCode(Number(c)));
    form.mfa = noMfa.has(user.id) ? "skipped" : "approved";
    const posted = await httpsCall(authorize, { ca: entra.caCert, form });
    const back = posted.headers.location;
    if (posted.status !== 302 || typeof back !== "string") throw new Error(`sign-in page answered ${posted.status}`);
    const done = await fetch(back);
    const code = /<code id="magic-code">(\d+)<\/code>/.exec(await done.text())?.[1];
    if (!code) throw new Error(`the token service showed no code (${done.status})`);
    return { state: code };
  }

  return {
    handler: async (user, request) =>
      request?.tokenExchangeResource && !noSso.has(user.id) ? sso(user, request) : browser(user, request),
    setMfa(user, approve) {
      if (approve) noMfa.delete(user.id);
      else noMfa.add(user.id);
    },
    setSso(user, on) {
      if (on) noSso.delete(user.id);
      else noSso.add(user.id);
    },
    pages,
  };
}
