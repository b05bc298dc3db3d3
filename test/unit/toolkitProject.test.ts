// The Agents Toolkit project is consistent offline: every ${{VAR}} the m365agents*.yml files, the
// manifest and the ARM parameters use is defined by the environment's env file or written by an earlier
// step; every app setting infra/azure.bicep gives syncbot is one loadConfig reads, and loadConfig
// accepts the whole set. The toolkit's own rules (its yaml schema, the arm/deploy placeholder
// expansion) run on the committed files through test/support/toolkit/fxCore.ts, copied from the
// toolkit's npm package; the toolkit itself (atk) and Azure are not reachable here.

import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseDotenv } from "dotenv";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { loadConfig } from "../../src/config";
import {
  type Env,
  getDeployParameters,
  MissingEnvironmentVariablesError,
  readEnv,
  resolve as resolveWith,
  validateYaml,
} from "../support/toolkit/fxCore";

const ROOT = resolve(__dirname, "../..");
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");
const placeholders = (text: string) => [...text.matchAll(/\$\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]!);

/** Set by the toolkit itself, not by a file: the signed-in Microsoft 365 tenant (aka.ms/teamsfx-v5.0-guide). */
const TOOLKIT_BUILT_INS = new Set(["TEAMS_APP_TENANT_ID"]);
const BICEP = read("infra/azure.bicep");
const VAULT = read("infra/keyVault.bicep");
const BICEP_OUTPUTS = [...BICEP.matchAll(/^output\s+([A-Z0-9_]+)\s/gm)].map((m) => m[1]!);

interface Step {
  uses: string;
  with?: Record<string, unknown>;
  writeToEnvironmentFile?: Record<string, string>;
}

/** Names a step adds to the environment: writeToEnvironmentFile, arm/deploy outputs, script ::set-teamsfx-env. */
function written(step: Step): string[] {
  const names = Object.values(step.writeToEnvironmentFile ?? {});
  if (step.uses === "arm/deploy") names.push(...BICEP_OUTPUTS);
  if (step.uses === "script") {
    const run = String(step.with?.run ?? "");
    const file = /node (scripts\/[\w.]+\.js)/.exec(run)?.[1];
    const source = file ? read(file) : run;
    names.push(...[...source.matchAll(/\b(SECRET_[A-Z0-9_]+|[A-Z][A-Z0-9_]+)(?=: \(\) =>|=)/g)].map((m) => m[1]!));
  }
  return names;
}

const UMP_MODES = ["api", "handoff"] as const;
/** The toolkit's placeholder for a name, spelled so no linter takes it for a template slip. */
const ph = (name: string) => "$" + "{{" + name + "}}";
const PROJECTS = [
  { file: "m365agents.yml", env: "dev" },
  { file: "m365agents.local.yml", env: "local" },
  { file: "m365agents.playground.yml", env: "playground" },
];

