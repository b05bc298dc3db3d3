// The Agents Toolkit's own rules for the project files, copied so the tests can run them offline (the
// CLI, @microsoft/m365agentstoolkit-cli 1.1.17, pulls in about 1,000 packages). Each function below is a
// faithful TypeScript copy of the JavaScript in @microsoft/teamsfx-core 3.1.3 (the fx-core the CLI
// 1.1.17 depends on, pinned there as "3.1.3"), file and function named beside it; only types were
// added and `process.env` became a parameter. yaml.schema.v1.11.json beside this file is that package's
// resource/yaml-schema/v1.11/yaml.schema.json, unchanged but for formatting.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";

export type Env = Record<string, string | undefined>;

/** build/component/utils/common.js: `placeholderRegex`. */
const placeholderRegex = /\${{ *[a-zA-Z_][a-zA-Z0-9_]* *}}/g;

/** build/component/utils/common.js: `expandEnvironmentVariable(content, envs)`. */
export function expandEnvironmentVariable(content: string, envs: Env): string {
  const placeholders = content.match(placeholderRegex);
  if (placeholders) {
    for (const placeholder of placeholders) {
      const envName = placeholder.slice(3, -2).trim(); // removes `${{` and `}}`
      const envValue = envs[envName];
      if (envName === "APP_NAME_SUFFIX") {
        if (envValue !== undefined && envValue !== null) {
          content = content.replace(placeholder, envValue);
        }
      } else {
        if (envValue) {
          content = content.replace(placeholder, envValue);
        }
      }
    }
  }
  return content;
}

/** build/component/utils/common.js: `getEnvironmentVariables(content)`. */
export function getEnvironmentVariables(content: string): string[] {
  const placeholders = content.match(placeholderRegex);
  if (placeholders) {
    const variables = placeholders.map((placeholder) => placeholder.slice(3, -2).trim());
    return [...new Set(variables)];
  }
  return [];
}

/** The message of build/error/common.js `MissingEnvironmentVariablesError` (resource/package.nls.json). */
export class MissingEnvironmentVariablesError extends Error {
  constructor(
    readonly source: string,
    readonly variableNames: string,
    filePath: string,
  ) {
    super(
      `Missing environment variables '${variableNames.split(",").join(", ")}' for file: ${filePath}. Please edit the .env file or the .env.user file, or adjust system environment variables.`,
    );
  }
}

/**
 * build/component/driver/arm/deployImpl.js: `ArmDeployImpl.getDeployParameters` and
 * `checkPlaceholderInTemplate`: the parameters file as arm/deploy sends it to Azure.
 */
export function getDeployParameters(
  projectPath: string,
  parameters: string,
  envs: Env,
): { parameters: Record<string, { value: unknown }> } {
  const filePath = join(projectPath, parameters);
  const template = readFileSync(filePath, "utf8");
  const parameterJsonString = expandEnvironmentVariable(template, envs);
  const tokens = getEnvironmentVariables(parameterJsonString);
  if (tokens.length > 0) throw new MissingEnvironmentVariablesError("arm", tokens.join(","), filePath);
  return JSON.parse(parameterJsonString);
}

/** build/component/configManager/lifecycle.js: `allowedEmptyKeys`. */
const allowedEmptyKeys = ["APP_NAME_SUFFIX"];
/** build/component/constants.js: `OpenAIEnvironmentVariables` and `AzureEnvironmentVariables` (may stay unresolved). */
const mayStayUnresolved = new Set([
  "OPENAI_API_KEY",
  "AZURE_OPENAI_API_KEY",
  "SECRET_OPENAI_API_KEY",
  "SECRET_AZURE_OPENAI_API_KEY",
  "AZURE_OPENAI_ENDPOINT",
  "AZURE_OPENAI_DEPLOYMENT_NAME",
  "AZURE_OPENAI_MODEL_DEPLOYMENT_NAME",
  "OPENAI_ASSISTANT_ID",
  "AZURE_SEARCH_KEY",
  "SECRET_AZURE_SEARCH_KEY",
  "AZURE_SEARCH_ENDPOINT",
]);

/** build/component/configManager/lifecycle.js: `resolveString(val, resolved, unresolved)`: a step's `with` values. */
export function resolveString(val: string, envs: Env, resolved: string[], unresolved: string[]): string {
  const placeHolderReg = /\${{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*}}/g;
  let matches = placeHolderReg.exec(val);
  let newVal = val;
  while (matches != null) {
    const envVar = matches[1]!;
    const envVal = envs[envVar];
    if (allowedEmptyKeys.includes(envVar)) {
      if (envVal === undefined || envVal === null) unresolved.push(envVar);
      else {
        resolved.push(envVar);
        newVal = newVal.replace(matches[0], envVal);
      }
    } else if (mayStayUnresolved.has(envVar)) {
      if (envVal) {
        resolved.push(envVar);
        newVal = newVal.replace(matches[0], envVal);
      }
    } else {
      if (!envVal) unresolved.push(envVar);
      else {
        resolved.push(envVar);
        newVal = newVal.replace(matches[0], envVal);
      }
    }
    matches = placeHolderReg.exec(val);
  }
  return newVal;
}

/** build/component/configManager/lifecycle.js: `resolve(input, resolved, unresolved)`, recursive over `with`. */
export function resolve(input: unknown, envs: Env, resolved: string[], unresolved: string[]): unknown {
  if (typeof input === "string") return resolveString(input, envs, resolved, unresolved);
  if (Array.isArray(input)) return input.map((e) => resolve(e, envs, resolved, unresolved));
  if (input !== null && typeof input === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) out[k] = resolve(v, envs, resolved, unresolved);
    return out;
  }
  return input;
}

/** build/component/utils/envUtil.js: `mergeEnv`: a key empty in the first is filled from the second. */
function mergeEnv(higher: Env, lower: Env): void {
  for (const key of Object.keys(lower)) if (!higher[key]) higher[key] = lower[key];
}

/**
 * build/component/utils/envUtil.js: `EnvUtil.readEnv`: process.env, then env/.env.<env>, then
 * env/.env.<env>.user ("'process.env' has higher priority than '.env.xxx'"; an empty value counts as unset).
 */
export function readEnv(processEnv: Env, dotEnv: Env, dotEnvUser: Env, env: string): Env {
  const file: Env = { ...dotEnv };
  mergeEnv(file, dotEnvUser);
  file.TEAMSFX_ENV = env;
  const out: Env = { ...processEnv };
  mergeEnv(out, file);
  return out;
}

/** build/component/configManager/validator.js: `Validator.initVersion`/`validate` for the yaml's version. */
export function validateYaml(doc: unknown): { valid: boolean; errors: string[] } {
  const ajv = new Ajv({ allowUnionTypes: true });
  ajv.addKeyword("deprecationMessage");
  const schema = JSON.parse(readFileSync(join(__dirname, "yaml.schema.v1.11.json"), "utf8"));
  const validate = ajv.compile(schema);
  const valid = !!validate(doc);
  return { valid, errors: (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`) };
}
