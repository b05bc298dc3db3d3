// clientAssertion: the token endpoint's check of a certificate credential (private_key_jwt), as Entra
// does it: the assertion names its certificate by thumbprint (x5t, SHA-1, with RS256; or x5t#S256,
// SHA-256, with PS256, which MSAL Node 3 sends), the certificate must be registered on the app's
// keyCredentials, the signature must verify with that certificate's key, iss and sub must be the
// client_id, aud the token endpoint, and the assertion must be within its time range.
// Sources: "Microsoft identity platform certificate credentials"
// (learn.microsoft.com/entra/identity-platform/certificate-credentials) for the format; the AADSTS
// codes per "Troubleshoot service principal authentication" (learn.microsoft.com/azure/developer/java/
// sdk/troubleshooting-authentication-service-principal): 700027 signature / key not registered,
// 700021 application identifier mismatch, 700023 audience, 700024 time range.

import { constants, createHash, verify, X509Certificate } from "node:crypto";

export const JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export interface AssertionRefusal {
  status: number;
  error: string;
  description: string;
}

/** A keyCredential as Graph stores it; `key` is the certificate (base64 DER or PEM). */
interface KeyCredentialLike {
  key?: unknown;
  type?: unknown;
  usage?: unknown;
  endDateTime?: unknown;
}

function certificateOf(kc: KeyCredentialLike): X509Certificate | null {
  if (typeof kc.key !== "string" || kc.type !== "AsymmetricX509Cert") return null;
  try {
    const text = kc.key.includes("BEGIN CERTIFICATE") ? kc.key : Buffer.from(kc.key, "base64");
    return new X509Certificate(text);
  } catch {
    return null;
  }
}

function decodePart(part: string | undefined): Record<string, unknown> | null {
  try {
    const value = JSON.parse(Buffer.from(part ?? "", "base64url").toString("utf8")) as unknown;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function checkClientAssertion(args: {
  assertion: string;
  assertionType: string | null;
  clientId: string;
  keyCredentials: readonly unknown[];
  /** Audiences Entra accepts: the token endpoint URL this request came to. */
  audiences: readonly string[];
  nowSeconds: number;
}): AssertionRefusal | null {
  const refuse = (code: string, text: string, status = 401, error = "invalid_client"): AssertionRefusal => ({
    status,
    error,
    description: `AADSTS${code}: ${text}`,
  });
  if (args.assertionType !== JWT_BEARER_ASSERTION) {
    return refuse(
      "700022",
      "The provided value for the input parameter 'client_assertion_type' is not valid.",
      400,
      "invalid_request",
    );
  }
  const parts = args.assertion.split(".");
  const header = decodePart(parts[0]);
  const claims = decodePart(parts[1]);
  if (parts.length !== 3 || !header || !claims) {
    return refuse("50027", "JWT token is invalid or malformed.", 400, "invalid_request");
  }
  const alg = header.alg;
  const useSha256 = alg === "PS256";
  if (alg !== "RS256" && alg !== "PS256") {
    return refuse("700027", "Client assertion failed signature validation. [Reason - The algorithm is not supported.]");
  }
  const presented = useSha256 ? header["x5t#S256"] : header.x5t;
  const now = new Date(args.nowSeconds * 1000);
  const cert = args.keyCredentials
    .map((kc) => ({ kc: kc as KeyCredentialLike, cert: certificateOf(kc as KeyCredentialLike) }))
    .find(({ cert }) => {
      if (!cert) return false;
      const digest = createHash(useSha256 ? "sha256" : "sha1")
        .update(cert.raw)
        .digest("base64url");
      return digest === presented;
    });
  if (!cert?.cert) {
    return refuse(
      "700027",
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${typeof presented === "string" ? Buffer.from(presented, "base64url").toString("hex").toUpperCase() : ""}', Please visit the Azure Portal, Entra ID, App registrations (${args.clientId}) and check the application's certificates.]`,
    );
  }
  const end = typeof cert.kc.endDateTime === "string" ? Date.parse(cert.kc.endDateTime) : Number.NaN;
  if (!Number.isNaN(end) && end <= now.getTime()) {
    return refuse("700027", "Client assertion contains an invalid signature. [Reason - The key used is expired.]");
  }
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2]!, "base64url");
  const ok = useSha256
    ? verify(
        "sha256",
        signed,
        { key: cert.cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      )
    : verify("RSA-SHA256", signed, cert.cert.publicKey, signature);
  if (!ok) return refuse("700027", "Client assertion failed signature validation.");
  if (claims.iss !== args.clientId || claims.sub !== args.clientId) {
    return refuse("700021", "Client assertion application identifier doesn't match 'client_id' parameter.");
  }
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.some((a) => typeof a === "string" && args.audiences.includes(a))) {
    return refuse("700023", "Client assertion audience claim does not match Realm issuer.");
  }
  const exp = typeof claims.exp === "number" ? claims.exp : 0;
  const nbf = typeof claims.nbf === "number" ? claims.nbf : 0;
  // Entra allows a few minutes of clock skew on either side.
  if (exp + 300 <= args.nowSeconds || nbf - 300 > args.nowSeconds) {
    return refuse("700024", "Client assertion is not within its valid time range.");
  }
  return null;
}
