// A Microsoft Graph v1.0 emulator over real HTTP (node:http, loopback only) covering the calls in
// CONTRACT section 7 plus the tenant's client-credentials token endpoint. It behaves like the real
// service where a client can tell the difference (OData error bodies, paging links, $select, $top
// limits, validation, replication lag, throttling) so adapters are tested against Graph's habits,
// not against our own assumptions. State lives in memory with indexes so 50,000 apps stay fast.

import { createHash, randomBytes, randomUUID, timingSafeEqual, X509Certificate } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createEntraSigningKeys } from "./entra/entraSigningKeys";
import { type EntraStandIn, startEntraStandIn } from "./entra/entraStandIn";
import { checkClientAssertion } from "./entra/clientAssertion";
import { checkGraphToken, isGraphAudience } from "./entra/graphTokenCheck";
import {
  accessCheck,
  type Caller,
  GRAPH_APP_ROLE_IDS,
  type GraphAppPermission,
  LEAST_PRIVILEGE,
} from "./graph/strictAccess";

import { type PasswordPolicySpec, passwordRefusal, passwordRestrictionsJson } from "./graph/appPolicy";
import { createReplication, noBackingApplication } from "./graph/replication";

export { type GraphAppPermission, LEAST_PRIVILEGE } from "./graph/strictAccess";
export type { PasswordPolicySpec } from "./graph/appPolicy";

export interface GraphEmulatorOptions {
  port?: number;
  tenantId: string;
  latencyMs?: number;
  seed?: number;
  /**
   * Behave as strictly as Microsoft Graph: the caller holds only `permissions` (application
   * permissions; default the documented least-privilege set) and gets 403 Authorization_RequestDenied
   * outside them, Application.ReadWrite.OwnedBy writes only owned objects (it reads all), the token endpoint needs a
   * service principal, and a PATCH of `web` replaces the whole complex value. Off by default.
   */
  strict?: boolean;
  permissions?: readonly GraphAppPermission[];
}

export interface GraphServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
  servicePrincipalType: string;
  tags: string[];
  appOwnerOrganizationId: string | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
  status: number;
  at: number;
}

export interface GraphPasswordCredential {
  customKeyIdentifier: string | null;
  displayName: string | null;
  endDateTime: string | null;
  hint: string | null;
  keyId: string;
  secretText: null;
  startDateTime: string | null;
}

export interface GraphApplication {
  id: string;
  appId: string;
  uniqueName: string | null;
  displayName: string;
  description: string | null;
  notes: string | null;
  createdDateTime: string;
  publisherDomain: string;
  signInAudience: string;
  tags: string[];
  identifierUris: string[];
  isFallbackPublicClient: boolean | null;
  web: {
    homePageUrl: string | null;
    logoutUrl: string | null;
    redirectUris: string[];
    redirectUriSettings: Array<{ uri: string; index: number | null }>;
    implicitGrantSettings: { enableAccessTokenIssuance: boolean; enableIdTokenIssuance: boolean };
  };
  spa: { redirectUris: string[] };
  publicClient: { redirectUris: string[] };
  requiredResourceAccess: Array<{ resourceAppId: string; resourceAccess: Array<{ id: string; type: string }> }>;
  passwordCredentials: GraphPasswordCredential[];
  keyCredentials: unknown[];
}

export type SeedApplication = Partial<Omit<GraphApplication, "passwordCredentials" | "web">> & {
  web?: Partial<GraphApplication["web"]>;
  passwordCredentials?: Array<Partial<GraphPasswordCredential> & { endDateTime: string }>;
  /** Directory object ids of the owners; default: the emulator's caller (as if syncbot created it). */
  owners?: string[];
};

export interface SeedUser {
  id: string;
  displayName: string;
  userPrincipalName?: string;
  globalAdmin?: boolean;
  /** The Global Administrator role comes through a role-assignable group the user is a member of. */
  viaGroup?: boolean;
}

export interface FaultSpec {
  status: number;
  count?: number;
  retryAfterSeconds?: number;
  code?: string;
  message?: string;
  /** `path`: the whole path (e.g. "/v1.0/applications", no query); `bodyIncludes`: text in the request body. */
  match?: { method?: string; pathIncludes?: string; path?: string; bodyIncludes?: string };
  /**
   * "before" (default): answered instead of handling the request. "after": the request is applied, then
   * the fault is answered instead of its result (a gateway's 504 after the write: the client cannot know).
   */
  phase?: "before" | "after";
}

/**
 * Test hook, called for every request before it is handled ("before") and after it was applied but
 * before the answer is sent ("after"). A returned promise holds the request until it settles, so a
 * crash test can kill the bot while a write is applied but unanswered.
 */
export type GraphRequestHook = (r: {
  method: string;
  path: string;
  phase: "before" | "after";
  status?: number;
}) => void | Promise<void>;

export interface HandAddedSecret {
  keyId: string;
  secretText: string;
  hint: string;
  endDateTime: string;
}

export interface GraphEmulator {
  readonly url: string;
  readonly graphBaseUrl: string;
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly requests: RecordedRequest[];
  resetRequests(): void;
  writes(): RecordedRequest[];
  seedUser(user: SeedUser): void;
  /** Removes the user's Global Administrator role (its direct assignment and its group membership), as an admin would. */
  revokeGlobalAdmin(userId: string): void;
  /** Every application but syncbot's own registration (registerCallerApp), which Graph does list. */
  applications(): GraphApplication[];
  application(objectId: string): GraphApplication | null;
  seedApplications(appsOrCount: number | SeedApplication[]): GraphApplication[];
  mutateApplication(objectId: string, fn: (app: GraphApplication) => void): void;
  addPasswordByHand(objectId: string, cred: { displayName: string; endDateTime: string }): HandAddedSecret;
  removePasswordByHand(objectId: string, keyId: string): void;
  secretFingerprint(objectId: string, keyId: string): string | null;
  /**
   * Every secret value this "Entra" ever issued (removed ones too). Only tests hold them: they scan
   * everything syncbot said, logged and stored for these values, on success and on every error path.
   */
  issuedSecrets(): readonly string[];
  injectFault(fault: FaultSpec): void;
  clearFaults(): void;
  setThrottleRate(rate: number, opts?: { retryAfterSeconds?: number; seed?: number }): void;
  setNotFoundAfterCreate(n: number): void;
  setLatency(ms: number): void;
  setPasswordLifetimePolicy(maxDays: number | null): void;
  setPropagationDelay(ms: number): void;
  /**
   * Entra's replication lag (graph/replication.ts): for `ms` after a create, POST /servicePrincipals
   * for the new app is 400 NoBackingApplicationObject, the new service principal is 404 by appId, and
   * the token endpoint answers AADSTS700016 (app), AADSTS7000229 (service principal) and AADSTS7000222
   * (a just-added secret). 0 (default): none.
   */
  setReplicationWindow(ms: number): void;
  onRequest(hook: GraphRequestHook | null): void;
  /** Strict mode on or off; `permissions` (when given) become the configured caller's permissions. */
  setStrict(strict: boolean, permissions?: readonly GraphAppPermission[]): void;
  /** The identity calling without an emulator-issued bearer token (syncbot with GRAPH_CREDENTIAL=none). */
  readonly caller: { appId: string; servicePrincipalId: string };
  /** An access token for the configured caller, its `roles` claim holding the configured permissions. */
  callerToken(): string;
  /**
   * Registers syncbot's own application (appId = caller.appId; its service principal is the caller's)
   * with a new client secret, and with `certificatePem` as a certificate credential when given, so a
   * real credential can sign in at `entra`. The token's `roles` are the caller's granted permissions.
   * The secret joins issuedSecrets(): leak scans look for it too.
   */
  registerCallerApp(opts?: { certificatePem?: string }): { clientId: string; clientSecret: string };
  servicePrincipals(): GraphServicePrincipal[];
  /** Adds the service principal of an application by hand (as the portal does). */
  seedServicePrincipal(appId: string, owners?: string[]): GraphServicePrincipal;
  owners(objectId: string): string[];
  /** The tenant's default app management policy (null: disabled). */
  setDefaultAppManagementPolicy(policy: PasswordPolicySpec | null): void;
  /** An app management policy assigned to one application (null: none). */
  setApplicationPolicy(objectId: string, policy: PasswordPolicySpec | null): void;
  /**
   * The Entra stand-in (HTTPS on loopback) of this tenant: AUTHORITY_HOST for a real credential, its
   * certificate for NODE_EXTRA_CA_CERTS, the keys it signs tokens with. `authorityHost` above is the
   * plain-HTTP token route kept for in-process tests that cannot trust the certificate.
   */
  readonly entra: EntraStandIn;
  close(): Promise<void>;
}

export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
export const GLOBAL_ADMIN_TEMPLATE_ID = "62e90394-69f5-4237-9190-012177145e10";
const GRAPH_SP_ID = "3b0bd9a1-7f4e-4a8b-9c55-6a1b8d0f2e11";
const GA_ROLE_OBJECT_ID = "f1a2b3c4-0d1e-4f5a-8b6c-7d8e9f0a1b2c";
const SIGN_IN_AUDIENCES = new Set([
  "AzureADMyOrg",
  "AzureADMultipleOrgs",
  "AzureADandPersonalMicrosoftAccount",
  "PersonalMicrosoftAccount",
]);
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_PASSWORD_DAYS = 730;
const DAY_MS = 86_400_000;
// Entra secrets are 40 characters from this alphabet; characters 4-6 carry a version marker ("8Q~").
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~._-";

