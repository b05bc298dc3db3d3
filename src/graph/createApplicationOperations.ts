// The Directory's application operations: read by uniqueName or id, create (refused when the
// uniqueName is taken), upsert by uniqueName (Prefer: create-if-missing), update, and list by tag.

import { SyncbotError } from "../domain/errors";
import type { ApplicationFields, Directory, RetryNotice } from "../domain/ports";
import { type GraphHttp, odataString } from "./createGraphHttp";
import { APP_SELECT, type GraphAppJson, toLiveApplication } from "./toLiveApplication";

export type ApplicationOperations = Pick<
  Directory,
  | "getApplicationByUniqueName"
  | "getApplication"
  | "createApplication"
  | "upsertApplication"
  | "updateApplication"
  | "listApplicationsByTag"
>;

export const appPath = (objectId: string) => `/applications/${encodeURIComponent(objectId)}`;
export const uniqueNamePath = (uniqueName: string) => `/applications(uniqueName=${odataString(uniqueName)})`;

/**
 * Graph's answer when another application (or one in deleted items) holds the uniqueName: 400
 * Request_BadRequest "Another object with the same value for property uniqueName already exists."
 * (409 Request_MultipleObjectsWithSameKeyValue is how Graph codes other key collisions; accepted too).
 */
export function isUniqueNameTaken(e: unknown): boolean {
  if (!(e instanceof SyncbotError)) return false;
  if (e.status === 409 && e.upstreamCode === "Request_MultipleObjectsWithSameKeyValue") return true;
  return e.status === 400 && /uniqueName/i.test(e.message) && /already exists/i.test(e.message);
}

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

    async createApplication(uniqueName, fields, ctx = {}) {
      // A 503/504 that was retried may have created the application before its answer was lost.
      let ambiguous = false;
      const watched = {
        ...ctx,
        onRetry: (n: RetryNotice) => {
          if (n.status === 503 || n.status === 504) ambiguous = true;
          ctx.onRetry?.(n);
        },
      };
      try {
        const { body } = await http.call("POST", "/applications", watched, { ...withWholeWeb(fields), uniqueName });
        return { created: true, application: toLiveApplication(body as GraphAppJson) };
      } catch (e) {
        if (isUniqueNameTaken(e)) return { created: false, taken: true, ambiguous };
        throw e;
      }
    },

    async updateApplication(objectId, fields, ctx = {}) {
      await http.call("PATCH", appPath(objectId), ctx, withWholeWeb(fields));
    },

    async *listApplicationsByTag(tag, select, ctx = {}) {
      const filter = encodeURIComponent(`tags/any(t:t eq '${tag.replace(/'/g, "''")}')`);
      const sel = select.length > 0 ? `&$select=${encodeURIComponent(select.join(","))}` : "";
      for await (const page of http.pages<GraphAppJson>(`/applications?$filter=${filter}${sel}&$top=999`, ctx)) {
        const apps = page.map(toLiveApplication);
        // Let go of Graph's JSON before the caller works through the page (the sweep over a fleet), so
        // it dies young instead of being promoted to the old generation with the page.
        page.length = 0;
        yield apps;
      }
    },
  };
}
