// planProvisioning(spec, live): the list of changes that turns live state into the spec, and the hash
// an approval binds to. Pure: no I/O, the clock comes in through `now`.

import { createHash } from "node:crypto";
import type { ApplicationFields, LiveApplication, ServicePrincipalInfo, UmpSettings } from "./ports";
import type { SecretRecord } from "./secretRecord";
import { DEFAULT_SERVICE, GRAPH_RESOURCE_APP_ID, type Spec } from "./spec";

export type AppField =
  | "displayName"
  | "signInAudience"
  | "tags"
  | "web.redirectUris"
  | "web.implicitGrantSettings"
  | "isFallbackPublicClient"
  | "requiredResourceAccess";

export type Change =
  | { kind: "app.create"; uniqueName: string }
  | { kind: "app.update"; field: AppField; from: string; to: string }
  // The app's service principal in SP_TENANT_ID (appId null: the app is created by the same plan).
  | { kind: "sp.create"; appId: string | null }
  | { kind: "secret.add"; service: string; lifetimeMonths: number }
  | { kind: "secret.remove"; keyId: string; hint: string | null; reason: "orphan" | "superseded" | "replaced" }
  | { kind: "ump.syncApp"; instance: string; fields: Array<"clientId" | "clientSecret" | "redirectUri"> }
  | { kind: "ump.portalUrl"; instance: string; value: string };

export type PlanKind = "provision" | "rotate";

export interface Plan {
  kind: PlanKind;
  customer: string;
  service: string;
  targets: { uniqueName: string; objectId: string | null; appId: string | null; umpInstance: string };
  changes: Change[];
  hash: string;
  /** What Review plan could not check or wants the approver to know (not part of the hash). */
  notes?: string[];
}

export interface LiveState {
  app: LiveApplication | null;
  /** The app's service principal: null when it has none, undefined when not read (no app). */
  servicePrincipal?: ServicePrincipalInfo | null;
  /** null when UMP is not reachable through an API (hand-off mode). */
  ump: UmpSettings | null;
  /** Secrets syncbot recorded for this customer (from the store). */
  recorded: SecretRecord[];
}

export interface PlanOptions {
  kind: PlanKind;
  service?: string;
  /** Whether syncbot writes UMP through its API; in hand-off mode the UMP changes are operator steps. */
  umpApi: boolean;
  now: Date;
  /** A secret expiring within this many days is not considered good enough to keep (provisioning only). */
  renewWithinDays?: number;
}

const sortedJson = (v: unknown): string => JSON.stringify(v, (_k, val) => (Array.isArray(val) ? [...val].sort() : val));

function scopeSummary(rra: LiveApplication["requiredResourceAccess"]): string[] {
  return rra.flatMap((r) => r.resourceAccess.map((a) => `${r.resourceAppId}/${a.id}/${a.type}`)).sort();
}

/** The desired application fields; redirect URIs added by others are kept (never deleted). */
export function desiredApplicationFields(spec: Spec, app: LiveApplication | null): Required<ApplicationFields> {
  const existingUris = app?.web.redirectUris ?? [];
  const redirectUris = existingUris.includes(spec.redirectUrl) ? existingUris : [...existingUris, spec.redirectUrl];
  const otherTags = (app?.tags ?? []).filter((t) => !spec.tags.includes(t));
  const graphAccess = spec.requiredResourceAccess[0]!;
  // Permissions on other resources, and extra Graph permissions someone added, are kept.
  const otherResources = (app?.requiredResourceAccess ?? []).filter((r) => r.resourceAppId !== GRAPH_RESOURCE_APP_ID);
  const liveGraph = (app?.requiredResourceAccess ?? []).find((r) => r.resourceAppId === GRAPH_RESOURCE_APP_ID);
  const extraGraph = (liveGraph?.resourceAccess ?? []).filter(
    (a) => !graphAccess.resourceAccess.some((d) => d.id === a.id && d.type === a.type),
  );
  return {
    displayName: spec.displayName,
    signInAudience: spec.signInAudience,
    tags: [...spec.tags, ...otherTags],
    // `web` is written whole: what others set in it (homePageUrl, logoutUrl, ...) is sent back as read.
    web: {
      ...app?.web,
      redirectUris,
      implicitGrantSettings: { enableAccessTokenIssuance: true, enableIdTokenIssuance: true },
    },
    isFallbackPublicClient: true,
    requiredResourceAccess: [
      ...otherResources,
      { resourceAppId: GRAPH_RESOURCE_APP_ID, resourceAccess: [...graphAccess.resourceAccess, ...extraGraph] },
    ],
  };
}

