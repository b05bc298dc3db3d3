// The store port: a small document store with compare-and-set, which both SQLite and Azure Table
// Storage implement natively (row version / ETag). Every state transition of the domain is one
// conditional write (src/domain/repository.ts); src/store implements it.

export interface StoredDoc<T> {
  key: string;
  value: T;
  /** Opaque version token; changes on every write. */
  version: string;
}

export interface ListOptions {
  /** Only keys starting with this prefix. */
  prefix?: string;
  /** Only keys strictly greater than this one (paging). */
  after?: string;
  limit?: number;
}

export interface PageOptions {
  /** Only keys starting with this prefix. */
  prefix?: string;
  /** At most this many documents in the page (a page may hold fewer, even none, and still have a cursor). */
  limit: number;
  /** The `cursor` of the previous page; absent for the first page. Opaque: only the store that issued it reads it. */
  cursor?: string;
}

export interface DocumentPage<T> {
  docs: StoredDoc<T>[];
  /** Where the next page starts; absent when there is none. */
  cursor?: string;
}

export interface DocumentStore {
  get<T>(collection: string, key: string): Promise<StoredDoc<T> | null>;
  /** Creates the document; resolves null (and writes nothing) when the key exists. */
  insert<T>(collection: string, key: string, value: T): Promise<StoredDoc<T> | null>;
  /** Replaces only when the stored version equals `version`; resolves null when it does not (or the doc is gone). */
  replace<T>(collection: string, key: string, value: T, version: string): Promise<StoredDoc<T> | null>;
  /** Unconditional create-or-replace. */
  upsert<T>(collection: string, key: string, value: T): Promise<StoredDoc<T>>;
  /** Deletes; when `version` is given only if it matches. Resolves whether a document was deleted. */
  delete(collection: string, key: string, version?: string): Promise<boolean>;
  /** Ascending key order. */
  list<T>(collection: string, options?: ListOptions): Promise<StoredDoc<T>[]>;
  /** One page of a collection in ascending key order, so a caller walks any collection in bounded memory. */
  listPage<T>(collection: string, options: PageOptions): Promise<DocumentPage<T>>;
  /**
   * Only these top-level fields of a document (null when there is none), for a caller that reads many
   * documents and needs a few fields of each (the expiry sweep). Optional: without it, callers `get`.
   */
  /** listPage with only these top-level fields of each document (optional, as getFields). */
  listPageFields?<T, K extends keyof T & string>(
    collection: string,
    options: PageOptions,
    fields: readonly K[],
  ): Promise<DocumentPage<Pick<T, K>>>;
  getFields?<T, K extends keyof T & string>(
    collection: string,
    key: string,
    fields: readonly K[],
  ): Promise<Pick<T, K> | null>;
  /** Throws when the store is unreachable (health check). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
