// `npm run package -- --env dev`: the Teams app package, as the Agents Toolkit's zipAppPackage builds it,
// but offline and strict: fills the manifest's ${{VAR}} placeholders from env/.env.<env> (and
// .env.<env>.user), validates the result against the manifest JSON schema shipped in
// @microsoft/app-manifest, checks both icons, and writes appPackage/build/appPackage.<env>.zip.
// Every problem found is reported at once, by name; nothing is written unless all checks pass. Before
// the first `atk provision` the ids are not there yet: the package then names each missing value and the
// provision step that writes it, instead of the schema's pattern errors about empty ids.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { AppManifestUtils } from "@microsoft/app-manifest";
import { parse as parseDotenv } from "dotenv";
import { parse as parseYaml } from "yaml";
import { zipSync } from "fflate";
import { PNG } from "pngjs";

export interface PackageOptions {
  /** The project root (appPackage/ and env/ live there). */
  root: string;
  env: string;
}

export interface PackageResult {
  zipPath: string;
  manifestPath: string;
  manifest: Record<string, unknown>;
}

export class PackageError extends Error {
  constructor(readonly problems: string[]) {
    super(`the app package was not built:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

const PLACEHOLDER = /\$\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
/** Placeholders that may legitimately be empty (the toolkit's name suffix in production). */
const MAY_BE_EMPTY = /_SUFFIX$/;

/** env/.env.<env>, then env/.env.<env>.user on top (the toolkit's order); null when the first is missing. */
export function readEnvironment(root: string, env: string): Record<string, string> | null {
  const base = join(root, "env", `.env.${env}`);
  if (!existsSync(base)) return null;
  const values = parseDotenv(readFileSync(base));
  const user = join(root, "env", `.env.${env}.user`);
  if (existsSync(user)) Object.assign(values, parseDotenv(readFileSync(user)));
  return values;
}

export async function packageApp(options: PackageOptions): Promise<PackageResult> {
  const { root, env } = options;
  if (!/^[A-Za-z0-9_-]+$/.test(env)) throw new PackageError([`environment name "${env}" is not a plain name`]);
  const values = readEnvironment(root, env);
  if (!values) throw new PackageError([`env/.env.${env} does not exist (environments: one file per name in env/)`]);

  const appDir = join(root, "appPackage");
  const template = readFileSync(join(appDir, "manifest.json"), "utf8");
  const problems: string[] = [];
  const unset = new Set<string>();
  const filled = template.replace(PLACEHOLDER, (_m, name: string) => {
    const value = values[name];
    if (value === undefined || (value === "" && !MAY_BE_EMPTY.test(name))) unset.add(name);
    return JSON.stringify(value ?? "").slice(1, -1);
  });
  // Missing values first and alone: the schema's complaints about the empty ids would only hide them.
  if (unset.size > 0) throw new PackageError([...unset].map((name) => missingValue(root, env, name, values[name])));

  let manifest: Record<string, unknown> = {};
  try {
    manifest = JSON.parse(filled);
  } catch (e) {
    problems.push(`manifest.json is not valid JSON: ${(e as Error).message}`);
  }
  if (Object.keys(manifest).length > 0) problems.push(...(await validateManifest(manifest)));

  const icons = (manifest.icons ?? {}) as { color?: string; outline?: string };
  const files: Record<string, Uint8Array> = {};
  for (const [kind, size] of [
    ["color", 192],
    ["outline", 32],
  ] as const) {
    const name = icons[kind];
    if (typeof name !== "string") continue; // the schema check has reported it
    const path = resolve(appDir, name);
    if (dirname(path) !== appDir) {
      problems.push(`icons.${kind} "${name}" must be a file directly in appPackage/`);
      continue;
    }
    if (!existsSync(path)) {
      problems.push(`icons.${kind}: appPackage/${name} does not exist`);
      continue;
    }
    const bytes = readFileSync(path);
    problems.push(...checkIcon(kind, name, bytes, size));
    files[name] = bytes;
  }

  if (problems.length > 0) throw new PackageError(problems);

  const buildDir = join(appDir, "build");
  mkdirSync(buildDir, { recursive: true });
  const manifestJson = `${JSON.stringify(manifest, null, 2)}\n`;
  const manifestPath = join(buildDir, `manifest.${env}.json`);
  writeFileSync(manifestPath, manifestJson);
  const zipPath = join(buildDir, `appPackage.${env}.zip`);
  // A fixed timestamp keeps the zip byte-identical for identical inputs.
  const mtime = new Date("2020-01-01T00:00:00Z");
  const entries: Record<string, [Uint8Array, { mtime: Date }]> = {
    "manifest.json": [Buffer.from(manifestJson), { mtime }],
  };
  for (const [name, bytes] of Object.entries(files)) entries[name] = [bytes, { mtime }];
  writeFileSync(zipPath, zipSync(entries, { level: 9 }));
  return { zipPath, manifestPath, manifest };
}

/** The project file the toolkit runs for an environment (its own choice: local, playground, or the main one). */
function projectFile(env: string): string {
  return env === "local" || env === "playground" ? `m365agents.${env}.yml` : "m365agents.yml";
}

/** Names an unset manifest value and where it comes from: a provision step's output, or the env file. */
export function missingValue(root: string, env: string, name: string, value: string | undefined): string {
  const what = `\${{${name}}} (manifest.json) is ${value === undefined ? "not defined" : "empty"} in env/.env.${env}`;
  const file = projectFile(env);
  let steps: { uses?: string; with?: { templates?: { path?: string }[] }; writeToEnvironmentFile?: object }[] = [];
  try {
    steps = (parseYaml(readFileSync(join(root, file), "utf8")) as { provision?: typeof steps }).provision ?? [];
  } catch {}
  for (const step of steps) {
    if (Object.values(step.writeToEnvironmentFile ?? {}).includes(name))
      return `${what}: the ${step.uses} step of ${file} writes it; run atk provision --env ${env} first`;
    for (const t of step.uses === "arm/deploy" ? (step.with?.templates ?? []) : []) {
      const bicep = t.path && existsSync(join(root, t.path)) ? readFileSync(join(root, t.path), "utf8") : "";
      if (new RegExp(`^output\\s+${name}\\s`, "m").test(bicep))
        return `${what}: an output of ${(t.path ?? "").replace(/^\.\//, "")} (arm/deploy in ${file}) writes it; run atk provision --env ${env} first`;
    }
  }
  return `${what}: set it there (no provision step of ${file} writes it)`;
}

/** Schema validation against the schema of the manifest's own manifestVersion, from the npm package. */
export async function validateManifest(manifest: Record<string, unknown>): Promise<string[]> {
  const version = manifest.manifestVersion;
  if (typeof version !== "string") return ["manifest.json has no manifestVersion"];
  const expectedUrl = `https://developer.microsoft.com/en-us/json-schemas/teams/v${version}/MicrosoftTeams.schema.json`;
  const problems: string[] = [];
  if (manifest.$schema !== expectedUrl)
    problems.push(`$schema must be ${expectedUrl} for manifestVersion ${version} (got ${String(manifest.$schema)})`);
  let schemaPath: string;
  try {
    schemaPath = require.resolve(
      `@microsoft/app-manifest/build/json-schemas/teams/v${version}/MicrosoftTeams.schema.json`,
    );
  } catch {
    return [
      ...problems,
      `manifestVersion ${version} has no schema in @microsoft/app-manifest (not a released version?)`,
    ];
  }
  // The published schemas contain "\a" in a regex, which JSON.parse refuses; the toolkit rewrites it the same way.
  const schema = JSON.parse(readFileSync(schemaPath, "utf8").replace(/\\a/g, "\\u0007").replace(/\\v/g, "\\u000b"));
  const errors = await AppManifestUtils.validateAgainstSchema(manifest as never, schema);
  for (const e of errors) problems.push(`schema (v${version}): ${e.trim()}`);
  return problems;
}

/** Teams' icon rules: colour 192×192; outline 32×32, white on a transparent background. */
export function checkIcon(kind: "color" | "outline", name: string, bytes: Buffer, size: number): string[] {
  let png: PNG;
  try {
    png = PNG.sync.read(bytes);
  } catch (e) {
    return [`icons.${kind}: ${name} is not a PNG (${(e as Error).message})`];
  }
  const problems: string[] = [];
  if (png.width !== size || png.height !== size)
    problems.push(`icons.${kind}: ${name} is ${png.width}×${png.height}; Teams needs ${size}×${size}`);
  if (kind === "outline") {
    let transparent = 0;
    let notWhite = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const alpha = png.data[i + 3]!;
      if (alpha === 0) transparent++;
      else if (png.data[i] !== 255 || png.data[i + 1] !== 255 || png.data[i + 2] !== 255) notWhite++;
    }
    if (transparent === 0)
      problems.push(`icons.outline: ${name} has no transparent pixel; the outline icon must be white on transparent`);
    if (notWhite > 0)
      problems.push(`icons.outline: ${name} has ${notWhite} visible pixel(s) that are not white (#FFFFFF)`);
  }
  return problems;
}

function parseArgs(argv: readonly string[]): { env: string } | { error: string } {
  let env: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--env") env = argv[++i];
    else if (arg.startsWith("--env=")) env = arg.slice("--env=".length);
    else return { error: `unknown argument "${arg}"` };
  }
  return env ? { env } : { error: "--env is required" };
}

if (require.main === module) {
  const args = parseArgs(process.argv.slice(2));
  if ("error" in args) {
    process.stderr.write(`${args.error}\nusage: npm run package -- --env <environment>   (env/.env.<environment>)\n`);
    process.exit(2);
  }
  packageApp({ root: join(__dirname, ".."), env: args.env }).then(
    (r) => process.stdout.write(`wrote ${r.zipPath}\n`),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