/** Which managed fields of a live application differ from the spec. */
export function applicationDiff(spec: Spec, app: LiveApplication): Array<Extract<Change, { kind: "app.update" }>> {
  const want = desiredApplicationFields(spec, app);
  const diffs: Array<Extract<Change, { kind: "app.update" }>> = [];
  const push = (field: AppField, from: string, to: string) => {
    if (from !== to) diffs.push({ kind: "app.update", field, from, to });
  };
  push("displayName", app.displayName, want.displayName);
  push("signInAudience", app.signInAudience, want.signInAudience);
  push("tags", sortedJson(app.tags), sortedJson(want.tags));
  push("web.redirectUris", sortedJson(app.web.redirectUris), sortedJson(want.web.redirectUris));
  const ig = app.web.implicitGrantSettings;
  push(
    "web.implicitGrantSettings",
    `accessTokens=${ig.enableAccessTokenIssuance}, idTokens=${ig.enableIdTokenIssuance}`,
    "accessTokens=true, idTokens=true",
  );
  push("isFallbackPublicClient", String(app.isFallbackPublicClient), "true");
  push(
    "requiredResourceAccess",
    sortedJson(scopeSummary(app.requiredResourceAccess)),
    sortedJson(scopeSummary(want.requiredResourceAccess)),
  );
  return diffs;
}

/** The recorded secret UMP holds right now (fingerprint match), if it still exists in Entra. */
export function umpHeldSecret(live: LiveState, service = DEFAULT_SERVICE): SecretRecord | null {
  const fp = live.ump?.syncApp.clientSecret.fingerprint;
  if (!fp || !live.app) return null;
  const liveKeys = new Set(live.app.passwordCredentials.map((p) => p.keyId));
  return live.recorded.find((s) => s.service === service && s.fingerprint === fp && liveKeys.has(s.keyId)) ?? null;
}

export function planProvisioning(spec: Spec, live: LiveState, options: PlanOptions): Plan {
  const service = options.service ?? DEFAULT_SERVICE;
  const changes: Change[] = [];
  const app = live.app;

  if (!app) changes.push({ kind: "app.create", uniqueName: spec.uniqueName });
  else changes.push(...applicationDiff(spec, app));
  // Graph creates no service principal with the application; without one the token proof fails.
  if (!app) changes.push({ kind: "sp.create", appId: null });
  else if (live.servicePrincipal === null) changes.push({ kind: "sp.create", appId: app.appId });

  // The secret: UMP must hold a live secret that syncbot recorded and that is not about to expire.
  // Only the "ump" service's secret lives in UMP; other services' secrets are handed over to operators.
  const viaUmp = options.umpApi && service === DEFAULT_SERVICE;
  const held = viaUmp ? umpHeldSecret(live, service) : null;
  const recordedForService = live.recorded.filter((s) => s.service === service && s.status === "active");
  const liveKeys = new Set(app?.passwordCredentials.map((p) => p.keyId) ?? []);
  const activeLive = recordedForService.filter((s) => liveKeys.has(s.keyId));
  const renewBefore = options.now.getTime() + (options.renewWithinDays ?? 0) * 86_400_000;
  const current = viaUmp ? held : (activeLive[0] ?? null);
  const currentGood = current !== null && Date.parse(current.endDateTime) > renewBefore;
  const needSecret = options.kind === "rotate" || !currentGood;
  if (needSecret) changes.push({ kind: "secret.add", service, lifetimeMonths: spec.secretLifetimeMonths });

  if (viaUmp) {
    const ump = live.ump;
    const fields: Array<"clientId" | "clientSecret" | "redirectUri"> = [];
    if (!app || ump?.syncApp.clientId !== app.appId) fields.push("clientId");
    if (needSecret) fields.push("clientSecret");
    if (ump?.syncApp.redirectUri !== spec.redirectUrl) fields.push("redirectUri");
    if (fields.length > 0) changes.push({ kind: "ump.syncApp", instance: spec.umpInstance, fields });
    const portal = ump?.customerAuthenticationPortalUrl;
    if (portal?.value !== spec.portalUrl || portal.validationStatus !== "Valid")
      changes.push({ kind: "ump.portalUrl", instance: spec.umpInstance, value: spec.portalUrl });
  }

  // Secrets that must go: anything on the registration that syncbot did not record (invariant 5), and
  // the secret a new one replaces (after its grace period, for a rotation).
  if (app) {
    const recordedKeys = new Set(live.recorded.map((s) => s.keyId));
    for (const p of app.passwordCredentials) {
      if (!recordedKeys.has(p.keyId))
        changes.push({ kind: "secret.remove", keyId: p.keyId, hint: p.hint, reason: "orphan" });
    }
    if (needSecret) {
      // A secret UMP still uses stays valid through a grace period (no downtime); one it does not use goes now.
      for (const s of activeLive) {
        const inUse = options.kind === "rotate" || s.keyId === held?.keyId || !viaUmp;
        changes.push({
          kind: "secret.remove",
          keyId: s.keyId,
          hint: s.hint,
          reason: inUse ? "superseded" : "replaced",
        });
      }
    }
  }

  const targets = {
    uniqueName: spec.uniqueName,
    objectId: app?.id ?? null,
    appId: app?.appId ?? null,
    umpInstance: spec.umpInstance,
  };
  return {
    kind: options.kind,
    customer: spec.customer,
    service,
    targets,
    changes,
    hash: planHash(options.kind, spec, targets, changes),
  };
}

