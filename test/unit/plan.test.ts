// planProvisioning against hand-built live states: fresh, healthy, each kind of drift, orphans, rotation,
// and the hash an approval binds to.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NOW, PARAMS } from "../support/fixtures";
import {
  applicationDiff,
  type Change,
  desiredApplicationFields,
  describeChange,
  type LiveState,
  type PlanOptions,
  planProvisioning,
} from "../../src/domain/plan";
import type { LiveApplication, UmpSettings } from "../../src/domain/ports";
import type { SecretRecord } from "../../src/domain/secretRecord";
import { buildSpec, GRAPH_RESOURCE_APP_ID, type Spec } from "../../src/domain/spec";

const FAR = "2027-03-01T12:00:00.000Z";

const spec: Spec = buildSpec(PARAMS);

function healthyApp(overrides: Partial<LiveApplication> = {}): LiveApplication {
  return {
    id: "obj-1",
    appId: "app-1",
    uniqueName: spec.uniqueName,
    displayName: spec.displayName,
    signInAudience: "AzureADMultipleOrgs",
    tags: [...spec.tags],
    web: {
      redirectUris: [spec.redirectUrl],
      implicitGrantSettings: { enableAccessTokenIssuance: true, enableIdTokenIssuance: true },
    },
    isFallbackPublicClient: true,
    requiredResourceAccess: structuredClone(spec.requiredResourceAccess),
    passwordCredentials: [
      {
        keyId: "k1",
        displayName: "syncbot:ump:run-1",
        hint: "abc",
        startDateTime: "2025-01-01T00:00:00Z",
        endDateTime: FAR,
      },
    ],
    ...overrides,
  };
}

function record(keyId: string, overrides: Partial<SecretRecord> = {}): SecretRecord {
  return {
    keyId,
    service: "ump",
    runId: "run-1",
    displayName: "syncbot:ump:run-1",
    hint: "abc",
    endDateTime: FAR,
    fingerprint: `sha256:${keyId.padEnd(16, "0")}`,
    createdAt: "2025-01-01T00:00:00Z",
    status: "active",
    ...overrides,
  };
}

function healthyUmp(overrides: Partial<UmpSettings["syncApp"]> = {}): UmpSettings {
  return {
    umpInstanceId: "ump-01",
    revision: 3,
    syncApp: {
      clientId: "app-1",
      redirectUri: spec.redirectUrl,
      clientSecret: { isSet: true, hint: "abc", fingerprint: record("k1").fingerprint, version: 1, expiresAt: FAR },
      ...overrides,
    },
    customerAuthenticationPortalUrl: { value: spec.portalUrl, validationStatus: "Valid" },
  };
}

const healthy = (): LiveState => ({ app: healthyApp(), ump: healthyUmp(), recorded: [record("k1")] });
const provision: PlanOptions = { kind: "provision", umpApi: true, now: NOW };

