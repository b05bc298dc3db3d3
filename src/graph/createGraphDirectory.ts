// createGraphDirectory: the Directory port over Microsoft Graph v1.0, composed from one HTTP client
// (the SDK with our middleware chain and error translation, see createGraphHttp) and the operations
// grouped by concern. `secretText` stays out of everything except the NewSecret addPassword returns.

import type { FullDirectory } from "../domain/ports";
import { createApplicationOperations } from "./createApplicationOperations";
import { createGraphHttp, type GraphHttpDeps } from "./createGraphHttp";
import { createPasswordOperations } from "./createPasswordOperations";
import { createPolicyOperations, type PolicyCacheOptions } from "./createPolicyOperations";
import { createRoleOperations } from "./createRoleOperations";
import { createScopeOperations } from "./createScopeOperations";
import { createServicePrincipalOperations } from "./createServicePrincipalOperations";
import { createStandingOperations } from "./createStandingOperations";

export type GraphDirectoryDeps = GraphHttpDeps & {
  /** How long the tenant's default app management policy read is reused (tests shorten or move time). */
  policyCache?: PolicyCacheOptions;
};

export function createGraphDirectory(deps: GraphDirectoryDeps): FullDirectory {
  const http = createGraphHttp(deps);
  return {
    ...createApplicationOperations(http),
    ...createPasswordOperations(http),
    ...createScopeOperations(http),
    ...createRoleOperations(http),
    ...createServicePrincipalOperations(http),
    ...createPolicyOperations(http, deps.policyCache),
    ...createStandingOperations(http),
  };
}
