// The tenant's token signing keys, as Entra publishes them at {AUTHORITY_HOST}/{tenant}/discovery/v2.0/keys.
// Keys roll over without notice (Microsoft identity platform, "Signing key rollover"), so a token signed
// by a `kid` not in the cached set makes one refetch, at most one successful one per `minRefetchMs` (tokens
// with invented kids must not turn syncbot into a load generator against the authority). A key set that
// cannot be fetched is reported as such: the verifier refuses, it never lets a token through unchecked.

import { createPublicKey, type KeyObject } from "node:crypto";

export interface JwksCacheOptions {
  jwksUrl: string;
  now?: () => number;
  /** How long a fetched set is used before it is fetched again (Entra: check at least daily). */
  maxAgeMs?: number;
  /** Least time between two refetches caused by an unknown kid. */
  minRefetchMs?: number;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

export type KeyLookup = { ok: true; key: KeyObject } | { ok: false; unreachable: boolean; detail: string };

export function createJwksCache(opts: JwksCacheOptions) {
  const now = opts.now ?? Date.now;
  const maxAgeMs = opts.maxAgeMs ?? 24 * 3_600_000;
  const minRefetchMs = opts.minRefetchMs ?? 60_000;
  const doFetch = opts.fetchImpl ?? fetch;
  let keys = new Map<string, KeyObject>();
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let lastUnknownKidRefetch = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | null = null;

  async function load(): Promise<void> {
    const res = await doFetch(opts.jwksUrl, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    });
    if (!res.ok) throw new Error(`the key set answered HTTP ${res.status}`);
    const body = (await res.json()) as { keys?: unknown };
    if (!Array.isArray(body.keys)) throw new Error("the key set has no keys array");
    const next = new Map<string, KeyObject>();
    for (const jwk of body.keys as Array<Record<string, unknown>>) {
      // Only RSA signing keys: anything else published there is not a key syncbot accepts tokens from.
      if (jwk.kty !== "RSA" || typeof jwk.kid !== "string" || (jwk.use !== undefined && jwk.use !== "sig")) continue;
      try {
        next.set(jwk.kid, createPublicKey({ key: { kty: "RSA", n: jwk.n, e: jwk.e } as never, format: "jwk" }));
      } catch {
        // A malformed entry is skipped; the others still count.
      }
    }
    keys = next;
    fetchedAt = now();
  }

  async function refresh(): Promise<string | null> {
    inFlight ??= load().finally(() => {
      inFlight = null;
    });
    try {
      await inFlight;
      return null;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  return {
    async keyFor(kid: string): Promise<KeyLookup> {
      if (now() - fetchedAt > maxAgeMs) {
        const failed = await refresh();
        if (failed) return { ok: false, unreachable: true, detail: failed };
      }
      const known = keys.get(kid);
      if (known) return { ok: true, key: known };
      if (now() - lastUnknownKidRefetch < minRefetchMs)
        return { ok: false, unreachable: false, detail: "no published key has this kid" };
      const failed = await refresh();
      // Only a set actually fetched starts the quiet period: an outage ends as soon as the keys answer.
      if (failed) return { ok: false, unreachable: true, detail: failed };
      lastUnknownKidRefetch = now();
      const fresh = keys.get(kid);
      return fresh
        ? { ok: true, key: fresh }
        : { ok: false, unreachable: false, detail: "no published key has this kid" };
    },
  };
}
