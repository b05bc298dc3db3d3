// The Directory's service principal and ownership reads: an application's service principal in this
// tenant (found or created, tagged like the app), and who owns an application.

import { SyncbotError } from "../domain/errors";
import type { DirectoryOwner, DirectoryStanding, ServicePrincipalInfo } from "../domain/ports";
import { appPath } from "./createApplicationOperations";
import { type GraphHttp, odataString } from "./createGraphHttp";

export type ServicePrincipalOperations = Pick<
  DirectoryStanding,
  "getServicePrincipal" | "createServicePrincipal" | "listOwners"
>;

interface GraphSpJson {
  id?: string;
  appId?: string;
  displayName?: string | null;
  tags?: string[] | null;
}

const SP_SELECT = "id,appId,displayName,tags";

function toServicePrincipal(j: GraphSpJson): ServicePrincipalInfo {
  return { id: j.id ?? "", appId: j.appId ?? "", displayName: j.displayName ?? "", tags: j.tags ?? [] };
}

function toOwner(j: Record<string, unknown>): DirectoryOwner {
  const type = String(j["@odata.type"] ?? "");
  const str = (k: string) => (typeof j[k] === "string" ? (j[k] as string) : null);
  return {
    id: str("id") ?? "",
    kind: type.endsWith(".user") ? "user" : type.endsWith(".servicePrincipal") ? "servicePrincipal" : "other",
    displayName: str("displayName"),
    userPrincipalName: str("userPrincipalName"),
    appId: str("appId"),
  };
}

export function createServicePrincipalOperations(http: GraphHttp): ServicePrincipalOperations {
  return {
    async getServicePrincipal(appId, ctx = {}) {
      try {
        const { body } = await http.call(
          "GET",
          `/servicePrincipals(appId=${odataString(appId)})?$select=${SP_SELECT}`,
          ctx,
        );
        return toServicePrincipal((body ?? {}) as GraphSpJson);
      } catch (e) {
        if (e instanceof SyncbotError && e.code === "not_found") return null;
        throw e;
      }
    },

    async createServicePrincipal(appId, tags, ctx = {}) {
      const { body } = await http.call("POST", "/servicePrincipals", ctx, { appId, tags: [...tags] });
      const sp = toServicePrincipal((body ?? {}) as GraphSpJson);
      if (!sp.id) {
        throw new SyncbotError("upstream_failed", "Graph created a service principal but answered without its id", {
          hint: "run check to read the service principal again",
        });
      }
      return sp;
    },

    async listOwners(appObjectId, ctx = {}) {
      const owners: DirectoryOwner[] = [];
      const path = `${appPath(appObjectId)}/owners?$select=id,displayName,userPrincipalName,appId`;
      for await (const page of http.pages<Record<string, unknown>>(path, ctx)) owners.push(...page.map(toOwner));
      return owners;
    },
  };
}
