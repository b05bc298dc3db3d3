// The small interfaces the domain needs from the outside world. Adapters in src/graph, src/ump and
// src/store implement them; tests use the emulators behind the same adapters. Nothing here knows
// about HTTP, the Graph SDK or botbuilder.

// ---------------------------------------------------------------------------------------------
// Calls that may wait out throttling report each wait, so a card can say "waiting for Graph, retry 2 of 5".
export interface RetryNotice {
  /** "entra": waiting out replication after a create (bounded by time, not attempts). */
  service: "graph" | "ump" | "entra";
  attempt: number; // the retry about to happen, 1-based
  maxAttempts: number;
  waitMs: number;
  status: number; // the HTTP status that caused the wait (429, 503, 504, or 404 after create)
  /** "entra": what is awaited, the time spent so far and the time allowed. */
  awaiting?: string;
  elapsedMs?: number;
  budgetMs?: number;
}
export interface CallContext {
  correlationId?: string;
  onRetry?: (notice: RetryNotice) => void;
}

// ---------------------------------------------------------------------------------------------
// Microsoft Graph: the directory holding the app registrations.

export interface PasswordCredentialInfo {
  keyId: string;
  displayName: string | null;
  hint: string | null;
  startDateTime: string | null;
  endDateTime: string | null;
}

export interface ResourceAccess {
  id: string;
  type: "Scope" | "Role";
}
export interface RequiredResourceAccess {
  resourceAppId: string;
  resourceAccess: ResourceAccess[];
}

export interface WebSettings {
  redirectUris: string[];
  implicitGrantSettings: { enableAccessTokenIssuance: boolean; enableIdTokenIssuance: boolean };
  // Read and written back as they are, so a PATCH of `web` (written whole) keeps what others set.
  homePageUrl?: string | null;
  logoutUrl?: string | null;
  redirectUriSettings?: Array<{ uri: string; index: number | null }>;
}

export interface LiveApplication {
  id: string; // object id
  appId: string; // application (client) id
  uniqueName: string | null;
  displayName: string;
  signInAudience: string;
  tags: string[];
  web: WebSettings;
  isFallbackPublicClient: boolean | null;
  requiredResourceAccess: RequiredResourceAccess[];
  passwordCredentials: PasswordCredentialInfo[];
  /** When Entra created it (policy restrictions bind apps created after their date); absent when not read. */
  createdDateTime?: string | null;
}

/** The writable fields syncbot manages; any subset may be sent in a PATCH. */
export interface ApplicationFields {
  displayName?: string;
  signInAudience?: string;
  tags?: string[];
  web?: WebSettings;
  isFallbackPublicClient?: boolean;
  requiredResourceAccess?: RequiredResourceAccess[];
}

/** What addPassword returns. `secretText` must only ever travel to UMP or a hand-off. */
export interface NewSecret {
  keyId: string;
  displayName: string;
  hint: string;
  endDateTime: string;
  secretText: string;
}

