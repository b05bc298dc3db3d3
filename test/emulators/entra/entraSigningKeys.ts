// entraSigningKeys: the Entra stand-in's token signing, shared by its token endpoint (app-only Graph
// tokens for syncbot's own credential) and by the user tokens a Teams client obtains through SSO
// (approvers' step-up). Entra signs access tokens RS256 with keys published at
// {authority}/{tenant}/discovery/v2.0/keys, each named by `kid` (and `x5t`); keys roll over, so a
// verifier must refetch the set on an unknown `kid`. Sources: Microsoft identity platform,
// "Signing key rollover" (learn.microsoft.com/entra/identity-platform/signing-key-rollover) and
// "Access token claims reference" (learn.microsoft.com/entra/identity-platform/access-token-claims-reference).
//
// Besides the honest signer, tests need the forgeries an attacker would try: a token signed by a key of
// their own under a published `kid` name, `alg: none`, and HS256 keyed with the published public key
// (the classic algorithm-confusion attack). They live here so every test forges them the same way.

import { createHash, createHmac, createSign, generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";

export interface PublishedJwk {
  kty: "RSA";
  use: "sig";
  alg: "RS256";
  kid: string;
  x5t: string;
  n: string;
  e: string;
}

export type Forgery =
  /** RS256 with a key nobody published, under the current key's `kid` name. */
  | "foreign-key"
  /** `alg: none`, empty signature. */
  | "alg-none"
  /** HS256 whose HMAC key is the current public key's PEM (algorithm confusion). */
  | "hs256-public-key";

export interface EntraSigningKeys {
  /** The key set as `{AUTHORITY_HOST}/{tenant}/discovery/v2.0/keys` serves it. */
  jwks(): { keys: PublishedJwk[] };
  /** The `kid` that signs new tokens. */
  currentKid(): string;
  /** Signs `claims` RS256 with the current key (or forges, for attack tests). */
  sign(claims: Record<string, unknown>, opts?: { forgery?: Forgery }): string;
  /**
   * Key rollover as Entra does it: a new key signs from now on and is published; the previous key stays
   * published (tokens it signed remain valid) unless `dropPrevious` is true.
   */
  rotate(opts?: { dropPrevious?: boolean }): string;
}

interface KeyEntry {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwk: PublishedJwk;
}

function b64url(value: unknown): string {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
}

function newKey(): KeyEntry {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const exported = publicKey.export({ format: "jwk" }) as { n: string; e: string };
  // Entra's kid and x5t are the base64url SHA-1 thumbprint of the key's certificate; the key's own
  // DER digest stands in for the certificate here (same shape, same length).
  const der = publicKey.export({ format: "der", type: "spki" });
  const kid = createHash("sha1").update(der).update(randomUUID()).digest("base64url");
  return {
    kid,
    privateKey,
    publicKey,
    jwk: { kty: "RSA", use: "sig", alg: "RS256", kid, x5t: kid, n: exported.n, e: exported.e },
  };
}

export function createEntraSigningKeys(): EntraSigningKeys {
  let current = newKey();
  let previous: KeyEntry | null = null;
  const foreign = newKey(); // never published

  function rs256(entry: KeyEntry, kid: string, claims: Record<string, unknown>): string {
    const input = `${b64url({ typ: "JWT", alg: "RS256", kid, x5t: kid })}.${b64url(claims)}`;
    const signature = createSign("RSA-SHA256").update(input).sign(entry.privateKey).toString("base64url");
    return `${input}.${signature}`;
  }

  return {
    jwks() {
      return { keys: previous ? [current.jwk, previous.jwk] : [current.jwk] };
    },
    currentKid() {
      return current.kid;
    },
    sign(claims, opts) {
      switch (opts?.forgery) {
        case undefined:
          return rs256(current, current.kid, claims);
        case "foreign-key":
          return rs256(foreign, current.kid, claims);
        case "alg-none":
          return `${b64url({ typ: "JWT", alg: "none", kid: current.kid })}.${b64url(claims)}.`;
        case "hs256-public-key": {
          const input = `${b64url({ typ: "JWT", alg: "HS256", kid: current.kid })}.${b64url(claims)}`;
          const pem = current.publicKey.export({ format: "pem", type: "spki" }).toString();
          return `${input}.${createHmac("sha256", pem).update(input).digest("base64url")}`;
        }
      }
    },
    rotate(opts) {
      previous = opts?.dropPrevious ? null : current;
      current = newKey();
      return current.kid;
    },
  };
}
