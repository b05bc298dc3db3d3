// sameSecret: the x-jobs-key comparison. Equal only for the same string; any length of guess is
// compared as a fixed-size digest (no early exit on a length mismatch, no exception).

import { describe, expect, it } from "vitest";
import { sameSecret } from "../../src/server/sameSecret";

describe("sameSecret", () => {
  const key = "q8Vt3xJw0bL2mZr9Kd4s";

  it("accepts exactly the key", () => {
    expect(sameSecret(key, key)).toBe(true);
    expect(sameSecret(`${key}`.slice(0), key)).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["a prefix", key.slice(0, -1)],
    ["the key plus one character", `${key}x`],
    ["one character changed", `${key.slice(0, -1)}t`],
    ["a much longer string", key.repeat(50)],
    ["the key in another case", key.toUpperCase()],
    ["non-ASCII", "ключ".repeat(5)],
  ])("refuses %s", (_n, given) => {
    expect(sameSecret(given, key)).toBe(false);
  });

  it("never matches an empty configured key", () => {
    expect(sameSecret("", "")).toBe(false);
  });
});
