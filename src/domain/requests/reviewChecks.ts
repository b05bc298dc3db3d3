// What Review plan checks before anyone may approve, so nothing is approved that Entra would refuse:
// that syncbot owns the application it would write (Application.ReadWrite.OwnedBy reads every app but
// writes only owned ones) and that the tenant's app management policy allows the secret it would add.

import { SyncbotError } from "../errors";
import type {
  CallContext,
  DirectoryOwner,
  FullDirectory,
  LiveApplication,
  Logger,
  PasswordRestrictions,
} from "../ports";
import { REQUIRED_SCOPES } from "../spec";
import { judgeSecret, monthsWithin } from "./secretPolicy";

export type ReviewCheck = { ok: true; note?: string } | { ok: false; error: string };

/** Graph's 403 for a call syncbot's permissions do not cover (an app it does not own, under OwnedBy). */
export function isGraphDenied(e: unknown): boolean {
  return e instanceof SyncbotError && e.status === 403 && e.upstreamCode === "Authorization_RequestDenied";
}

// The registration's unique name is syncbot-<customer>, so "another name" is another customer short name.
const WHAT_TO_DO =
  "Add syncbot's identity (its service principal) as an owner of that app registration, or choose another name: use another customer short name (the registration's unique name is syncbot-<customer>).";

/** The app exists but Graph refused to let syncbot read it: someone else owns it. */
export function unreadableApplication(uniqueName: string): Extract<ReviewCheck, { ok: false }> {
  return {
    ok: false,
    error: `An app registration named "${uniqueName}" exists in Entra, but Graph refused syncbot's read (403), so its owners cannot be named; syncbot's identity does not own it. ${WHAT_TO_DO}`,
  };
}

function ownerName(o: DirectoryOwner): string {
  // Graph gives only the type and id of an owner syncbot may not read (a user, without User.Read.All).
  const name =
    o.displayName ?? `${o.kind === "user" ? "user" : o.kind === "servicePrincipal" ? "application" : "object"} ${o.id}`;
  if (o.kind === "user" && o.userPrincipalName) return `${name} (${o.userPrincipalName})`;
  if (o.kind === "servicePrincipal") return `${name} (application ${o.appId ?? o.id})`;
  return name;
}

/** Whether syncbot's own identity is among the owners of an existing application. */
export async function checkOwnership(
  directory: FullDirectory,
  app: LiveApplication,
  ctx: CallContext,
): Promise<ReviewCheck> {
  const [identity, owners] = await Promise.all([
    directory.getOwnIdentity(ctx),
    directory.listOwners(app.id, ctx).catch((e: unknown) => {
      if (isGraphDenied(e)) return null;
      throw e;
    }),
  ]);
  const named = owners && owners.length > 0 ? owners.map(ownerName).join(", ") : "none";
  if (!identity)
    return {
      ok: true,
      note: `Ownership not verified: syncbot has no Graph token to tell its own identity (GRAPH_CREDENTIAL=none). Owners: ${owners ? named : "unreadable"}.`,
    };
  const mine = (o: DirectoryOwner) =>
    (identity.objectId !== null && o.id.toLowerCase() === identity.objectId.toLowerCase()) ||
    (identity.appId !== null && o.appId?.toLowerCase() === identity.appId.toLowerCase());
  if (owners?.some(mine))
    return {
      ok: true,
      note: `Ownership verified: syncbot's identity is an owner of this app registration (owners: ${named}).`,
    };
  return {
    ok: false,
    error: `The app registration "${app.uniqueName ?? app.displayName}" (${app.appId}) is not owned by syncbot's identity (owners: ${owners ? named : "unreadable"}), so Entra would refuse syncbot's changes to it. ${WHAT_TO_DO}`,
  };
}

const DAY_MS = 86_400_000;

/** The largest whole number of months (1-24) whose secret fits in `maxDays` from `now`. */
export function maxMonthsWithin(maxDays: number, now: Date): number {
  return monthsWithin((start) => new Date(start.getTime() + maxDays * DAY_MS), now);
}

/**
 * The tenant's app management policy against the secret the plan adds: the application's own policy
 * takes the place of the tenant default, and a restriction binds only apps created after its date
 * (secretPolicy.ts). Without Policy.Read.All the plan says it was not checked.
 */
export async function checkSecretPolicy(
  directory: FullDirectory,
  app: Pick<LiveApplication, "id" | "createdDateTime"> | null,
  lifetimeMonths: number,
  now: Date,
  ctx: CallContext,
): Promise<ReviewCheck> {
  const read = await directory.getAppManagementPolicies(app?.id ?? null, ctx);
  if (!read.checked)
    return {
      ok: true,
      note: "The tenant's app management policy was not checked (syncbot lacks Policy.Read.All): Entra may still refuse a secret longer than the tenant allows.",
    };
  const own = read.application !== null;
  const policy: PasswordRestrictions | null = read.application ?? read.tenantDefault;
  if (!policy) return { ok: true };
  const which = own ? "this application's own app management policy" : "the tenant's default app management policy";
  // A new application is created by the run, after now; an existing one when Entra says (unknown: bound).
  const createdAt = app ? (app.createdDateTime ? new Date(app.createdDateTime) : null) : now;
  const verdict = judgeSecret(policy, createdAt, now, lifetimeMonths);
  switch (verdict.kind) {
    case "allowed":
      return verdict.note ? { ok: true, note: `${which} ${verdict.note}` } : { ok: true };
    case "uncomparable":
      return {
        ok: false,
        error: `${which} limits client secrets to ${verdict.raw}, which syncbot cannot read as an ISO 8601 duration, so it cannot tell whether Entra would accept a ${lifetimeMonths}-month secret. Ask an administrator to check the policy.`,
      };
    case "blocked":
      return {
        ok: false,
        error: `${which} blocks new client secrets, so Entra would refuse the secret this plan adds. Ask an administrator to exempt this application (or the tenant default) from the password restriction.`,
      };
    case "too_long": {
      const m = verdict.maxMonths;
      return {
        ok: false,
        error: `${which} allows client secrets of at most ${verdict.limit} (${verdict.raw}); ${lifetimeMonths} months is longer. ${m > 0 ? `Choose at most ${m} month${m === 1 ? "" : "s"}.` : "No whole number of months fits; ask an administrator to relax the policy."}`,
      };
    }
  }
}

/** Review plan's check that Microsoft Graph publishes the nine delegated permission ids syncbot writes. */
export function createScopeCheck(directory: FullDirectory, logger?: Logger) {
  // Set once Graph refused the lookup: asking again on every review would only repeat the 403.
  let scopesUnreadable = false;
  return async function checkScopes(ctx: CallContext) {
    if (scopesUnreadable) return;
    let scopes: Map<string, string>;
    try {
      scopes = await directory.getGraphDelegatedScopes(ctx);
    } catch (e) {
      if (!isGraphDenied(e)) throw e;
      scopesUnreadable = true;
      // Reading Microsoft Graph's service principal needs Application.Read.All, which least privilege
      // leaves out; the nine ids are the same in every tenant (CONTRACT section 7), so they are used as is.
      logger?.debug("delegated permission ids not checked against the tenant (403); using the well-known ids", {
        correlationId: ctx.correlationId,
      });
      return;
    }
    const missing = REQUIRED_SCOPES.filter((s) => scopes.get(s.value) !== s.id);
    if (missing.length > 0)
      throw new SyncbotError(
        "upstream_rejected",
        `Microsoft Graph in this tenant does not publish the expected delegated permissions: ${missing.map((m) => m.value).join(", ")}.`,
      );
  };
}
