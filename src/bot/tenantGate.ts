// Tenant gate: activities from any other tenant get no service and nothing is written (CONTRACT §4).
// Every tenant field the activity carries must name SP_TENANT_ID, and at least one must be there: a
// mismatch between conversation.tenantId and channelData.tenant.id is as foreign as a wrong tenant.

import { type Activity, ActivityTypes, type TurnContext } from "botbuilder";
import type { Logger } from "../domain/ports";

/** The tenant ids an activity claims, as found (undefined where a field is absent). */
function claimedTenants(a: Partial<Activity>): unknown[] {
  const channelTenant = (a.channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id;
  return [a.conversation?.tenantId, channelTenant].filter((t) => t !== undefined && t !== null);
}

export function servesTenant(a: Partial<Activity>, spTenantId: string): boolean {
  const claimed = claimedTenants(a);
  return (
    claimed.length > 0 && claimed.every((t) => typeof t === "string" && t.toLowerCase() === spTenantId.toLowerCase())
  );
}

/** Registered as teams-ai's beforeTurn: false stops the turn; an invoke still gets a proper 403 answer. */
export function tenantGate(spTenantId: string, log: Logger) {
  return async (context: TurnContext): Promise<boolean> => {
    const a = context.activity;
    if (servesTenant(a, spTenantId)) return true;
    log.warn("activity from another tenant ignored", {
      tenants: claimedTenants(a).map((t) => String(t).slice(0, 40)),
      type: String(a.type).slice(0, 40),
    });
    if (a.type === ActivityTypes.Invoke)
      await context.sendActivity({
        type: "invokeResponse",
        value: {
          status: 200,
          body: {
            statusCode: 403,
            type: "application/vnd.microsoft.error",
            value: { code: "Forbidden", message: "syncbot serves only its own tenant." },
          },
        },
      });
    return false;
  };
}
