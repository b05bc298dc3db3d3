// App management policy semantics of the Graph emulator: a password restriction binds only
// applications created on or after its `restrictForAppsCreatedAfterDateTime` ("Enforces the policy for
// an app created on or after the enforcement date", passwordcredentialconfiguration.md), and
// `maxLifetime` is any ISO 8601 duration (P90D, PT2160H, P4DT12H30M5S). Written apart from syncbot's own
// reading on purpose.
//
// Graph types maxLifetime as Edm.Duration (days and time only), yet a test may set P6M: Microsoft
// documents neither how a month or year would be counted nor from which instant;
// the emulator counts from the credential's startDateTime and takes the harsher of the calendar reading
// (P6M = six calendar months) and the .NET xs:duration reading (a month = 30 days, a year = 365 days),
// so it is never kinder than Entra under either.

/** A password restriction set of an app management policy (tenant default or the app's own). */
export interface PasswordPolicySpec {
  /** Maximum lifetime of a new password in days (as `P{n}D`); null for none. */
  maxLifetimeDays?: number | null;
  /** Maximum lifetime as any ISO 8601 duration; takes the place of `maxLifetimeDays` when set. */
  maxLifetime?: string | null;
  /** passwordAddition: no new passwords at all. */
  blockPasswordAddition?: boolean;
  /** Each restriction binds only apps created after this instant (null: every app). */
  restrictForAppsCreatedAfterDateTime?: string | null;
}

const DAY_MS = 86_400_000;
const ISO_DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

function addCalendarMonths(t: number, months: number): number {
  const d = new Date(t);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d.getTime();
}

/** The latest endDateTime (ms) a credential starting at `startMs` may have under `duration`; throws when invalid. */
export function latestEnd(duration: string, startMs: number): number {
  const m = ISO_DURATION.exec(duration);
  if (!m || duration === "P" || duration.endsWith("T")) throw new Error(`invalid ISO 8601 duration '${duration}'`);
  const n = (i: number) => Number(m[i] ?? 0);
  const rest = (n(3) * 7 + n(4)) * DAY_MS + ((n(5) * 60 + n(6)) * 60 + n(7)) * 1000;
  const calendar = addCalendarMonths(startMs, n(1) * 12 + n(2)) + rest;
  const dotnet = startMs + (n(1) * 365 + n(2) * 30) * DAY_MS + rest;
  return Math.min(calendar, dotnet);
}

export function maxLifetimeOf(p: PasswordPolicySpec): string | null {
  if (p.maxLifetime) return p.maxLifetime;
  return p.maxLifetimeDays != null ? `P${p.maxLifetimeDays}D` : null;
}

/** Whether the policy's restrictions bind an application created at `createdDateTime`: "on or after" the date. */
export function binds(p: PasswordPolicySpec, createdDateTime: string): boolean {
  const from = p.restrictForAppsCreatedAfterDateTime;
  return !from || Date.parse(createdDateTime) >= Date.parse(from);
}

/** What addPassword meets: null when allowed, else the refusal's code and message (400). */
export function passwordRefusal(
  p: PasswordPolicySpec | null,
  createdDateTime: string,
  startMs: number,
  endMs: number,
): { code: string; message: string } | null {
  if (!p || !binds(p, createdDateTime)) return null;
  if (p.blockPasswordAddition)
    return {
      code: "CredentialTypeNotAllowedAsPerAppPolicy",
      message: "Credential type not allowed as per assigned policy.",
    };
  const max = maxLifetimeOf(p);
  if (max && endMs > latestEnd(max, startMs))
    return {
      code: "CredentialInvalidLifetimeAsPerAppPolicy",
      message: "Credential lifetime exceeds the max value allowed as per assigned policy.",
    };
  return null;
}

/** passwordCredentialConfiguration entries, as Graph lists them (restrictionType, maxLifetime, date). */
export function passwordRestrictionsJson(p: PasswordPolicySpec): Array<Record<string, unknown>> {
  const after = p.restrictForAppsCreatedAfterDateTime ?? null;
  const out: Array<Record<string, unknown>> = [];
  if (p.blockPasswordAddition)
    out.push({ restrictionType: "passwordAddition", maxLifetime: null, restrictForAppsCreatedAfterDateTime: after });
  const max = maxLifetimeOf(p);
  if (max)
    out.push({ restrictionType: "passwordLifetime", maxLifetime: max, restrictForAppsCreatedAfterDateTime: after });
  return out;
}