// A few real Microsoft Graph delegated scopes: the nine syncbot needs (ids exactly as in Entra) and
// some neighbours, so a lookup by value is actually exercised.
const GRAPH_SCOPES: Array<[string, string, "Admin" | "User"]> = [
  ["AppCatalog.ReadWrite.All", "1ca167d5-1655-44a1-8adf-1414072e1ef9", "Admin"],
  ["offline_access", "7427e0e9-2fba-42fe-b0c0-848c9e6a8182", "User"],
  ["profile", "14dad69e-099b-42c9-810b-d002981feec1", "User"],
  ["User.Read", "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "User"],
  ["User.Read.All", "a154be20-db9c-4678-8ab7-66f6cc099a59", "Admin"],
  ["Directory.Read.All", "06da0dbc-49e2-44d2-8312-53f166ab848a", "Admin"],
  ["Directory.ReadWrite.All", "c5366453-9fb0-48a5-a156-24f0c49a4b84", "Admin"],
  ["Group.ReadWrite.All", "4e46008b-f24c-477d-8fff-7bb4ec7aafe0", "Admin"],
  ["User.ReadWrite.All", "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4", "Admin"],
  ["openid", "37f7f235-527c-4136-accd-4a02d197296e", "User"],
  ["email", "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", "User"],
  ["Mail.Read", "570282fd-fa5c-430d-a7fd-fc8dc98a9dca", "User"],
  ["Group.Read.All", "5f8c59db-677d-491f-a6b8-5f174b11ec1d", "Admin"],
];
const GRAPH_APP_ROLES: Array<[string, string]> = Object.entries(GRAPH_APP_ROLE_IDS);

// Properties a client may write; anything else in a body is refused as Graph does.
const WRITABLE = new Set([
  "displayName",
  "description",
  "notes",
  "signInAudience",
  "tags",
  "identifierUris",
  "isFallbackPublicClient",
  "web",
  "spa",
  "publicClient",
  "requiredResourceAccess",
  "uniqueName",
]);

/** How an issued token differs from the default: its resource and how the client authenticated. */
interface TokenShape {
  audience?: string;
  /** "1": client secret, "2": certificate. */
  appidacr?: string;
}

interface SecretMaterial {
  sha256: string; // full hex digest: enough for the fingerprint and for the token endpoint's check
  createdAt: number;
}

interface StoredApp {
  app: GraphApplication;
  secrets: Map<string, SecretMaterial>;
  notFoundRemaining: number;
  owners: string[];
  policy: PasswordPolicySpec | null;
  /** When an API call created it (ms); seeded apps have none (replicated long ago). */
  createdAt?: number;
}

interface StoredSp {
  sp: GraphServicePrincipal;
  owners: string[];
  createdAt?: number;
}

export const CALLER_APP_ID = "5ca11e70-5b0c-4d1e-9a7f-0000000000b1";
const CALLER_SP_ID = "5ca11e70-5b0c-4d1e-9a7f-0000000000b2";

interface ActiveFault {
  status: number;
  remaining: number;
  retryAfterSeconds?: number;
  code?: string;
  message?: string;
  match?: FaultSpec["match"];
  phase?: FaultSpec["phase"];
}

interface RoleAssignment {
  id: string;
  principalId: string;
  roleDefinitionId: string;
  directoryScopeId: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: Array<Record<string, string>>,
  ) {
    super(message);
  }
}

