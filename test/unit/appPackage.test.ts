// `npm run package -- --env <env>`: the Teams app package is built only from a manifest that passes the
// schema shipped in @microsoft/app-manifest and icons that follow Teams' rules; every problem is named.

import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unzipSync } from "fflate";
import { PNG } from "pngjs";
import { afterAll, describe, expect, it } from "vitest";
import { PackageError, packageApp } from "../../scripts/packageApp";
import { parse as parseDotenv } from "dotenv";

const ROOT = resolve(__dirname, "../..");
const APP_ID = "3f1c2b4a-5d6e-4f70-8a91-b2c3d4e5f607";
const BOT_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of the project's appPackage/ with an env file, so a test can break one thing at a time. */
function project(env: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "syncbot-pkg-"));
  dirs.push(root);
  cpSync(join(ROOT, "appPackage"), join(root, "appPackage"), {
    recursive: true,
    filter: (src) => !src.includes(`${join("appPackage", "build")}`),
  });
  mkdirSync(join(root, "env"));
  writeFileSync(
    join(root, "env", ".env.dev"),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n"),
  );
  return root;
}
/** The toolkit's placeholder for a name, spelled so no linter takes it for a template slip. */
const ph = (name: string) => "$" + "{{" + name + "}}";
const GOOD = {
  TEAMSFX_ENV: "dev",
  APP_NAME_SUFFIX: "",
  TEAMS_APP_ID: APP_ID,
  BOT_ID,
  BOT_DOMAIN: "syncbot.example.net",
  AAD_APP_CLIENT_ID: "3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
};

async function problemsOf(root: string): Promise<string[]> {
  try {
    await packageApp({ root, env: "dev" });
  } catch (e) {
    expect(e).toBeInstanceOf(PackageError);
    return (e as PackageError).problems;
  }
  throw new Error("expected the package to be refused");
}

