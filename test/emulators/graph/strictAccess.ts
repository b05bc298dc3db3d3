// Strict mode of the Graph emulator: the caller holds a set of Microsoft Graph APPLICATION
// permissions (from its bearer token's `roles`, or the emulator's configuration) and every route asks
// this module whether they cover the call, per the per-API permission tables of Microsoft Graph v1.0
// (see test/emulators/README.md, "Graph emulator"). Outside strict mode everything is allowed.

export type GraphAppPermission =
  | "Application.Read.All"
  | "Application.ReadWrite.OwnedBy"
  | "Application.ReadWrite.All"
  | "Directory.Read.All"
  | "Directory.ReadWrite.All"
  | "RoleManagement.Read.Directory"
  | "RoleManagement.Read.All"
  | "RoleManagement.ReadWrite.Directory"
  | "User.Read.All"
  | "Group.Read.All"
  | "GroupMember.Read.All"
  | "Policy.Read.All"
  | "Policy.ReadWrite.ApplicationConfiguration";

/** App role ids of Microsoft Graph's application permissions, as in every tenant. */
export const GRAPH_APP_ROLE_IDS: Record<GraphAppPermission, string> = {
  "Application.Read.All": "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
  "Application.ReadWrite.OwnedBy": "18a4783c-866b-4cc7-a460-3d5e5662c884",
  "Application.ReadWrite.All": "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
  "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
  "Directory.ReadWrite.All": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
  "RoleManagement.Read.Directory": "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
  "RoleManagement.Read.All": "c7fbd983-d9aa-4fa7-84b8-17382c103bc4",
  "RoleManagement.ReadWrite.Directory": "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
  "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
  "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
  "GroupMember.Read.All": "98830695-27a2-44f7-8c18-0c3ebc9698f6",
  "Policy.Read.All": "246dd0d5-5bd0-4def-940b-0421030a5b68",
  "Policy.ReadWrite.ApplicationConfiguration": "be74164b-cff1-491c-8741-e671cb536e13",
};

/** The least-privilege set syncbot's README documents; the default permissions of strict mode. */
export const LEAST_PRIVILEGE: readonly GraphAppPermission[] = [
  "Application.ReadWrite.OwnedBy",
  "RoleManagement.Read.Directory",
];

/** Who is calling: a service principal id and the application permissions it holds. */
export interface Caller {
  appId: string;
  servicePrincipalId: string;
  permissions: ReadonlySet<string>;
}

// Each list is the "Application" row of the API's permission table (least and higher privileged).
const TABLE = {
  // application-list: Application.Read.All | OwnedBy, ReadWrite.All, Directory.Read.All
  listApplications: [
    "Application.Read.All",
    "Application.ReadWrite.OwnedBy",
    "Application.ReadWrite.All",
    "Directory.Read.All",
  ],
  // application-get: Application.Read.All | OwnedBy, ReadWrite.All
  readApplication: ["Application.Read.All", "Application.ReadWrite.OwnedBy", "Application.ReadWrite.All"],
  // application-update, application-upsert, addPassword, removePassword, delete: OwnedBy | ReadWrite.All
  writeApplication: ["Application.ReadWrite.OwnedBy", "Application.ReadWrite.All"],
  // application-list-owners: OwnedBy | Read.All, ReadWrite.All, Directory.Read.All, Directory.ReadWrite.All
  listOwners: [
    "Application.ReadWrite.OwnedBy",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
  ],
  // serviceprincipal-get / -list: Application.Read.All | OwnedBy, ReadWrite.All, Directory.Read.All
  readServicePrincipal: [
    "Application.Read.All",
    "Application.ReadWrite.OwnedBy",
    "Application.ReadWrite.All",
    "Directory.Read.All",
  ],
  // serviceprincipal-post-serviceprincipals: OwnedBy | ReadWrite.All, Directory.ReadWrite.All
  createServicePrincipal: ["Application.ReadWrite.OwnedBy", "Application.ReadWrite.All", "Directory.ReadWrite.All"],
  // serviceprincipal-list-approleassignments: Application.Read.All, Directory.Read.All, ReadWrite.All, Directory.ReadWrite.All
  listAppRoleAssignments: [
    "Application.Read.All",
    "Directory.Read.All",
    "Application.ReadWrite.All",
    "Directory.ReadWrite.All",
  ],
  // rbacapplication-list-roleassignments (directory provider)
  listRoleAssignments: [
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "Directory.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.ReadWrite.All",
  ],
  // user-list-transitivememberof: User.Read.All | Directory.Read.All, Directory.ReadWrite.All, Group.Read.All, GroupMember.Read.All
  transitiveMemberOf: [
    "User.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Group.Read.All",
    "GroupMember.Read.All",
  ],
  // tenantappmanagementpolicy-get: Policy.Read.All | Policy.ReadWrite.ApplicationConfiguration
  readPolicy: ["Policy.Read.All", "Policy.ReadWrite.ApplicationConfiguration"],
  // user-get (a user's displayName and userPrincipalName, e.g. as an application's owner): User.Read.All | Directory.*
  readUser: ["User.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"],
} as const satisfies Record<string, readonly GraphAppPermission[]>;

export type GraphOperation = keyof typeof TABLE;

/** Permissions that reach every application or service principal, not only owned ones. */
const TENANT_WIDE_READ = new Set([
  "Application.Read.All",
  "Application.ReadWrite.All",
  "Directory.Read.All",
  "Directory.ReadWrite.All",
]);
const TENANT_WIDE_WRITE = new Set(["Application.ReadWrite.All", "Directory.ReadWrite.All"]);
/**
 * Reads Application.ReadWrite.OwnedBy makes over the whole tenant: "The Application.ReadWrite.OwnedBy
 * permission allows an app to call GET /applications and GET /servicePrincipals to list all applications
 * and service principals in the tenant" (permissions reference; the same note in application-get,
 * application-list, application-list-owners, serviceprincipal-get and serviceprincipal-list). Writes stay
 * limited to owned objects.
 */
const OWNED_BY_READS_EVERYTHING = new Set([
  "readApplication",
  "listApplications",
  "readServicePrincipal",
  "listOwners",
]);

export interface AccessCheck {
  /** True when the caller holds any permission the operation's table lists. */
  allows(op: GraphOperation): boolean;
  /**
   * Whether the caller may act on one object: Application.ReadWrite.OwnedBy only reaches objects
   * the caller owns ("allows these operations only on applications and service principals that the
   * calling app is an owner of", permissions reference).
   */
  reaches(op: GraphOperation, owners: readonly string[]): boolean;
  /** True when reads of `op` are limited to owned objects (lists are filtered, not refused). */
  ownedOnly(op: GraphOperation): boolean;
}

export function accessCheck(strict: boolean, caller: Caller): AccessCheck {
  const held = (p: string) => caller.permissions.has(p);
  const allows = (op: GraphOperation) => !strict || TABLE[op].some(held);
  const tenantWide = (op: GraphOperation) => {
    const wide = op === "writeApplication" || op === "createServicePrincipal" ? TENANT_WIDE_WRITE : TENANT_WIDE_READ;
    if (OWNED_BY_READS_EVERYTHING.has(op) && held("Application.ReadWrite.OwnedBy")) return true;
    return TABLE[op].some((p) => held(p) && wide.has(p));
  };
  return {
    allows,
    reaches(op, owners) {
      if (!strict) return true;
      if (!allows(op)) return false;
      return tenantWide(op) || owners.includes(caller.servicePrincipalId);
    },
    ownedOnly(op) {
      return strict && allows(op) && !tenantWide(op);
    },
  };
}
