// `doctor` (chat command and `npm run doctor`): syncbot's own standing, one line per concern, each ok /
// warn / fail with what to do. Reads only, except one probe document written to and removed from the store.

import type { ApprovalPolicy } from "../approval";
import { describeError, SyncbotError } from "../errors";
import type { CallContext, Clock, FullDirectory, UmpSettingsApi } from "../ports";
import type { DocumentStore } from "../documentStore";
import type { Repository } from "../repository";
import { comparePermissions, permissionNeeds } from "./graphPermissions";

export type DoctorStatus = "ok" | "warn" | "fail";

export interface DoctorLine {
  check: string;
  status: DoctorStatus;
  detail: string;
  /** What to do about a warn or fail. */
  todo?: string;
}

/** The Bot Framework identity settings, as configured (never the password itself). */
export interface BotIdentitySettings {
  botAuth: "enabled" | "disabled";
  appId: string;
  appType: string;
  appTenantId: string;
  hasPassword: boolean;
  spTenantId: string;
}

export interface DoctorDeps {
  directory: FullDirectory;
  ump: UmpSettingsApi | null;
  umpTarget: "api" | "handoff";
  store: DocumentStore;
  repo: Repository;
  clock: Clock;
  approvalPolicy: ApprovalPolicy;
  bot: BotIdentitySettings;
  /** Verified approvals (APPROVAL_STEP_UP): off is allowed, and said here as a warning. */
  stepUp?: { required: boolean; authContext?: string; maxAgeMinutes: number };
}

const SKEW_WARN_MS = 30_000;
const SKEW_FAIL_MS = 5 * 60_000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// An instance name no customer has: a 404 for it proves UMP answered and accepted the token.
const UMP_PROBE_INSTANCE = "syncbot-doctor-probe";

const line = (check: string, status: DoctorStatus, detail: string, todo?: string): DoctorLine =>
  todo ? { check, status, detail, todo } : { check, status, detail };

export async function runDoctor(deps: DoctorDeps, ctx: CallContext = {}): Promise<DoctorLine[]> {
  const [graph, permissions, ump, store] = await Promise.all([
    graphLines(deps, ctx),
    permissionLines(deps, ctx),
    umpLine(deps, ctx),
    storeLine(deps),
  ]);
  return [...graph, ...permissions, ump, store, ...botIdentityLines(deps.bot), ...stepUpLines(deps.stepUp)];
}

export const doctorFailed = (lines: readonly DoctorLine[]) => lines.some((l) => l.status === "fail");

async function graphLines(deps: DoctorDeps, ctx: CallContext): Promise<DoctorLine[]> {
  const probe = await deps.directory.probeGraph(ctx);
  if (!probe.reachable)
    return [
      line("Graph reachable", "fail", probe.reason, "check GRAPH_BASE_URL, GRAPH_CREDENTIAL and the network path"),
    ];
  const reach =
    probe.status === 401
      ? line("Graph reachable", "fail", "Graph refused syncbot's token (401)", "check GRAPH_CREDENTIAL")
      : probe.status >= 400
        ? line(
            "Graph reachable",
            "warn",
            `Graph answered, but refused listing applications (${probe.status})`,
            "see the permissions line",
          )
        : line("Graph reachable", "ok", "Graph answered");
  if (!probe.serverTime) return [reach, line("Clock", "warn", "Graph sent no Date header; clock skew not measured")];
  const skew = deps.clock.now().getTime() - probe.serverTime.getTime();
  const s = Math.round(skew / 1000);
  const detail = `${Math.abs(s)} s ${s >= 0 ? "ahead of" : "behind"} Graph's clock`;
  const todo = "synchronise this machine's clock (NTP): expiry dates and approval windows depend on it";
  const clock =
    Math.abs(skew) >= SKEW_FAIL_MS
      ? line("Clock", "fail", detail, todo)
      : Math.abs(skew) >= SKEW_WARN_MS
        ? line("Clock", "warn", detail, todo)
        : line("Clock", "ok", detail);
  return [reach, clock];
}

/** The permissions syncbot's identity holds: its token's roles claim, else its app role assignments. */
async function heldPermissions(deps: DoctorDeps, ctx: CallContext): Promise<{ held: string[] } | { unknown: string }> {
  const roles = await deps.directory.getOwnTokenRoles(ctx);
  if (roles) return { held: roles };
  const assigned = await deps.directory.listOwnAppRoleAssignments(undefined, ctx);
  if (assigned === null)
    return { unknown: "syncbot has no Graph token (GRAPH_CREDENTIAL=none), so its identity is unknown" };
  if (!assigned.readable)
    return { unknown: "its service principal's app role assignments are not readable with its permissions" };
  return { held: assigned.assignments.flatMap((a) => (a.value ? [a.value] : [])) };
}

