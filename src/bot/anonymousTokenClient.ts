// The Bot Framework token service client of an anonymous bot (BOT_AUTH=disabled: local dev and tests).
// botbuilder's UserTokenClient refuses to work without an app id, although its connector client talks
// to the channel unauthenticated in that mode; this client makes the same two calls the same way (no
// Authorization header), against botbuilder's `OAuthUrl` setting. With an app id, botbuilder's own
// client (signed with the bot's credentials) is used instead.
// Paths and state: botframework-connector 4.23, tokenApi/operations/botSignIn.ts and userToken.ts;
// auth/userTokenClient.ts createTokenExchangeState.

import { type Activity, TurnContext } from "botbuilder";

export interface TokenServiceClient {
  getUserToken(
    userId: string,
    connectionName: string,
    channelId: string,
    magicCode: string,
  ): Promise<{ token?: string }>;
  getSignInResource(
    connectionName: string,
    activity: Activity,
    finalRedirect: string,
  ): Promise<{ signInLink?: string }>;
}

export function createAnonymousTokenClient(oauthUrl: string): TokenServiceClient {
  const base = oauthUrl.replace(/\/+$/, "");
  async function get(path: string, query: Record<string, string>) {
    const res = await fetch(`${base}/${path}?${new URLSearchParams(query)}`, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(5000),
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`the token service answered HTTP ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }
  return {
    async getUserToken(userId, connectionName, channelId, code) {
      const body = await get("api/usertoken/GetToken", { userId, connectionName, channelId, code });
      return { token: typeof body?.token === "string" ? body.token : undefined };
    },
    async getSignInResource(connectionName, activity, finalRedirect) {
      const state = Buffer.from(
        JSON.stringify({
          connectionName,
          conversation: TurnContext.getConversationReference(activity),
          relatesTo: activity.relatesTo,
          msAppId: "",
        }),
      ).toString("base64");
      const body = await get("api/botsignin/GetSignInResource", { state, finalRedirect });
      return { signInLink: typeof body?.signInLink === "string" ? body.signInLink : undefined };
    },
  };
}
