// The tenant's token signing keys, as Entra publishes them at {AUTHORITY_HOST}/{tenant}/discovery/v2.0/keys.
// Keys roll over without notice (Microsoft identity platform, "Signing key rollover"), so a token signed
// by a `kid` not in the cached set makes one refetch, at most one successful one per `minRefetchMs` (tokens
// with invented kids must not turn syncbot into a load generator against the authority). A key set that
// cannot be fetched is reported as such: the verifier refuses, it never lets a token through unchecked.

import { createPublicKey, type KeyObject } from "node:crypto";
import { request } from "node:https";

export interface JwksCacheOptions {
  jwksUrl: string;
  now?: () => number;
  /** How long a fetched set is used before it is fetched again (Entra: check at least daily). */
  maxAgeMs?: number;
  /** Least time between two refetches caused by an unknown kid. */
  minRefetchMs?: number;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
  /**
   * A PEM to trust for the authority (an in-process test's Entra stand-in, whose certificate was made
   * after the process read NODE_EXTRA_CA_CERTS): the keys are then read over node:https with it.
   */
  ca?: string;
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
    const body = (await (opts.ca ? getWithCa(opts.jwksUrl, opts.ca, opts.timeoutMs ?? 5000) : getJson())) as {
      keys?: unknown;
    };
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

  async function getJson(): Promise<unknown> {
    const res = await doFetch(opts.jwksUrl, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    });
    if (!res.ok) throw new Error(`the key set answered HTTP ${res.status}`);
    return res.json();
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

function getWithCa(url: string, ca: string, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { accept: "application/json" }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        if ((res.statusCode ?? 0) >= 300) return reject(new Error(`the key set answered HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        } catch {
          reject(new Error("the key set is not JSON"));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error("the key set did not answer in time")));
    req.on("error", reject);
    req.end();
  });
}