async function permissionLines(deps: DoctorDeps, ctx: CallContext): Promise<DoctorLine[]> {
  const check = "Graph permissions";
  let source: Awaited<ReturnType<typeof heldPermissions>>;
  try {
    source = await heldPermissions(deps, ctx);
  } catch (e) {
    return [line(check, "fail", `could not read them: ${describeError(e).message}`, "check GRAPH_CREDENTIAL")];
  }
  const needs = permissionNeeds(deps.approvalPolicy);
  const list = needs
    .filter((n) => !n.optional)
    .map((n) => n.name)
    .join(", ");
  if ("unknown" in source)
    return [
      line(
        check,
        "warn",
        `could not tell which application permissions syncbot holds: ${source.unknown}`,
        `make sure its identity holds ${list} (with admin consent)`,
      ),
    ];
  const cmp = comparePermissions(needs, source.held);
  const lines: DoctorLine[] = [];
  const held = source.held.length > 0 ? source.held.slice().sort().join(", ") : "none";
  if (cmp.missing.length > 0)
    lines.push(
      line(
        check,
        "fail",
        `missing ${cmp.missing.map((n) => `${n.name} (${n.why})`).join("; ")}; holds ${held}`,
        `grant ${cmp.missing.map((n) => n.name).join(", ")} as Microsoft Graph application permissions and grant admin consent`,
      ),
    );
  if (cmp.excess.length > 0)
    lines.push(
      line(
        check,
        "warn",
        `more than needed: ${cmp.excess.join(", ")}`,
        `remove ${cmp.excess.join(", ")} (least privilege: ${needs.map((n) => n.name).join(", ")})`,
      ),
    );
  if (lines.length === 0) lines.push(line(check, "ok", `holds ${held}: what the configuration needs`));
  for (const n of cmp.optionalMissing)
    lines.push(line("Optional permission", "ok", `${n.name} not held: syncbot cannot ${n.why}`));
  return lines;
}

async function umpLine(deps: DoctorDeps, ctx: CallContext): Promise<DoctorLine> {
  const check = "UMP";
  if (deps.umpTarget === "handoff") return line(check, "ok", "not called (UMP_TARGET=handoff)");
  if (!deps.ump) return line(check, "fail", "UMP_TARGET=api without a UMP client", "set UMP_BASE_URL");
  const known = (await deps.repo.listRegistrations().catch(() => []))[0]?.params.umpInstance;
  const instance = known ?? UMP_PROBE_INSTANCE;
  try {
    await deps.ump.getSettings(instance, ctx);
    return line(check, "ok", `reachable, token accepted (read instance ${instance})`);
  } catch (e) {
    if (e instanceof SyncbotError && e.code === "not_found" && !known)
      return line(check, "ok", "reachable, token accepted");
    if (e instanceof SyncbotError && (e.status === 401 || e.status === 403))
      return line(check, "fail", `UMP refused syncbot's token (${e.status})`, "check UMP_TOKEN (or UMP_SCOPE)");
    const d = describeError(e);
    return line(check, "fail", d.message, d.hint ?? "check UMP_BASE_URL and the network path");
  }
}

async function storeLine(deps: DoctorDeps): Promise<DoctorLine> {
  const key = `probe-${deps.clock.now().getTime()}`;
  try {
    await deps.store.upsert("doctor", key, { at: deps.clock.now().toISOString() });
    await deps.store.delete("doctor", key);
    return line("Store", "ok", "writable");
  } catch (e) {
    return line(
      "Store",
      "fail",
      `not writable: ${describeError(e).message}`,
      "check STORE and its path or connection string",
    );
  }
}

export function botIdentityLines(b: BotIdentitySettings): DoctorLine[] {
  const check = "Bot identity";
  if (b.botAuth === "disabled")
    return [
      line(
        check,
        "warn",
        "BOT_AUTH=disabled: activities are not authenticated",
        "local development and tests only; set BOT_AUTH=enabled with the bot's MicrosoftAppId",
      ),
    ];
  const problems: string[] = [];
  const notes: string[] = [];
  if (!GUID.test(b.appId)) problems.push("MicrosoftAppId is not an app id (GUID)");
  const type = b.appType || "MultiTenant";
  if (type === "UserAssignedMSI") {
    if (!b.appTenantId) problems.push("UserAssignedMSI needs MicrosoftAppTenantId");
    if (b.hasPassword) notes.push("MicrosoftAppPassword is ignored with UserAssignedMSI");
  } else if (type === "SingleTenant" || type === "MultiTenant") {
    if (!b.hasPassword) problems.push(`${type} needs MicrosoftAppPassword`);
    if (type === "SingleTenant" && !b.appTenantId) problems.push("SingleTenant needs MicrosoftAppTenantId");
    if (type === "MultiTenant" && b.appTenantId) notes.push("MicrosoftAppTenantId is not used with MultiTenant");
  } else problems.push(`MicrosoftAppType "${type}" is not MultiTenant, SingleTenant or UserAssignedMSI`);
  if (b.appTenantId && GUID.test(b.appTenantId) && b.appTenantId.toLowerCase() !== b.spTenantId.toLowerCase())
    notes.push("the bot's tenant (MicrosoftAppTenantId) differs from SP_TENANT_ID");
  if (problems.length > 0)
    return [line(check, "fail", problems.join("; "), "fix the Bot Framework settings to match the Azure Bot resource")];
  if (notes.length > 0)
    return [line(check, "warn", notes.join("; "), "check the settings against the Azure Bot resource")];
  return [line(check, "ok", `${type} app ${b.appId}`)];
}

/** Whether Approve rests on the approver's own fresh sign-in (invariant 13) or on Teams' word alone. */
export function stepUpLines(s: DoctorDeps["stepUp"]): DoctorLine[] {
  if (!s) return [];
  const check = "Verified approvals";
  if (!s.required)
    return [
      line(
        check,
        "warn",
        "APPROVAL_STEP_UP=off: Approve and Applied in UMP rest on Teams' word for who pressed them, without a fresh Entra sign-in",
        "set APPROVAL_STEP_UP=required with SSO_RESOURCE and SSO_CONNECTION_NAME (README: Verified approvals)",
      ),
    ];
  return [
    line(
      check,
      "ok",
      `required: sign-ins at most ${s.maxAgeMinutes} minutes old${s.authContext ? `, authentication context ${s.authContext}` : ", no authentication context demanded"}`,
    ),
  ];
}
