// sameSecret(given, expected): compares a presented key with the configured one in constant time
// without leaking its length: both sides are reduced to HMAC-SHA-256 digests (equal length) first.

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

// A per-process random HMAC key: digests of guesses are useless to anyone who sees timing or memory.
const PEPPER = randomBytes(32);

export function sameSecret(given: string, expected: string): boolean {
  const a = createHmac("sha256", PEPPER).update(given, "utf8").digest();
  const b = createHmac("sha256", PEPPER).update(expected, "utf8").digest();
  return timingSafeEqual(a, b) && expected.length > 0;
}
