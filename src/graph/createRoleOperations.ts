// The Directory's approver check: does a user hold Global Administrator, assigned directly (role
// assignments, RoleManagement.Read.Directory) or through a role-assignable group, which needs a
// permission that reads membership; without one the answer is "unverified", not an error.

import { SyncbotError } from "../domain/errors";
import type { AdminRoleCheck, CallContext, Directory, DirectoryStanding } from "../domain/ports";
import type { GraphHttp } from "./createGraphHttp";

export const GLOBAL_ADMIN_ROLE_ID = "62e90394-69f5-4237-9190-012177145e10";

export type RoleOperations = Pick<Directory, "isGlobalAdministrator"> &
  Pick<DirectoryStanding, "checkGlobalAdministrator">;

// The OData cast to directoryRole is an advanced query: Graph answers 400 Request_UnsupportedQuery
// unless it carries ConsistencyLevel: eventual and $count=true (user-list-transitivememberof.md,
// "Request headers"; aad-advanced-queries.md).
const ADVANCED = { consistencylevel: "eventual" };
const rolesPath = (userObjectId: string) =>
  `/users/${encodeURIComponent(userObjectId)}/transitiveMemberOf/microsoft.graph.directoryRole?$count=true`;

export function createRoleOperations(http: GraphHttp): RoleOperations {
  async function directAssignment(userObjectId: string, ctx: CallContext): Promise<boolean> {
    const filter = encodeURIComponent(
      `principalId eq '${userObjectId.replace(/'/g, "''")}' and roleDefinitionId eq '${GLOBAL_ADMIN_ROLE_ID}'`,
    );
    const { body } = await http.call("GET", `/roleManagement/directory/roleAssignments?$filter=${filter}`, ctx);
    return ((body as { value?: unknown[] } | undefined)?.value ?? []).length > 0;
  }

  /** A role held through a role-assignable group has the group as principal: the user's transitive roles. */
  async function transitiveGlobalAdmin(userObjectId: string, ctx: CallContext): Promise<boolean> {
    try {
      for await (const page of http.pages<{ roleTemplateId?: string }>(rolesPath(userObjectId), ctx, ADVANCED)) {
        if (page.some((r) => r.roleTemplateId === GLOBAL_ADMIN_ROLE_ID)) return true;
      }
      return false;
    } catch (e) {
      if (e instanceof SyncbotError && e.code === "not_found") return false;
      if (e instanceof SyncbotError && e.status === 400)
        throw new SyncbotError(
          "upstream_rejected",
          `Graph refused the check of roles held through a group (${e.upstreamCode ?? "400"}): ${e.message}. Nothing was changed.`,
          {
            status: 400,
            upstreamCode: e.upstreamCode,
            hint: "a proxy between syncbot and Graph may drop the ConsistencyLevel header; assign the role directly or list approvers in APPROVER_IDS (APPROVAL_POLICY=either)",
          },
        );
      throw e;
    }
  }

  return {
    async checkGlobalAdministrator(userObjectId, ctx = {}): Promise<AdminRoleCheck> {
      if (await directAssignment(userObjectId, ctx)) return "eligible";
      try {
        return (await transitiveGlobalAdmin(userObjectId, ctx)) ? "eligible" : "not_eligible";
      } catch (e) {
        if (e instanceof SyncbotError && e.status === 403) return "unverified";
        if (e instanceof SyncbotError && e.status === 400) return "query_refused";
        throw e;
      }
    },

    async isGlobalAdministrator(userObjectId, ctx = {}) {
      return (await directAssignment(userObjectId, ctx)) || (await transitiveGlobalAdmin(userObjectId, ctx));
    },
  };
}
