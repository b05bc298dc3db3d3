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
    // No Graph token with GRAPH_CREDENTIAL=none: it says it could not tell, it does not guess.
    expect(fine.stdout).toMatch(/^WARN Graph permissions: could not tell which application permissions syncbot holds/m);
    expect(fine.stdout).toMatch(/^WARN Bot identity: BOT_AUTH=disabled/m);
    expect(fine.code).toBe(0);

    const bad = await runDoctor({ ...stack.env, UMP_TOKEN: "not-the-token" });
    expect(bad.stdout).toMatch(/^FAIL UMP: UMP refused syncbot's token \(401\) \(what to do: check UMP_TOKEN/m);
    expect(bad.code).toBe(1);
  }, 60_000);

  it("exits 2 on a configuration it cannot load", async () => {
    const r = await runDoctor({ ...stack.env, SP_TENANT_ID: "not-a-tenant" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/SP_TENANT_ID must be a tenant GUID/);
  }, 30_000);
});
