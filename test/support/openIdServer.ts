// startOpenIdServer: a local stand-in for the Bot Framework's OpenID metadata and JWKS
// (login.botframework.com/v1/.well-known/openidconfiguration), so a test can run syncbot with
// BOT_AUTH=enabled and sign the channel's JWTs itself (RS256, as the Bot Connector does), or forge them.
// Shape per "Authentication with the Bot Connector API" (learn.microsoft.com/azure/bot-service/rest-api/
// bot-framework-rest-connector-authentication): an OpenID document whose jwks_uri lists the signing
// keys; the token's iss is the channel issuer, aud the bot's app id, serviceurl the activity's serviceUrl.

import { createSign, generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export const CHANNEL_ISSUER = "https://api.botframework.test";

export interface OpenIdServer {
  /** Value for ToBotFromChannelOpenIdMetadataUrl. */
  metadataUrl: string;
  /** "up" serves metadata and keys; "failing" answers 500 to both. */
  mode: "up" | "failing";
  requests: string[];
  /** A channel token for `appId` and `serviceUrl`, signed with the published key (or an attacker's key). */
  sign(claims: { aud: string; serviceUrl: string }, opts?: { forged?: boolean }): string;
  close(): Promise<void>;
}

export async function startOpenIdServer(): Promise<OpenIdServer> {
  const kid = `test-${randomUUID().slice(0, 8)}`;
  const published = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...published.publicKey.export({ format: "jwk" }), kid, kty: "RSA", use: "sig", alg: "RS256" };
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    // (Separate calls: restify, loaded in the same process, patches ServerResponse.writeHead to return nothing.)
    if (state.mode === "failing") {
      res.writeHead(500);
      res.end();
      return;
    }
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === "/v1/.well-known/openidconfiguration") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          issuer: CHANNEL_ISSUER,
          jwks_uri: `${base}/v1/keys`,
          id_token_signing_alg_values_supported: ["RS256"],
        }),
      );
    } else if (req.url === "/v1/keys") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;

  const state: OpenIdServer = {
    metadataUrl: `http://127.0.0.1:${port}/v1/.well-known/openidconfiguration`,
    mode: "up",
    requests,
    sign(claims, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload = {
        iss: CHANNEL_ISSUER,
        aud: claims.aud,
        serviceurl: claims.serviceUrl,
        nbf: now - 60,
        exp: now + 3600,
      };
      return rs256(
        { alg: "RS256", typ: "JWT", kid },
        payload,
        opts.forged ? attacker.privateKey : published.privateKey,
      );
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return state;
}

function rs256(header: object, payload: object, key: KeyObject): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = createSign("RSA-SHA256").update(input).sign(key).toString("base64url");
  return `${input}.${signature}`;
}