export interface Directory {
  /** null when no application has that uniqueName. */
  getApplicationByUniqueName(uniqueName: string, ctx?: CallContext): Promise<LiveApplication | null>;
  /** `justCreated` retries a 404 with bounded backoff (replication lag right after a create). */
  getApplication(objectId: string, ctx?: CallContext & { justCreated?: boolean }): Promise<LiveApplication>;
  /** PATCH /applications(uniqueName='…') with Prefer: create-if-missing. `application` is set when Graph returned a body (201). */
  upsertApplication(
    uniqueName: string,
    fields: ApplicationFields,
    ctx?: CallContext,
  ): Promise<{ created: boolean; application: LiveApplication | null }>;
  /**
   * POST /applications with `uniqueName`: creates only while no application holds the name, so a run
   * that saw none need not read first. `taken` when Graph refuses the name (400 "Another object with the
   * same value for property uniqueName already exists."); `ambiguous` when an earlier attempt of this
   * call went unanswered (503/504 retried), so the application holding the name may be this call's own.
   */
  createApplication(
    uniqueName: string,
    fields: ApplicationFields,
    ctx?: CallContext,
  ): Promise<{ created: true; application: LiveApplication } | { created: false; taken: true; ambiguous: boolean }>;
  updateApplication(objectId: string, fields: ApplicationFields, ctx?: CallContext): Promise<void>;
  addPassword(
    objectId: string,
    credential: { displayName: string; endDateTime: string },
    ctx?: CallContext & { justCreated?: boolean },
  ): Promise<NewSecret>;
  /**
   * Resolves also when the keyId no longer exists (already removed is removed): a 400 or 404 is
   * checked by re-reading the application's passwordCredentials; any other failure stays a failure.
   */
  removePassword(objectId: string, keyId: string, ctx?: CallContext): Promise<void>;
  /** Every application carrying `tag`, page by page (`$top` at most 999, `$select` only `select`). */
  listApplicationsByTag(tag: string, select: readonly string[], ctx?: CallContext): AsyncIterable<LiveApplication[]>;
  /** Delegated permission (scope) ids of Microsoft Graph by value, read once from its service principal and cached. */
  getGraphDelegatedScopes(ctx?: CallContext): Promise<Map<string, string>>;
  /** Live check: does this user hold the Global Administrator role (directly or through a group)? */
  isGlobalAdministrator(userObjectId: string, ctx?: CallContext): Promise<boolean>;
}

/** The Graph adapter implements both; domain code asks for what it uses. */
export type FullDirectory = Directory & DirectoryStanding;

/** An application's service principal (enterprise application) in the directory's tenant. */
export interface ServicePrincipalInfo {
  id: string; // object id
  appId: string;
  displayName: string;
  tags: string[];
}

/** An owner of an application, as Graph names it. */
export interface DirectoryOwner {
  id: string;
  kind: "user" | "servicePrincipal" | "other";
  displayName: string | null;
  userPrincipalName: string | null; // users only
  appId: string | null; // service principals only
}

/**
 * The password restrictions of one app management policy (tenant default or the app's own). Each binds
 * only applications created after its `appliesAfter` (Graph's restrictForAppsCreatedAfterDateTime; null: all).
 */
export interface PasswordRestrictions {
  /** A passwordAddition restriction: no new passwords at all. */
  passwordAddition: { appliesAfter: string | null } | null;
  /** A passwordLifetime restriction; `maxLifetime` as Graph gives it (ISO 8601 duration, e.g. "P180D", "PT2160H"). */
  passwordLifetime: { maxLifetime: string; appliesAfter: string | null } | null;
}

/** App management policies that apply to an application; `checked: false` when syncbot may not read them. */
export type AppManagementPolicyRead =
  | { checked: false; reason: "forbidden" }
  | {
      checked: true;
      /** The tenant default, null when it is disabled. */
      tenantDefault: PasswordRestrictions | null;
      /** The application's own policy, which takes the place of the default; null when none is assigned. */
      application: PasswordRestrictions | null;
    };

/** An approver's Global Administrator check; `unverified`: membership unreadable; `query_refused`: Graph's 400. */
export type AdminRoleCheck = "eligible" | "not_eligible" | "unverified" | "query_refused";

/** An application permission (app role) granted to syncbot's own service principal. */
export interface OwnAppRoleAssignment {
  appRoleId: string;
  resourceDisplayName: string | null;
  /** The permission's value (e.g. "Application.ReadWrite.OwnedBy") when the resource's roles were readable. */
  value: string | null;
}

