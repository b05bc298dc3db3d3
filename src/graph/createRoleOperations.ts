// The Directory's approver check: does a user hold Global Administrator, assigned directly or
// through a role-assignable group?

import { SyncbotError } from "../domain/errors";
import type { Directory } from "../domain/ports";
import type { GraphHttp } from "./createGraphHttp";

export const GLOBAL_ADMIN_ROLE_ID = "62e90394-69f5-4237-9190-012177145e10";

export type RoleOperations = Pick<Directory, "isGlobalAdministrator">;

export function createRoleOperations(http: GraphHttp): RoleOperations {
  return {
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
