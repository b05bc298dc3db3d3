// A DocumentStore in a Map, with the same compare-and-set contract as SQLite and Azure Tables, for unit
// tests of the domain that need records but no database.

import type { DocumentStore, StoredDoc } from "../../src/domain/documentStore";

export function memoryStore(): DocumentStore {
  const data = new Map<string, StoredDoc<unknown>>();
  let version = 0;
  const id = (c: string, k: string) => `${c}\u0000${k}`;
  const put = <T>(c: string, key: string, value: T) => {
    const doc = { key, value: structuredClone(value), version: String(++version) };
    data.set(id(c, key), doc);
    return structuredClone(doc) as StoredDoc<T>;
  };
  return {
    async get<T>(c: string, k: string) {
      const d = data.get(id(c, k));
      return d ? (structuredClone(d) as StoredDoc<T>) : null;
    },
    async insert<T>(c: string, k: string, v: T) {
      return data.has(id(c, k)) ? null : put(c, k, v);
    },
    async replace<T>(c: string, k: string, v: T, ver: string) {
      return data.get(id(c, k))?.version === ver ? put(c, k, v) : null;
    },
    async upsert<T>(c: string, k: string, v: T) {
      return put(c, k, v);
    },
    async delete(c: string, k: string, ver?: string) {
      const d = data.get(id(c, k));
      if (!d || (ver !== undefined && d.version !== ver)) return false;
      return data.delete(id(c, k));
    },
    async list<T>(c: string, o: { prefix?: string; after?: string; limit?: number } = {}) {
      return [...data.entries()]
        .filter(([k]) => k.startsWith(`${c}\u0000`))
        .map(([, d]) => structuredClone(d) as StoredDoc<T>)
        .filter((d) => (!o.prefix || d.key.startsWith(o.prefix)) && (!o.after || d.key > o.after))
        .sort((a, b) => (a.key < b.key ? -1 : 1))
        .slice(0, o.limit ?? Number.MAX_SAFE_INTEGER);
    },
    async listPage<T>(c: string, o: { prefix?: string; limit: number; cursor?: string }) {
      const docs = await this.list<T>(c, { prefix: o.prefix, after: o.cursor, limit: o.limit });
      const last = docs.at(-1);
      return last && docs.length === o.limit ? { docs, cursor: last.key } : { docs };
    },
    async ping() {},
    async close() {},
  };
}