/**
 * Whether every change in `current` is one the approved plan already contains: a resumed run may finish
 * what its approval covered (the app it created, a field it set), nothing more.
 */
export function planCovers(approved: Plan, current: Plan): boolean {
  if (approved.kind !== current.kind || approved.service !== current.service) return false;
  const a = approved.targets;
  const c = current.targets;
  if (a.uniqueName !== c.uniqueName || a.umpInstance !== c.umpInstance) return false;
  // The app the approval named must still be the one there; a created app is found by its stable key.
  if (a.objectId !== null && (c.objectId !== a.objectId || c.appId !== a.appId)) return false;
  const creates = approved.changes.some((ch) => ch.kind === "app.create");
  const approvedKeys = new Set(approved.changes.map((ch) => JSON.stringify(ch)));
  return current.changes.every((ch) => {
    if (approvedKeys.has(JSON.stringify(ch))) return true;
    switch (ch.kind) {
      case "app.update":
        return (
          creates || approved.changes.some((x) => x.kind === "app.update" && x.field === ch.field && x.to === ch.to)
        );
      case "sp.create":
        return approved.changes.some((x) => x.kind === "sp.create");
      case "ump.syncApp":
        return approved.changes.some((x) => x.kind === "ump.syncApp" && ch.fields.every((f) => x.fields.includes(f)));
      case "ump.portalUrl":
        return approved.changes.some((x) => x.kind === "ump.portalUrl" && x.value === ch.value);
      default:
        return false;
    }
  });
}

/** The hash covers what will be done and to what: the changes, their targets and the spec they come from. */
export function planHash(kind: PlanKind, spec: Spec, targets: Plan["targets"], changes: Change[]): string {
  const canonical = JSON.stringify({ kind, spec, targets, changes });
  return createHash("sha256").update(canonical).digest("hex");
}

export function isEmptyPlan(plan: Plan): boolean {
  return plan.changes.length === 0;
}

/** One line per change, in words an operator reads on the approval card. */
export function describeChange(c: Change): string {
  switch (c.kind) {
    case "app.create":
      return `Entra: create app registration (uniqueName ${c.uniqueName}), multi-tenant, web redirect, implicit grant, public client flows, 9 Graph permissions`;
    case "sp.create":
      return "Entra: create the app's service principal (enterprise application) in the service provider tenant";
    case "app.update":
      return `Entra: set ${c.field} (now ${truncate(c.from)}; will be ${truncate(c.to)})`;
    case "secret.add":
      return `Entra: add client secret for service "${c.service}", valid ${c.lifetimeMonths} months`;
    case "secret.remove":
      return c.reason === "orphan"
        ? `Entra: remove secret ${c.keyId} (hint ${c.hint ?? "?"}) that neither UMP nor syncbot's records account for`
        : c.reason === "superseded"
          ? `Entra: remove the old secret ${c.keyId} (hint ${c.hint ?? "?"}) after the grace period`
          : `Entra: remove the secret ${c.keyId} (hint ${c.hint ?? "?"}) that the new one replaces`;
    case "ump.syncApp":
      return `UMP ${c.instance}: write ${c.fields.join(", ")} (System Settings, Apply Changes)`;
    case "ump.portalUrl":
      return `UMP ${c.instance}: set Authentication Portal URL ${c.value} and validate`;
  }
}

function truncate(s: string, n = 160): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
