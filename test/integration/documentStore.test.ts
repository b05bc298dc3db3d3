// One contract for every DocumentStore: the same suite runs against SQLite (temp file) and Azure
// Table Storage (a private Azurite), so the domain can rely on identical compare-and-set, ordering
// and paging semantics whichever store is configured.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DocumentStore } from "../../src/domain/documentStore";
import { createMessageBindings, shows } from "../../src/domain/messageBindings";
import { createSqliteStore, sqliteMigrations } from "../../src/store/createSqliteStore";
import { prefixUpperBound } from "../../src/store/sqliteQueries";
import { createStore } from "../../src/store/createStore";
import { createTableStore } from "../../src/store/createTableStore";
import { decodeKey, encodeKey } from "../../src/store/tableKeys";
import { type AzuriteHandle, startAzurite } from "../support/azurite";

/** Code point order: what SQLite's BINARY collation and the Azure key encoding both give. */
const byCodePoint = (a: string, b: string) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

// Keys that are awkward for one store or the other: URL and OData syntax, Azure's forbidden
// characters, the key encoding's own lead characters, and non-ASCII on both sides of the surrogates.
const AWKWARD = [
  "plain",
  "a:b",
  "a|b",
  "a/b",
  "a\\b",
  "a#b",
  "a?b",
  "a%b",
  "a%2Fb",
  "a b",
  "a.b",
  "a$b",
  'a"b',
  "a'b",
  "a~b",
  "a\tb",
  "a\u007fb",
  "a\u0085b",
  "é",
  "ü-ü",
  "中文",
  "😀",
  "😀x",
  "\ufffd",
  "\uff01",
  "\uffee",
  "[x]",
  ">=",
];

let unique = 0;
const freshCollection = () => `c${Date.now().toString(36)}x${++unique}`;

interface Opened {
  store: DocumentStore;
  close(): Promise<void>;
}

