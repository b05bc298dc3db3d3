// doctor's pure parts: permissions needed per configuration vs held, the bot identity settings, and the
// tenant secret policy arithmetic of Review plan.

import { describe, expect, it } from "vitest";
import { comparePermissions, permissionNeeds } from "../../src/domain/doctor/graphPermissions";
import { type BotIdentitySettings, botIdentityLines } from "../../src/domain/doctor/runDoctor";
import { maxMonthsWithin } from "../../src/domain/requests/reviewChecks";

const names = (ns: Array<{ name: string }>) => ns.map((n) => n.name);

describe("comparePermissions", () => {
  it.each([
    {
      held: ["Application.ReadWrite.OwnedBy", "RoleManagement.Read.Directory"],
      missing: [],
      excess: [],
      optional: ["GroupMember.Read.All", "Policy.Read.All"],
    },
    {
      held: ["Application.ReadWrite.OwnedBy", "Application.Read.All"],
      missing: ["RoleManagement.Read.Directory"],
      excess: ["Application.Read.All"],
      optional: ["GroupMember.Read.All", "Policy.Read.All"],
    },
    {
      // A broader permission covers the need but is more than needed.
      held: ["Application.ReadWrite.All", "Directory.Read.All", "Policy.Read.All"],
      missing: [],
      excess: ["Application.ReadWrite.All", "Directory.Read.All"],
      optional: [],
    },
    {
      held: [],
      missing: ["Application.ReadWrite.OwnedBy", "RoleManagement.Read.Directory"],
      excess: [],
      optional: ["GroupMember.Read.All", "Policy.Read.All"],
    },
  ])("global-admin policy, holding $held", ({ held, missing, excess, optional }) => {
    const cmp = comparePermissions(permissionNeeds("global-admin"), held);
    expect(names(cmp.missing)).toEqual(missing);
    expect(cmp.excess).toEqual(excess);
    expect(names(cmp.optionalMissing)).toEqual(optional);
  });

  it("allow-list needs no role permission, and a held one is more than needed", () => {
    const cmp = comparePermissions(permissionNeeds("allow-list"), [
      "Application.ReadWrite.OwnedBy",
      "RoleManagement.Read.Directory",
    ]);
    expect(cmp.missing).toEqual([]);
    expect(cmp.excess).toEqual(["RoleManagement.Read.Directory"]);
  });
});

describe("botIdentityLines", () => {
  const base: BotIdentitySettings = {
    botAuth: "enabled",
    appId: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
    appType: "SingleTenant",
    appTenantId: "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f",
    hasPassword: true,
    spTenantId: "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f",
  };
  it.each<[Partial<BotIdentitySettings>, string, RegExp]>([
    [{}, "ok", /SingleTenant app/],
    [{ botAuth: "disabled" }, "warn", /BOT_AUTH=disabled/],
    [{ appTenantId: "" }, "fail", /SingleTenant needs MicrosoftAppTenantId/],
    [{ hasPassword: false }, "fail", /needs MicrosoftAppPassword/],
    [{ appType: "UserAssignedMSI", hasPassword: false }, "ok", /UserAssignedMSI/],
    [{ appType: "Federated" }, "fail", /is not MultiTenant, SingleTenant or UserAssignedMSI/],
    [{ appTenantId: "9e8d7c6b-5a49-4838-a726-150f4e3d2c1b" }, "warn", /differs from SP_TENANT_ID/],
  ])("%o → %s", (change, status, detail) => {
    const [line] = botIdentityLines({ ...base, ...change });
    expect(line!.status).toBe(status);
    expect(line!.detail).toMatch(detail);
  });
});

describe("maxMonthsWithin", () => {
  it.each([
    [184, "2026-01-31T00:00:00Z", 6],
    [180, "2026-01-31T00:00:00Z", 5], // Jan 31 + 6 months = Jul 31: 181 days
    [730, "2026-03-01T00:00:00Z", 23], // 24 months from March 2026 spans a leap day: 731 days
    [731, "2026-03-01T00:00:00Z", 24],
    [20, "2026-03-01T00:00:00Z", 0],
  ])("%i days from %s → %i months", (days, from, months) => {
    expect(maxMonthsWithin(days, new Date(from))).toBe(months);
  });
});