describe("Agents Toolkit project", () => {
  for (const { file, env } of PROJECTS)
    it(`${file}: every \${{VAR}} is defined in env/.env.${env} or written by an earlier step`, () => {
      const doc = parseYaml(read(file)) as Record<string, unknown>;
      expect(doc.version).toBe("v1.11");
      const defined = new Set([...Object.keys(parseDotenv(read(`env/.env.${env}`))), ...TOOLKIT_BUILT_INS]);
      const missing: string[] = [];
      for (const stage of ["provision", "deploy", "publish"]) {
        const steps = (doc[stage] ?? []) as Step[];
        const known = new Set(defined); // a stage starts from the env file (provision's results are written there)
        if (stage !== "provision")
          for (const s of (doc.provision ?? []) as Step[]) for (const n of written(s)) known.add(n);
        for (const step of steps) {
          expect(step.uses, `${file} ${stage}`).toMatch(/^[a-zA-Z]+\/[a-zA-Z]+$|^script$/);
          let used = placeholders(JSON.stringify(step.with ?? {}));
          // The files a step reads are filled from the same environment.
          if (step.uses === "teamsApp/validateManifest" || step.uses === "teamsApp/zipAppPackage")
            used = used.concat(placeholders(read("appPackage/manifest.json")));
          if (step.uses === "arm/deploy")
            for (const mode of UMP_MODES) used = used.concat(placeholders(read(`infra/azure.parameters.${mode}.json`)));
          if (step.uses === "aadApp/update") used = used.concat(placeholders(read(String(step.with?.manifestPath))));
          for (const name of used) if (!known.has(name)) missing.push(`${stage} ${step.uses}: \${{${name}}}`);
          for (const name of written(step)) known.add(name);
        }
      }
      expect(missing).toEqual([]);
    });

  it("the env files commit no secret: every SECRET_ value is empty", () => {
    for (const env of ["dev", "local", "playground"])
      for (const [k, v] of Object.entries(parseDotenv(read(`env/.env.${env}`))))
        if (k.startsWith("SECRET_")) expect(v, `env/.env.${env} ${k}`).toBe("");
    expect(read(".gitignore")).toMatch(/^env\/\.env\.\*\.user$/m);
  });

  it("uses only the toolkit's real action names", () => {
    const actions = new Set<string>();
    for (const { file } of PROJECTS) {
      const doc = parseYaml(read(file)) as Record<string, Step[]>;
      for (const stage of ["provision", "deploy", "publish"]) for (const s of doc[stage] ?? []) actions.add(s.uses);
    }
    const KNOWN = [
      "teamsApp/create",
      "teamsApp/validateManifest",
      "teamsApp/zipAppPackage",
      "teamsApp/validateAppPackage",
      "teamsApp/update",
      "teamsApp/publishAppPackage",
      "aadApp/create",
      "aadApp/update",
      "botFramework/create",
      "arm/deploy",
      "azureAppService/zipDeploy",
      "cli/runNpmCommand",
      "file/createOrUpdateEnvironmentFile",
      "script",
    ];
    expect([...actions].filter((a) => !KNOWN.includes(a))).toEqual([]);
  });

  it("VS Code offers Debug in Microsoft 365 Agents Playground, wired to tasks that exist", () => {
    const strip = (s: string) => JSON.parse(s);
    const launch = strip(read(".vscode/launch.json"));
    const tasks = strip(read(".vscode/tasks.json"));
    const labels = new Set(tasks.tasks.map((t: { label: string }) => t.label));
    const compound = launch.compounds.find(
      (c: { name: string }) => c.name === "Debug in Microsoft 365 Agents Playground",
    );
    expect(compound).toBeDefined();
    for (const c of launch.compounds) expect(labels.has(c.preLaunchTask), c.preLaunchTask).toBe(true);
    for (const t of tasks.tasks) for (const d of t.dependsOn ?? []) expect(labels.has(d), d).toBe(true);
    const scripts = JSON.parse(read("package.json")).scripts;
    for (const t of tasks.tasks)
      if (t.type === "shell") expect(scripts[/^npm run ([\w:-]+)/.exec(t.command)![1]!], t.command).toBeDefined();
  });
});