function describeDocumentStore(name: string, open: () => Promise<Opened>) {
  describe(`DocumentStore contract: ${name}`, () => {
    let opened: Opened;
    let store: DocumentStore;
    beforeAll(async () => {
      opened = await open();
      store = opened.store;
    });
    afterAll(async () => {
      await opened?.close();
    });

    it("get/insert: insert creates once, a second insert writes nothing", async () => {
      const c = freshCollection();
      expect(await store.get(c, "k")).toBeNull();
      const doc = await store.insert(c, "k", { n: 1, nested: { list: [1, "two", null] } });
      expect(doc).not.toBeNull();
      expect(doc!.key).toBe("k");
      expect(typeof doc!.version).toBe("string");
      expect(await store.get(c, "k")).toEqual(doc);
      expect(await store.insert(c, "k", { n: 2 })).toBeNull();
      expect((await store.get<{ n: number }>(c, "k"))!.value.n).toBe(1);
    });

    it("replace: wins with the current version, loses with a stale, bogus or absent one", async () => {
      const c = freshCollection();
      const v1 = (await store.insert(c, "k", "one"))!;
      const v2 = await store.replace(c, "k", "two", v1.version);
      expect(v2).toEqual({ key: "k", value: "two", version: expect.any(String) });
      expect(v2!.version).not.toBe(v1.version);
      expect(await store.replace(c, "k", "stale", v1.version)).toBeNull();
      expect(await store.replace(c, "k", "bogus", "not-a-version")).toBeNull();
      expect(await store.replace(c, "k", "star", "*")).toBeNull();
      expect(await store.replace(c, "missing", "x", v2!.version)).toBeNull();
      expect(await store.get(c, "missing")).toBeNull();
      expect(await store.get(c, "k")).toEqual(v2);
    });

    it("upsert: creates and overwrites unconditionally", async () => {
      const c = freshCollection();
      const a = await store.upsert(c, "k", [1]);
      const b = await store.upsert(c, "k", [2]);
      expect(a.version).not.toBe(b.version);
      expect(await store.get(c, "k")).toEqual({ key: "k", value: [2], version: b.version });
    });

    it("delete: unconditional, or only with the current version", async () => {
      const c = freshCollection();
      expect(await store.delete(c, "k")).toBe(false);
      const v1 = (await store.insert(c, "k", 1))!;
      const v2 = (await store.replace(c, "k", 2, v1.version))!;
      expect(await store.delete(c, "k", v1.version)).toBe(false);
      expect(await store.delete(c, "k", "garbage")).toBe(false);
      expect(await store.get(c, "k")).not.toBeNull();
      expect(await store.delete(c, "k", v2.version)).toBe(true);
      expect(await store.get(c, "k")).toBeNull();
      expect(await store.delete(c, "k", v2.version)).toBe(false);
      await store.insert(c, "k", 3);
      expect(await store.delete(c, "k")).toBe(true);
      expect(await store.delete(c, "k")).toBe(false);
    });

    it("the version changes on every write, also across delete and re-create (no ABA)", async () => {
      const c = freshCollection();
      const seen = new Set<string>();
      const note = (v: string) => {
        expect(seen.has(v)).toBe(false);
        seen.add(v);
        return v;
      };
      let v = note((await store.insert(c, "k", "same"))!.version);
      for (let i = 0; i < 5; i++) v = note((await store.replace(c, "k", "same", v))!.version);
      v = note((await store.upsert(c, "k", "same")).version);
      const old = v;
      expect(await store.delete(c, "k")).toBe(true);
      note((await store.insert(c, "k", "same"))!.version);
      expect(await store.replace(c, "k", "aba", old)).toBeNull();
    });

    it("races: of N parallel replaces with one version, and N parallel inserts, exactly one wins", async () => {
      const c = freshCollection();
      const N = 16;
      const base = (await store.insert(c, "race", { by: -1 }))!;
      const replaced = await Promise.all(
        Array.from({ length: N }, (_, i) => store.replace(c, "race", { by: i }, base.version)),
      );
      const winners = replaced.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect(await store.get(c, "race")).toEqual(winners[0]);

      const inserted = await Promise.all(Array.from({ length: N }, (_, i) => store.insert(c, "fresh", { by: i })));
      const insertWinners = inserted.filter((r) => r !== null);
      expect(insertWinners).toHaveLength(1);
      expect(await store.get(c, "fresh")).toEqual(insertWinners[0]);
    });

    it("awkward keys round-trip through insert, get, replace, list and delete", async () => {
      const c = freshCollection();
      for (const key of AWKWARD) {
        const doc = (await store.insert(c, key, { key }))!;
        expect(doc, key).not.toBeNull();
        expect(await store.get(c, key), key).toEqual(doc);
        const next = (await store.replace(c, key, { key, n: 2 }, doc.version))!;
        expect(next, key).not.toBeNull();
      }
      const listed = await store.list<{ key: string }>(c);
      expect(listed.map((d) => d.key)).toEqual([...AWKWARD].sort(byCodePoint));
      for (const d of listed) expect(d.value.key).toBe(d.key);
      for (const key of AWKWARD) expect(await store.delete(c, key), key).toBe(true);
      expect(await store.list(c)).toEqual([]);
    });

    it("list: prefix, after and limit over a few hundred keys, in code point order", async () => {
      const c = freshCollection();
      const keys: string[] = [];
      for (let i = 0; i < 300; i++) {
        const head = AWKWARD[i % AWKWARD.length]!;
        keys.push(`${head}${i % 3 === 0 ? "/" : ":"}${String(i).padStart(3, "0")}`);
      }
      keys.push("a", "a/", "a:", "");
      await Promise.all(keys.map((k) => store.insert(c, k, { k })));
      const sorted = [...keys].sort(byCodePoint);

      const all = await store.list<{ k: string }>(c);
      expect(all.map((d) => d.key)).toEqual(sorted);
      expect(all.every((d) => d.value.k === d.key)).toBe(true);

      const prefixes = [
        "a",
        "a/",
        "a:",
        "a%",
        "a#",
        "a\\",
        "a.",
        "a ",
        "😀",
        "é",
        "\uffee",
        "\ufffd",
        "zzz",
        "a\u007f",
      ];
      for (const prefix of prefixes) {
        const got = (await store.list(c, { prefix })).map((d) => d.key);
        expect(got, `prefix ${JSON.stringify(prefix)}`).toEqual(sorted.filter((k) => k.startsWith(prefix)));
      }

      // Paging with after + limit visits every key once, in order.
      const paged: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.list(c, { after, limit: 37 });
        paged.push(...page.map((d) => d.key));
        if (page.length < 37) break;
        after = page[page.length - 1]!.key;
      }
      expect(paged).toEqual(sorted);

      const afterA = sorted.filter((k) => k.startsWith("a") && byCodePoint(k, "a:b") > 0).slice(0, 5);
      expect((await store.list(c, { prefix: "a", after: "a:b", limit: 5 })).map((d) => d.key)).toEqual(afterA);
      expect(await store.list(c, { limit: 0 })).toEqual([]);
    });

    it("listPage: cursors walk a collection (and a prefix) once, in order, in pages of at most the limit", async () => {
      const c = freshCollection();
      const other = freshCollection();
      const keys = Array.from(
        { length: 250 },
        (_, i) => `${AWKWARD[i % AWKWARD.length]}|${String(i).padStart(3, "0")}`,
      );
      await Promise.all(keys.map((k) => store.insert(c, k, { k })));
      await store.insert(other, keys[0]!, { k: "other" });
      const sorted = [...keys].sort(byCodePoint);

      const walk = async (prefix?: string) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.listPage<{ k: string }>(c, { prefix, limit: 40, cursor });
          expect(page.docs.length).toBeLessThanOrEqual(40);
          expect(page.docs.every((d) => d.value.k === d.key)).toBe(true);
          seen.push(...page.docs.map((d) => d.key));
          cursor = page.cursor;
          pages++;
        } while (cursor !== undefined && pages < 100);
        return { seen, pages };
      };
      const all = await walk();
      expect(all.seen).toEqual(sorted);
      expect(all.pages).toBeGreaterThanOrEqual(Math.ceil(250 / 40));
      const plain = await walk("plain|");
      expect(plain.seen).toEqual(sorted.filter((k) => k.startsWith("plain|")));

      // A page's documents carry versions the compare-and-set accepts.
      const first = (await store.listPage<{ k: string }>(c, { limit: 1 })).docs[0]!;
      expect(await store.replace(c, first.key, { k: first.key }, first.version)).not.toBeNull();

      // An empty collection is one empty page; a cursor this store never issued is refused.
      expect(await store.listPage(freshCollection(), { limit: 10 })).toEqual({ docs: [] });
      await expect(store.listPage(c, { limit: 10, cursor: "not a cursor" })).rejects.toMatchObject({
        code: "validation_failed",
      });
    });

    it("values larger than 64 KiB of JSON round-trip", async () => {
      const c = freshCollection();
      // Non-ASCII throughout, so cuts land between the bytes or surrogates of a character somewhere.
      const big = {
        text: "x😀é".repeat(8_000),
        ascii: "a".repeat(40_000),
        list: Array.from({ length: 2000 }, (_, i) => ({ i, s: "é".repeat(i % 10) })),
      };
      expect(JSON.stringify(big).length).toBeGreaterThan(100_000);
      // Compared as JSON so a mismatch does not print 200 000 characters.
      const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
      const doc = (await store.insert(c, "big", big))!;
      expect(same(doc.value, big)).toBe(true);
      expect(same((await store.get(c, "big"))!.value, big)).toBe(true);
      const bigger = { ...big, text: big.text + "!" };
      expect(await store.replace(c, "big", bigger, doc.version)).not.toBeNull();
      expect(same((await store.list(c))[0]!.value, bigger)).toBe(true);
    });

    it("collections are isolated", async () => {
      const a = freshCollection();
      const b = freshCollection();
      await store.insert(a, "k", "in a");
      expect(await store.get(b, "k")).toBeNull();
      expect(await store.insert(b, "k", "in b")).not.toBeNull();
      expect((await store.get(a, "k"))!.value).toBe("in a");
      expect(await store.list(a)).toHaveLength(1);
      await store.delete(b, "k");
      expect((await store.get(a, "k"))!.value).toBe("in a");
    });

    it("message bindings: a post's binding is read back per conversation; rebind wins once, only from what the message shows", async () => {
      let t = Date.parse("2026-12-03T10:00:00Z");
      const bindings = createMessageBindings(store, () => {
        t += 1000;
        return new Date(t);
      });
      const channel = "19:ops@thread.tacv2;messageid=1700000000000";
      await bindings.bind(channel, "1701", { kind: "parameters", subject: "contoso" });
      // The same conversation seen from a reply thread; another conversation holds no such message.
      const seen = await bindings.get("19:ops@thread.tacv2;messageid=1711111111111", "1701");
      expect(seen).toMatchObject({ kind: "parameters", subject: "contoso", activityId: "1701" });
      expect(shows(seen, { kind: "parameters", subject: "contoso" })).toBe(true);
      expect(shows(seen, { kind: "approval", subject: "contoso" })).toBe(false);
      expect(await bindings.get("a:personal-chat", "1701")).toBeNull();
      expect(await bindings.get(channel, "1702")).toBeNull();
      // Two presses race to turn the form into their request's card: exactly one wins.
      const from = { kind: "parameters", subject: "contoso" } as const;
      const results = await Promise.all(
        ["r1", "r2", "r3"].map((id) => bindings.rebind(channel, "1701", from, { kind: "approval", subject: id })),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = await bindings.get(channel, "1701");
      expect(winner?.kind).toBe("approval");
      // A rebind from what the message no longer shows changes nothing.
      expect(await bindings.rebind(channel, "1701", from, { kind: "approval", subject: "r9" })).toBe(false);
      expect(await bindings.rebind(channel, "1799", from, { kind: "approval", subject: "r9" })).toBe(false);
      expect((await bindings.get(channel, "1701"))?.subject).toBe(winner?.subject);
    });

    it("ping resolves on a reachable store", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("property: a random sequence of operations agrees with an in-memory model", async () => {
      const keyPool = ["a", "a:1", "a/2", "b", "b#", "%", "é", "😀"];
      const op = fc.oneof(
        fc.record({ kind: fc.constant("get" as const), key: fc.constantFrom(...keyPool) }),
        fc.record({ kind: fc.constant("insert" as const), key: fc.constantFrom(...keyPool), value: fc.integer() }),
        fc.record({
          kind: fc.constant("replace" as const),
          key: fc.constantFrom(...keyPool),
          value: fc.integer(),
          // which version to present: the current one, an older one we saw, or a made-up one
          pick: fc.constantFrom("current", "stale", "bogus"),
          staleIndex: fc.nat(),
        }),
        fc.record({ kind: fc.constant("upsert" as const), key: fc.constantFrom(...keyPool), value: fc.integer() }),
        fc.record({
          kind: fc.constant("delete" as const),
          key: fc.constantFrom(...keyPool),
          pick: fc.constantFrom("none", "current", "stale"),
          staleIndex: fc.nat(),
        }),
        fc.record({
          kind: fc.constant("list" as const),
          prefix: fc.constantFrom(undefined, "a", "b", "a/", "x"),
          after: fc.constantFrom(undefined, "a", "a:1", "é"),
          limit: fc.constantFrom(undefined, 1, 3),
        }),
      );

      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
          const c = freshCollection();
          const model = new Map<string, { value: number; version: string }>();
          const seen: string[] = [];
          const versionFor = (key: string, pick: string, staleIndex: number): string | undefined => {
            const current = model.get(key)?.version;
            if (pick === "current") return current ?? seen[staleIndex % Math.max(1, seen.length)] ?? 'W/"nope"';
            if (pick === "stale") {
              const old = seen.filter((v) => v !== current);
              return old[staleIndex % Math.max(1, old.length)] ?? "1";
            }
            if (pick === "bogus") return "12345678";
            return undefined;
          };

          for (const o of ops) {
            switch (o.kind) {
              case "get": {
                const got = await store.get<number>(c, o.key);
                const want = model.get(o.key);
                expect(got).toEqual(want ? { key: o.key, ...want } : null);
                break;
              }
              case "insert": {
                const got = await store.insert(c, o.key, o.value);
                expect(got === null).toBe(model.has(o.key));
                if (got) {
                  model.set(o.key, { value: o.value, version: got.version });
                  seen.push(got.version);
                }
                break;
              }
              case "replace": {
                const version = versionFor(o.key, o.pick, o.staleIndex)!;
                const got = await store.replace(c, o.key, o.value, version);
                expect(got !== null).toBe(model.get(o.key)?.version === version);
                if (got) {
                  model.set(o.key, { value: o.value, version: got.version });
                  seen.push(got.version);
                }
                break;
              }
              case "upsert": {
                const got = await store.upsert(c, o.key, o.value);
                model.set(o.key, { value: o.value, version: got.version });
                seen.push(got.version);
                break;
              }
              case "delete": {
                const version = versionFor(o.key, o.pick, o.staleIndex);
                const current = model.get(o.key);
                const expected = current !== undefined && (version === undefined || version === current.version);
                expect(await store.delete(c, o.key, version)).toBe(expected);
                if (expected) model.delete(o.key);
                break;
              }
              case "list": {
                const got = await store.list<number>(c, { prefix: o.prefix, after: o.after, limit: o.limit });
                const want = [...model.entries()]
                  .filter(
                    ([k]) =>
                      (o.prefix === undefined || k.startsWith(o.prefix)) &&
                      (o.after === undefined || byCodePoint(k, o.after) > 0),
                  )
                  .sort(([x], [y]) => byCodePoint(x, y))
                  .slice(0, o.limit ?? Number.POSITIVE_INFINITY)
                  .map(([key, d]) => ({ key, ...d }));
                expect(got).toEqual(want);
                break;
              }
            }
          }
        }),
        { numRuns: 40 },
      );
    });
  });
}

