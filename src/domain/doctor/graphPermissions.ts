// Which Microsoft Graph application permissions syncbot's configuration needs, and why (the README's
// table says the same); and how the permissions its identity holds compare: missing and more than needed.

import type { ApprovalPolicy } from "../approval";

export interface PermissionNeed {
  name: string;
  why: string;
  /** Broader permissions that also cover it (holding one works, but is more than needed). */
  coveredBy: readonly string[];
  /** Optional: a feature is off without it, nothing fails. */
  optional: boolean;
}

/** The needs for a configuration, per Microsoft Graph's per-API permission tables. */
export function permissionNeeds(policy: ApprovalPolicy): PermissionNeed[] {
  const roleCheck = policy !== "allow-list";
  return [
    {
      name: "Application.ReadWrite.OwnedBy",
      why: "create the registrations, update them, add and remove their secrets, create their service principals and read their owners (only apps syncbot owns)",
      coveredBy: ["Application.ReadWrite.All"],
      optional: false,
    },
    ...(roleCheck
      ? [
          {
            name: "RoleManagement.Read.Directory",
            why: "the approver check: Global Administrator role assignments",
            coveredBy: [
              "RoleManagement.Read.All",
              "RoleManagement.ReadWrite.Directory",
              "Directory.Read.All",
              "Directory.ReadWrite.All",
            ],
            optional: false,
          },
          {
            name: "GroupMember.Read.All",
            why: "recognise a Global Administrator role held through a group (otherwise such an approver is told the role could not be verified)",
            coveredBy: ["Group.Read.All", "User.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"],
            optional: true,
          },
        ]
      : []),
    {
      name: "Policy.Read.All",
      why: "check the tenant's app management policy (secret lifetime, secrets blocked) at Review plan",
      coveredBy: ["Policy.ReadWrite.ApplicationConfiguration"],
      optional: true,
    },
  ];
}

export interface PermissionComparison {
  missing: PermissionNeed[];
  optionalMissing: PermissionNeed[];
  /** Held, but no need names it (a broader permission that covers a need is listed here too). */
  excess: string[];
}

export function comparePermissions(needs: readonly PermissionNeed[], held: readonly string[]): PermissionComparison {
  const has = new Set(held);
  const covered = (n: PermissionNeed) => has.has(n.name) || n.coveredBy.some((c) => has.has(c));
  const named = new Set(needs.map((n) => n.name));
  return {
    missing: needs.filter((n) => !n.optional && !covered(n)),
    optionalMissing: needs.filter((n) => n.optional && !covered(n)),
    excess: [...has].filter((p) => !named.has(p)).sort(),
  };
}
