// tokenServiceEmulator: the Bot Framework token service (token.botframework.com) as syncbot's sign-in
// fallback meets it: the bot asks for a sign-in resource for its Azure Bot OAuth connection, the user's
// browser opens the sign-in link, the service sends it to Entra's authorize page (here the Entra
// stand-in, with the claims challenge syncbot appended), redeems the code as the connection's client,
// shows the user a magic code, and the bot fetches the user's token with that code.
// Paths and parameters are botframework-connector's TokenApiClient (botbuilder-js 4.23:
// tokenApi/operations/botSignIn.ts, userToken.ts): GET api/botsignin/GetSignInResource?state&finalRedirect
// (state = base64 JSON TokenExchangeState {connectionName, conversation, relatesTo, msAppId}) answers
// SignInUrlResponse {signInLink, tokenExchangeResource {id, uri, providerId}, tokenPostResource};
// GET api/usertoken/GetToken?userId&connectionName&channelId&code answers TokenResponse
// {channelId, connectionName, token, expiration}, 404 without a token. The magic code flow:
// learn.microsoft.com, "Add third party authentication to Adaptive Cards Universal Actions" (the client
// sends the code in `value.state`).
//
// Not emulated: the bot's own Bot Framework token on these calls (tests run the bot anonymously, as the
// connector emulator does), token caching across sign-ins, sign-out, exchange of SSO tokens.

import { randomInt, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { httpsCall } from "../support/httpsLoopback";
import type { EntraStandIn } from "./entra/entraStandIn";

export interface OAuthConnection {
  /** The connection's Entra app (its client id; the secret is not checked here). */
  clientId: string;
  /** The token's resource: the bot's SSO App ID URI (scope `{resource}/access_as_user`). */
  resource: string;
}

export interface TokenServiceEmulator {
  readonly url: string;
  /** What the bot asked: path and query names only (never a code or token). */
  readonly requests: Array<{ method: string; path: string; status: number }>;
  close(): Promise<void>;
}

interface SignIn {
  connectionName: string;
  userId: string;
  aadObjectId: string;
  channelId: string;
}

export async function startTokenService(opts: {
  entra: EntraStandIn;
  connections: Record<string, OAuthConnection>;
}): Promise<TokenServiceEmulator> {
  const { entra } = opts;
  const signIns = new Map<string, SignIn>();
  const magic = new Map<string, { signIn: SignIn; code: string; token: string; expiration: string }>();
  const requests: TokenServiceEmulator["requests"] = [];
  const sockets = new Set<Socket>();
  let url = "";

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url ?? "/", url);
    const q = u.searchParams;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      requests.push({ method: req.method ?? "GET", path: u.pathname, status });
      const text = typeof body === "string" ? body : JSON.stringify(body);
      res.writeHead(status, {
        "content-type": typeof body === "string" ? "text/html; charset=utf-8" : "application/json; charset=utf-8",
        ...headers,
      });
      res.end(text);
    };

    if (req.method === "GET" && u.pathname === "/api/botsignin/GetSignInResource") {
      let state: any;
      try {
        state = JSON.parse(Buffer.from(q.get("state") ?? "", "base64").toString("utf8"));
      } catch {}
      const connection = opts.connections[state?.connectionName ?? ""];
      const user = state?.conversation?.user;
      if (!connection || !user?.id) return send(400, { error: { code: "BadArgument", message: "Invalid state" } });
      const id = randomUUID();
      signIns.set(id, {
        connectionName: state.connectionName,
        userId: user.id,
        aadObjectId: String(user.aadObjectId ?? ""),
        channelId: state.conversation.channelId ?? "msteams",
      });
      return send(200, {
        signInLink: `${url}/api/oauth/signin?signin=${id}`,
        tokenExchangeResource: { id: randomUUID(), uri: connection.resource, providerId: randomUUID() },
        tokenPostResource: { sasUrl: `${url}/api/sas/${id}` },
      });
    }

    if (req.method === "GET" && u.pathname === "/api/oauth/signin") {
      const signIn = signIns.get(q.get("signin") ?? "");
      if (!signIn) return send(404, "<p>This sign-in link is unknown or was used.</p>");
      const connection = opts.connections[signIn.connectionName]!;
      const authorize = new URL(`${entra.authorityHost}/${entra.tenantId}/oauth2/v2.0/authorize`);
      authorize.searchParams.set("client_id", connection.clientId);
      authorize.searchParams.set("response_type", "code");
      authorize.searchParams.set("redirect_uri", `${url}/.auth/web/redirect`);
      authorize.searchParams.set("scope", `${connection.resource}/access_as_user openid profile offline_access`);
      authorize.searchParams.set("state", q.get("signin")!);
      authorize.searchParams.set("login_hint", signIn.aadObjectId);
      // What the bot asked Entra for on top of the connection's settings: passed on as Entra names them.
      for (const p of ["claims", "prompt"]) if (q.get(p)) authorize.searchParams.set(p, q.get(p)!);
      return send(302, "", { location: authorize.toString() });
    }

    if (req.method === "GET" && u.pathname === "/.auth/web/redirect") {
      const id = q.get("state") ?? "";
      const signIn = signIns.get(id);
      if (!signIn) return send(400, "<p>Unknown sign-in.</p>");
      signIns.delete(id);
      const connection = opts.connections[signIn.connectionName]!;
      const redeemed = await httpsCall(`${entra.authorityHost}/${entra.tenantId}/oauth2/v2.0/token`, {
        ca: entra.caCert,
        form: {
          grant_type: "authorization_code",
          client_id: connection.clientId,
          client_secret: "oauth-connection-secret",
          code: q.get("code") ?? "",
          redirect_uri: `${url}/.auth/web/redirect`,
        },
      });
      if (redeemed.status !== 200 || !redeemed.json?.access_token)
        return send(400, `<p>Sign-in failed: ${String(redeemed.json?.error ?? redeemed.status)}</p>`);
      const code = String(randomInt(100000, 1000000));
      magic.set(`${signIn.userId}\u0000${signIn.connectionName}\u0000${code}`, {
        signIn,
        code,
        token: redeemed.json.access_token,
        expiration: new Date(Date.now() + Number(redeemed.json.expires_in ?? 3600) * 1000).toISOString(),
      });
      return send(
        200,
        `<!doctype html><html><body><p>Enter this code in the conversation to finish signing in:</p><p><code id="magic-code">${code}</code></p></body></html>`,
      );
    }

    if (req.method === "GET" && u.pathname === "/api/usertoken/GetToken") {
      const key = `${q.get("userId")}\u0000${q.get("connectionName")}\u0000${q.get("code") ?? ""}`;
      const found = magic.get(key);
      if (!found || (q.get("channelId") ?? "") !== found.signIn.channelId) return send(404, "");
      magic.delete(key);
      return send(200, {
        channelId: found.signIn.channelId,
        connectionName: found.signIn.connectionName,
        token: found.token,
        expiration: found.expiration,
      });
    }
    return send(404, { error: { code: "NotFound", message: u.pathname } });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
