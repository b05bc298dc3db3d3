// The Directory's read of the app management policies that limit secrets: the tenant default and
// the application's own policy. Without Policy.Read.All Graph answers 403, which means "not checked".

import { SyncbotError } from "../domain/errors";
import type { DirectoryStanding, PasswordRestrictions } from "../domain/ports";
import { appPath } from "./createApplicationOperations";
import type { GraphHttp } from "./createGraphHttp";

export type PolicyOperations = Pick<DirectoryStanding, "getAppManagementPolicies">;

interface PasswordCredentialConfiguration {
  restrictionType?: string;
  maxLifetime?: string | null;
  state?: string | null;
}

interface PolicyJson {
  isEnabled?: boolean;
  applicationRestrictions?: { passwordCredentials?: PasswordCredentialConfiguration[] | null } | null;
  restrictions?: { passwordCredentials?: PasswordCredentialConfiguration[] | null } | null;
}

/** Whole days of an ISO 8601 duration made of days and weeks only (P180D, P26W); null otherwise. */
export function durationDays(duration: string): number | null {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?$/.exec(duration);
  if (!m || (m[1] === undefined && m[2] === undefined)) return null;
  return Number(m[1] ?? 0) * 7 + Number(m[2] ?? 0);
}

function toRestrictions(list: PasswordCredentialConfiguration[] | null | undefined): PasswordRestrictions {
  // A restriction whose state is "disabled" does not apply.
  const active = (list ?? []).filter((r) => r.state !== "disabled");
  const lifetime = active.find((r) => r.restrictionType === "passwordLifetime")?.maxLifetime ?? null;
  return {
    passwordAdditionBlocked: active.some((r) => r.restrictionType === "passwordAddition"),
    maxPasswordLifetime: lifetime,
    maxPasswordLifetimeDays: lifetime ? durationDays(lifetime) : null,
  };
}

const isForbidden = (e: unknown) => e instanceof SyncbotError && e.status === 403;

export function createPolicyOperations(http: GraphHttp): PolicyOperations {
  return {
    async getAppManagementPolicies(appObjectId, ctx = {}) {
      try {
        const { body: def } = await http.call("GET", "/policies/defaultAppManagementPolicy", ctx);
        const d = (def ?? {}) as PolicyJson;
        const tenantDefault = d.isEnabled ? toRestrictions(d.applicationRestrictions?.passwordCredentials) : null;
        let application: PasswordRestrictions | null = null;
        if (appObjectId) {
          const { body } = await http.call("GET", `${appPath(appObjectId)}/appManagementPolicies`, ctx);
          const own = ((body as { value?: PolicyJson[] } | undefined)?.value ?? []).find((p) => p.isEnabled !== false);
          application = own ? toRestrictions(own.restrictions?.passwordCredentials) : null;
        }
        return { checked: true, tenantDefault, application };
      } catch (e) {
        if (isForbidden(e)) return { checked: false, reason: "forbidden" };
        throw e;
      }
    },
  };
}
