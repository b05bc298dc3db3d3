// Verified approvals at the chat edge (CONTRACT section 4): how an approving button gets the presser's own
// Entra token, as Teams' Universal Actions define it. Without one, the invoke is answered 401 with a
// `loginRequest` carrying `tokenExchangeResource` (the client obtains an SSO token silently and sends the
// action again with `value.authentication`). A token that falls short in a way a new sign-in cures (too
// old, no authentication context) gets a second loginRequest without SSO information: the Azure Bot
// OAuth connection's sign-in link with the claims challenge for the authentication context, after which
// the client sends the action again with the token service's magic code in `value.state`.
// Sources: learn.microsoft.com, "Add code to enable SSO for Adaptive Cards Universal Actions" and
// "Add third party authentication to Adaptive Cards Universal Actions" (MicrosoftDocs/msteams-docs).

import { randomUUID } from "node:crypto";
import type { TurnContext } from "botbuilder";
import { type ApproverCredential, SIGN_IN_AGAIN } from "../domain/approverProof";
import { describeError } from "../domain/errors";
import { createAnonymousTokenClient, type TokenServiceClient } from "./anonymousTokenClient";
import type { BotKit, InvokeResponseAnswer } from "./botKit";

export const LOGIN_REQUEST = "application/vnd.microsoft.activity.loginRequest";

/** What the presser's client sent: an SSO token, a finished sign-in's code (exchanged here), or nothing. */
export async function credentialOf(
  context: TurnContext,
  kit: BotKit,
): Promise<ApproverCredential | { badCode: true } | undefined> {
  if (kit.config.approvalStepUp !== "required") return undefined;
  const value = (context.activity.value ?? {}) as { authentication?: { token?: unknown }; state?: unknown };
  const token = value.authentication?.token;
  if (typeof token === "string" && token) return { token };
  const code = value.state;
  if (typeof code !== "string" || !code) return undefined;
  if (!/^[0-9A-Za-z_-]{1,64}$/.test(code)) return { badCode: true };
  try {
    const answer = await tokenClient(context, kit).getUserToken(
      context.activity.from.id,
      kit.config.ssoConnectionName ?? "",
      context.activity.channelId,
      code,
    );
    return answer?.token ? { token: answer.token } : { badCode: true };
  } catch (e) {
    kit.log.warn("token service refused the sign-in code", { error: describeError(e).message });
    return { badCode: true };
  }
}

/**
 * The answer to a step-up refusal: a sign-in request where signing in again can help, the documented
 * error for a wrong sign-in code, otherwise undefined (the caller shows the reason on the card).
 */
export async function signInAnswer(
  context: TurnContext,
  kit: BotKit,
  code: string | undefined,
  reason: string,
): Promise<InvokeResponseAnswer | string | undefined> {
  if (code === "bad_code")
    return {
      invokeResponse: {
        status: 401,
        body: { statusCode: 401, type: "application/vnd.microsoft.error.invalidAuthCode" },
      },
    };
  if (!code || !SIGN_IN_AGAIN.has(code)) return undefined;
  const { config } = kit;
  let signInLink: string | undefined;
  try {
    signInLink = (
      await tokenClient(context, kit).getSignInResource(config.ssoConnectionName ?? "", context.activity, "")
    )?.signInLink;
  } catch (e) {
    kit.log.warn("token service gave no sign-in link", { error: describeError(e).message });
  }
  if (!signInLink)
    return "syncbot could not get a sign-in link from the Bot Framework token service, so it cannot check who you are; nothing was changed. Try again in a minute.";
  const sso = code === "sign_in_needed";
  if (!sso) signInLink = withClaimsChallenge(signInLink, config.approvalAuthContext);
  return {
    invokeResponse: {
      status: 401,
      body: {
        statusCode: 401,
        type: LOGIN_REQUEST,
        value: {
          text: sso ? "Sign in to approve: syncbot checks your own Entra sign-in." : reason,
          connectionName: config.ssoConnectionName,
          // Only the first request offers SSO: a token that fell short is not asked for again silently.
          ...(sso
            ? {
                tokenExchangeResource: {
                  id: randomUUID(),
                  uri: config.ssoResource ?? `api://botid-${config.microsoftAppId}`,
                },
              }
            : {}),
          buttons: [{ type: "signin", title: "Sign in", text: "Sign in", value: signInLink }],
        },
      },
    },
  };
}

/**
 * The claims challenge Entra documents for an authentication context (`acrs` essential), and a fresh
 * sign-in (`prompt=login`) for a sign-in that is too old; the token service passes them to Entra's
 * authorize request of the OAuth connection.
 */
function withClaimsChallenge(link: string, authContext: string | undefined): string {
  const url = new URL(link);
  if (authContext)
    url.searchParams.set("claims", JSON.stringify({ access_token: { acrs: { essential: true, value: authContext } } }));
  url.searchParams.set("prompt", "login");
  return url.toString();
}

/** botbuilder's UserTokenClient (the token service, signed as the bot); an anonymous bot's own client. */
function tokenClient(context: TurnContext, kit: BotKit): TokenServiceClient {
  if (!kit.config.microsoftAppId) {
    const oauthUrl = kit.config.botFrameworkEnv.OAuthUrl;
    if (kit.config.botAuth !== "disabled" || !oauthUrl)
      throw new Error("no token service for an anonymous bot (OAuthUrl)");
    return createAnonymousTokenClient(oauthUrl);
  }
  const key = (context.adapter as { UserTokenClientKey?: symbol }).UserTokenClientKey;
  const client = key ? context.turnState.get<TokenServiceClient>(key) : undefined;
  if (!client) throw new Error("this adapter has no user token client");
  return client;
}