// ---------------------------------------------------------------------------------------------

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "syncbot-store-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describeDocumentStore("sqlite", async () => {
  const store = createStore({ kind: "sqlite", path: join(tempDir(), "contract.db") });
  return { store, close: () => store.close() };
});

let azurite: AzuriteHandle | undefined;
describeDocumentStore("azure-tables", async () => {
  const started = Date.now();
  azurite = await startAzurite();
  console.info(`azurite started in ${Date.now() - started} ms`);
  const store = createStore({
    kind: "azure-tables",
    connectionString: azurite.connectionString,
    tableName: `contract${Date.now().toString(36)}`,
  });
  return {
    store,
    close: async () => {
      await store.close();
      await azurite?.stop();
    },
  };
});

describe("SQLite store specifics", () => {
  it("applies the migrations once, in order, and records them", async () => {
    const path = join(tempDir(), "nested", "dirs", "m.db"); // the directory does not exist yet
    const first = createSqliteStore({ path });
    await first.insert("c", "k", 1);
    await first.close();

    const peek = () => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare("SELECT id, name, applied_at FROM schema_migrations ORDER BY id").all() as {
          id: number;
          applied_at: string;
        }[];
      } finally {
        db.close();
      }
    };
    const before = peek();
    expect(before.map((r) => r.id)).toEqual(sqliteMigrations.map((m) => m.id));

    const again = createSqliteStore({ path });
    expect((await again.get("c", "k"))!.value).toBe(1); // data survives, nothing re-created
    await again.close();
    expect(peek()).toEqual(before);
  });

  it("getFields reads only the named top-level fields, as stored, and refuses what is not a field name", async () => {
    const store = createSqliteStore({ path: ":memory:" });
    try {
      type Doc = { a: string; n: number; list: Array<{ k: string }>; nil: null; big: string; flag: boolean };
      const value: Doc = {
        a: "x",
        n: 4.5,
        list: [{ k: "1" }, { k: "2" }],
        nil: null,
        big: "y".repeat(1000),
        flag: false,
      };
      await store.insert("c", "k", value);
      expect(
        await store.getFields!<Doc, "a" | "n" | "list" | "nil" | "flag">("c", "k", ["a", "n", "list", "nil", "flag"]),
      ).toEqual({
        a: "x",
        n: 4.5,
        list: [{ k: "1" }, { k: "2" }],
        nil: null,
        flag: false,
      });
      // A field the document lacks is absent, as in the whole document; a missing document is null.
      expect(await store.getFields!<Doc & { gone?: string }, "gone" | "a">("c", "k", ["gone", "a"])).toEqual({
        a: "x",
      });
      expect(await store.getFields!<Doc, "a">("c", "nope", ["a"])).toBeNull();
      expect(await store.getFields!<Doc, "a">("other", "k", ["a"])).toBeNull();
      await expect(store.getFields!<Record<string, string>, string>("c", "k", ["a') FROM x --"])).rejects.toThrow(
        /not a field name/,
      );
    } finally {
      await store.close();
    }
  });

  it("listPageFields walks a collection like listPage, with only the named fields of each document", async () => {
    const store = createSqliteStore({ path: ":memory:" });
    try {
      type Doc = { n: number; tag?: string; skip: string };
      for (let i = 0; i < 25; i++)
        await store.insert<Doc>("c", `k${String(i).padStart(2, "0")}`, {
          n: i,
          ...(i % 2 ? { tag: `t${i}` } : {}),
          skip: "x",
        });
      await store.insert("other", "k00", { n: -1 });
      const seen: Array<{ key: string; value: unknown }> = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listPageFields!<Doc, "n" | "tag">("c", { limit: 10, cursor }, ["n", "tag"]);
        const whole = await store.listPage<Doc>("c", { limit: 10, cursor });
        expect(page.cursor).toEqual(whole.cursor);
        expect(page.docs.map((d) => [d.key, d.version])).toEqual(whole.docs.map((d) => [d.key, d.version]));
        seen.push(...page.docs.map((d) => ({ key: d.key, value: d.value })));
        cursor = page.cursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toHaveLength(25);
      expect(seen[0]).toEqual({ key: "k00", value: { n: 0 } });
      expect(seen[1]).toEqual({ key: "k01", value: { n: 1, tag: "t1" } });
      await expect(store.listPageFields!<Doc, "n">("c", { limit: 1 }, ["n) --" as "n"])).rejects.toThrow(
        /not a field name/,
      );
    } finally {
      await store.close();
    }
  });

  it("runs in WAL mode with NORMAL synchronous and a busy timeout", async () => {
    const path = join(tempDir(), "wal.db");
    const store = createSqliteStore({ path });
    await store.ping();
    const db = new Database(path);
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal"); // WAL is persistent in the file
    } finally {
      db.close();
      await store.close();
    }
  });

  it("two instances on one file see each other's writes, and compare-and-set holds across them", async () => {
    const path = join(tempDir(), "shared.db");
    const a = createSqliteStore({ path });
    const b = createSqliteStore({ path });
    try {
      const doc = (await a.insert("c", "k", "from a"))!;
      expect(await b.get("c", "k")).toEqual(doc);
      expect(await b.insert("c", "k", "from b")).toBeNull();

      const results = await Promise.all([
        a.replace("c", "k", "a wins", doc.version),
        b.replace("c", "k", "b wins", doc.version),
        a.replace("c", "k", "a again", doc.version),
        b.replace("c", "k", "b again", doc.version),
      ]);
      const winners = results.filter((r) => r !== null);
      expect(winners).toHaveLength(1);
      expect(await a.get("c", "k")).toEqual(winners[0]);
      expect(await b.get("c", "k")).toEqual(winners[0]);

      // Versions come from one counter in the file, so they never repeat between instances.
      const v1 = (await a.upsert("c", "x", 1)).version;
      const v2 = (await b.upsert("c", "y", 1)).version;
      expect(v1).not.toBe(v2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("works in memory too", async () => {
    const store = createSqliteStore({ path: ":memory:" });
    expect(await store.insert("c", "k", { ok: true })).not.toBeNull();
    expect(await store.list("c")).toHaveLength(1);
    await store.close();
  });

  it("prefix upper bounds are correct at the edges of Unicode", () => {
    expect(prefixUpperBound("ab")).toBe("ac");
    expect(prefixUpperBound("a\u{10ffff}")).toBe("b");
    expect(prefixUpperBound("\u{10ffff}")).toBeNull();
    expect(prefixUpperBound("a\ud7ff")).toBe("a\ue000");
    expect(prefixUpperBound("😀")).toBe("😁");
  });
});

describe("Azure Tables key encoding", () => {
  // Characters from all the interesting ranges, so generated strings hit every code group.
  const char = fc.oneof(
    fc.integer({ min: 0, max: 0xa0 }).map((cp) => String.fromCodePoint(cp)),
    fc.integer({ min: 0xa1, max: 0xd7ff }).map((cp) => String.fromCodePoint(cp)),
    fc.integer({ min: 0xe000, max: 0xffff }).map((cp) => String.fromCodePoint(cp)),
    fc.integer({ min: 0x10000, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)),
  );
  const key = fc.array(char, { maxLength: 8 }).map((cs) => cs.join(""));
  const forbidden = (s: string) =>
    Array.from(s).some((c) => {
      const cp = c.codePointAt(0)!;
      return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || "/\\#?%".includes(c);
    });

  it("round-trips and leaves no character Azure forbids", () => {
    fc.assert(
      fc.property(key, (k) => {
        const e = encodeKey(k);
        expect(forbidden(e)).toBe(false);
        expect(decodeKey(e)).toBe(k);
      }),
      { numRuns: 2000 },
    );
  });

  it("preserves code point order (as UTF-16 order of the encoded keys) and prefixes", () => {
    const utf16 = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    fc.assert(
      fc.property(key, key, (a, b) => {
        expect(Math.sign(utf16(encodeKey(a), encodeKey(b)))).toBe(Math.sign(byCodePoint(a, b)));
        expect(encodeKey(b).startsWith(encodeKey(a))).toBe(b.startsWith(a));
        expect(encodeKey(a + b).startsWith(encodeKey(a))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it("fails clearly when the service is unreachable", async () => {
    const store = createTableStore({
      connectionString:
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;",
    });
    await expect(store.ping()).rejects.toMatchObject({ code: "upstream_failed" });
  });
});
