// classifyAuthFailure: botbuilder answers a failed /api/messages request itself, with the raw error
// message as the body and 500 for anything that is not its own AuthenticationError (a bad JWT signature
// is a jsonwebtoken error, so it came back as 500). This maps what botbuilder ended with to the answer
// a caller should get, with no internal detail.

export type AuthFailure = "unauthorized" | "auth_unavailable" | "internal";

// jsonwebtoken's verify() errors (JsonWebTokenError, NotBeforeError, TokenExpiredError): the token is bad.
const BAD_TOKEN =
  /^(invalid (signature|token|algorithm)|jwt (malformed|expired|not active|signature is required|must be)|jwt (audience|issuer|id|subject|nonce) invalid|maxAge exceeded|secretOrPublicKey must be)/i;
// The OpenID metadata or its JWKS could not be fetched (node-fetch errors, botframework-connector's
// "Failed to load openID config: 500" / "Failed to load Keys: 404"): the sender cannot be checked now.
const METADATA_DOWN =
  /^(Failed to load (openID config|Keys)|request to \S+ failed|invalid json response body|network timeout)/i;

/** Null when `status` is not a failure botbuilder produced while authenticating. */
export function classifyAuthFailure(status: number, message: string): AuthFailure | null {
  if (status !== 401 && status < 500) return null;
  if (METADATA_DOWN.test(message)) return "auth_unavailable";
  if (status === 401 || BAD_TOKEN.test(message)) return "unauthorized";
  return "internal";
}

export const AUTH_FAILURE_ANSWER: Record<AuthFailure, { status: number; body: { error: string; message: string } }> = {
  unauthorized: { status: 401, body: { error: "unauthorized", message: "The request is not authenticated." } },
  auth_unavailable: {
    status: 503,
    body: { error: "auth_unavailable", message: "The sender cannot be verified right now; try again later." },
  },
  internal: { status: 500, body: { error: "internal", message: "The request could not be processed." } },
};
