// What syncbot's own identity holds, for `doctor`: the `roles` claim of its Graph access token (no
// permission needed) and, where readable, the app role assignments of its service principal.

import { SyncbotError } from "../domain/errors";
import type { DirectoryStanding, OwnAppRoleAssignment } from "../domain/ports";
import type { GraphHttp } from "./createGraphHttp";
import { GRAPH_APP_ID } from "./createScopeOperations";

export type StandingOperations = Pick<
  DirectoryStanding,
  "getOwnTokenRoles" | "listOwnAppRoleAssignments" | "getOwnIdentity" | "probeGraph"
>;

export function createStandingOperations(http: GraphHttp): StandingOperations {
  // Graph's app roles by id, to name the assignments; unreadable (403) leaves the values null.
  async function graphAppRoles(ctx: object): Promise<Map<string, string>> {
    try {
      const { body } = await http.call("GET", `/servicePrincipals(appId='${GRAPH_APP_ID}')?$select=id,appRoles`, ctx);
      const roles = (body as { appRoles?: Array<{ id?: string; value?: string }> } | undefined)?.appRoles ?? [];
      return new Map(roles.filter((r) => r.id && r.value).map((r) => [r.id!, r.value!]));
    } catch (e) {
      if (e instanceof SyncbotError && e.status === 403) return new Map();
      throw e;
    }
  }

  return {
    async getOwnIdentity() {
      const claims = await http.tokenClaims();
      if (!claims) return null;
      const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : null);
      return { objectId: str(claims.oid), appId: str(claims.appid) ?? str(claims.azp) };
    },

    async probeGraph(ctx = {}) {
      try {
        const { status, headers } = await http.call("GET", "/applications?$top=1&$select=id", ctx);
        const date = headers.get("date");
        return { reachable: true as const, status, serverTime: date ? new Date(date) : null };
      } catch (e) {
        if (e instanceof SyncbotError && e.status !== undefined)
          return { reachable: true as const, status: e.status, serverTime: null };
        return { reachable: false as const, reason: e instanceof Error ? e.message : String(e) };
      }
    },

    async getOwnTokenRoles() {
      const claims = await http.tokenClaims();
      if (!claims) return null;
      return Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === "string") : [];
    },

    async listOwnAppRoleAssignments(servicePrincipalId, ctx = {}) {
      const id = servicePrincipalId ?? (await http.tokenClaims())?.oid;
      if (typeof id !== "string" || id === "") return null;
      const raw: Array<{ appRoleId?: string; resourceDisplayName?: string | null }> = [];
      try {
        const path = `/servicePrincipals/${encodeURIComponent(id)}/appRoleAssignments`;
        for await (const page of http.pages<(typeof raw)[number]>(path, ctx)) raw.push(...page);
      } catch (e) {
        if (e instanceof SyncbotError && e.status === 403) return { readable: false };
        throw e;
      }
      const names = await graphAppRoles(ctx);
      const assignments: OwnAppRoleAssignment[] = raw.map((a) => ({
        appRoleId: a.appRoleId ?? "",
        resourceDisplayName: a.resourceDisplayName ?? null,
        value: names.get(a.appRoleId ?? "") ?? null,
      }));
      return { readable: true, assignments };
    },
  };
}