const notFound = (id: string) =>
  new HttpError(
    404,
    "Request_ResourceNotFound",
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
const badRequest = (message: string, code = "Request_BadRequest") => new HttpError(400, code, message);
const invalidValue = (property: string) =>
  badRequest(`Invalid value specified for property '${property}' of resource 'Application'.`);

// Small deterministic PRNG so throttling patterns repeat from one test run to the next.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

function newSecretText(): string {
  const bytes = randomBytes(37);
  let out = "";
  for (let i = 0; i < 37; i++) out += SECRET_ALPHABET[bytes[i]! % SECRET_ALPHABET.length];
  return out.slice(0, 3) + "8Q~" + out.slice(3, 37);
}

function unquote(v: string): string {
  return v.replace(/''/g, "'");
}

// Everything stored is plain JSON; a JSON round trip is several times faster than structuredClone here.
function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

// Hand-written copy of the known shape: seeding and listing 50,000 apps clone a lot, and this is
// an order of magnitude faster than a generic deep clone. Unknown extra properties fall back to clone().
function cloneApp(a: GraphApplication): GraphApplication {
  const out: GraphApplication = {
    ...a,
    tags: [...a.tags],
    identifierUris: [...a.identifierUris],
    web: {
      ...a.web,
      redirectUris: [...a.web.redirectUris],
      redirectUriSettings: a.web.redirectUriSettings.map((r) => ({ ...r })),
      implicitGrantSettings: { ...a.web.implicitGrantSettings },
    },
    spa: { redirectUris: [...a.spa.redirectUris] },
    publicClient: { redirectUris: [...a.publicClient.redirectUris] },
    requiredResourceAccess: a.requiredResourceAccess.map((r) => ({
      resourceAppId: r.resourceAppId,
      resourceAccess: r.resourceAccess.map((x) => ({ ...x })),
    })),
    passwordCredentials: a.passwordCredentials.map((p) => ({ ...p })),
    keyCredentials: clone(a.keyCredentials),
  };
  return out;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function redirectUriValid(uri: string): boolean {
  if (uri.length > 256 || /[!$'(),;]/.test(uri)) return false;
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return false;
  }
  if (u.protocol === "https:") return true;
  return u.protocol === "http:" && (u.hostname === "localhost" || u.hostname === "127.0.0.1");
}

function validateBody(body: Record<string, unknown>): void {
  for (const key of Object.keys(body)) {
    if (key.startsWith("@odata.")) continue;
    if (!WRITABLE.has(key)) {
      throw badRequest(`Property '${key}' is read-only or does not exist on type 'microsoft.graph.application'.`);
    }
  }
  if ("displayName" in body && (typeof body.displayName !== "string" || body.displayName.length > 256)) {
    throw invalidValue("displayName");
  }
  if ("signInAudience" in body && !SIGN_IN_AUDIENCES.has(body.signInAudience as string)) {
    throw invalidValue("signInAudience");
  }
  if ("tags" in body && (!isStringArray(body.tags) || body.tags.some((t) => t.length > 256))) {
    throw invalidValue("tags");
  }
  if ("isFallbackPublicClient" in body && body.isFallbackPublicClient !== null) {
    if (typeof body.isFallbackPublicClient !== "boolean") throw invalidValue("isFallbackPublicClient");
  }
  if ("web" in body) {
    const web = body.web as Record<string, unknown> | null;
    if (web === null || typeof web !== "object") throw invalidValue("web");
    if ("redirectUris" in web) {
      const uris = web.redirectUris;
      if (!isStringArray(uris) || uris.length > 256) throw invalidValue("web.redirectUris");
      if (uris.some((u) => !redirectUriValid(u))) throw invalidValue("web.redirectUris");
    }
    if ("implicitGrantSettings" in web) {
      const g = web.implicitGrantSettings as Record<string, unknown> | null;
      if (g === null || typeof g !== "object") throw invalidValue("web.implicitGrantSettings");
      for (const [k, v] of Object.entries(g)) {
        if (!["enableAccessTokenIssuance", "enableIdTokenIssuance"].includes(k) || typeof v !== "boolean") {
          throw invalidValue("web.implicitGrantSettings");
        }
      }
    }
  }
  if ("requiredResourceAccess" in body) {
    const rra = body.requiredResourceAccess;
    const ok =
      Array.isArray(rra) &&
      rra.every(
        (r: { resourceAppId?: unknown; resourceAccess?: unknown }) =>
          typeof r?.resourceAppId === "string" &&
          Array.isArray(r.resourceAccess) &&
          r.resourceAccess.every(
            (a: { id?: unknown; type?: unknown }) =>
              typeof a?.id === "string" && GUID_RE.test(a.id) && (a.type === "Scope" || a.type === "Role"),
          ),
      );
    if (!ok) throw invalidValue("requiredResourceAccess");
  }
  for (const prop of ["identifierUris"] as const) {
    if (prop in body && !isStringArray(body[prop])) throw invalidValue(prop);
  }
}

function blankApp(tenantId: string): GraphApplication {
  return {
    id: randomUUID(),
    appId: randomUUID(),
    uniqueName: null,
    displayName: "",
    description: null,
    notes: null,
    createdDateTime: new Date().toISOString(),
    publisherDomain: `${tenantId.slice(0, 8)}.onmicrosoft.com`,
    signInAudience: "AzureADMyOrg",
    tags: [],
    identifierUris: [],
    isFallbackPublicClient: null,
    web: {
      homePageUrl: null,
      logoutUrl: null,
      redirectUris: [],
      redirectUriSettings: [],
      implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false },
    },
    spa: { redirectUris: [] },
    publicClient: { redirectUris: [] },
    requiredResourceAccess: [],
    passwordCredentials: [],
    keyCredentials: [],
  };
}

// redirectUriSettings mirrors redirectUris (one entry per URI, index null unless set).
function syncRedirectUriSettings(web: GraphApplication["web"]): void {
  const byUri = new Map(web.redirectUriSettings.map((r) => [r.uri, r.index]));
  web.redirectUriSettings = web.redirectUris.map((uri) => ({ uri, index: byUri.get(uri) ?? null }));
}

function applyBody(app: GraphApplication, body: Record<string, unknown>, replaceComplex = false): void {
  for (const [key, value] of Object.entries(body)) {
    if (key.startsWith("@odata.") || key === "uniqueName") continue;
    if (key === "web" && replaceComplex) {
      // Strict reading: a complex value is written whole; what the body leaves out is reset.
      const web = value as Partial<GraphApplication["web"]>;
      app.web = {
        homePageUrl: web.homePageUrl ?? null,
        logoutUrl: web.logoutUrl ?? null,
        redirectUris: [...(web.redirectUris ?? [])],
        redirectUriSettings: (web.redirectUriSettings ?? []).map((r) => ({ uri: r.uri, index: r.index ?? null })),
        implicitGrantSettings: {
          enableAccessTokenIssuance: web.implicitGrantSettings?.enableAccessTokenIssuance ?? false,
          enableIdTokenIssuance: web.implicitGrantSettings?.enableIdTokenIssuance ?? false,
        },
      };
      syncRedirectUriSettings(app.web);
    } else if (key === "web") {
      // Complex values merge property by property; collections inside them are replaced whole.
      const web = value as Partial<GraphApplication["web"]>;
      if (web.redirectUris) app.web.redirectUris = [...web.redirectUris];
      if (web.implicitGrantSettings)
        app.web.implicitGrantSettings = { ...app.web.implicitGrantSettings, ...web.implicitGrantSettings };
      if ("homePageUrl" in web) app.web.homePageUrl = web.homePageUrl ?? null;
      if ("logoutUrl" in web) app.web.logoutUrl = web.logoutUrl ?? null;
      if (web.redirectUriSettings) app.web.redirectUriSettings = web.redirectUriSettings.map((r) => ({ ...r }));
      syncRedirectUriSettings(app.web);
    } else {
      (app as unknown as Record<string, unknown>)[key] = clone(value);
    }
  }
}

function selectProps(obj: object, select: string[] | null, typeName: string): Record<string, unknown> {
  const rec = obj as Record<string, unknown>;
  if (!select) return clone(rec);
  // Output is serialised straight away, so selected values need no copy.
  const out: Record<string, unknown> = {};
  for (const p of select) {
    if (!(p in rec)) throw badRequest(`Could not find a property named '${p}' on type 'microsoft.graph.${typeName}'.`);
    out[p] = rec[p];
  }
  return out;
}

function parseSelect(query: Record<string, string>): string[] | null {
  const s = query["$select"];
  if (s === undefined) return null;
  return s
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

// Splits a $filter on top-level " and " (never inside quotes).
function splitAnd(filter: string): string[] {
  const parts: string[] = [];
  let cur = "";
  let inQuote = false;
  for (let i = 0; i < filter.length; i++) {
    const ch = filter[i]!;
    if (ch === "'") inQuote = !inQuote;
    if (!inQuote && filter.slice(i, i + 5).toLowerCase() === " and ") {
      parts.push(cur.trim());
      cur = "";
      i += 4;
      continue;
    }
    cur += ch;
  }
  parts.push(cur.trim());
  return parts;
}

type AppClause =
  | { kind: "tag"; value: string }
  | { kind: "eq"; prop: "appId" | "uniqueName" | "displayName"; value: string }
  | { kind: "startswith"; value: string };

const Q = "'((?:[^']|'')*)'";

function parseAppFilter(filter: string): AppClause[] {
  return splitAnd(filter).map((clause): AppClause => {
    let m = new RegExp(`^tags/any\\((\\w+):\\s*\\1\\s+eq\\s+${Q}\\)$`).exec(clause);
    if (m) return { kind: "tag", value: unquote(m[2]!) };
    m = new RegExp(`^(appId|uniqueName|displayName)\\s+eq\\s+${Q}$`).exec(clause);
    if (m) return { kind: "eq", prop: m[1] as "appId" | "uniqueName" | "displayName", value: unquote(m[2]!) };
    m = new RegExp(`^startswith\\(displayName,\\s*${Q}\\)$`).exec(clause);
    if (m) return { kind: "startswith", value: unquote(m[1]!) };
    throw badRequest(`Unsupported or invalid query filter clause specified: '${clause}'.`, "Request_UnsupportedQuery");
  });
}

function appMatches(app: GraphApplication, c: AppClause): boolean {
  switch (c.kind) {
    case "tag":
      return app.tags.includes(c.value);
    case "eq":
      // Graph compares these strings case-insensitively.
      return (app[c.prop] ?? "").toLowerCase() === c.value.toLowerCase();
    case "startswith":
      return app.displayName.toLowerCase().startsWith(c.value.toLowerCase());
  }
}

export async function startGraphEmulator(opts: GraphEmulatorOptions): Promise<GraphEmulator> {
  const tenantId = opts.tenantId;
  const apps = new Map<string, StoredApp>(); // by object id, in creation order (the paging order)
  const byAppId = new Map<string, string>();
  const byUniqueName = new Map<string, string>(); // lower-cased: uniqueName is case-insensitive
  const byTag = new Map<string, Set<string>>();
  const users = new Map<string, SeedUser>();
  const groupMembers = new Map<string, Set<string>>(); // group id → user ids
  const roleAssignments: RoleAssignment[] = [];
  const requests: RecordedRequest[] = [];
  const issued: string[] = [];
  let faults: ActiveFault[] = [];
  let throttle: { rate: number; retryAfterSeconds: number; rand: () => number } | null = null;
  let notFoundAfterCreate = 0;
  let latencyMs = opts.latencyMs ?? 0;
  let defaultPolicy: PasswordPolicySpec | null = null;
  let strict = opts.strict ?? false;
  let callerPermissions = new Set<string>(opts.permissions ?? LEAST_PRIVILEGE);
  const entraKeys = createEntraSigningKeys();
  const sps = new Map<string, StoredSp>(); // by object id
  const spByAppId = new Map<string, string>(); // lower-cased appId → object id
  function addSp(sp: GraphServicePrincipal, owners: string[], createdAt?: number): StoredSp {
    const stored: StoredSp = { sp, owners, createdAt };
    sps.set(sp.id, stored);
    spByAppId.set(sp.appId.toLowerCase(), sp.id);
    return stored;
  }
  addSp(
    {
      id: GRAPH_SP_ID,
      appId: GRAPH_APP_ID,
      displayName: "Microsoft Graph",
      servicePrincipalType: "Application",
      tags: [],
      appOwnerOrganizationId: "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
    },
    [],
  );
  // syncbot's own identity (a managed identity has a service principal and no app registration here).
  addSp(
    {
      id: CALLER_SP_ID,
      appId: CALLER_APP_ID,
      displayName: "syncbot",
      servicePrincipalType: "ManagedIdentity",
      tags: [],
      appOwnerOrganizationId: null,
    },
    [],
  );
  const configuredCaller = (): Caller => ({
    appId: CALLER_APP_ID,
    servicePrincipalId: CALLER_SP_ID,
    permissions: callerPermissions,
  });

  // An app-only access token as Entra issues it for Graph (v1.0: Graph accepts no other version),
  // signed by the stand-in's current key. `roles` holds the application permissions granted to the
  // client's service principal; Entra leaves the claim out when there are none.
  function issueToken(appId: string, spId: string | null, roles: string[], opts: TokenShape = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      aud: opts.audience ?? "https://graph.microsoft.com",
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + 3599,
      idp: `https://sts.windows.net/${tenantId}/`,
      appid: appId,
      appidacr: opts.appidacr ?? "1",
      tid: tenantId,
      idtyp: "app",
      uti: randomBytes(16).toString("base64url"),
      ver: "1.0",
    };
    if (spId) {
      claims.oid = spId;
      claims.sub = spId;
    }
    if (roles.length > 0) claims.roles = roles;
    return entraKeys.sign(claims);
  }
  // Application permissions granted to a service principal: the configured caller's (syncbot's own);
  // apps syncbot creates are granted none in this tenant.
  const rolesOf = (spId: string | null): string[] => (spId === CALLER_SP_ID ? [...callerPermissions] : []);

  // A bearer token is checked as Graph checks it; without one the configured caller calls (the
  // emulator's allowance for GRAPH_CREDENTIAL=none, which real Graph answers with 401).
  function callerOf(headers: Record<string, string>): Caller {
    const auth = headers["authorization"];
    if (!auth) return configuredCaller();
    const bearer = /^Bearer\s+(\S+)$/i.exec(auth);
    const check = bearer
      ? checkGraphToken(bearer[1]!, {
          keys: entraKeys,
          tenantId,
          nowSeconds: Math.floor(Date.now() / 1000),
          ownOrigin: url,
        })
      : ({ ok: false, message: "Access token is empty." } as const);
    if (!check.ok) {
      throw new HttpError(401, "InvalidAuthenticationToken", check.message, {
        "www-authenticate": `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="${GRAPH_APP_ID}"`,
      });
    }
    const c = check.claims;
    return {
      appId: c.appid ?? c.azp ?? "",
      servicePrincipalId: c.oid ?? "",
      permissions: new Set(Array.isArray(c.roles) ? c.roles : []),
    };
  }

  function effectivePolicy(stored: StoredApp): PasswordPolicySpec | null {
    return stored.policy ?? defaultPolicy;
  }
  let propagationDelayMs = 0;
  const replication = createReplication();
  let requestHook: GraphRequestHook | null = null;
  let seedCounter = opts.seed ?? 1;
  const sockets = new Set<import("node:net").Socket>();

  function indexApp(stored: StoredApp): void {
    const a = stored.app;
    apps.set(a.id, stored);
    byAppId.set(a.appId.toLowerCase(), a.id);
    if (a.uniqueName) byUniqueName.set(a.uniqueName.toLowerCase(), a.id);
    for (const t of a.tags) {
      let set = byTag.get(t);
      if (!set) {
        set = new Set();
        byTag.set(t, set);
      }
      set.add(a.id);
    }
  }

  function unindexTags(a: GraphApplication): void {
    for (const t of a.tags) byTag.get(t)?.delete(a.id);
  }

  // Reindexes tags after any change; appId, id and uniqueName are immutable.
  function reindexTags(stored: StoredApp, before: string[]): void {
    for (const t of before) byTag.get(t)?.delete(stored.app.id);
    for (const t of stored.app.tags) {
      let set = byTag.get(t);
      if (!set) {
        set = new Set();
        byTag.set(t, set);
      }
      set.add(stored.app.id);
    }
  }

  function getStored(objectId: string): StoredApp {
    const s = apps.get(objectId.toLowerCase()) ?? apps.get(objectId);
    if (!s) throw notFound(objectId);
    return s;
  }

  // The creator owns what it creates (Application.ReadWrite.OwnedBy: "apps that this app creates or owns").
  function createApp(body: Record<string, unknown>, uniqueName: string | null, creator: Caller): StoredApp {
    const app = blankApp(tenantId);
    app.uniqueName = uniqueName;
    applyBody(app, body);
    const stored: StoredApp = {
      app,
      secrets: new Map(),
      notFoundRemaining: notFoundAfterCreate,
      owners: [creator.servicePrincipalId],
      policy: null,
      createdAt: Date.now(),
    };
    indexApp(stored);
    return stored;
  }

  function addPassword(
    stored: StoredApp,
    cred: { displayName?: string | null; endDateTime?: string | null; startDateTime?: string | null },
    enforcePolicy: boolean,
  ): HandAddedSecret & { startDateTime: string; displayName: string | null } {
    const start = cred.startDateTime ? new Date(cred.startDateTime) : new Date();
    const end = cred.endDateTime
      ? new Date(cred.endDateTime)
      : new Date(start.getTime() + DEFAULT_PASSWORD_DAYS * DAY_MS);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start) {
      throw badRequest("Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.");
    }
    const policy = enforcePolicy ? effectivePolicy(stored) : null;
    const refusal = passwordRefusal(policy, stored.app.createdDateTime, start.getTime(), end.getTime());
    if (refusal) throw badRequest(refusal.message, refusal.code);
    const secretText = newSecretText();
    const keyId = randomUUID();
    const hint = secretText.slice(0, 3);
    const pc: GraphPasswordCredential = {
      customKeyIdentifier: null,
      displayName: cred.displayName ?? null,
      endDateTime: end.toISOString(),
      hint,
      keyId,
      secretText: null,
      startDateTime: start.toISOString(),
    };
    stored.app.passwordCredentials.push(pc);
    stored.secrets.set(keyId, { sha256: sha256Hex(secretText), createdAt: Date.now() });
    issued.push(secretText);
    return {
      keyId,
      secretText,
      hint,
      endDateTime: pc.endDateTime!,
      startDateTime: pc.startDateTime!,
      displayName: pc.displayName,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Graph routes

  function appOut(stored: StoredApp, select: string[] | null): Record<string, unknown> {
    return select ? selectProps(stored.app, select, "application") : { ...stored.app };
  }

  // Replication lag right after a create: requests addressing the new object by id miss it for a while.
  function laggedById(objectId: string): StoredApp {
    const stored = getStored(objectId);
    if (stored.notFoundRemaining > 0) {
      stored.notFoundRemaining--;
      throw notFound(objectId);
    }
    return stored;
  }

  function findByKey(key: "appId" | "uniqueName", value: string): StoredApp | null {
    const index = key === "appId" ? byAppId : byUniqueName;
    const id = index.get(value.toLowerCase());
    return id ? (apps.get(id) ?? null) : null;
  }

  function listApplications(
    query: Record<string, string>,
    base: string,
    visible: (s: StoredApp) => boolean,
  ): Record<string, unknown> {
    const topRaw = query["$top"];
    const top = topRaw === undefined ? 100 : Number(topRaw);
    if (!Number.isInteger(top) || top < 1 || top > 999) {
      throw badRequest(`Invalid page size specified: '${topRaw}'. Must be between 1 and 999 inclusive.`);
    }
    const select = parseSelect(query);
    const clauses = query["$filter"] ? parseAppFilter(query["$filter"]) : [];
    let offset = 0;
    const token = query["$skiptoken"];
    if (token !== undefined) {
      const parsed = /^o(\d+)$/.exec(Buffer.from(token, "base64url").toString("utf8"));
      if (!parsed) throw badRequest("Invalid $skiptoken value.");
      offset = Number(parsed[1]);
    }
    // Start from the narrowest index a clause allows, then test the remaining clauses.
    let candidates: Iterable<string> = apps.keys();
    const tagClause = clauses.find((c) => c.kind === "tag");
    const keyClause = clauses.find((c) => c.kind === "eq" && c.prop !== "displayName") as
      | { kind: "eq"; prop: "appId" | "uniqueName"; value: string }
      | undefined;
    if (keyClause) {
      const s = findByKey(keyClause.prop, keyClause.value);
      candidates = s ? [s.app.id] : [];
    } else if (tagClause) {
      candidates = byTag.get(tagClause.value) ?? [];
    }
    const page: Record<string, unknown>[] = [];
    let seen = 0;
    let more = false;
    for (const id of candidates) {
      const stored = apps.get(id);
      if (!stored || !visible(stored) || !clauses.every((c) => appMatches(stored.app, c))) continue;
      if (seen++ < offset) continue;
      if (page.length === top) {
        more = true;
        break;
      }
      page.push(appOut(stored, select));
    }
    const result: Record<string, unknown> = {
      "@odata.context": `${base}/v1.0/$metadata#applications${select ? `(${select.join(",")})` : ""}`,
      value: page,
    };
    if (more) {
      const params: string[] = [];
      if (query["$filter"]) params.push(`$filter=${encodeURIComponent(query["$filter"])}`);
      if (select) params.push(`$select=${encodeURIComponent(select.join(","))}`);
      params.push(`$top=${top}`);
      params.push(`$skiptoken=${Buffer.from(`o${offset + page.length}`).toString("base64url")}`);
      result["@odata.nextLink"] = `${base}/v1.0/applications?${params.join("&")}`;
    }
    return result;
  }

  function patchApp(stored: StoredApp, body: Record<string, unknown>): void {
    validateBody(body);
    if ("uniqueName" in body && body.uniqueName !== stored.app.uniqueName) {
      throw badRequest("Property 'uniqueName' is immutable and cannot be changed once set.");
    }
    const beforeTags = stored.app.tags;
    applyBody(stored.app, body, strict);
    reindexTags(stored, beforeTags);
  }

  function servicePrincipal(): Record<string, unknown> {
    return {
      id: GRAPH_SP_ID,
      appId: GRAPH_APP_ID,
      displayName: "Microsoft Graph",
      appDisplayName: "Microsoft Graph",
      servicePrincipalType: "Application",
      oauth2PermissionScopes: GRAPH_SCOPES.map(([value, id, type]) => ({
        id,
        value,
        type,
        isEnabled: true,
        adminConsentDisplayName: `${value} (admin consent)`,
        adminConsentDescription: `Allows the app to use ${value}.`,
        userConsentDisplayName: type === "User" ? value : null,
        userConsentDescription: type === "User" ? `Allows the app to use ${value} on your behalf.` : null,
      })),
      appRoles: GRAPH_APP_ROLES.map(([value, id]) => ({
        id,
        value,
        allowedMemberTypes: ["Application"],
        displayName: value,
        description: `Allows the app to use ${value} without a signed-in user.`,
        isEnabled: true,
        origin: "Application",
      })),
    };
  }

  function listRoleAssignments(query: Record<string, string>): Record<string, unknown> {
    const f = query["$filter"];
    let list = roleAssignments;
    if (f) {
      for (const clause of splitAnd(f)) {
        const m = new RegExp(`^(principalId|roleDefinitionId)\\s+eq\\s+${Q}$`).exec(clause);
        if (!m)
          throw badRequest(
            `Unsupported or invalid query filter clause specified: '${clause}'.`,
            "Request_UnsupportedQuery",
          );
        const prop = m[1] as "principalId" | "roleDefinitionId";
        const value = unquote(m[2]!).toLowerCase();
        list = list.filter((r) => r[prop].toLowerCase() === value);
      }
    }
    return { value: list.map((r) => ({ ...r })) };
  }

  function directoryRolesOf(userId: string): Record<string, unknown> {
    const user = users.get(userId);
    if (!user) throw notFound(userId);
    const principals = new Set([userId]);
    for (const [gid, members] of groupMembers) if (members.has(userId)) principals.add(gid);
    const isGa = roleAssignments.some(
      (r) => principals.has(r.principalId) && r.roleDefinitionId === GLOBAL_ADMIN_TEMPLATE_ID,
    );
    return {
      value: isGa
        ? [
            {
              "@odata.type": "#microsoft.graph.directoryRole",
              id: GA_ROLE_OBJECT_ID,
              displayName: "Global Administrator",
              description:
                "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
              roleTemplateId: GLOBAL_ADMIN_TEMPLATE_ID,
            },
          ]
        : [],
    };
  }

  function spJson(st: StoredSp): Record<string, unknown> {
    if (st.sp.id === GRAPH_SP_ID) return servicePrincipal();
    return { ...st.sp, tags: [...st.sp.tags], accountEnabled: true, appDisplayName: st.sp.displayName };
  }

  // A caller that may not read users gets only their type and id ("limited information returned for
  // inaccessible member objects"); service principals are readable with any readServicePrincipal permission.
  function ownerObject(id: string, access: ReturnType<typeof accessCheck>): Record<string, unknown> {
    const full = directoryObject(id);
    if (users.has(id) && !access.allows("readUser"))
      return { "@odata.type": full["@odata.type"], id, displayName: null, userPrincipalName: null };
    if (sps.has(id) && !access.allows("readServicePrincipal"))
      return { "@odata.type": full["@odata.type"], id, displayName: null, appId: null };
    return full;
  }

  function directoryObject(id: string): Record<string, unknown> {
    const user = users.get(id);
    if (user) {
      return {
        "@odata.type": "#microsoft.graph.user",
        id,
        displayName: user.displayName,
        userPrincipalName: user.userPrincipalName ?? null,
      };
    }
    const sp = sps.get(id);
    if (sp) {
      return {
        "@odata.type": "#microsoft.graph.servicePrincipal",
        id,
        displayName: sp.sp.displayName,
        appId: sp.sp.appId,
      };
    }
    return { "@odata.type": "#microsoft.graph.directoryObject", id };
  }

  const passwordRestrictions = passwordRestrictionsJson;

  function tenantPolicyJson(base: string): Record<string, unknown> {
    return {
      "@odata.context": `${base}/v1.0/$metadata#policies/defaultAppManagementPolicy/$entity`,
      id: "00000000-0000-0000-0000-000000000000",
      displayName: "Default app management tenant policy",
      description:
        "Default tenant policy that enforces app management restrictions on applications and service principals.",
      isEnabled: defaultPolicy !== null,
      applicationRestrictions: {
        passwordCredentials: defaultPolicy ? passwordRestrictions(defaultPolicy) : [],
        keyCredentials: [],
      },
      servicePrincipalRestrictions: { passwordCredentials: [], keyCredentials: [] },
    };
  }

  function appPolicyJson(p: PasswordPolicySpec, id: string): Record<string, unknown> {
    return {
      id,
      displayName: "Credential policy",
      description: "Restrictions assigned to this application.",
      isEnabled: true,
      restrictions: { passwordCredentials: passwordRestrictions(p), keyCredentials: [] },
    };
  }

  interface Reply {
    status: number;
    body?: unknown;
    headers?: Record<string, string>;
  }

  function graphRoute(
    method: string,
    path: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    body: unknown,
    base: string,
    caller: Caller,
  ): Reply {
    const obj = (body ?? {}) as Record<string, unknown>;
    const access = accessCheck(strict, caller);
    const denied = () =>
      new HttpError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
    const need = (op: Parameters<typeof access.allows>[0]) => {
      if (!access.allows(op)) throw denied();
    };
    const needOn = (op: Parameters<typeof access.reaches>[0], owners: readonly string[]) => {
      if (!access.reaches(op, owners)) throw denied();
    };
    const requireObject = () => {
      if (body === null || typeof body !== "object" || Array.isArray(body)) {
        throw badRequest("Empty Payload. JSON content expected.", "BadRequest");
      }
    };
    let m: RegExpExecArray | null;

    if (path === "/applications") {
      if (method === "GET") {
        need("listApplications");
        const ownedOnly = access.ownedOnly("listApplications");
        const visible = (st: StoredApp) => !ownedOnly || st.owners.includes(caller.servicePrincipalId);
        return { status: 200, body: listApplications(query, base, visible) };
      }
      if (method === "POST") {
        need("writeApplication");
        requireObject();
        validateBody(obj);
        if (typeof obj.displayName !== "string" || obj.displayName === "") {
          throw badRequest("Property 'displayName' is required.");
        }
        const un = typeof obj.uniqueName === "string" ? obj.uniqueName : null;
        if (un !== null && byUniqueName.has(un.toLowerCase())) {
          throw badRequest("Another object with the same value for property uniqueName already exists.");
        }
        const stored = createApp(obj, un, caller);
        return {
          status: 201,
          body: appOut(stored, null),
          headers: { location: `${base}/v1.0/applications/${stored.app.id}` },
        };
      }
    }

    m = new RegExp(`^/applications\\((appId|uniqueName)=${Q}\\)$`).exec(path);
    if (m) {
      const key = m[1] as "appId" | "uniqueName";
      const value = unquote(m[2]!);
      const stored = findByKey(key, value);
      if (method === "GET") {
        need("readApplication");
        if (!stored) throw notFound(`${key}=${value}`);
        needOn("readApplication", stored.owners);
        return { status: 200, body: appOut(stored, parseSelect(query)) };
      }
      if (method === "PATCH") {
        need("writeApplication");
        requireObject();
        if (stored) {
          needOn("writeApplication", stored.owners);
          patchApp(stored, obj);
          return { status: 204 };
        }
        const prefer = (headers["prefer"] ?? "").toLowerCase();
        if (key !== "uniqueName" || !prefer.split(/\s*,\s*/).includes("create-if-missing")) {
          throw notFound(`${key}=${value}`);
        }
        validateBody(obj);
        if (typeof obj.displayName !== "string" || obj.displayName === "") {
          throw badRequest("Property 'displayName' is required.");
        }
        if ("uniqueName" in obj && obj.uniqueName !== value) {
          throw badRequest("Property 'uniqueName' in the payload does not match the key.");
        }
        const created = createApp(obj, value, caller);
        return {
          status: 201,
          body: appOut(created, null),
          headers: {
            location: `${base}/v1.0/applications/${created.app.id}`,
            "preference-applied": "create-if-missing",
          },
        };
      }
    }

    m = /^\/applications\/([^/]+)\/(owners|appManagementPolicies)$/.exec(path);
    if (m && method === "GET") {
      const id = m[1]!;
      if (!GUID_RE.test(id)) throw badRequest(`Invalid object identifier '${id}'.`);
      if (m[2] === "owners") {
        need("listOwners");
        const stored = laggedById(id);
        needOn("listOwners", stored.owners);
        return {
          status: 200,
          body: {
            "@odata.context": `${base}/v1.0/$metadata#directoryObjects`,
            value: stored.owners.map((id) => ownerObject(id, access)),
          },
        };
      }
      need("readPolicy");
      need("readApplication");
      const stored = laggedById(id);
      needOn("readApplication", stored.owners);
      return {
        status: 200,
        body: {
          "@odata.context": `${base}/v1.0/$metadata#policies/appManagementPolicies`,
          value: stored.policy ? [appPolicyJson(stored.policy, `${stored.app.id.slice(0, 8)}-policy`)] : [],
        },
      };
    }

    if (path === "/policies/defaultAppManagementPolicy" && method === "GET") {
      need("readPolicy");
      return { status: 200, body: tenantPolicyJson(base) };
    }

    m =
      /^\/applications\/([^/]+)(?:\/(addPassword|removePassword|microsoft\.graph\.addPassword|microsoft\.graph\.removePassword))?$/.exec(
        path,
      );
    if (m) {
      const id = m[1]!;
      if (!GUID_RE.test(id)) throw badRequest(`Invalid object identifier '${id}'.`);
      const action = m[2]?.replace("microsoft.graph.", "");
      if (!action && method === "GET") {
        need("readApplication");
        const stored = laggedById(id);
        needOn("readApplication", stored.owners);
        return { status: 200, body: appOut(stored, parseSelect(query)) };
      }
      // Every write below needs write access to this very application.
      const writable = (st: StoredApp) => {
        need("writeApplication");
        needOn("writeApplication", st.owners);
        return st;
      };
      if (!action && method === "PATCH") {
        requireObject();
        patchApp(writable(laggedById(id)), obj);
        return { status: 204 };
      }
      if (!action && method === "DELETE") {
        const stored = writable(getStored(id));
        unindexTags(stored.app);
        apps.delete(stored.app.id);
        byAppId.delete(stored.app.appId.toLowerCase());
        if (stored.app.uniqueName) byUniqueName.delete(stored.app.uniqueName.toLowerCase());
        return { status: 204 };
      }
      if (action === "addPassword" && method === "POST") {
        const stored = writable(laggedById(id));
        const cred = (obj.passwordCredential ?? {}) as Record<string, string | null>;
        const added = addPassword(stored, cred, true);
        return {
          status: 200,
          body: {
            "@odata.context": `${base}/v1.0/$metadata#microsoft.graph.passwordCredential`,
            customKeyIdentifier: null,
            displayName: added.displayName,
            endDateTime: added.endDateTime,
            hint: added.hint,
            keyId: added.keyId,
            secretText: added.secretText,
            startDateTime: added.startDateTime,
          },
        };
      }
      if (action === "removePassword" && method === "POST") {
        const stored = writable(laggedById(id));
        const keyId = typeof obj.keyId === "string" ? obj.keyId : "";
        if (!GUID_RE.test(keyId)) throw invalidValue("keyId");
        const idx = stored.app.passwordCredentials.findIndex((p) => p.keyId.toLowerCase() === keyId.toLowerCase());
        // The removePassword doc lists only its 204; clients see a 400 for a keyId the application
        // does not have (issue 10), so "already removed" must be decided by re-reading the credentials.
        if (idx < 0) {
          throw badRequest(`No password credential found with keyId '${keyId}'.`);
        }
        stored.app.passwordCredentials.splice(idx, 1);
        stored.secrets.delete(keyId);
        return { status: 204 };
      }
    }

    m = new RegExp(`^/servicePrincipals\\(appId=${Q}\\)$`).exec(path);
    if (m && method === "GET") {
      need("readServicePrincipal");
      const appId = unquote(m[1]!);
      const st = sps.get(spByAppId.get(appId.toLowerCase()) ?? "");
      // A replica that has not taken the create yet does not know it.
      if (!st || replication.lagging(st.createdAt)) throw notFound(`appId=${appId}`);
      needOn("readServicePrincipal", st.owners);
      return { status: 200, body: selectProps(spJson(st), parseSelect(query), "servicePrincipal") };
    }

    if (path === "/servicePrincipals" && method === "GET") {
      need("readServicePrincipal");
      const f = query["$filter"];
      let wanted: string | null = null;
      if (f) {
        const fm = new RegExp(`^appId\\s+eq\\s+${Q}$`).exec(f.trim());
        if (!fm) {
          throw badRequest(`Unsupported or invalid query filter clause specified: '${f}'.`, "Request_UnsupportedQuery");
        }
        wanted = unquote(fm[1]!).toLowerCase();
      }
      const ownedOnly = access.ownedOnly("readServicePrincipal");
      const select = parseSelect(query);
      const value = [...sps.values()]
        .filter(
          (st) =>
            (wanted === null || st.sp.appId.toLowerCase() === wanted) &&
            !replication.lagging(st.createdAt) &&
            (!ownedOnly || st.owners.includes(caller.servicePrincipalId)),
        )
        .map((st) => selectProps(spJson(st), select, "servicePrincipal"));
      return { status: 200, body: { "@odata.context": `${base}/v1.0/$metadata#servicePrincipals`, value } };
    }

    if (path === "/servicePrincipals" && method === "POST") {
      need("createServicePrincipal");
      requireObject();
      const appId = typeof obj.appId === "string" ? obj.appId : "";
      for (const k of Object.keys(obj)) {
        if (!["appId", "tags", "displayName"].includes(k) && !k.startsWith("@odata.")) {
          throw badRequest(
            `Property '${k}' is read-only or does not exist on type 'microsoft.graph.servicePrincipal'.`,
          );
        }
      }
      if ("tags" in obj && !isStringArray(obj.tags))
        throw badRequest("Invalid value specified for property 'tags' of resource 'ServicePrincipal'.");
      const app = findByKey("appId", appId);
      // An application just created is unknown to the replica serving this request for a while.
      if (!app || replication.lagging(app.createdAt)) {
        const { message, details } = noBackingApplication(appId);
        throw new HttpError(400, "Request_BadRequest", message, {}, details);
      }
      needOn("createServicePrincipal", app.owners);
      if (spByAppId.has(appId.toLowerCase())) {
        throw new HttpError(
          409,
          "Request_MultipleObjectsWithSameKeyValue",
          "Another object with the same value for property servicePrincipalNames already exists.",
        );
      }
      const st = addSp(
        {
          id: randomUUID(),
          appId: app.app.appId,
          displayName: app.app.displayName,
          servicePrincipalType: "Application",
          tags: isStringArray(obj.tags) ? [...obj.tags] : [],
          appOwnerOrganizationId: tenantId,
        },
        [caller.servicePrincipalId],
        Date.now(),
      );
      return {
        status: 201,
        body: spJson(st),
        headers: { location: `${base}/v1.0/servicePrincipals/${st.sp.id}` },
      };
    }

    m = /^\/servicePrincipals\/([^/(]+)(?:\/(appRoleAssignments))?$/.exec(path);
    if (m && method === "GET") {
      const st = sps.get(m[1]!.toLowerCase());
      if (m[2]) {
        need("listAppRoleAssignments");
        if (!st) throw notFound(m[1]!);
        const held = st.sp.id === CALLER_SP_ID ? [...callerPermissions] : [];
        return {
          status: 200,
          body: {
            "@odata.context": `${base}/v1.0/$metadata#servicePrincipals('${st.sp.id}')/appRoleAssignments`,
            value: held
              .filter((p) => p in GRAPH_APP_ROLE_IDS)
              .map((p) => ({
                id: sha256Hex(`${st.sp.id}/${p}`).slice(0, 43),
                appRoleId: GRAPH_APP_ROLE_IDS[p as GraphAppPermission],
                principalDisplayName: st.sp.displayName,
                principalId: st.sp.id,
                principalType: "ServicePrincipal",
                resourceDisplayName: "Microsoft Graph",
                resourceId: GRAPH_SP_ID,
              })),
          },
        };
      }
      need("readServicePrincipal");
      if (!st) throw notFound(m[1]!);
      needOn("readServicePrincipal", st.owners);
      return { status: 200, body: selectProps(spJson(st), parseSelect(query), "servicePrincipal") };
    }

    if (path === "/roleManagement/directory/roleAssignments" && method === "GET") {
      need("listRoleAssignments");
      return { status: 200, body: listRoleAssignments(query) };
    }

    m = /^\/users\/([^/]+)\/transitiveMemberOf\/microsoft\.graph\.directoryRole$/.exec(path);
    if (m && method === "GET") {
      need("transitiveMemberOf");
      // An OData cast on a directory relationship is an advanced query (always, as Graph does).
      if ((headers["consistencylevel"] ?? "").toLowerCase() !== "eventual" || query["$count"] !== "true") {
        throw badRequest(
          "The request requires the advanced query parameters: set the ConsistencyLevel header to 'eventual' and use $count=true.",
          "Request_UnsupportedQuery",
        );
      }
      const roles = directoryRolesOf(m[1]!);
      return { status: 200, body: { "@odata.count": (roles.value as unknown[]).length, ...roles } };
    }

    if (method !== "GET" && method !== "POST" && method !== "PATCH" && method !== "DELETE") {
      throw new HttpError(405, "Request_BadRequest", `The HTTP method '${method}' is not allowed.`);
    }
    const segment = path.split("/").filter(Boolean)[0] ?? "";
    throw badRequest(`Resource not found for the segment '${segment}'.`, "BadRequest");
  }

  // ---------------------------------------------------------------------------------------------
  // Token endpoint

  function tokenError(status: number, error: string, description: string): Reply {
    return {
      status,
      body: {
        error,
        error_description: `${description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
        error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
        timestamp: new Date().toISOString(),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
      },
    };
  }

  function tokenRoute(tenant: string, form: URLSearchParams, ctx: { authorityHost?: string } = {}): Reply {
    if (tenant.toLowerCase() !== tenantId.toLowerCase()) {
      return tokenError(400, "invalid_request", `AADSTS90002: Tenant '${tenant}' not found.`);
    }
    if (form.get("grant_type") !== "client_credentials") {
      return tokenError(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
    }
    if (!form.get("scope")) {
      return tokenError(
        400,
        "invalid_request",
        "AADSTS90014: The required field 'scope' is missing from the credential.",
      );
    }
    const clientId = form.get("client_id") ?? "";
    const secret = form.get("client_secret") ?? "";
    const stored = findByKey("appId", clientId);
    // The token service learns of a new application, service principal or secret only once replicated.
    if (!stored || replication.lagging(stored.createdAt)) {
      return tokenError(
        400,
        "unauthorized_client",
        `AADSTS700016: Application with identifier '${clientId}' was not found in the directory '${tenantId}'.`,
      );
    }
    const spId = spByAppId.get(clientId.toLowerCase()) ?? null;
    if (strict && (!spId || replication.lagging(sps.get(spId)?.createdAt))) {
      return tokenError(
        401,
        "invalid_client",
        `AADSTS7000229: The client application ${clientId} is missing service principal in the tenant ${tenantId}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119`,
      );
    }
    // Client credentials need a resource's `.default` scope; its resource is the token's audience.
    const audience = /^(.+?)\/?\.default$/.exec(form.get("scope") ?? "")?.[1];
    if (!audience) {
      return tokenError(
        400,
        "invalid_scope",
        `AADSTS1002012: The provided value for scope ${form.get("scope")} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    if (!isGraphAudience(audience, url)) {
      return tokenError(
        400,
        "invalid_resource",
        `AADSTS500011: The resource principal named ${audience} was not found in the tenant named ${tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      );
    }
    const roles = rolesOf(spId);
    if (form.has("client_assertion")) {
      const host = ctx.authorityHost ?? url;
      const refused = checkClientAssertion({
        assertion: form.get("client_assertion") ?? "",
        assertionType: form.get("client_assertion_type"),
        clientId,
        keyCredentials: stored.app.keyCredentials,
        audiences: [`${host}/${tenant}/oauth2/v2.0/token`, `${host}/${tenantId}/oauth2/v2.0/token`],
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      if (refused) return tokenError(refused.status, refused.error, refused.description);
      const access_token = issueToken(stored.app.appId, spId, roles, { audience, appidacr: "2" });
      return { status: 200, body: { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token } };
    }
    const digest = Buffer.from(sha256Hex(secret), "hex");
    const now = Date.now();
    let expired = false;
    for (const pc of stored.app.passwordCredentials) {
      const mat = stored.secrets.get(pc.keyId);
      if (!mat || !timingSafeEqual(Buffer.from(mat.sha256, "hex"), digest)) continue;
      if (pc.endDateTime && Date.parse(pc.endDateTime) <= now) {
        expired = true;
        continue;
      }
      if (now - mat.createdAt < propagationDelayMs) break; // not replicated to the token service yet
      // A just-added secret not yet replicated is answered as expired (observed right after a registration).
      if (replication.lagging(mat.createdAt)) {
        return tokenError(
          401,
          "invalid_client",
          `AADSTS7000222: The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
        );
      }
      return {
        status: 200,
        body: {
          token_type: "Bearer",
          expires_in: 3599,
          ext_expires_in: 3599,
          access_token: issueToken(stored.app.appId, spId, roles, { audience }),
        },
      };
    }
    if (expired) {
      return tokenError(
        401,
        "invalid_client",
        `AADSTS7000222: The provided client secret keys for app '${clientId}' are expired.`,
      );
    }
    return tokenError(
      401,
      "invalid_client",
      `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    );
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP plumbing

  function takeFault(
    method: string,
    path: string,
    isGraph: boolean,
    body: string,
    phase: "before" | "after" = "before",
  ): ActiveFault | null {
    const idx = faults.findIndex(
      (f) =>
        f.remaining > 0 &&
        (f.phase ?? "before") === phase &&
        (!f.match?.method || f.match.method.toUpperCase() === method) &&
        (!f.match?.pathIncludes || path.includes(f.match.pathIncludes)) &&
        (!f.match?.path || path === f.match.path) &&
        (!f.match?.bodyIncludes || body.includes(f.match.bodyIncludes)),
    );
    if (idx >= 0) {
      const f = faults[idx]!;
      f.remaining--;
      if (f.remaining === 0) faults.splice(idx, 1);
      return f;
    }
    if (phase === "before" && isGraph && throttle && throttle.rand() < throttle.rate) {
      return { status: 429, remaining: 0, retryAfterSeconds: throttle.retryAfterSeconds };
    }
    return null;
  }

  const DEFAULT_FAULTS: Record<number, [string, string]> = {
    400: ["BadRequest", "Bad request."],
    401: ["InvalidAuthenticationToken", "Access token is empty."],
    403: ["Authorization_RequestDenied", "Insufficient privileges to complete the operation."],
    404: ["Request_ResourceNotFound", "Resource does not exist."],
    409: ["Request_MultipleObjectsWithSameKeyValue", "Another object with the same value already exists."],
    412: ["Request_PreconditionFailed", "The resource has changed since it was read."],
    429: ["TooManyRequests", "Too many requests. Please try again later."],
    500: ["InternalServerError", "An internal server error occurred."],
    503: ["ServiceUnavailable", "The service is temporarily unavailable. Please try again later."],
    504: ["GatewayTimeout", "The gateway did not receive a response in time."],
  };

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const base = url;
    const parsed = new URL(req.url ?? "/", base);
    let rawPath: string;
    try {
      rawPath = decodeURIComponent(parsed.pathname);
    } catch {
      rawPath = parsed.pathname;
    }
    const query: Record<string, string> = {};
    for (const [k, v] of parsed.searchParams) query[k] = v;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : (v ?? "");
    const method = (req.method ?? "GET").toUpperCase();
    const text = await readBody(req);
    const isGraph = rawPath === "/v1.0" || rawPath.startsWith("/v1.0/");
    const contentType = headers["content-type"] ?? "";
    let body: unknown;
    let bodyError = false;
    if (text.length > 0) {
      if (contentType.includes("application/x-www-form-urlencoded")) {
        // Recorded without the secret: the log of requests must never hold a secret value.
        const form = new URLSearchParams(text);
        const rec: Record<string, string> = {};
        for (const [k, v] of form) rec[k] = k === "client_secret" ? "[redacted]" : v;
        body = rec;
      } else {
        try {
          body = JSON.parse(text);
        } catch {
          bodyError = true;
        }
      }
    }
    const record: RecordedRequest = { method, path: rawPath, query, headers, body, status: 0, at: Date.now() };
    requests.push(record);

    const requestId = randomUUID();
    const clientRequestId = headers["client-request-id"] ?? requestId;
    const send = (reply: Reply) => {
      const held = requestHook?.({ method, path: rawPath, phase: "after", status: reply.status });
      if (held)
        void held.then(
          () => sendNow(reply),
          () => sendNow(reply),
        );
      else sendNow(reply);
    };
    const sendNow = (reply: Reply) => {
      record.status = reply.status;
      const h: Record<string, string> = {
        "request-id": requestId,
        "client-request-id": clientRequestId,
        ...(reply.headers ?? {}),
      };
      if (reply.body === undefined) {
        res.writeHead(reply.status, h);
        res.end();
        return;
      }
      const payload = JSON.stringify(reply.body);
      h["content-type"] =
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
      h["content-length"] = String(Buffer.byteLength(payload));
      res.writeHead(reply.status, h);
      res.end(payload);
    };
    const odataError = (e: HttpError): Reply => ({
      status: e.status,
      headers: e.headers,
      body: {
        error: {
          code: e.code,
          message: e.message,
          ...(e.details ? { details: e.details } : {}),
          innerError: {
            date: new Date().toISOString().slice(0, 19),
            "request-id": requestId,
            "client-request-id": clientRequestId,
          },
        },
      },
    });

    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
    if (requestHook) await requestHook({ method, path: rawPath, phase: "before" });

    const faultReply = (fault: ActiveFault) => {
      const [code, message] = DEFAULT_FAULTS[fault.status] ?? ["UnknownError", "An error occurred."];
      const h: Record<string, string> = {};
      if (fault.retryAfterSeconds !== undefined) h["retry-after"] = String(fault.retryAfterSeconds);
      return odataError(new HttpError(fault.status, fault.code ?? code, fault.message ?? message, h));
    };
    const fault = takeFault(method, rawPath, isGraph, text);
    if (fault) {
      send(faultReply(fault));
      return;
    }

    const tokenMatch = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(rawPath);
    if (tokenMatch && method === "POST") {
      send(tokenRoute(tokenMatch[1]!, new URLSearchParams(text)));
      return;
    }
    const oidcMatch = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(rawPath);
    if (oidcMatch && method === "GET") {
      const t = oidcMatch[1]!;
      send({
        status: 200,
        body: {
          issuer: `${base}/${t}/v2.0`,
          token_endpoint: `${base}/${t}/oauth2/v2.0/token`,
          authorization_endpoint: `${base}/${t}/oauth2/v2.0/authorize`,
          jwks_uri: `${base}/${t}/discovery/v2.0/keys`,
          token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
          response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
          scopes_supported: ["openid", "profile", "email", "offline_access"],
          tenant_region_scope: "EU",
        },
      });
      return;
    }
    if (!isGraph) {
      send(
        odataError(badRequest(`Resource not found for the segment '${rawPath.split("/")[1] ?? ""}'.`, "BadRequest")),
      );
      return;
    }
    if (bodyError) {
      send(
        odataError(
          badRequest(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            "BadRequest",
          ),
        ),
      );
      return;
    }
    try {
      const reply = graphRoute(method, rawPath.slice(5) || "/", query, headers, body, base, callerOf(headers));
      const lost = reply.status < 400 ? takeFault(method, rawPath, isGraph, text, "after") : null;
      send(lost ? faultReply(lost) : reply);
    } catch (e) {
      if (e instanceof HttpError) send(odataError(e));
      else
        send(odataError(new HttpError(500, "InternalServerError", e instanceof Error ? e.message : "internal error")));
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const entra = await startEntraStandIn({
    tenantId,
    keys: entraKeys,
    token: tokenRoute,
    onRequest: (r) => requestHook?.(r),
  });

  // ---------------------------------------------------------------------------------------------
  // Test handles

  // Builds the stored object field by field (no generic clone): bulk seeding must stay fast.
  function seedOne(p: SeedApplication, n: number, now: string): StoredApp {
    if (p.uniqueName && byUniqueName.has(p.uniqueName.toLowerCase())) {
      throw new Error(`seedApplications: uniqueName '${p.uniqueName}' already exists`);
    }
    const app: GraphApplication = {
      id: p.id ?? randomUUID(),
      appId: p.appId ?? randomUUID(),
      uniqueName: p.uniqueName ?? null,
      displayName: p.displayName ?? `Seeded app ${n}`,
      description: p.description ?? null,
      notes: p.notes ?? null,
      createdDateTime: p.createdDateTime ?? now,
      publisherDomain: p.publisherDomain ?? `${tenantId.slice(0, 8)}.onmicrosoft.com`,
      signInAudience: p.signInAudience ?? "AzureADMyOrg",
      tags: p.tags ? [...p.tags] : [],
      identifierUris: p.identifierUris ? [...p.identifierUris] : [],
      isFallbackPublicClient: p.isFallbackPublicClient ?? null,
      web: {
        homePageUrl: p.web?.homePageUrl ?? null,
        logoutUrl: p.web?.logoutUrl ?? null,
        redirectUris: p.web?.redirectUris ? [...p.web.redirectUris] : [],
        redirectUriSettings: (p.web?.redirectUris ?? []).map((uri) => ({ uri, index: null })),
        implicitGrantSettings: {
          enableAccessTokenIssuance: p.web?.implicitGrantSettings?.enableAccessTokenIssuance ?? false,
          enableIdTokenIssuance: p.web?.implicitGrantSettings?.enableIdTokenIssuance ?? false,
        },
      },
      spa: { redirectUris: p.spa?.redirectUris ? [...p.spa.redirectUris] : [] },
      publicClient: { redirectUris: p.publicClient?.redirectUris ? [...p.publicClient.redirectUris] : [] },
      requiredResourceAccess: p.requiredResourceAccess ? clone(p.requiredResourceAccess) : [],
      passwordCredentials: (p.passwordCredentials ?? []).map((pc) => ({
        customKeyIdentifier: null,
        displayName: pc.displayName ?? null,
        endDateTime: pc.endDateTime,
        hint: pc.hint ?? null,
        keyId: pc.keyId ?? randomUUID(),
        secretText: null,
        startDateTime: pc.startDateTime ?? now,
      })),
      keyCredentials: p.keyCredentials ? clone(p.keyCredentials) : [],
    };
    const stored: StoredApp = {
      app,
      secrets: new Map(),
      notFoundRemaining: 0,
      owners: p.owners ? [...p.owners] : [CALLER_SP_ID],
      policy: null,
    };
    indexApp(stored);
    return stored;
  }

  const emulator: GraphEmulator = {
    url,
    graphBaseUrl: `${url}/v1.0`,
    authorityHost: url,
    tenantId,
    requests,
    resetRequests() {
      requests.length = 0;
    },
    writes() {
      return requests.filter((r) => r.method !== "GET" && (r.path === "/v1.0" || r.path.startsWith("/v1.0/")));
    },
    revokeGlobalAdmin(userId) {
      for (let i = roleAssignments.length - 1; i >= 0; i--)
        if (roleAssignments[i]!.principalId === userId) roleAssignments.splice(i, 1);
      for (const members of groupMembers.values()) members.delete(userId);
    },
    seedUser(user) {
      users.set(user.id, { ...user });
      if (user.globalAdmin && !user.viaGroup) {
        roleAssignments.push({
          id: randomUUID(),
          principalId: user.id,
          roleDefinitionId: GLOBAL_ADMIN_TEMPLATE_ID,
          directoryScopeId: "/",
        });
      }
      if (user.viaGroup) {
        // One role-assignable "Global Admins" group per tenant, holding the role on behalf of its members.
        let groupId = [...groupMembers.keys()][0];
        if (!groupId) {
          groupId = randomUUID();
          groupMembers.set(groupId, new Set());
          roleAssignments.push({
            id: randomUUID(),
            principalId: groupId,
            roleDefinitionId: GLOBAL_ADMIN_TEMPLATE_ID,
            directoryScopeId: "/",
          });
        }
        groupMembers.get(groupId)!.add(user.id);
      }
    },
    applications() {
      // syncbot's own registration (registerCallerApp) is in Graph's listings, but not in what tests count.
      return [...apps.values()].filter((s) => s.app.appId !== CALLER_APP_ID).map((s) => cloneApp(s.app));
    },
    application(objectId) {
      const s = apps.get(objectId);
      return s ? cloneApp(s.app) : null;
    },
    seedApplications(appsOrCount) {
      const list: SeedApplication[] =
        typeof appsOrCount === "number" ? Array.from({ length: appsOrCount }, () => ({})) : appsOrCount;
      const out: GraphApplication[] = [];
      const now = new Date().toISOString();
      for (const partial of list) out.push(seedOne(partial, seedCounter++, now).app);
      // Handing back the live objects would let callers bypass the indexes; copies only.
      return out.map(cloneApp);
    },
    mutateApplication(objectId, fn) {
      const stored = getStored(objectId);
      const beforeTags = [...stored.app.tags];
      fn(stored.app);
      reindexTags(stored, beforeTags);
      // Hand-removed credentials lose their secret material too.
      const keys = new Set(stored.app.passwordCredentials.map((p) => p.keyId));
      for (const k of [...stored.secrets.keys()]) if (!keys.has(k)) stored.secrets.delete(k);
    },
    addPasswordByHand(objectId, cred) {
      const added = addPassword(getStored(objectId), cred, false);
      return { keyId: added.keyId, secretText: added.secretText, hint: added.hint, endDateTime: added.endDateTime };
    },
    removePasswordByHand(objectId, keyId) {
      const stored = getStored(objectId);
      stored.app.passwordCredentials = stored.app.passwordCredentials.filter((p) => p.keyId !== keyId);
      stored.secrets.delete(keyId);
    },
    issuedSecrets() {
      return [...issued];
    },
    secretFingerprint(objectId, keyId) {
      const mat = apps.get(objectId)?.secrets.get(keyId);
      return mat ? `sha256:${mat.sha256.slice(0, 16)}` : null;
    },
    injectFault(fault) {
      faults.push({ ...fault, remaining: fault.count ?? 1 });
    },
    clearFaults() {
      faults = [];
      throttle = null;
    },
    setThrottleRate(rate, o = {}) {
      throttle =
        rate > 0
          ? { rate, retryAfterSeconds: o.retryAfterSeconds ?? 0, rand: mulberry32(o.seed ?? opts.seed ?? 42) }
          : null;
    },
    setNotFoundAfterCreate(n) {
      notFoundAfterCreate = n;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    setPasswordLifetimePolicy(maxDays) {
      defaultPolicy = maxDays === null ? null : { maxLifetimeDays: maxDays };
    },
    setPropagationDelay(ms) {
      propagationDelayMs = ms;
    },
    setReplicationWindow(ms) {
      replication.setWindow(ms);
    },
    onRequest(hook) {
      requestHook = hook;
    },
    setStrict(on, permissions) {
      strict = on;
      if (permissions) callerPermissions = new Set(permissions);
    },
    caller: { appId: CALLER_APP_ID, servicePrincipalId: CALLER_SP_ID },
    callerToken() {
      return issueToken(CALLER_APP_ID, CALLER_SP_ID, [...callerPermissions]);
    },
    registerCallerApp(o = {}) {
      let stored = findByKey("appId", CALLER_APP_ID);
      if (!stored) {
        stored = seedOne(
          { appId: CALLER_APP_ID, displayName: "syncbot", owners: [] },
          seedCounter++,
          new Date().toISOString(),
        );
        // No longer a managed identity: an application's service principal, as for any app registration.
        const sp = sps.get(CALLER_SP_ID)!.sp;
        sp.servicePrincipalType = "Application";
        sp.appOwnerOrganizationId = tenantId;
      }
      if (o.certificatePem) {
        const cert = new X509Certificate(o.certificatePem);
        stored.app.keyCredentials.push({
          customKeyIdentifier: cert.fingerprint.replace(/:/g, ""),
          displayName: `CN=${/CN=([^\n,]+)/.exec(cert.subject)?.[1] ?? "syncbot"}`,
          endDateTime: new Date(cert.validTo).toISOString(),
          key: cert.raw.toString("base64"),
          keyId: randomUUID(),
          startDateTime: new Date(cert.validFrom).toISOString(),
          type: "AsymmetricX509Cert",
          usage: "Verify",
        });
      }
      const added = addPassword(stored, { displayName: "syncbot (tests)" }, false);
      // syncbot's own secret was set up long before any run: replicated everywhere, whatever the test's
      // propagation delay for the secrets syncbot creates.
      stored.secrets.get(added.keyId)!.createdAt = 0;
      return { clientId: CALLER_APP_ID, clientSecret: added.secretText };
    },
    servicePrincipals() {
      return [...sps.values()].map((st) => ({ ...st.sp, tags: [...st.sp.tags] }));
    },
    seedServicePrincipal(appId, owners = []) {
      const app = findByKey("appId", appId);
      if (!app) throw new Error(`seedServicePrincipal: no application with appId ${appId}`);
      if (spByAppId.has(appId.toLowerCase())) throw new Error(`seedServicePrincipal: ${appId} has one already`);
      const st = addSp(
        {
          id: randomUUID(),
          appId: app.app.appId,
          displayName: app.app.displayName,
          servicePrincipalType: "Application",
          tags: [],
          appOwnerOrganizationId: tenantId,
        },
        owners,
      );
      return { ...st.sp };
    },
    owners(objectId) {
      return [...getStored(objectId).owners];
    },
    setDefaultAppManagementPolicy(policy) {
      defaultPolicy = policy ? { ...policy } : null;
    },
    setApplicationPolicy(objectId, policy) {
      getStored(objectId).policy = policy ? { ...policy } : null;
    },
    entra,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      await entra.close();
    },
  };
  return emulator;
}
