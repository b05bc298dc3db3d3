// Keeps the dependency direction (STYLE.md): the domain is plain TypeScript, and only src/bot/ knows the
// chat framework, so a move off Bot Framework SDK v4 / Teams AI v1 touches that folder alone.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(__dirname, "..", "..", "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(c|m)?tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}
const stripComments = (code: string) => code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
function importsOf(code: string): string[] {
  const c = stripComments(code);
  const re = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g;
  return [...c.matchAll(re)].map((m) => m[1]!);
}

const DOMAIN_FORBIDDEN = [
  /^botbuilder/,
  /^@microsoft\/teams-ai/,
  /^restify/,
  /^@microsoft\/microsoft-graph-client/,
  /^@azure\//,
  /^better-sqlite3/,
  /^(node:)?https?$/,
  /^(node:)?http2$/,
];
const CHAT_FRAMEWORK = [/^botbuilder/, /^@microsoft\/teams-ai/, /^botframework-/];

describe("architecture", () => {
  const domainFiles = sourceFiles(join(SRC, "domain"));

  it("finds the domain's files", () => {
    expect(domainFiles.length).toBeGreaterThan(3);
  });

  it.each(domainFiles.map((f) => [relative(SRC, f), f]))(
    "src/%s imports no framework, SDK or I/O module",
    (_name, file) => {
      const code = readFileSync(file, "utf8");
      const bad = importsOf(code).filter((i) => DOMAIN_FORBIDDEN.some((re) => re.test(i)));
      expect(bad).toEqual([]);
      const body = stripComments(code);
      expect(body).not.toMatch(/process\.env/);
      expect(body).not.toMatch(/\bfetch\s*\(/);
      // The domain only reaches outside itself through relative imports and node: built-ins.
      const domainDir = join(SRC, "domain");
      for (const i of importsOf(code)) {
        const insideDomain = i.startsWith(".") && !relative(domainDir, join(dirname(file), i)).startsWith("..");
        expect(insideDomain || i.startsWith("node:"), `${i}`).toBe(true);
      }
    },
  );

  it("only src/bot/ imports the chat framework", () => {
    const offenders = sourceFiles(SRC)
      .filter((f) => !relative(SRC, f).startsWith(`bot${sep}`))
      .flatMap((f) =>
        importsOf(readFileSync(f, "utf8"))
          .filter((i) => CHAT_FRAMEWORK.some((re) => re.test(i)))
          .map((i) => `${relative(SRC, f)}: ${i}`),
      );
    expect(offenders).toEqual([]);
  });

  /** Relative imports of one src file, resolved to files ("" when it names no file under src/). */
  function localImports(file: string): string[] {
    return importsOf(readFileSync(file, "utf8"))
      .filter((i) => i.startsWith("."))
      .map((i) => join(dirname(file), i))
      .map((p) => [p, `${p}.ts`, join(p, "index.ts")].find((c) => allFiles.has(c)) ?? "")
      .filter(Boolean);
  }
  const allFiles = new Set(sourceFiles(SRC));

  it("no module of src/ imports itself back through its imports (no import circles)", () => {
    const graph = new Map([...allFiles].map((f) => [f, localImports(f)]));
    const circles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const walk = (f: string, path: string[]) => {
      if (state.get(f) === "done") return;
      if (state.get(f) === "open") {
        circles.push(
          path
            .slice(path.indexOf(f))
            .concat(f)
            .map((x) => relative(SRC, x))
            .join(" -> "),
        );
        return;
      }
      state.set(f, "open");
      for (const next of graph.get(f) ?? []) walk(next, [...path, f]);
      state.set(f, "done");
    };
    for (const f of graph.keys()) walk(f, []);
    expect(circles).toEqual([]);
  });

  it("cards name steps through the domain's titles, not the steps module", () => {
    const offenders = sourceFiles(join(SRC, "bot"))
      .flatMap((f) => localImports(f).map((i) => [relative(SRC, f), relative(SRC, i)]))
      .filter(([, i]) => i!.startsWith(`domain${sep}steps${sep}`) || i!.startsWith(`domain${sep}runs${sep}`))
      .map(([f, i]) => `${f}: ${i}`);
    expect(offenders).toEqual([]);
  });

  it("the import reader sees the forms it must", () => {
    expect(
      importsOf(
        'import a from "x";\nimport type { B } from "y";\nexport { c } from "z";\nconst d = require("w");\nawait import("v");\n// import "no"',
      ),
    ).toEqual(["x", "y", "z", "w", "v"]);
  });
});