/** Extra Directory operations for issue 10 (service principal, ownership, policies, doctor). */
export interface DirectoryStanding {
  /** GET /servicePrincipals(appId='…'); null when the application has none in this tenant. */
  getServicePrincipal(appId: string, ctx?: CallContext): Promise<ServicePrincipalInfo | null>;
  /** POST /servicePrincipals {appId, tags}; the caller owns what it creates. */
  createServicePrincipal(appId: string, tags: readonly string[], ctx?: CallContext): Promise<ServicePrincipalInfo>;
  /** GET /applications/{id}/owners (every page). */
  listOwners(appObjectId: string, ctx?: CallContext): Promise<DirectoryOwner[]>;
  /** Tenant default and the app's own policy (Policy.Read.All); a 403 is `checked: false`, not an error. */
  getAppManagementPolicies(appObjectId: string | null, ctx?: CallContext): Promise<AppManagementPolicyRead>;
  /**
   * syncbot's own identity from its Graph access token: `oid` (its service principal's object id) and
   * `appid`; null when there is no token (GRAPH_CREDENTIAL=none).
   */
  getOwnIdentity(ctx?: CallContext): Promise<{ objectId: string | null; appId: string | null } | null>;
  /**
   * Graph answers at all, and the time its `Date` header gives (for clock skew); `status` is the HTTP
   * status of the probe (a 403 still means reachable).
   */
  probeGraph(
    ctx?: CallContext,
  ): Promise<{ reachable: true; status: number; serverTime: Date | null } | { reachable: false; reason: string }>;
  /** The `roles` claim of syncbot's own Graph access token; null when there is no token (no credential). */
  getOwnTokenRoles(ctx?: CallContext): Promise<string[] | null>;
  /**
   * App role assignments of syncbot's own service principal (its object id from the token's `oid`, or
   * given); `null` when that id is unknown, `readable: false` on a 403.
   */
  listOwnAppRoleAssignments(
    servicePrincipalId?: string,
    ctx?: CallContext,
  ): Promise<null | { readable: false } | { readable: true; assignments: OwnAppRoleAssignment[] }>;
  /** Global Administrator directly (role assignments) or through a group where membership is readable. */
  checkGlobalAdministrator(userObjectId: string, ctx?: CallContext): Promise<AdminRoleCheck>;
}

/** Proves a client secret works: a client-credentials token request against the tenant's token endpoint. */
export interface TokenProver {
  proveClientSecret(
    clientId: string,
    secret: string,
    ctx?: CallContext,
  ): Promise<{ ok: true } | { ok: false; error: string; description: string }>;
}

// ---------------------------------------------------------------------------------------------
// UMP-365 settings API (CONTRACT section 5).

export interface UmpSettings {
  umpInstanceId: string;
  revision: number;
  syncApp: {
    clientId: string | null;
    redirectUri: string | null;
    clientSecret: {
      isSet: boolean;
      hint: string | null;
      fingerprint: string | null;
      version: number;
      expiresAt: string | null;
    };
  };
  customerAuthenticationPortalUrl: { value: string | null; validationStatus: string };
}

export interface UmpSyncAppPatch {
  clientId?: string;
  clientSecret?: string;
  clientSecretExpiresAt?: string;
  redirectUri?: string;
}

export interface UmpOperation {
  id: string;
  status: "InProgress" | "CompletedSuccess" | "CompletedFailed";
  executionMessages: string[];
}

export interface UmpSettingsApi {
  /** Throws SyncbotError not_found for an unknown instance. */
  getSettings(instance: string, ctx?: CallContext): Promise<{ settings: UmpSettings; etag: string }>;
  /** Throws SyncbotError precondition_failed on 412. */
  patchSyncApp(
    instance: string,
    etag: string,
    patch: UmpSyncAppPatch,
    idempotencyKey: string,
    ctx?: CallContext,
  ): Promise<{ settings: UmpSettings; etag: string }>;
  /** Throws SyncbotError precondition_failed on 412, upstream_rejected on 422. */
  putPortalUrl(
    instance: string,
    etag: string,
    value: string,
    idempotencyKey: string,
    ctx?: CallContext,
  ): Promise<{ operationId: string }>;
  getOperation(operationId: string, ctx?: CallContext): Promise<UmpOperation>;
}

// ---------------------------------------------------------------------------------------------

export interface Clock {
  now(): Date;
}

export type LogLevel = "debug" | "info" | "warn" | "error";
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}
