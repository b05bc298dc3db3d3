// The Directory's application operations: read by uniqueName or id, upsert by uniqueName
// (Prefer: create-if-missing), update, and list by tag page by page.

import { SyncbotError } from "../domain/errors";
import type { ApplicationFields, Directory } from "../domain/ports";
import { type GraphHttp, odataString } from "./createGraphHttp";
import { APP_SELECT, type GraphAppJson, toLiveApplication } from "./toLiveApplication";

export type ApplicationOperations = Pick<
  Directory,
  "getApplicationByUniqueName" | "getApplication" | "upsertApplication" | "updateApplication" | "listApplicationsByTag"
>;

export const appPath = (objectId: string) => `/applications/${encodeURIComponent(objectId)}`;
export const uniqueNamePath = (uniqueName: string) => `/applications(uniqueName=${odataString(uniqueName)})`;

/**
 * `web` is written whole (the object as read plus syncbot's changes), whether Graph merges or replaces
 * complex values; only redirectUriSettings is lined up with redirectUris, one entry per URI.
 */
export function withWholeWeb(fields: ApplicationFields): ApplicationFields {
  const web = fields.web;
  if (!web?.redirectUriSettings) return fields;
  const index = new Map(web.redirectUriSettings.map((r) => [r.uri, r.index]));
  return {
    ...fields,
    web: { ...web, redirectUriSettings: web.redirectUris.map((uri) => ({ uri, index: index.get(uri) ?? null })) },
  };
}

export function createApplicationOperations(http: GraphHttp): ApplicationOperations {
  return {
    async getApplicationByUniqueName(uniqueName, ctx = {}) {
      try {
        const { body } = await http.call("GET", `${uniqueNamePath(uniqueName)}?$select=${APP_SELECT}`, ctx);
        return toLiveApplication(body as GraphAppJson);
      } catch (e) {
        if (e instanceof SyncbotError && e.code === "not_found") return null;
        throw e;
      }
    },

    async getApplication(objectId, ctx = {}) {
      const { body } = await http.call("GET", `${appPath(objectId)}?$select=${APP_SELECT}`, ctx);
      return toLiveApplication(body as GraphAppJson);
    },

    async upsertApplication(uniqueName, fields: ApplicationFields, ctx = {}) {
      const { status, body } = await http.call("PATCH", uniqueNamePath(uniqueName), ctx, withWholeWeb(fields), {
        Prefer: "create-if-missing",
      });
      const created = status === 201;
      return {
        created,
        application: body && typeof body === "object" ? toLiveApplication(body as GraphAppJson) : null,
      };
    },

    async updateApplication(objectId, fields, ctx = {}) {
      await http.call("PATCH", appPath(objectId), ctx, withWholeWeb(fields));
    },

    async *listApplicationsByTag(tag, select, ctx = {}) {
      const filter = encodeURIComponent(`tags/any(t:t eq '${tag.replace(/'/g, "''")}')`);
      const sel = select.length > 0 ? `&$select=${encodeURIComponent(select.join(","))}` : "";
      for await (const page of http.pages<GraphAppJson>(`/applications?$filter=${filter}${sel}&$top=999`, ctx)) {
        yield page.map(toLiveApplication);
      }
    },
  };
}
