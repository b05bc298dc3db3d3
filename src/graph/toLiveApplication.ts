// Graph's application JSON as the domain's LiveApplication: missing values get their defaults and
// only public password fields are copied, so a secretText never leaves this adapter by accident.

import type { LiveApplication, PasswordCredentialInfo, RequiredResourceAccess } from "../domain/ports";

/** The properties syncbot reads from an application. */
export const APP_SELECT = [
  "id",
  "appId",
  "uniqueName",
  "displayName",
  "signInAudience",
  "tags",
  "web",
  "isFallbackPublicClient",
  "requiredResourceAccess",
  "passwordCredentials",
  "createdDateTime",
].join(",");

export interface GraphAppJson {
  id?: string;
  appId?: string;
  uniqueName?: string | null;
  displayName?: string | null;
  signInAudience?: string | null;
  tags?: string[] | null;
  web?: {
    homePageUrl?: string | null;
    logoutUrl?: string | null;
    redirectUriSettings?: Array<{ uri?: string | null; index?: number | null }> | null;
    redirectUris?: string[] | null;
    implicitGrantSettings?: { enableAccessTokenIssuance?: boolean; enableIdTokenIssuance?: boolean } | null;
  } | null;
  isFallbackPublicClient?: boolean | null;
  requiredResourceAccess?: RequiredResourceAccess[] | null;
  passwordCredentials?: Array<Partial<PasswordCredentialInfo>> | null;
  createdDateTime?: string | null;
}

export function toLiveApplication(j: GraphAppJson): LiveApplication {
  const web: LiveApplication["web"] = {
    redirectUris: j.web?.redirectUris ?? [],
    implicitGrantSettings: {
      enableAccessTokenIssuance: j.web?.implicitGrantSettings?.enableAccessTokenIssuance ?? false,
      enableIdTokenIssuance: j.web?.implicitGrantSettings?.enableIdTokenIssuance ?? false,
    },
  };
  // The rest of `web` travels as read, so the whole object can be written back (issue 10).
  if (j.web && "homePageUrl" in j.web) web.homePageUrl = j.web.homePageUrl ?? null;
  if (j.web && "logoutUrl" in j.web) web.logoutUrl = j.web.logoutUrl ?? null;
  if (j.web?.redirectUriSettings) {
    web.redirectUriSettings = j.web.redirectUriSettings
      .filter((r): r is { uri: string; index?: number | null } => typeof r.uri === "string")
      .map((r) => ({ uri: r.uri, index: r.index ?? null }));
  }
  return {
    id: j.id ?? "",
    appId: j.appId ?? "",
    uniqueName: j.uniqueName ?? null,
    displayName: j.displayName ?? "",
    signInAudience: j.signInAudience ?? "",
    tags: j.tags ?? [],
    web,
    isFallbackPublicClient: j.isFallbackPublicClient ?? null,
    requiredResourceAccess: (j.requiredResourceAccess ?? []).map((r) => ({
      resourceAppId: r.resourceAppId,
      resourceAccess: (r.resourceAccess ?? []).map((a) => ({ id: a.id, type: a.type })),
    })),
    // Only the public fields are copied: a secretText, were one ever present, stays behind.
    passwordCredentials: (j.passwordCredentials ?? []).map((p) => ({
      keyId: p.keyId ?? "",
      displayName: p.displayName ?? null,
      hint: p.hint ?? null,
      startDateTime: p.startDateTime ?? null,
      endDateTime: p.endDateTime ?? null,
    })),
    ...(j.createdDateTime ? { createdDateTime: j.createdDateTime } : {}),
  };
}
