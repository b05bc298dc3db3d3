// The DocumentStore on a local SQLite file (better-sqlite3): the default store for a single host.
// Several store instances and processes may share one file: WAL lets readers and the single writer
// proceed together, busy_timeout makes a writer wait for the lock instead of failing, and every
// compare-and-set is one conditional statement, so SQLite's own write lock decides races.

import Database from "better-sqlite3";
import { SyncbotError } from "../domain/errors";
import type { DocumentStore, ListOptions, PageOptions, StoredDoc } from "../domain/documentStore";
import { preparePrivateDatabase, tightenSidecars } from "./privateFiles";
import { checkKey, createSqliteQueries, fieldColumns, pickedFields } from "./sqliteQueries";

export interface SqliteStoreOptions {
  /** File path, or ":memory:" for a private in-process database (tests). */
  path: string;
  /** How long a writer waits for another connection's lock before failing; default 5000 ms. */
  busyTimeoutMs?: number;
}

export interface SqliteMigration {
  id: number;
  name: string;
  sql: string;
}

/** Ordered, numbered schema changes. Append only: an applied migration is never edited. */
export const sqliteMigrations: readonly SqliteMigration[] = Object.freeze([
  {
    id: 1,
    name: "create documents",
    sql: `CREATE TABLE documents (
            collection TEXT NOT NULL,
            key        TEXT NOT NULL,
            version    INTEGER NOT NULL,
            value      TEXT NOT NULL, -- JSON
            updated_at TEXT NOT NULL,
            PRIMARY KEY (collection, key)
          )`,
  },
  {
    // Versions come from one counter shared by all documents, so a key that is deleted and created
    // again never gets back a version a stale reader might still hold (no ABA on compare-and-set).
    id: 2,
    name: "create version counter",
    sql: `CREATE TABLE version_counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
          INSERT INTO version_counter (id, value) SELECT 1, COALESCE(MAX(version), 0) FROM documents`,
  },
]);

interface Row {
  key: string;
  version: number;
  value: string;
}

