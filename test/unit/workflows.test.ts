// The GitHub Actions workflows, validated offline: they parse, CI runs what the README says CI runs on
// every push and pull request, and the deploy workflow signs in to Azure with OpenID Connect (no stored
// Azure secret, `id-token: write`), checks the deployer's roles before anything is created, and runs
// the toolkit CLI's provision, deploy and publish for `dev`.

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const ROOT = resolve(__dirname, "../..");
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");

interface WorkflowStep {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  id?: string;
  with?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, { permissions?: Record<string, string>; steps: WorkflowStep[]; env?: Record<string, string> }>;
}
const workflow = (file: string) => parseYaml(read(`.github/workflows/${file}`)) as Workflow;
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((j) => j.steps);
/** Index of the first step matching, -1 when none does. */
const indexOf = (list: WorkflowStep[], test: (s: WorkflowStep) => boolean) => list.findIndex(test);

describe("GitHub Actions workflows", () => {
  it("CI runs the README's CI command on every push and pull request", () => {
    const ci = workflow("ci.yml");
    expect(Object.keys(ci.on).sort()).toEqual(["pull_request", "push"]);
    // No branch filter: every push and every pull request.
    expect(ci.on.push ?? null).toBeNull();
    expect(ci.on.pull_request ?? null).toBeNull();
    expect(ci.permissions).toEqual({ contents: "read" });
    const readme = read("README.md");
    expect(readme).toContain("`bash .ci/run` is what CI runs");
    expect(steps(ci).some((s) => s.run?.trim() === "bash .ci/run")).toBe(true);
  });

  it("deploy: OIDC azure/login (no secret), role preflight, then atk provision, deploy and publish for dev", () => {
    const deploy = workflow("deploy.yml");
    expect(deploy.permissions).toEqual({ "id-token": "write", contents: "read" });
    for (const job of Object.values(deploy.jobs)) expect(job.permissions).toBeUndefined();
    const list = steps(deploy);

    const login = indexOf(list, (s) => /^azure\/login@v\d+$/.test(s.uses ?? ""));
    expect(login).toBeGreaterThanOrEqual(0);
    const loginWith = list[login]!.with ?? {};
    expect(Object.keys(loginWith).sort()).toEqual(["client-id", "subscription-id", "tenant-id"]);
    // Ids, not secrets: OIDC needs no stored credential (no `creds`, no client secret).
    for (const v of Object.values(loginWith)) expect(v).toMatch(/^\$\{\{ vars\.[A-Z_]+ \}\}$/);
    expect(read(".github/workflows/deploy.yml")).not.toMatch(/secrets\.AZURE_|creds:|client-secret/);

    const preflight = indexOf(list, (s) => /scripts\/checkDeployerRole\.sh/.test(s.run ?? ""));
    const install = indexOf(list, (s) =>
      /npm install -g @microsoft\/m365agentstoolkit-cli@\d+\.\d+\.\d+/.test(s.run ?? ""),
    );
    const atk = (cmd: string) => indexOf(list, (s) => new RegExp(`^atk ${cmd} --env dev\\b`).test(s.run?.trim() ?? ""));
    const [provision, deployStep, publish] = [atk("provision"), atk("deploy"), atk("publish")];
    for (const [name, i] of Object.entries({ preflight, install, provision, deployStep, publish }))
      expect(i, name).toBeGreaterThan(login);
    expect(preflight).toBeLessThan(provision);
    expect(install).toBeLessThan(provision);
    expect(provision).toBeLessThan(deployStep);
    expect(deployStep).toBeLessThan(publish);

    // The toolkit's one-run Azure secret is deleted whatever happened.
    const cleanup = list.at(-1)!;
    expect(cleanup.run).toMatch(/az ad app credential delete/);
    expect(cleanup.if).toMatch(/^always\(\)/);
    // Zip deploy with the Entra token only: basic-auth publishing is off in infra/azure.bicep.
    expect(Object.values(deploy.jobs)[0]!.env?.TEAMSFX_AAD_DEPLOY_ONLY).toBe("true");
  });

  it("the deploy workflow's preflight names the three roles the README names", () => {
    const script = read("scripts/checkDeployerRole.sh");
    for (const role of ["Owner", "User Access Administrator", "Role Based Access Control Administrator"]) {
      expect(script).toContain(`"${role}"`);
      expect(read("README.md")).toContain(`**${role}**`);
    }
    expect(script).toMatch(/az role assignment list .*--include-inherited/);
  });
});
