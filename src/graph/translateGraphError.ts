// Graph's error answers as the domain's coded errors: the status decides the code, Graph's own
// `error.code` and message travel along, and an operator hint says what to do. Bodies of failed
// calls carry no secret (only addPassword's success answer does), so the message may quote Graph.

import { type ErrorCode, SyncbotError } from "../domain/errors";
import { THROTTLE_STATUSES } from "./middleware/ThrottleRetryMiddleware";

interface GraphErrorBody {
  error?: { code?: string; message?: string };
}

function hintFor(status: number, code: string): string {
  if (code === "Authorization_RequestDenied" || status === 403) {
    return "grant the bot's identity the Microsoft Graph application permissions Application.ReadWrite.OwnedBy and RoleManagement.Read.Directory (with admin consent)";
  }
  if (code === "CredentialInvalidLifetimeAsPerAppPolicy") {
    return "a tenant app-management policy caps secret lifetimes: lower secretLifetimeMonths below the policy's maximum";
  }
  if (status === 401) return "check GRAPH_CREDENTIAL: the bot's token for Graph was refused";
  if (status === 404) return "the object no longer exists in Entra ID; re-run check to refresh the plan";
  if (status === 412) return "the object changed meanwhile; re-read it and try again";
  return "check the request parameters against the message above";
}

export function translateGraphError(status: number, body: unknown): SyncbotError {
  const err = (body as GraphErrorBody | undefined)?.error;
  const upstreamCode = err?.code ?? `HTTP${status}`;
  const message = `Graph ${upstreamCode}: ${err?.message ?? `HTTP ${status}`}`;
  let code: ErrorCode;
  if (status === 404) code = "not_found";
  else if (status === 412) code = "precondition_failed";
  else if (THROTTLE_STATUSES.has(status)) code = "throttled";
  else if (status >= 400 && status < 500) code = "upstream_rejected";
  else code = "upstream_failed";
  const hint =
    code === "throttled"
      ? "Microsoft Graph kept throttling beyond the retry budget; try again in a few minutes"
      : code === "upstream_failed"
        ? "Microsoft Graph is failing; try again later"
        : hintFor(status, upstreamCode);
  return new SyncbotError(code, message, { status, upstreamCode, hint });
}

/** A call that never got an HTTP answer: no token, or Graph unreachable. */
export function unansweredGraphError(failure: unknown): SyncbotError {
  if (failure instanceof SyncbotError) return failure;
  const reason = failure instanceof Error ? `${failure.name}: ${failure.message}` : "unknown error";
  const isAuth = failure instanceof Error && /Credential|Authentication/.test(failure.name);
  return new SyncbotError(
    "upstream_failed",
    isAuth ? `could not get a token for Microsoft Graph (${reason})` : `Microsoft Graph unreachable (${reason})`,
    {
      hint: isAuth
        ? "check GRAPH_CREDENTIAL and the identity behind it"
        : "check GRAPH_BASE_URL and the network path to it",
    },
  );
}