export function createSqliteStore(options: SqliteStoreOptions): DocumentStore {
  const inMemory = options.path === ":memory:" || options.path === "";
  if (!inMemory) preparePrivateDatabase(options.path);

  const db = new Database(options.path);
  // busy_timeout first: the pragmas and migrations below may already contend with another process.
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`);
  if (!inMemory) db.pragma("journal_mode = WAL");
  // NORMAL in WAL mode: durable across application crashes; a power loss may drop the last commits.
  db.pragma("synchronous = NORMAL");
  applyMigrations(db);
  if (!inMemory) tightenSidecars(options.path);

  const stmts = {
    get: db.prepare<[string, string], Row>(
      "SELECT key, version, value FROM documents WHERE collection = ? AND key = ?",
    ),
    nextVersion: db.prepare<[], { value: number }>(
      "UPDATE version_counter SET value = value + 1 WHERE id = 1 RETURNING value",
    ),
    insert: db.prepare<[string, string, number, string, string]>(
      `INSERT INTO documents (collection, key, version, value, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (collection, key) DO NOTHING`,
    ),
    replace: db.prepare<[number, string, string, string, string, number]>(
      `UPDATE documents SET version = ?, value = ?, updated_at = ?
       WHERE collection = ? AND key = ? AND version = ?`,
    ),
    upsert: db.prepare<[string, string, number, string, string]>(
      `INSERT INTO documents (collection, key, version, value, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (collection, key) DO UPDATE SET
         version = excluded.version, value = excluded.value, updated_at = excluded.updated_at`,
    ),
    delete: db.prepare<[string, string]>("DELETE FROM documents WHERE collection = ? AND key = ?"),
    deleteIf: db.prepare<[string, string, number]>(
      "DELETE FROM documents WHERE collection = ? AND key = ? AND version = ?",
    ),
    ping: db.prepare("SELECT 1"),
  };

  // Each write takes a fresh version and performs its single (conditional) statement in one
  // IMMEDIATE transaction, so the counter and the document change together or not at all.
  const write = <A extends unknown[]>(fn: (version: number, ...args: A) => boolean) =>
    db.transaction((...args: A): number | null => {
      const version = stmts.nextVersion.get()!.value;
      return fn(version, ...args) ? version : null;
    }).immediate;

  const insertTx = write(
    (version, collection: string, key: string, json: string) =>
      stmts.insert.run(collection, key, version, json, nowIso()).changes === 1,
  );
  const replaceTx = write(
    (version, collection: string, key: string, json: string, expected: number) =>
      stmts.replace.run(version, json, nowIso(), collection, key, expected).changes === 1,
  );
  const upsertTx = write(
    (version, collection: string, key: string, json: string) =>
      stmts.upsert.run(collection, key, version, json, nowIso()).changes === 1,
  );

  const doc = <T>(key: string, value: T, version: number): StoredDoc<T> => ({ key, value, version: String(version) });
  const { listRows, pageOf, fieldsStatement } = createSqliteQueries(db);

  const store: DocumentStore = {
    async get<T>(collection: string, key: string) {
      checkKey(key);
      const row = stmts.get.get(collection, key);
      return row ? doc<T>(row.key, JSON.parse(row.value) as T, row.version) : null;
    },

    // Each field comes out as JSON text (`->`), so only those fields are parsed, not the whole document.
    async getFields<T, K extends keyof T & string>(collection: string, key: string, fields: readonly K[]) {
      checkKey(key);
      const row = fieldsStatement(fields).get(collection, key);
      return row ? pickedFields<T, K>(fields, row) : null;
    },

    async insert<T>(collection: string, key: string, value: T) {
      checkKey(key);
      const json = toJson(value);
      const version = insertTx(collection, key, json);
      // Return a copy parsed from what was stored, so the caller's object and the stored doc never alias.
      return version === null ? null : doc<T>(key, JSON.parse(json) as T, version);
    },

    async replace<T>(collection: string, key: string, value: T, version: string) {
      checkKey(key);
      const expected = parseVersion(version);
      if (expected === null) return null; // a token this store never issued cannot match
      const json = toJson(value);
      const next = replaceTx(collection, key, json, expected);
      return next === null ? null : doc<T>(key, JSON.parse(json) as T, next);
    },

    async upsert<T>(collection: string, key: string, value: T) {
      checkKey(key);
      const json = toJson(value);
      const version = upsertTx(collection, key, json);
      return doc<T>(key, JSON.parse(json) as T, version!);
    },

    async delete(collection: string, key: string, version?: string) {
      checkKey(key);
      if (version === undefined) return stmts.delete.run(collection, key).changes === 1;
      const expected = parseVersion(version);
      return expected !== null && stmts.deleteIf.run(collection, key, expected).changes === 1;
    },

    async list<T>(collection: string, options: ListOptions = {}) {
      return listRows(collection, options).map((r) => doc<T>(r.key, JSON.parse(r.value) as T, r.version));
    },

    // Keyset paging: the cursor is the page's last key, so a page costs one index range scan however
    // deep into the collection it starts (no OFFSET), and documents written meanwhile are not skipped.
    async listPage<T>(collection: string, options: PageOptions) {
      return pageOf(collection, options, (r) => doc<T>(r.key, JSON.parse(r.value) as T, r.version));
    },

    async listPageFields<T, K extends keyof T & string>(
      collection: string,
      options: PageOptions,
      fields: readonly K[],
    ) {
      const columns = fieldColumns(fields);
      return pageOf(collection, options, (r) => doc(r.key, pickedFields<T, K>(fields, r.fields!), r.version), columns);
    },

    async ping() {
      stmts.ping.get();
    },

    async close() {
      if (db.open) db.close();
    },
  };
  return store;
}

function applyMigrations(db: Database.Database): void {
  // IMMEDIATE takes the write lock before reading what is applied, so two processes opening a fresh
  // file at once cannot both apply migration 1.
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
               id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    const applied = new Set(
      db
        .prepare<[], { id: number }>("SELECT id FROM schema_migrations")
        .all()
        .map((r) => r.id),
    );
    const record = db.prepare("INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)");
    for (const m of [...sqliteMigrations].sort((a, b) => a.id - b.id)) {
      if (applied.has(m.id)) continue;
      db.exec(m.sql);
      record.run(m.id, m.name, nowIso());
    }
  }).immediate();
}

function parseVersion(version: string): number | null {
  return /^[1-9][0-9]{0,15}$/.test(version) ? Number(version) : null;
}

function toJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) throw new SyncbotError("validation_failed", "store: value is not JSON-serialisable");
  return json;
}

function nowIso(): string {
  return new Date().toISOString();
}
