// `npm run doctor` as a deployment pipeline runs it: the real CLI in a child process (tsx
// src/doctorCli.ts), configured only by environment variables, against the strict emulators. It exits
// non-zero on a failure and prints one line per check.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/botProcess";
import { type Stack, startStack } from "../support/stack";

let stack: Stack;

function runDoctor(env: Record<string, string>) {
  return runCli("doctorCli.ts", [], env, stack.dataDir);
}

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.stop();
});

describe("npm run doctor", () => {
  it("exits 0 with warnings only, and 1 naming the failure and what to do when UMP refuses its token", async () => {
    const fine = await runDoctor(stack.env);
    expect(fine.stdout).toMatch(/^OK {3}Graph reachable: Graph answered$/m);
    expect(fine.stdout).toMatch(/^OK {3}UMP: reachable, token accepted$/m);
    expect(fine.stdout).toMatch(/^OK {3}Store: writable$/m);
    // Its token (GRAPH_CREDENTIAL=client-secret at the Entra stand-in) names what it holds.
    expect(fine.stdout).toMatch(
      /^OK {3}Graph permissions: holds Application\.ReadWrite\.OwnedBy, RoleManagement\.Read\.Directory: what the configuration needs$/m,
    );
    expect(fine.stdout).toMatch(/^WARN Bot identity: BOT_AUTH=disabled/m);
    expect(fine.code).toBe(0);

    const bad = await runDoctor({ ...stack.env, UMP_TOKEN: "not-the-token" });
    expect(bad.stdout).toMatch(/^FAIL UMP: UMP refused syncbot's token \(401\) \(what to do: check UMP_TOKEN/m);
    expect(bad.code).toBe(1);
  }, 60_000);

  it("without a token (GRAPH_CREDENTIAL=none) says it could not tell which permissions it holds, and does not guess", async () => {
    // GRAPH_CREDENTIAL=none on purpose: this is the report for the one setup that has no token to read.
    const r = await runDoctor({ ...stack.env, GRAPH_CREDENTIAL: "none" });
    expect(r.stdout).toMatch(/^WARN Graph permissions: could not tell which application permissions syncbot holds/m);
    expect(r.code).toBe(0);
  }, 60_000);

  it("exits 2 on a configuration it cannot load", async () => {
    const r = await runDoctor({ ...stack.env, SP_TENANT_ID: "not-a-tenant" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/SP_TENANT_ID must be a tenant GUID/);
  }, 30_000);
});
