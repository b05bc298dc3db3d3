// The SQLite store's reads of many documents: a range of keys (a page) and only some fields of a
// document, so a caller that walks the whole fleet parses only what it needs.

import type Database from "better-sqlite3";
import type { ListOptions, PageOptions } from "../domain/documentStore";
import { SyncbotError } from "../domain/errors";

interface Row {
  key: string;
  version: number;
  value: string;
}

export function createSqliteQueries(db: Database.Database) {
  interface ListRow extends Row {
    /** The selected fields' JSON texts, when only fields were asked for. */
    fields?: unknown[];
  }

  const fieldStatements = new Map<string, Database.Statement<[string, string], unknown[]>>();
  const fieldsStatement = (fields: readonly string[]) => {
    const id = fields.join(",");
    let stmt = fieldStatements.get(id);
    if (!stmt) {
      stmt = db
        .prepare<[string, string], unknown[]>(
          `SELECT ${fieldColumns(fields)} FROM documents WHERE collection = ? AND key = ?`,
        )
        .raw();
      fieldStatements.set(id, stmt);
    }
    return stmt;
  };

  function listRows(collection: string, options: ListOptions, columns?: string): ListRow[] {
    const where = ["collection = ?"];
    const params: (string | number)[] = [collection];
    if (options.prefix !== undefined && options.prefix !== "") {
      checkKey(options.prefix);
      // A plain range keeps the primary-key index usable and, unlike LIKE, has no wildcards to escape.
      where.push("key >= ?");
      params.push(options.prefix);
      const upper = prefixUpperBound(options.prefix);
      if (upper !== null) {
        where.push("key < ?");
        params.push(upper);
      }
    }
    if (options.after !== undefined) {
      checkKey(options.after);
      where.push("key > ?");
      params.push(options.after);
    }
    let sql = `SELECT key, version, ${columns ?? "value"} FROM documents WHERE ${where.join(" AND ")} ORDER BY key`;
    if (options.limit !== undefined) {
      sql += " LIMIT ?";
      params.push(Math.max(0, Math.trunc(options.limit)));
    }
    const stmt = db.prepare<(string | number)[], Row>(sql);
    if (!columns) return stmt.all(...params);
    return (stmt.raw().all(...params) as unknown as unknown[][]).map(([key, version, ...fields]) => ({
      key: key as string,
      version: version as number,
      value: "",
      fields,
    }));
  }

  function pageOf<D>(collection: string, options: PageOptions, toDoc: (r: ListRow) => D, columns?: string) {
    const limit = Math.max(1, Math.trunc(options.limit));
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const rows = listRows(collection, { prefix: options.prefix, after, limit: limit + 1 }, columns);
    const docs = rows.slice(0, limit).map(toDoc);
    return rows.length <= limit ? { docs } : { docs, cursor: encodeCursor(rows[limit - 1]!.key) };
  }

  return { listRows, pageOf, fieldsStatement };
}

/** The SQL columns giving each field as JSON text (NULL when absent); refuses what is not a field name. */
export function fieldColumns(fields: readonly string[]): string {
  for (const f of fields) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(f)) throw new Error(`not a field name: ${f}`);
  return fields.map((f) => `value -> '$.${f}'`).join(", ");
}

/** The fields' JSON texts as an object; a field the document lacks stays absent. */
export function pickedFields<T, K extends keyof T & string>(
  fields: readonly K[],
  texts: readonly unknown[],
): Pick<T, K> {
  const out: Record<string, unknown> = {};
  fields.forEach((f, i) => {
    const json = texts[i];
    if (typeof json === "string") out[f] = JSON.parse(json);
  });
  return out as Pick<T, K>;
}

function encodeCursor(key: string): string {
  return Buffer.from(key, "utf8").toString("base64url");
}

function decodeCursor(cursor: string): string {
  const key = /^[A-Za-z0-9_-]*$/.test(cursor) ? Buffer.from(cursor, "base64url").toString("utf8") : "";
  if (key === "" || encodeCursor(key) !== cursor)
    throw new SyncbotError("validation_failed", "store: this page cursor was not issued by this store");
  return key;
}

/**
 * The smallest string greater than every string starting with `prefix` (SQLite's BINARY collation
 * compares UTF-8 bytes, i.e. code points): drop trailing U+10FFFF, then bump the last code point.
 * null when no upper bound exists (the prefix is all U+10FFFF).
 */
export function prefixUpperBound(prefix: string): string | null {
  const cps = Array.from(prefix, (c) => c.codePointAt(0)!);
  while (cps.length > 0 && cps[cps.length - 1] === 0x10ffff) cps.pop();
  if (cps.length === 0) return null;
  let last = cps.pop()! + 1;
  if (last === 0xd800) last = 0xe000; // skip the surrogate range: not characters
  return String.fromCodePoint(...cps, last);
}

// A lone surrogate cannot be stored as UTF-8; SQLite would silently turn it into U+FFFD and the key
// would then never be found again.
export function checkKey(key: string): void {
  if (/\p{Cs}/u.test(key)) throw new SyncbotError("validation_failed", "store: key contains a lone surrogate");
}
