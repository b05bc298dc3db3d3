// The Directory's read of the app management policies that limit secrets: the tenant default (cached,
// it is tenant-wide) and the application's own policy. Without Policy.Read.All Graph answers 403,
// which means "not checked".

import { SyncbotError } from "../domain/errors";
import type { CallContext, DirectoryStanding, PasswordRestrictions } from "../domain/ports";
import { appPath } from "./createApplicationOperations";
import type { GraphHttp } from "./createGraphHttp";

export type PolicyOperations = Pick<DirectoryStanding, "getAppManagementPolicies">;

interface PasswordCredentialConfiguration {
  restrictionType?: string;
  maxLifetime?: string | null;
  restrictForAppsCreatedAfterDateTime?: string | null;
  state?: string | null;
}

interface PolicyJson {
  isEnabled?: boolean;
  applicationRestrictions?: { passwordCredentials?: PasswordCredentialConfiguration[] | null } | null;
  restrictions?: { passwordCredentials?: PasswordCredentialConfiguration[] | null } | null;
}

function toRestrictions(list: PasswordCredentialConfiguration[] | null | undefined): PasswordRestrictions {
  // A restriction whose state is "disabled" does not apply.
  const active = (list ?? []).filter((r) => r.state !== "disabled");
  const addition = active.find((r) => r.restrictionType === "passwordAddition");
  const lifetime = active.find((r) => r.restrictionType === "passwordLifetime" && r.maxLifetime);
  return {
    passwordAddition: addition ? { appliesAfter: addition.restrictForAppsCreatedAfterDateTime ?? null } : null,
    passwordLifetime: lifetime
      ? { maxLifetime: lifetime.maxLifetime!, appliesAfter: lifetime.restrictForAppsCreatedAfterDateTime ?? null }
      : null,
  };
}

const isForbidden = (e: unknown) => e instanceof SyncbotError && e.status === 403;

export interface PolicyCacheOptions {
  /** How long the tenant default (or Graph's 403 for it) is reused. Default 10 minutes. */
  ttlMs?: number;
  now?: () => number;
}

export const POLICY_CACHE_MS = 10 * 60_000;

type TenantRead = { checked: false } | { checked: true; tenantDefault: PasswordRestrictions | null };

/**
 * The tenant's default policy is tenant-wide: it is read once per `ttlMs` in this process and shared by
 * every Review plan, and so is a 403 (syncbot lacks Policy.Read.All; a grant shows within the TTL). The
 * application's own policy is read each time. A failed read other than 403 is not kept.
 */
export function createPolicyOperations(http: GraphHttp, cache: PolicyCacheOptions = {}): PolicyOperations {
  const ttlMs = cache.ttlMs ?? POLICY_CACHE_MS;
  const now = cache.now ?? Date.now;
  let tenant: { read: Promise<TenantRead>; at: number } | undefined;

  function tenantDefault(ctx: CallContext): Promise<TenantRead> {
    if (tenant && now() - tenant.at < ttlMs) return tenant.read;
    const entry = {
      at: now(),
      read: (async (): Promise<TenantRead> => {
        try {
          const { body } = await http.call("GET", "/policies/defaultAppManagementPolicy", ctx);
          const d = (body ?? {}) as PolicyJson;
          return {
            checked: true,
            tenantDefault: d.isEnabled ? toRestrictions(d.applicationRestrictions?.passwordCredentials) : null,
          };
        } catch (e) {
          if (isForbidden(e)) return { checked: false };
          throw e;
        }
      })(),
    };
    tenant = entry;
    entry.read.catch(() => {
      if (tenant === entry) tenant = undefined;
    });
    return entry.read;
  }

  return {
    async getAppManagementPolicies(appObjectId, ctx = {}) {
      const def = await tenantDefault(ctx);
      if (!def.checked) return { checked: false, reason: "forbidden" };
      let application: PasswordRestrictions | null = null;
      if (appObjectId) {
        try {
          const { body } = await http.call("GET", `${appPath(appObjectId)}/appManagementPolicies`, ctx);
          const own = ((body as { value?: PolicyJson[] } | undefined)?.value ?? []).find((p) => p.isEnabled !== false);
          application = own ? toRestrictions(own.restrictions?.passwordCredentials) : null;
        } catch (e) {
          if (isForbidden(e)) return { checked: false, reason: "forbidden" };
          throw e;
        }
      }
      return { checked: true, tenantDefault: def.tenantDefault, application };
    },
  };
}
