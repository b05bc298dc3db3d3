// The Directory's approver check: does a user hold Global Administrator, assigned directly (role
// assignments, RoleManagement.Read.Directory) or through a role-assignable group, which needs a
// permission that reads membership; without one the answer is "unverified", not an error.

import { SyncbotError } from "../domain/errors";
import type { AdminRoleCheck, CallContext, Directory, DirectoryStanding } from "../domain/ports";
import type { GraphHttp } from "./createGraphHttp";

export const GLOBAL_ADMIN_ROLE_ID = "62e90394-69f5-4237-9190-012177145e10";

export type RoleOperations = Pick<Directory, "isGlobalAdministrator"> &
  Pick<DirectoryStanding, "checkGlobalAdministrator">;

export function createRoleOperations(http: GraphHttp): RoleOperations {
  async function directAssignment(userObjectId: string, ctx: CallContext): Promise<boolean> {
    const filter = encodeURIComponent(
      `principalId eq '${userObjectId.replace(/'/g, "''")}' and roleDefinitionId eq '${GLOBAL_ADMIN_ROLE_ID}'`,
    );
    const { body } = await http.call("GET", `/roleManagement/directory/roleAssignments?$filter=${filter}`, ctx);
    return ((body as { value?: unknown[] } | undefined)?.value ?? []).length > 0;
  }

  return {
    async checkGlobalAdministrator(userObjectId, ctx = {}): Promise<AdminRoleCheck> {
      if (await directAssignment(userObjectId, ctx)) return "eligible";
      try {
        const path = `/users/${encodeURIComponent(userObjectId)}/transitiveMemberOf/microsoft.graph.directoryRole`;
        for await (const page of http.pages<{ roleTemplateId?: string }>(path, ctx)) {
          if (page.some((r) => r.roleTemplateId === GLOBAL_ADMIN_ROLE_ID)) return "eligible";
        }
        return "not_eligible";
      } catch (e) {
        if (e instanceof SyncbotError && e.status === 403) return "unverified";
        if (e instanceof SyncbotError && e.code === "not_found") return "not_eligible";
        throw e;
      }
    },

    async isGlobalAdministrator(userObjectId, ctx = {}) {
      const filter = encodeURIComponent(
        `principalId eq '${userObjectId.replace(/'/g, "''")}' and roleDefinitionId eq '${GLOBAL_ADMIN_ROLE_ID}'`,
      );
      const { body } = await http.call("GET", `/roleManagement/directory/roleAssignments?$filter=${filter}`, ctx);
      if (((body as { value?: unknown[] } | undefined)?.value ?? []).length > 0) return true;
      // A role held through a role-assignable group has the group as principal; ask for the user's
      // transitive roles instead.
      try {
        const path = `/users/${encodeURIComponent(userObjectId)}/transitiveMemberOf/microsoft.graph.directoryRole`;
        for await (const page of http.pages<{ roleTemplateId?: string }>(path, ctx)) {
          if (page.some((r) => r.roleTemplateId === GLOBAL_ADMIN_ROLE_ID)) return true;
        }
      } catch (e) {
        if (e instanceof SyncbotError && e.code === "not_found") return false;
        throw e;
      }
      return false;
    },
  };
}