describe("npm run package", () => {
  it("fills the placeholders, validates, and zips manifest.json and both icons", async () => {
    const root = project(GOOD);
    const { zipPath } = await packageApp({ root, env: "dev" });
    expect(zipPath).toBe(join(root, "appPackage", "build", "appPackage.dev.zip"));
    const files = unzipSync(readFileSync(zipPath));
    expect(Object.keys(files).sort()).toEqual(["color.png", "manifest.json", "outline.png"]);
    const manifest = JSON.parse(Buffer.from(files["manifest.json"]!).toString("utf8"));
    expect(manifest.id).toBe(APP_ID);
    expect(manifest.bots[0].botId).toBe(BOT_ID);
    expect(manifest.validDomains).toEqual(["syncbot.example.net"]);
    // Verified approvals: Teams SSO for the bot's resource (the audience of approvers' tokens).
    expect(manifest.webApplicationInfo).toEqual({
      id: "3c1d2e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
      resource: `api://syncbot.example.net/botid-${BOT_ID}`,
    });
    expect(manifest.name.short).toBe("syncbot");
    expect(manifest.manifestVersion).toBe("1.29");
    expect(JSON.stringify(manifest)).not.toContain("${{");
    expect(Buffer.from(files["color.png"]!).equals(readFileSync(join(ROOT, "appPackage", "color.png")))).toBe(true);
  });

  it("the committed icons follow Teams' rules: 192×192 colour, 32×32 white on transparent", () => {
    const color = PNG.sync.read(readFileSync(join(ROOT, "appPackage", "color.png")));
    expect([color.width, color.height]).toEqual([192, 192]);
    const colours = new Set<string>();
    for (let i = 0; i < color.data.length; i += 4)
      colours.add(`${color.data[i]},${color.data[i + 1]},${color.data[i + 2]}`);
    expect(colours.size).toBeGreaterThan(50); // a drawing, not a flat placeholder
    const outline = PNG.sync.read(readFileSync(join(ROOT, "appPackage", "outline.png")));
    expect([outline.width, outline.height]).toEqual([32, 32]);
    let transparent = 0;
    let opaqueWhite = 0;
    for (let i = 0; i < outline.data.length; i += 4) {
      if (outline.data[i + 3] === 0) transparent++;
      else {
        expect([outline.data[i], outline.data[i + 1], outline.data[i + 2]]).toEqual([255, 255, 255]);
        if (outline.data[i + 3] === 255) opaqueWhite++;
      }
    }
    expect(transparent).toBeGreaterThan(200);
    expect(opaqueWhite).toBeGreaterThan(50);
  });

  it("refuses a manifest the schema refuses, naming the field", async () => {
    const root = project(GOOD);
    const path = join(root, "appPackage", "manifest.json");
    const m = JSON.parse(readFileSync(path, "utf8"));
    delete m.developer;
    m.bots[0].scopes = ["everywhere"];
    writeFileSync(path, JSON.stringify(m));
    const problems = (await problemsOf(root)).join("\n");
    expect(problems).toMatch(/must have required property 'developer'/);
    expect(problems).toMatch(/\/bots\/0\/scopes\/0/);
    expect(() => readFileSync(join(root, "appPackage", "build", "appPackage.dev.zip"))).toThrow();
  });

  it("refuses an id that is not a GUID, and an undefined or empty placeholder", async () => {
    expect((await problemsOf(project({ ...GOOD, TEAMS_APP_ID: "not-a-guid" }))).join("\n")).toMatch(/^schema.*\/id/m);
    const { BOT_DOMAIN: _omit, ...noDomain } = GOOD;
    // This copy has no m365agents.yml: no step to name, so the env file is where the value goes.
    expect(await problemsOf(project(noDomain))).toEqual([
      `${ph("BOT_DOMAIN")} (manifest.json) is not defined in env/.env.dev: set it there (no provision step of m365agents.yml writes it)`,
    ]);
    expect(await problemsOf(project({ ...GOOD, BOT_ID: "" }))).toEqual([
      `${ph("BOT_ID")} (manifest.json) is empty in env/.env.dev: set it there (no provision step of m365agents.yml writes it)`,
    ]);
  });

  it("before the first provision (the committed env/.env.dev): names each missing id and the step that writes it", async () => {
    const root = project(parseDotenv(readFileSync(join(ROOT, "env", ".env.dev"))));
    cpSync(join(ROOT, "m365agents.yml"), join(root, "m365agents.yml"));
    cpSync(join(ROOT, "infra"), join(root, "infra"), { recursive: true });
    const problems = await problemsOf(root);
    expect(problems).toEqual([
      `${ph("TEAMS_APP_ID")} (manifest.json) is empty in env/.env.dev: the teamsApp/create step of m365agents.yml writes it; run atk provision --env dev first`,
      `${ph("BOT_ID")} (manifest.json) is empty in env/.env.dev: an output of infra/azure.bicep (arm/deploy in m365agents.yml) writes it; run atk provision --env dev first`,
      `${ph("BOT_DOMAIN")} (manifest.json) is empty in env/.env.dev: an output of infra/azure.bicep (arm/deploy in m365agents.yml) writes it; run atk provision --env dev first`,
      // webApplicationInfo.id (verified approvals): the SSO app registration's client id.
      `${ph("AAD_APP_CLIENT_ID")} (manifest.json) is empty in env/.env.dev: the aadApp/create step of m365agents.yml writes it; run atk provision --env dev first`,
    ]);
    // Not the schema's pattern errors about the empty ids.
    expect(problems.join("\n")).not.toMatch(/schema|pattern/);
  });

  it("refuses an opaque outline icon and a colour icon of the wrong size", async () => {
    const root = project(GOOD);
    const square = new PNG({ width: 32, height: 32 });
    square.data.fill(255); // white, alpha 255 everywhere: the old placeholder
    writeFileSync(join(root, "appPackage", "outline.png"), PNG.sync.write(square));
    const small = new PNG({ width: 96, height: 96 });
    small.data.fill(128);
    writeFileSync(join(root, "appPackage", "color.png"), PNG.sync.write(small));
    const problems = await problemsOf(root);
    expect(problems).toContain(
      "icons.outline: outline.png has no transparent pixel; the outline icon must be white on transparent",
    );
    expect(problems).toContain("icons.color: color.png is 96×96; Teams needs 192×192");
  });

  it("refuses a coloured outline icon", async () => {
    const root = project(GOOD);
    const icon = new PNG({ width: 32, height: 32 });
    for (let i = 0; i < icon.data.length; i += 4) icon.data.set([0x1f, 0x6f, 0xeb, i < 2048 ? 255 : 0], i);
    writeFileSync(join(root, "appPackage", "outline.png"), PNG.sync.write(icon));
    expect(await problemsOf(root)).toContain(
      "icons.outline: outline.png has 512 visible pixel(s) that are not white (#FFFFFF)",
    );
  });

  it("reads env/.env.<env>.user over env/.env.<env>, and refuses a missing environment", async () => {
    const root = project({ ...GOOD, BOT_ID: "" });
    writeFileSync(join(root, "env", ".env.dev.user"), `BOT_ID=${BOT_ID}\n`);
    const { manifest } = await packageApp({ root, env: "dev" });
    expect((manifest.bots as { botId: string }[])[0]!.botId).toBe(BOT_ID);
    await expect(packageApp({ root, env: "prod" })).rejects.toThrow("env/.env.prod does not exist");
  });
});
