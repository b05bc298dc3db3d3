// Verified approvals (CONTRACT sections 2 and 4, DOMAIN invariant 13): the settings that decide whether
// an approving action needs the presser's own fresh Entra token, and what that token must carry. Read
// apart from config.ts so the rules for these five variables sit together; problems join loadConfig's list.

import type { createEnvReaders } from "./envReaders";

export interface StepUpConfig {
  /** `required`: Approve and Applied in UMP need a token that passes every rule; `off`: cards say so. */
  approvalStepUp: "required" | "off";
  /** Conditional Access authentication context id (c1…c99) the token's `acrs` must hold; unset: not checked. */
  approvalAuthContext?: string;
  approvalTokenMaxAgeMinutes: number;
  /** The bot's SSO resource (webApplicationInfo.resource): an accepted `aud` besides MicrosoftAppId. */
  ssoResource?: string;
  /** The Azure Bot OAuth connection named in sign-in requests and used by the sign-in fallback. */
  ssoConnectionName?: string;
}

const AUTH_CONTEXT = /^c([1-9]|[1-9][0-9])$/;

export function readStepUpConfig(
  readers: ReturnType<typeof createEnvReaders>,
  problems: string[],
  botAuth: "enabled" | "disabled",
  microsoftAppId: string,
): StepUpConfig {
  const { get, oneOf, int } = readers;
  // Production (BOT_AUTH=enabled) verifies by default; local dev and the tests opt in.
  const approvalStepUp = oneOf(
    "APPROVAL_STEP_UP",
    ["required", "off"] as const,
    botAuth === "enabled" ? "required" : "off",
  );
  const approvalAuthContext = get("APPROVAL_AUTH_CONTEXT");
  const ssoResource = get("SSO_RESOURCE");
  const ssoConnectionName = get("SSO_CONNECTION_NAME");
  if (approvalAuthContext && !AUTH_CONTEXT.test(approvalAuthContext))
    problems.push(
      `APPROVAL_AUTH_CONTEXT must be a Conditional Access authentication context id, c1 to c99 (got "${approvalAuthContext}")`,
    );
  if (approvalStepUp === "off" && approvalAuthContext)
    problems.push(
      "APPROVAL_AUTH_CONTEXT is set but APPROVAL_STEP_UP=off: no token is checked, so the authentication context would never be demanded; set APPROVAL_STEP_UP=required or unset APPROVAL_AUTH_CONTEXT",
    );
  if (approvalStepUp === "required") {
    if (!ssoResource && !microsoftAppId)
      problems.push(
        "APPROVAL_STEP_UP=required needs SSO_RESOURCE (the bot's SSO resource, api://…/botid-…) or MicrosoftAppId: approvers' tokens are issued for it",
      );
    if (!ssoConnectionName)
      problems.push(
        "APPROVAL_STEP_UP=required needs SSO_CONNECTION_NAME (the Azure Bot OAuth connection approvers sign in through)",
      );
  }
  if (ssoResource && !/^(api|https):\/\/\S+$/.test(ssoResource))
    problems.push(`SSO_RESOURCE must be the App ID URI (api://… or https://…) (got "${ssoResource}")`);
  return {
    approvalStepUp,
    approvalAuthContext,
    approvalTokenMaxAgeMinutes: int("APPROVAL_TOKEN_MAX_AGE_MINUTES", 10, 1, 1440),
    ssoResource,
    ssoConnectionName,
  };
}
