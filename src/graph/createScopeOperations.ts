// The Directory's lookup of Microsoft Graph's delegated permission ids by value, read once from
// Graph's own service principal and cached (a failed lookup is not cached).

import type { Directory } from "../domain/ports";
import type { GraphHttp } from "./createGraphHttp";

export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";

export type ScopeOperations = Pick<Directory, "getGraphDelegatedScopes">;

export function createScopeOperations(http: GraphHttp): ScopeOperations {
  let scopesCache: Promise<Map<string, string>> | undefined;
  return {
    getGraphDelegatedScopes(ctx = {}) {
      scopesCache ??= (async () => {
        const { body } = await http.call(
          "GET",
          `/servicePrincipals(appId='${GRAPH_APP_ID}')?$select=id,appId,oauth2PermissionScopes,appRoles`,
          ctx,
        );
        const sp = (body ?? {}) as {
          oauth2PermissionScopes?: Array<{ id?: string; value?: string; isEnabled?: boolean }>;
        };
        const map = new Map<string, string>();
        for (const s of sp.oauth2PermissionScopes ?? []) {
          if (s.value && s.id && s.isEnabled !== false) map.set(s.value, s.id);
        }
        return map;
      })();
      // A failed lookup is not cached: the next call asks again.
      scopesCache.catch(() => {
        scopesCache = undefined;
      });
      return scopesCache.then((m) => new Map(m));
    },
  };
}
