// The DocumentStore on Azure Table Storage (Azurite in tests): for hosts without a durable disk, or
// several instances behind one bot. Compare-and-set is the service's own ETag check (If-Match), so
// races between instances are decided by the service. Collection = PartitionKey, key = RowKey.

import type { TokenCredential } from "@azure/identity";
import { type RestError, TableClient, type TableEntity, type TableEntityResult, odata } from "@azure/data-tables";
import { SyncbotError } from "../domain/errors";
import type { DocumentStore, ListOptions, PageOptions, StoredDoc } from "../domain/documentStore";
import { decodeKey, encodeKey, PREFIX_END } from "./tableKeys";

export type TableStoreOptions = (
  | { connectionString: string }
  /** The table service endpoint (https://<account>.table.core.windows.net) and an Entra ID credential
   * holding a data role on it (Storage Table Data Contributor): no account key anywhere. */
  | { endpoint: string; credential: TokenCredential }
) & {
  /** Letters and digits, 3 to 63 characters, starting with a letter. Default "syncbot". */
  tableName?: string;
};

// Azure limits a string property to 64 KiB (32 Ki UTF-16 units) and an entity to 1 MiB in total,
// so a value's JSON is cut into parts v0, v1, … well below both limits.
const PART_CHARS = 30_000;
const MAX_PARTS = 15;

type Entity = TableEntity<Record<string, unknown>>;

