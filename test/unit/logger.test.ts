// The logger: one JSON object per line, level filtering, credential-named fields masked.

import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger";

function capture(level: "debug" | "info" | "warn" | "error" = "info") {
  const lines: string[] = [];
  const log = createLogger({ level, write: (l) => lines.push(l) });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, records };
}

describe("createLogger", () => {
  it("writes one JSON object per line with time, level and message", () => {
    const { log, lines, records } = capture();
    log.info("hello", { customer: "contoso", n: 3 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    const [r] = records();
    expect(r).toMatchObject({ level: "info", msg: "hello", customer: "contoso", n: 3 });
    expect(new Date(r!.time as string).toISOString()).toBe(r!.time);
  });

  it.each([
    ["debug", ["debug", "info", "warn", "error"]],
    ["info", ["info", "warn", "error"]],
    ["warn", ["warn", "error"]],
    ["error", ["error"]],
  ] as const)("at level %s writes %j", (level, expected) => {
    const { log, records } = capture(level);
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(records().map((r) => r.level)).toEqual(expected);
  });

  it("masks fields named like credentials but keeps keyId", () => {
    const { log, lines, records } = capture();
    log.info("secret added", {
      clientSecret: "s3cr3t-value-1",
      password: "s3cr3t-value-2",
      authorization: "Bearer s3cr3t-value-3",
      Authorization: "Bearer s3cr3t-value-4",
      accessToken: "s3cr3t-value-5",
      secretText: "s3cr3t-value-6",
      handoffKey: "s3cr3t-value-7",
      keyId: "11111111-2222-3333-4444-555555555555",
      hint: "abc",
    });
    const [r] = records();
    for (const k of [
      "clientSecret",
      "password",
      "authorization",
      "Authorization",
      "accessToken",
      "secretText",
      "handoffKey",
    ])
      expect(r![k]).toBe("[masked]");
    expect(r!.keyId).toBe("11111111-2222-3333-4444-555555555555");
    expect(r!.hint).toBe("abc");
    expect(lines.join("\n")).not.toContain("s3cr3t");
  });

  it("adds child fields to every line, and nests children", () => {
    const { log, records } = capture();
    const child = log.child({ correlationId: "corr-1", customer: "contoso" });
    child.info("one", { step: "addSecret" });
    child.child({ runId: "run-1" }).warn("two");
    log.info("three");
    const [one, two, three] = records();
    expect(one).toMatchObject({ msg: "one", correlationId: "corr-1", customer: "contoso", step: "addSecret" });
    expect(two).toMatchObject({ msg: "two", level: "warn", correlationId: "corr-1", runId: "run-1" });
    expect(three).not.toHaveProperty("correlationId");
  });

  it("child loggers respect the level", () => {
    const { log, lines } = capture("warn");
    log.child({ a: 1 }).info("hidden");
    expect(lines).toEqual([]);
  });

  it("pretty mode writes one human-readable line", () => {
    const lines: string[] = [];
    createLogger({ level: "info", pretty: true, write: (l) => lines.push(l) }).info("hello", { password: "pw-123" });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/INFO\s+hello/);
    expect(lines[0]).not.toContain("pw-123");
  });

  // BUG (src/logger.ts): fields given to child() and options.base bypass mask(), so a credential-named
  // field attached to a child logger is written in clear. Flip to it() once fixed.
  it("masks credential-named fields given to child()", () => {
    const { log, lines } = capture();
    log.child({ clientSecret: "child-s3cr3t" }).info("x");
    expect(lines.join("\n")).not.toContain("child-s3cr3t");
  });
});