describe("infra/azure.bicep", () => {
  // App Service platform settings, read by Azure and not by syncbot.
  const PLATFORM = new Set(["SCM_DO_BUILD_DURING_DEPLOYMENT"]);
  const settings = [...BICEP.matchAll(/\{ name: '([A-Za-z_][A-Za-z0-9_]*)', value: (.*) \}/g)].map((m) => ({
    name: m[1]!,
    value: m[2]!,
  }));

  /** A plausible runtime value for each Bicep expression (what Azure resolves it to). */
  function runtimeValue(name: string, expr: string): string {
    if (/^'[^'$]*'$/.test(expr)) return expr.slice(1, -1);
    if (expr.startsWith("'@Microsoft.KeyVault(")) {
      if (name === "HANDOFF_KEY") return randomBytes(32).toString("base64");
      return "a-key-vault-secret-of-43-characters-xxxxxxxx";
    }
    if (/insights\.properties\.ConnectionString/.test(expr))
      return "InstrumentationKey=0d5b1c2e-3f40-4a51-8b62-7c8d9e0f1a2b;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/;ApplicationId=1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
    if (/clientId|tenantId/.test(expr)) return "0d5b1c2e-3f40-4a51-8b62-7c8d9e0f1a2b";
    if (/primaryEndpoints\.table/.test(expr)) return "https://syncbotabc.table.core.windows.net/";
    if (/azurewebsites\.net/.test(expr)) return "https://syncbot-abc.azurewebsites.net";
    if (name === "UMP_BASE_URL") return "https://ump.example.net/api/ump-adapter/v1";
    if (name === "SP_TENANT_ID") return "5f3c2a10-1b2c-4d3e-8f40-0a1b2c3d4e5f";
    if (name === "PUBLIC_BASE_URL") return "https://syncbot.example.net";
    if (name === "UMP_TARGET") return "api";
    if (name === "APPROVAL_POLICY") return "global-admin";
    if (name === "APPROVER_IDS") return "11111111-1111-4111-8111-111111111111";
    if (name === "DEFAULT_SP_FQDN") return "ump.example.net";
    if (name === "SSO_RESOURCE")
      return "api://syncbot-abc.azurewebsites.net/botid-0d5b1c2e-3f40-4a51-8b62-7c8d9e0f1a2b";
    if (name === "APPROVAL_AUTH_CONTEXT") return "c1";
    return "x";
  }

  it("sets only variables loadConfig reads, and loadConfig accepts them as Azure resolves them", () => {
    expect(settings.length).toBeGreaterThan(15);
    const env: Record<string, string> = {};
    for (const s of settings) env[s.name] = runtimeValue(s.name, s.value);
    const read = new Set<string>();
    const spy = new Proxy(env, {
      get(target, key) {
        if (typeof key === "string") read.add(key);
        return Reflect.get(target, key);
      },
    });
    const config = loadConfig(spy);
    const unknown = settings.map((s) => s.name).filter((n) => !PLATFORM.has(n) && !read.has(n));
    expect(unknown).toEqual([]);
    expect(config).toMatchObject({
      microsoftAppType: "UserAssignedMSI",
      graphCredential: "managed-identity",
      store: {
        kind: "azure-tables",
        endpoint: "https://syncbotabc.table.core.windows.net",
        connectionString: undefined,
      },
    });
    expect(config.handoffKey?.length).toBe(32);
    // Telemetry comes from the in-code exporter only: no autoinstrumentation agent sending it twice.
    expect(config.applicationInsightsConnectionString).toMatch(/^InstrumentationKey=/);
    expect(settings.map((s) => s.name)).not.toContain("ApplicationInsightsAgent_EXTENSION_VERSION");
  });

  it("has what the issue asks of the resources: MSI bot, Teams channel, hardened App Service, RBAC, Key Vault", () => {
    expect(BICEP).toMatch(/msaAppType: 'UserAssignedMSI'/);
    expect(BICEP).toMatch(/msaAppMSIResourceId: identity\.id/);
    expect(BICEP).toMatch(/channelName: 'MsTeamsChannel'/);
    for (const p of [
      /alwaysOn: true/,
      /healthCheckPath: '\/healthz'/,
      /httpsOnly: true/,
      /ftpsState: 'Disabled'/,
      /minTlsVersion: '1\.2'/,
      /linuxFxVersion: 'NODE\|22-lts'/,
      /allowSharedKeyAccess: false/,
      /keyVaultReferenceIdentity: identity\.id/,
    ])
      expect(BICEP).toMatch(p);
    // Storage Table Data Contributor and Key Vault Secrets User, by their built-in role ids.
    expect(BICEP).toContain("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3");
    expect(VAULT).toContain("4633458b-17de-408a-b874-0445c86b69e6");
    expect(BICEP).not.toMatch(/listKeys|AccountKey|MicrosoftAppPassword/);
    for (const secret of ["JOBS_KEY", "HANDOFF_KEY", "UMP_TOKEN"]) {
      const s = settings.find((x) => x.name === secret);
      expect(s?.value, secret).toMatch(/^'@Microsoft\.KeyVault\(VaultName=\$\{vaultName\};SecretName=[A-Z-]+\)'$/);
    }
  });

  it("the parameters files carry no literal secret: secure parameters come from SECRET_ variables", () => {
    const secure = [...BICEP.matchAll(/@secure\(\)\s*(?:@description\('[^']*'\)\s*)?param\s+(\w+)/g)].map((m) => m[1]!);
    expect(secure.sort()).toEqual(["ssoAppClientSecret", "umpToken"]);
    const declared = new Set([...BICEP.matchAll(/^param\s+(\w+)/gm)].map((m) => m[1]!));
    for (const mode of UMP_MODES) {
      const params = JSON.parse(read(`infra/azure.parameters.${mode}.json`)).parameters as Record<
        string,
        { value: string }
      >;
      for (const name of secure)
        if (params[name]) expect(params[name].value, name).toMatch(/^\$\{\{SECRET_[A-Z_]+\}\}$/);
      for (const name of Object.keys(params)) expect(declared.has(name), `${mode}: ${name}`).toBe(true);
      expect(params.umpTarget?.value).toBe(mode);
    }
    // Handoff mode passes neither the UMP URL nor its token.
    expect(read("infra/azure.parameters.handoff.json")).not.toMatch(/UMP_BASE_URL|SECRET_UMP_TOKEN/);
  });

  it("has what issue 18 asks: tenant check, custom domain, no basic auth, a vault that survives delete-and-provision", () => {
    // SP_TENANT_ID defaults to the subscription's tenant, and any other value fails the deployment.
    expect(BICEP).toMatch(/^param spTenantId string = tenant\(\)\.tenantId$/m);
    expect(BICEP).toMatch(
      /^var spTenant = \{ '\$\{tenant\(\)\.tenantId\}': tenant\(\)\.tenantId \}\[spTenantRequested\]$/m,
    );
    expect(settings.find((x) => x.name === "SP_TENANT_ID")?.value).toBe("spTenant");
    // PUBLIC_BASE_URL: a parameter, defaulting to the app's own host name.
    expect(BICEP).toMatch(/^param publicBaseUrl string = ''$/m);
    expect(BICEP).toMatch(
      /publicUrl = contains\(unset, publicBaseUrl\) \? 'https:\/\/\$\{appName\}\.azurewebsites\.net' : publicBaseUrl/,
    );
    expect(settings.find((x) => x.name === "PUBLIC_BASE_URL")?.value).toBe("publicUrl");
    // Basic-auth publishing credentials off for both SCM and FTP.
    for (const kind of ["scm", "ftp"])
      expect(BICEP).toMatch(
        new RegExp(
          `'Microsoft\\.Web/sites/basicPublishingCredentialsPolicies@[\\d-]+' = \\{\\s*parent: app\\s*name: '${kind}'\\s*properties: \\{ allow: false \\}`,
        ),
      );
    // Every optional parameter the parameters files may pass as 'none' is mapped back to its default.
    for (const p of ["spTenantId", "approverIds", "defaultSpFqdn", "publicBaseUrl"])
      expect(BICEP, p).toMatch(new RegExp(`contains\\(unset, ${p}\\)`));
    expect(BICEP).toMatch(/^var unset = \['', 'none'\]$/m);
    // The vault: named from the identity's principal id (new after a delete), keys created in Azure only
    // when absent, syncbot's identity read-only.
    expect(BICEP).toMatch(/module keyVault 'keyVault\.bicep'/);
    expect(BICEP).toMatch(/identityPrincipalId: identity\.properties\.principalId/);
    expect(VAULT).toMatch(
      /^var vaultName = take\('.*uniqueString\(identityPrincipalId, resourceGroup\(\)\.id\)\}', 24\)$/m,
    );
    expect(VAULT).toMatch(/enablePurgeProtection: true/);
    expect(VAULT).toMatch(/scriptContent: loadTextContent\('ensureKeys\.sh'\)/);
    expect(VAULT).not.toMatch(/name: '(JOBS|HANDOFF)-KEY'/);
    expect(VAULT).toContain("4633458b-17de-408a-b874-0445c86b69e6"); // Key Vault Secrets User (syncbot)
    expect(VAULT).toContain("b86a8fe4-44ce-4948-aee5-eccb2c155cd7"); // Key Vault Secrets Officer (the script)
  });
});

/** The operator's values as the README gives them: each ```dotenv block of "Running against a real tenant". */
function readmeValues(): { mode: string; dotEnv: Env; dotEnvUser: Env }[] {
  const readme = read("README.md");
  const section = readme.slice(
    readme.indexOf("## Running against a real tenant"),
    readme.indexOf("## How it is built"),
  );
  const blocks = [...section.matchAll(/```dotenv\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.map((block) => {
    const files: Record<string, Env> = { "env/.env.dev": {}, "env/.env.dev.user": {} };
    let target = "env/.env.dev";
    for (const line of block.split("\n").map((l) => l.trim())) {
      const file = /^# file: (\S+)/.exec(line)?.[1];
      if (file) target = file;
      else if (/^[A-Z_][A-Z0-9_]*=/.test(line))
        files[target]![line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
    }
    const dotEnv = { ...parseDotenv(read("env/.env.dev")), ...files["env/.env.dev"] };
    return { mode: dotEnv.UMP_TARGET!, dotEnv, dotEnvUser: files["env/.env.dev.user"]! };
  });
}

/** A value as the step that writes `name` makes it: ids are GUIDs, SECRET_ values are client secrets. */
function provisionOutput(name: string): string {
  if (name.startsWith("SECRET_")) return "Xq8Q~simulated.client-secret.of.40.chars~";
  const n = [...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
  return `3b1c2d4e-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

interface ArmStep {
  subscriptionId: string;
  resourceGroupName: string;
  bicepCliVersion?: string;
  templates: { path: string; parameters: string; deploymentName: string }[];
}

/** What `atk provision --env dev` does up to and including arm/deploy, with the toolkit's own functions. */
function provisionArmDeploy(env: Env, root = ROOT): { unresolved: string[]; parameters: Record<string, unknown>[] } {
  const doc = parseYaml(readFileSync(join(root, "m365agents.yml"), "utf8")) as { provision: Step[] };
  const known: Env = { ...env };
  const unresolved: string[] = [];
  for (const step of doc.provision) {
    const args = resolveWith(step.with ?? {}, known, [], unresolved) as Record<string, unknown>;
    if (step.uses === "arm/deploy") {
      const arm = args as unknown as ArmStep;
      return {
        unresolved,
        parameters: arm.templates.map((t) => getDeployParameters(root, t.parameters, known).parameters),
      };
    }
    // Earlier steps' results: fx-core's Lifecycle.executeImpl (configManager/lifecycle.js) sets each
    // output into process.env, over the env file's empty `NAME=`, so later steps expand it. A step finds
    // what an earlier provision wrote and returns it again (aadApp/create reuses AAD_APP_CLIENT_ID and its
    // secret, the scope script keeps its id); on the first provision the value is new.
    for (const name of written(step)) if (!known[name]) known[name] = provisionOutput(name);
  }
  throw new Error("m365agents.yml has no arm/deploy step");
}

describe("the toolkit's own rules on the committed project", () => {
  it("the three m365agents*.yml files are valid against the toolkit's yaml schema (v1.11)", () => {
    for (const { file } of PROJECTS)
      expect(validateYaml(parseYaml(read(file))), file).toEqual({ valid: true, errors: [] });
  });

  it("arm/deploy pins the Bicep CLI (a release tag the toolkit downloads)", () => {
    const doc = parseYaml(read("m365agents.yml")) as { provision: Step[] };
    const arm = doc.provision.find((s) => s.uses === "arm/deploy")?.with as unknown as ArmStep;
    expect(arm.bicepCliVersion).toMatch(/^v0\.\d+\.\d+$/);
  });

  it("README gives the operator's values for both UMP modes", () => {
    expect(readmeValues().map((v) => v.mode)).toEqual(["api", "handoff"]);
  });

  for (const mode of UMP_MODES)
    it(`UMP_TARGET=${mode}: with the committed env files plus only the README's values, arm/deploy expands every placeholder`, () => {
      const values = readmeValues().find((v) => v.mode === mode)!;
      const env = readEnv({}, values.dotEnv, values.dotEnvUser, "dev");
      const { unresolved, parameters } = provisionArmDeploy(env);
      expect(unresolved).toEqual([]);
      expect(parameters).toHaveLength(1);
      const params = parameters[0] as Record<string, { value: string }>;
      // Every parameter without a default in the Bicep file is given; unset optional ones arrive as 'none'.
      const required = [...BICEP.matchAll(/^param\s+(\w+)\s+\w+\s*$/gm)].map((m) => m[1]!);
      for (const name of required) expect(params[name]?.value, name).toBeTruthy();
      expect(params.umpTarget?.value).toBe(mode);
      expect(params.approverIds?.value).toBe("none");
      if (mode === "api") expect(params.umpToken?.value).toBe(values.dotEnvUser.SECRET_UMP_TOKEN);
      else expect(params.umpToken).toBeUndefined();
      // The SSO app registration aadApp/create made earlier in the same provision (issue 16B).
      expect(params.ssoAppClientId?.value).toBe(provisionOutput("AAD_APP_CLIENT_ID"));
      expect(params.ssoAppClientSecret?.value).toBe(provisionOutput("SECRET_AAD_APP_CLIENT_SECRET"));
      expect(params.approvalAuthContext?.value).toBe(values.dotEnv.APPROVAL_AUTH_CONTEXT);
    });

  it("a parameters file that leaves a placeholder unexpanded fails, as the toolkit fails (MissingEnvironmentVariablesError)", () => {
    // The parameters file before issue 18: an optional setting left empty in env/.env.dev reached it.
    const root = mkdtempSync(join(tmpdir(), "syncbot-atk-"));
    try {
      writeFileSync(
        join(root, "m365agents.yml"),
        read("m365agents.yml").replace(`./infra/azure.parameters.${ph("UMP_TARGET")}.json`, "./params.json"),
      );
      writeFileSync(
        join(root, "params.json"),
        JSON.stringify({ parameters: { approverIds: { value: ph("APPROVER_IDS") }, umpTarget: { value: "api" } } }),
      );
      const values = readmeValues().find((v) => v.mode === "api")!;
      const env = readEnv({}, { ...values.dotEnv, APPROVER_IDS: "" }, values.dotEnvUser, "dev");
      expect(() => provisionArmDeploy(env, root)).toThrow(MissingEnvironmentVariablesError);
      expect(() => provisionArmDeploy(env, root)).toThrow(/'APPROVER_IDS'/);
      // And the committed api file, in api mode, without the token the README says to set.
      expect(() => provisionArmDeploy(readEnv({}, values.dotEnv, {}, "dev"))).toThrow(/'SECRET_UMP_TOKEN'/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