export function createTableStore(options: TableStoreOptions): DocumentStore {
  const tableName = options.tableName ?? "syncbot";
  const client =
    "connectionString" in options
      ? TableClient.fromConnectionString(options.connectionString, tableName, {
          allowInsecureConnection: isHttpEndpoint(options.connectionString),
        })
      : new TableClient(options.endpoint, tableName, options.credential);

  // Created on first use rather than at construction so creating the store never does I/O; a failed
  // attempt is forgotten so the next call tries again.
  let ready: Promise<void> | null = null;
  const ensureTable = (): Promise<void> => {
    ready ??= client.createTable().then(
      () => undefined,
      (e: unknown) => {
        if (statusOf(e) === 409) return; // already exists (or is being created by another instance)
        ready = null;
        throw upstream("create table", e);
      },
    );
    return ready;
  };

  const entityFor = (collection: string, key: string, value: unknown): Entity => ({
    partitionKey: encodeKey(collection),
    rowKey: encodeKey(key),
    ...splitValue(value),
  });

  const toDoc = <T>(e: TableEntityResult<Record<string, unknown>>): StoredDoc<T> => ({
    key: decodeKey(e.rowKey ?? ""),
    value: joinValue(e) as T,
    version: e.etag,
  });

  return {
    async get<T>(collection: string, key: string) {
      await ensureTable();
      try {
        const e = await client.getEntity<Record<string, unknown>>(encodeKey(collection), encodeKey(key));
        return toDoc<T>(e);
      } catch (e) {
        if (statusOf(e) === 404) return null;
        throw upstream("get", e);
      }
    },

    async insert<T>(collection: string, key: string, value: T) {
      const entity = entityFor(collection, key, value);
      await ensureTable();
      try {
        const res = await client.createEntity(entity);
        return { key, value: joinValue(entity) as T, version: res.etag! };
      } catch (e) {
        if (statusOf(e) === 409) return null;
        throw upstream("insert", e);
      }
    },

    async replace<T>(collection: string, key: string, value: T, version: string) {
      // "*" would match anything; anything not shaped like an ETag could never have been issued.
      if (!isEtag(version)) return null;
      const entity = entityFor(collection, key, value);
      await ensureTable();
      try {
        const res = await client.updateEntity(entity, "Replace", { etag: version });
        return { key, value: joinValue(entity) as T, version: res.etag! };
      } catch (e) {
        const status = statusOf(e);
        if (status === 412 || status === 404) return null;
        throw upstream("replace", e);
      }
    },

    async upsert<T>(collection: string, key: string, value: T) {
      const entity = entityFor(collection, key, value);
      await ensureTable();
      try {
        const res = await client.upsertEntity(entity, "Replace");
        return { key, value: joinValue(entity) as T, version: res.etag! };
      } catch (e) {
        throw upstream("upsert", e);
      }
    },

    async delete(collection: string, key: string, version?: string) {
      if (version !== undefined && !isEtag(version)) return false;
      await ensureTable();
      try {
        await client.deleteEntity(encodeKey(collection), encodeKey(key), { etag: version ?? "*" });
        return true;
      } catch (e) {
        const status = statusOf(e);
        if (status === 404 || status === 412) return false;
        throw upstream("delete", e);
      }
    },

    async list<T>(collection: string, options: ListOptions = {}) {
      const limit = options.limit === undefined ? Number.POSITIVE_INFINITY : Math.max(0, Math.trunc(options.limit));
      if (limit === 0) return [];
      let filter = odata`PartitionKey eq ${encodeKey(collection)}`;
      if (options.prefix !== undefined && options.prefix !== "") {
        const lower = encodeKey(options.prefix);
        filter += odata` and RowKey ge ${lower} and RowKey lt ${lower + PREFIX_END}`;
      }
      if (options.after !== undefined) filter += odata` and RowKey gt ${encodeKey(options.after)}`;

      await ensureTable();
      const docs: StoredDoc<T>[] = [];
      try {
        const pages = client
          .listEntities<Record<string, unknown>>({ queryOptions: { filter } })
          .byPage({ maxPageSize: Math.min(limit, 1000) });
        // The iterator follows continuation tokens; stop asking once the limit is reached.
        for await (const page of pages) {
          for (const e of page) {
            docs.push(toDoc<T>(e));
            if (docs.length >= limit) return docs;
          }
        }
      } catch (e) {
        throw upstream("list", e);
      }
      return docs;
    },

    // One service page per call, resumed from the service's own continuation token: the table is
    // never read past the page asked for, and no page is held once the caller moves on.
    async listPage<T>(collection: string, options: PageOptions) {
      const limit = Math.min(1000, Math.max(1, Math.trunc(options.limit)));
      let filter = odata`PartitionKey eq ${encodeKey(collection)}`;
      if (options.prefix !== undefined && options.prefix !== "") {
        const lower = encodeKey(options.prefix);
        filter += odata` and RowKey ge ${lower} and RowKey lt ${lower + PREFIX_END}`;
      }
      if (options.cursor !== undefined) checkCursor(options.cursor);
      await ensureTable();
      try {
        const pages = client
          .listEntities<Record<string, unknown>>({ queryOptions: { filter } })
          .byPage({ maxPageSize: limit, continuationToken: options.cursor });
        const { value: page } = await pages.next();
        const docs = ((page ?? []) as TableEntityResult<Record<string, unknown>>[]).map((e) => toDoc<T>(e));
        const cursor = (page as { continuationToken?: string } | undefined)?.continuationToken;
        return cursor ? { docs, cursor } : { docs };
      } catch (e) {
        throw upstream("list", e);
      }
    },

    async ping() {
      await ensureTable();
      try {
        // One page of at most one entity from a partition no document uses: cheap, but a real round trip.
        const pages = client
          .listEntities({ queryOptions: { filter: odata`PartitionKey eq ${"~ping"}`, select: ["RowKey"] } })
          .byPage({ maxPageSize: 1 });
        await pages.next();
      } catch (e) {
        throw upstream("ping", e);
      }
    },

    async close() {
      // The SDK keeps no connection that needs closing.
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Values.

function splitValue(value: unknown): Record<string, string> {
  const json = toAsciiJson(value);
  const parts: Record<string, string> = {};
  let n = 0;
  for (let start = 0; start < json.length || n === 0; start += PART_CHARS, n++) {
    parts[`v${n}`] = json.slice(start, start + PART_CHARS);
  }
  if (n > MAX_PARTS) {
    throw new SyncbotError(
      "validation_failed",
      `store: value too large for Azure Table Storage (${json.length} characters)`,
    );
  }
  return parts;
}

/**
 * JSON with every non-ASCII character written as a \u escape (valid JSON: such characters only occur
 * inside strings). Parts can then be cut anywhere, their size in bytes is their length, and no
 * multi-byte character crosses a transport chunk: Azurite 3.35 decodes request bodies chunk by chunk
 * and turns a character split between two chunks into U+FFFD.
 */
function toAsciiJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new SyncbotError("validation_failed", "store: value is not JSON-serialisable");
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function joinValue(entity: Record<string, unknown>): unknown {
  let json = "";
  for (let n = 0; typeof entity[`v${n}`] === "string"; n++) json += entity[`v${n}`] as string;
  if (json === "") throw new SyncbotError("internal", "store: stored entity has no value");
  return JSON.parse(json);
}

// ---------------------------------------------------------------------------------------------
// Plumbing.

function isEtag(version: string): boolean {
  return /^W\/".*"$/.test(version);
}

/**
 * The SDK's continuation token is base64 JSON naming where the service stopped (opaque values on Azure,
 * plain keys on Azurite). Anything else was not issued here; the collection filter still applies to a
 * token from another collection, so it can never reach another collection's documents.
 */
function checkCursor(cursor: string): void {
  let next: unknown;
  try {
    next = JSON.parse(Buffer.from(cursor, "base64").toString("utf8"));
  } catch {
    next = null;
  }
  if (typeof (next as { nextPartitionKey?: unknown } | null)?.nextPartitionKey !== "string")
    throw new SyncbotError("validation_failed", "store: this page cursor was not issued by this store");
}

function isHttpEndpoint(connectionString: string): boolean {
  const settings = new Map(
    connectionString
      .split(";")
      .filter((p) => p.includes("="))
      .map((p) => {
        const at = p.indexOf("=");
        return [p.slice(0, at).trim().toLowerCase(), p.slice(at + 1).trim()] as const;
      }),
  );
  const endpoint = settings.get("tableendpoint");
  if (endpoint) return endpoint.toLowerCase().startsWith("http:");
  return (
    settings.get("defaultendpointsprotocol")?.toLowerCase() === "http" ||
    settings.get("usedevelopmentstorage")?.toLowerCase() === "true"
  );
}

function statusOf(e: unknown): number | undefined {
  return (e as Partial<RestError> | null)?.statusCode;
}

// Only the status and the service's error code travel on: the response body (and the SDK error
// carrying it, which may echo a stored value) stays here.
function upstream(operation: string, e: unknown): SyncbotError {
  if (e instanceof SyncbotError) return e;
  const err = e as Partial<RestError> | null;
  return new SyncbotError("upstream_failed", `azure table storage: ${operation} failed`, {
    status: err?.statusCode,
    upstreamCode: err?.code,
  });
}