describe("planProvisioning", () => {
  it("plans everything for a fresh customer", () => {
    const plan = planProvisioning(spec, { app: null, ump: null, recorded: [] }, provision);
    expect(plan.changes).toEqual<Change[]>([
      { kind: "app.create", uniqueName: "syncbot-contoso" },
      { kind: "sp.create", appId: null },
      { kind: "secret.add", service: "ump", lifetimeMonths: 24 },
      { kind: "ump.syncApp", instance: "ump-01", fields: ["clientId", "clientSecret", "redirectUri"] },
      { kind: "ump.portalUrl", instance: "ump-01", value: "https://umptoken.ump.example.com/authenticate" },
    ]);
    expect(plan.targets).toEqual({ uniqueName: "syncbot-contoso", objectId: null, appId: null, umpInstance: "ump-01" });
    expect(plan.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("plans everything for a fresh customer whose UMP is empty", () => {
    const ump: UmpSettings = {
      umpInstanceId: "ump-01",
      revision: 1,
      syncApp: {
        clientId: null,
        redirectUri: null,
        clientSecret: { isSet: false, hint: null, fingerprint: null, version: 0, expiresAt: null },
      },
      customerAuthenticationPortalUrl: { value: null, validationStatus: "NotValidated" },
    };
    const kinds = planProvisioning(spec, { app: null, ump, recorded: [] }, provision).changes.map((c) => c.kind);
    expect(kinds).toEqual(["app.create", "sp.create", "secret.add", "ump.syncApp", "ump.portalUrl"]);
  });

  it("plans the service principal of an existing app that has none, and covers it in the hash", () => {
    const withSp = planProvisioning(
      spec,
      { ...healthy(), servicePrincipal: { id: "sp-1", appId: "app-1", displayName: "x", tags: [] } },
      provision,
    );
    const without = planProvisioning(spec, { ...healthy(), servicePrincipal: null }, provision);
    expect(withSp.changes).toEqual([]);
    expect(without.changes).toEqual<Change[]>([{ kind: "sp.create", appId: "app-1" }]);
    expect(without.hash).not.toBe(withSp.hash);
  });

  it("plans nothing for a healthy registration", () => {
    const plan = planProvisioning(spec, healthy(), provision);
    expect(plan.changes).toEqual([]);
    expect(plan.targets).toEqual({
      uniqueName: "syncbot-contoso",
      objectId: "obj-1",
      appId: "app-1",
      umpInstance: "ump-01",
    });
  });

  it("plans nothing for a healthy registration in hand-off mode", () => {
    const plan = planProvisioning(spec, { ...healthy(), ump: null }, { ...provision, umpApi: false });
    expect(plan.changes).toEqual([]);
  });

  const drifts: Array<[string, Partial<LiveApplication>, string]> = [
    ["redirect URI removed", { web: { ...healthyApp().web, redirectUris: [] } }, "web.redirectUris"],
    [
      "implicit grant (id tokens) off",
      {
        web: {
          ...healthyApp().web,
          implicitGrantSettings: { enableAccessTokenIssuance: true, enableIdTokenIssuance: false },
        },
      },
      "web.implicitGrantSettings",
    ],
    [
      "implicit grant (access tokens) off",
      {
        web: {
          ...healthyApp().web,
          implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: true },
        },
      },
      "web.implicitGrantSettings",
    ],
    [
      "a permission dropped",
      {
        requiredResourceAccess: [
          {
            resourceAppId: GRAPH_RESOURCE_APP_ID,
            resourceAccess: spec.requiredResourceAccess[0]!.resourceAccess.slice(1),
          },
        ],
      },
      "requiredResourceAccess",
    ],
    ["no permissions at all", { requiredResourceAccess: [] }, "requiredResourceAccess"],
    ["public client off", { isFallbackPublicClient: false }, "isFallbackPublicClient"],
    ["public client unset", { isFallbackPublicClient: null }, "isFallbackPublicClient"],
    ["audience changed", { signInAudience: "AzureADMyOrg" }, "signInAudience"],
    ["display name changed", { displayName: "Someone renamed me" }, "displayName"],
    ["managed tag removed", { tags: [] }, "tags"],
  ];

  it.each(drifts)("%s → exactly that app.update", (_name, patch, field) => {
    const plan = planProvisioning(spec, { ...healthy(), app: healthyApp(patch) }, provision);
    expect(plan.changes).toHaveLength(1);
    const [c] = plan.changes;
    expect(c).toMatchObject({ kind: "app.update", field });
    if (c?.kind === "app.update") expect(c.from).not.toBe(c.to);
  });

  it("says what a display name changes from and to", () => {
    const plan = planProvisioning(spec, { ...healthy(), app: healthyApp({ displayName: "Old" }) }, provision);
    expect(plan.changes).toEqual([{ kind: "app.update", field: "displayName", from: "Old", to: "Contoso UMP Sync" }]);
  });

  it("keeps foreign redirect URIs, extra permissions and foreign tags", () => {
    const foreignUri = "https://other.example.com/callback";
    const extraScope = { id: "570282fd-fa5c-430d-a7fd-fc8dc98a9dca", type: "Scope" as const }; // Mail.Read
    const otherResource = {
      resourceAppId: "00000002-0000-0ff1-ce00-000000000000",
      resourceAccess: [{ id: "x", type: "Role" as const }],
    };
    const app = healthyApp({
      tags: [...spec.tags, "owner:team-a"],
      web: { ...healthyApp().web, redirectUris: [foreignUri, spec.redirectUrl] },
      requiredResourceAccess: [
        otherResource,
        {
          resourceAppId: GRAPH_RESOURCE_APP_ID,
          resourceAccess: [extraScope, ...spec.requiredResourceAccess[0]!.resourceAccess],
        },
      ],
    });
    const want = desiredApplicationFields(spec, app);
    expect(want.web.redirectUris).toEqual(expect.arrayContaining([foreignUri, spec.redirectUrl]));
    expect(want.tags).toContain("owner:team-a");
    expect(want.requiredResourceAccess).toContainEqual(otherResource);
    const graph = want.requiredResourceAccess.find((r) => r.resourceAppId === GRAPH_RESOURCE_APP_ID)!;
    expect(graph.resourceAccess).toContainEqual(extraScope);
    expect(graph.resourceAccess).toHaveLength(10);
    expect(applicationDiff(spec, app)).toEqual([]);
    expect(planProvisioning(spec, { ...healthy(), app }, provision).changes).toEqual([]);
  });

  it("adds the spec's redirect URI next to a foreign one rather than replacing it", () => {
    const app = healthyApp({ web: { ...healthyApp().web, redirectUris: ["https://other.example.com/cb"] } });
    expect(desiredApplicationFields(spec, app).web.redirectUris).toEqual([
      "https://other.example.com/cb",
      spec.redirectUrl,
    ]);
  });

  it("removes secrets whose keyId syncbot never recorded, as orphans", () => {
    const app = healthyApp({
      passwordCredentials: [
        ...healthyApp().passwordCredentials,
        { keyId: "stray", displayName: "syncbot:ump:run-9", hint: "zzz", startDateTime: null, endDateTime: FAR },
        { keyId: "manual", displayName: null, hint: null, startDateTime: null, endDateTime: null },
      ],
    });
    const plan = planProvisioning(spec, { ...healthy(), app }, provision);
    expect(plan.changes).toEqual([
      { kind: "secret.remove", keyId: "stray", hint: "zzz", reason: "orphan" },
      { kind: "secret.remove", keyId: "manual", hint: null, reason: "orphan" },
    ]);
  });

  it("keeps a recorded secret of another service", () => {
    const app = healthyApp({
      passwordCredentials: [
        ...healthyApp().passwordCredentials,
        { keyId: "k-other", displayName: "syncbot:other:run-2", hint: "oth", startDateTime: null, endDateTime: FAR },
      ],
    });
    const live = { ...healthy(), app, recorded: [record("k1"), record("k-other", { service: "other" })] };
    expect(planProvisioning(spec, live, provision).changes).toEqual([]);
  });

  it("rotation adds a secret, writes it to UMP and retires the old one after the grace period", () => {
    const plan = planProvisioning(spec, healthy(), { ...provision, kind: "rotate" });
    expect(plan.kind).toBe("rotate");
    expect(plan.changes).toEqual<Change[]>([
      { kind: "secret.add", service: "ump", lifetimeMonths: 24 },
      { kind: "ump.syncApp", instance: "ump-01", fields: ["clientSecret"] },
      { kind: "secret.remove", keyId: "k1", hint: "abc", reason: "superseded" },
    ]);
  });

  it("renews a secret about to expire when asked to", () => {
    const soon = new Date(NOW.getTime() + 5 * 86_400_000).toISOString();
    const live = { ...healthy(), recorded: [record("k1", { endDateTime: soon })] };
    expect(planProvisioning(spec, live, provision).changes).toEqual([]);
    const kinds = planProvisioning(spec, live, { ...provision, renewWithinDays: 30 }).changes.map((c) => c.kind);
    expect(kinds).toEqual(["secret.add", "ump.syncApp", "secret.remove"]);
  });

  it("adds a secret when UMP holds one syncbot cannot account for", () => {
    const live = {
      ...healthy(),
      ump: healthyUmp({
        clientSecret: { ...healthyUmp().syncApp.clientSecret, fingerprint: "sha256:ffffffffffffffff" },
      }),
    };
    const plan = planProvisioning(spec, live, provision);
    expect(plan.changes).toEqual<Change[]>([
      { kind: "secret.add", service: "ump", lifetimeMonths: 24 },
      { kind: "ump.syncApp", instance: "ump-01", fields: ["clientSecret"] },
      { kind: "secret.remove", keyId: "k1", hint: "abc", reason: "replaced" },
    ]);
  });

  it("rewrites UMP's client id, redirect URI and portal URL when they drift", () => {
    const ump = healthyUmp({ clientId: "someone-else", redirectUri: "https://old.example.com/cb" });
    ump.customerAuthenticationPortalUrl = { value: spec.portalUrl, validationStatus: "Invalid" };
    const plan = planProvisioning(spec, { ...healthy(), ump }, provision);
    expect(plan.changes).toEqual<Change[]>([
      { kind: "ump.syncApp", instance: "ump-01", fields: ["clientId", "redirectUri"] },
      { kind: "ump.portalUrl", instance: "ump-01", value: spec.portalUrl },
    ]);
  });
});

describe("plan hash", () => {
  const base = planProvisioning(spec, { ...healthy(), app: healthyApp({ displayName: "Old" }) }, provision);

  it("is stable for the same spec and live state, whatever the clock says", () => {
    const again = planProvisioning(
      spec,
      { ...healthy(), app: healthyApp({ displayName: "Old" }) },
      { ...provision, now: new Date("2025-03-02T00:00:00Z") },
    );
    expect(again.hash).toBe(base.hash);
  });

  it("changes when a change differs", () => {
    const other = planProvisioning(spec, { ...healthy(), app: healthyApp({ displayName: "Older" }) }, provision);
    expect(other.changes).not.toEqual(base.changes);
    expect(other.hash).not.toBe(base.hash);
  });

  it("changes when a target differs, with identical changes", () => {
    const other = planProvisioning(
      spec,
      { ...healthy(), app: healthyApp({ displayName: "Old", id: "obj-2" }) },
      provision,
    );
    expect(other.changes).toEqual(base.changes);
    expect(other.hash).not.toBe(base.hash);
  });

  it("changes when the spec differs and when the kind differs", () => {
    const spec2 = buildSpec({ ...spec, secretLifetimeMonths: 12 });
    expect(planProvisioning(spec2, { ...healthy(), app: healthyApp({ displayName: "Old" }) }, provision).hash).not.toBe(
      base.hash,
    );
    const fresh = { app: null, ump: null, recorded: [] };
    expect(planProvisioning(spec, fresh, provision).hash).not.toBe(
      planProvisioning(spec, fresh, { ...provision, kind: "rotate" }).hash,
    );
  });
});

describe("describeChange", () => {
  const text = fc.string({ maxLength: 300 });
  const change: fc.Arbitrary<Change> = fc.oneof(
    fc.record({ kind: fc.constant("app.create" as const), uniqueName: text }),
    fc.record({
      kind: fc.constant("app.update" as const),
      field: fc.constantFrom(
        "displayName" as const,
        "signInAudience" as const,
        "tags" as const,
        "web.redirectUris" as const,
        "web.implicitGrantSettings" as const,
        "isFallbackPublicClient" as const,
        "requiredResourceAccess" as const,
      ),
      from: text,
      to: text,
    }),
    fc.record({
      kind: fc.constant("secret.add" as const),
      service: text,
      lifetimeMonths: fc.integer({ min: 1, max: 24 }),
    }),
    fc.record({
      kind: fc.constant("secret.remove" as const),
      keyId: text,
      hint: fc.option(text),
      reason: fc.constantFrom("orphan" as const, "superseded" as const, "replaced" as const),
    }),
    fc.record({
      kind: fc.constant("ump.syncApp" as const),
      instance: text,
      fields: fc.subarray(["clientId" as const, "clientSecret" as const, "redirectUri" as const]),
    }),
    fc.record({ kind: fc.constant("ump.portalUrl" as const), instance: text, value: text }),
  );

  it("never prints an empty line, for any change", () => {
    fc.assert(
      fc.property(change, (c) => {
        const line = describeChange(c);
        expect(typeof line).toBe("string");
        expect(line.trim().length).toBeGreaterThan(0);
      }),
      { numRuns: 500 },
    );
  });

  it("truncates long values", () => {
    const line = describeChange({ kind: "app.update", field: "tags", from: "x".repeat(1000), to: "y" });
    expect(line.length).toBeLessThan(400);
  });

  it("describes every change of real plans", () => {
    const plans = [
      planProvisioning(spec, { app: null, ump: null, recorded: [] }, provision),
      planProvisioning(spec, healthy(), { ...provision, kind: "rotate" }),
    ];
    for (const c of plans.flatMap((p) => p.changes)) expect(describeChange(c)).toMatch(/^(Entra|UMP)/);
  });
});
