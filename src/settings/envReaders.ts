// How loadConfig reads one environment variable: trimmed, empty as unset, and every problem collected
// in `problems` (one message listing them all) instead of thrown at the first.

export function createEnvReaders(env: Record<string, string | undefined>, problems: string[]) {
  const get = (k: string) => {
    const v = env[k];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const oneOf = <T extends string>(k: string, allowed: readonly T[], fallback: T): T => {
    const v = get(k) ?? fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      problems.push(`${k} must be one of ${allowed.join(", ")} (got "${v}")`);
      return fallback;
    }
    return v as T;
  };
  const int = (k: string, fallback: number, min: number, max: number, fractional = false): number => {
    const v = get(k);
    if (v === undefined) return fallback;
    const n = (fractional ? /^[0-9]+(\.[0-9]+)?$/ : /^[0-9]+$/).test(v) ? Number(v) : Number.NaN;
    if (!Number.isFinite(n) || n < min || n > max) {
      problems.push(`${k} must be a ${fractional ? "number" : "whole number"} from ${min} to ${max} (got "${v}")`);
      return fallback;
    }
    return n;
  };
  const bool = (k: string, fallback: boolean): boolean => {
    const v = get(k);
    if (v === undefined) return fallback;
    if (/^(true|1|yes)$/i.test(v)) return true;
    if (/^(false|0|no)$/i.test(v)) return false;
    problems.push(`${k} must be true or false (got "${v}")`);
    return fallback;
  };
  const url = (k: string, fallback?: string): string | undefined => {
    const v = get(k) ?? fallback;
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (u.protocol !== "https:" && !isLoopback(u.hostname))
        problems.push(`${k} must use https (http only for loopback): ${v}`);
      return v.replace(/\/+$/, "");
    } catch {
      problems.push(`${k} is not a URL: ${v}`);
      return fallback;
    }
  };

  return { get, oneOf, int, bool, url };
}

export function isLoopback(hostname: string): boolean {
  return (
    hostname === "localhost" ||
    hostname === "[::1]" ||
    hostname === "::1" ||
    /^127\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$/.test(
      hostname,
    )
  );
}
