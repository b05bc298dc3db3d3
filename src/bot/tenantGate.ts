// Tenant gate: activities from any other tenant get no service and nothing is written (CONTRACT §4).

import { ActivityTypes, type TurnContext } from "botbuilder";
import type { Logger } from "../domain/ports";

/** Registered as teams-ai's beforeTurn: false stops the turn; an invoke still gets a proper 403 answer. */
export function tenantGate(spTenantId: string, log: Logger) {
  return async (context: TurnContext): Promise<boolean> => {
    const a = context.activity;
    const tenant = (a.conversation?.tenantId ?? a.channelData?.tenant?.id ?? "").toLowerCase();
    if (tenant === spTenantId) return true;
    log.warn("activity from another tenant ignored", { tenant: tenant || "(none)", type: a.type });
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
