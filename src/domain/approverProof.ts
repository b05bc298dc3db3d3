// Verified approvals (DOMAIN invariant 13): an approving action takes effect only with a proof that the
// presser signed in to Entra themselves, recently and as strongly as the tenant demands. The domain never
// sees how a token is checked: it asks the ApproverTokenVerifier port and gets either a proof (what the
// audit keeps: the token's id, `acrs`, `iat`, never the token) or a refusal with a code and a reason.

export interface ApproverProof {
  /** The signed-in user's Entra object id (equal to the presser's). */
  oid: string;
  /** The token's own id: `uti` (Entra access tokens) or `jti`. */
  tokenId: string;
  /** Authentication context ids the sign-in satisfied. */
  acrs: string[];
  /** When the token was issued (ISO). */
  issuedAt: string;
}

export type TokenRefusalCode =
  | "other_user"
  | "other_tenant"
  | "other_audience"
  | "expired"
  | "too_old"
  | "missing_auth_context"
  | "bad_signature"
  | "jwks_unreachable"
  | "malformed";

export type TokenCheck = { ok: true; proof: ApproverProof } | { ok: false; code: TokenRefusalCode; reason: string };

/** Port: checks an approver's token for the presser `presserId` (their aadObjectId). Never throws for a bad token. */
export interface ApproverTokenVerifier {
  verify(token: string, presserId: string): Promise<TokenCheck>;
}

/** How an approving action's caller proves the presser: the token from their sign-in, if the client sent one. */
export interface ApproverCredential {
  token?: string;
}

export type StepUpOutcome =
  | { ok: true; proof?: ApproverProof }
  | { ok: false; code: TokenRefusalCode | "sign_in_needed"; reason: string };

/** Refusals a fresh sign-in can cure (the fallback sign-in demands the authentication context again). */
export const SIGN_IN_AGAIN: ReadonlySet<string> = new Set([
  "sign_in_needed",
  "too_old",
  "missing_auth_context",
  "expired",
]);

export interface StepUp {
  /** Whether approving actions need a verified token (APPROVAL_STEP_UP=required). */
  required: boolean;
  check(credential: ApproverCredential | undefined, presserId: string): Promise<StepUpOutcome>;
}

export function createStepUp(required: boolean, verifier?: ApproverTokenVerifier): StepUp {
  return {
    required,
    async check(credential, presserId) {
      if (!required) return { ok: true };
      if (!credential?.token)
        return {
          ok: false,
          code: "sign_in_needed",
          reason: "Approving needs your own fresh Entra sign-in; nothing was changed.",
        };
      if (!verifier)
        return { ok: false, code: "jwks_unreachable", reason: "syncbot cannot check sign-ins; nothing was changed." };
      const checked = await verifier.verify(credential.token, presserId);
      return checked.ok ? checked : { ok: false, code: checked.code, reason: checked.reason };
    },
  };
}

/** What the audit event keeps of a proof: never the token itself. */
export function describeProof(proof: ApproverProof | undefined): string {
  if (!proof) return "step-up off";
  return `token ${proof.tokenId}, acrs ${proof.acrs.length > 0 ? proof.acrs.join(",") : "none"}, issued ${proof.issuedAt}`;
}

/** The proof as the approver record keeps it. */
export function proofOf(proof: ApproverProof | undefined): { proof?: Omit<ApproverProof, "oid"> } {
  return proof ? { proof: { tokenId: proof.tokenId, acrs: proof.acrs, issuedAt: proof.issuedAt } } : {};
}
