// An app management policy's password restrictions against the secret a plan adds, as plain functions:
// `maxLifetime` is any ISO 8601 duration (P90D, PT2160H, P4DT12H30M5S, P6M) and a restriction binds only
// applications created on or after its `restrictForAppsCreatedAfterDateTime`. Decided at Review plan, so
// nothing is approved that Entra would then refuse mid-run.
//
// Graph types maxLifetime as Edm.Duration (days and time), but ISO 8601 also has years and months, and
// those are calendar-relative: P6M from January 31 is not as long as P6M from July 1. Microsoft documents
// neither which start Entra would count from nor how it reads a month (the .NET reading of an
// xs:duration counts a month as 30 days and a year as 365). syncbot takes the shorter of the two
// readings from the secret's start: a secret that fits under both is one Entra cannot refuse.

import type { PasswordRestrictions } from "../ports";
import { addMonths } from "../spec";

export interface IsoDuration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

const DURATION = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

/** An ISO 8601 duration (xs:duration, plus weeks; a fraction only on seconds); null when it is not one. */
export function parseIsoDuration(text: string): IsoDuration | null {
  const m = DURATION.exec(text.trim());
  // "P" alone and "PT" with nothing after it are not durations.
  if (!m || m.slice(1).every((g) => g === undefined) || /T$/.test(text.trim())) return null;
  const n = (i: number) => Number((m[i] ?? "0").replace(",", "."));
  return { years: n(1), months: n(2), weeks: n(3), days: n(4), hours: n(5), minutes: n(6), seconds: n(7) };
}

const DAY_MS = 86_400_000;
const clockMs = (d: IsoDuration) => ((d.hours * 60 + d.minutes) * 60 + d.seconds) * 1000;

/** The latest end a credential starting at `start` may have under `d`: the shorter of both readings. */
export function durationEnd(d: IsoDuration, start: Date): Date {
  const rest = (d.weeks * 7 + d.days) * DAY_MS + clockMs(d);
  const calendar = addMonths(start, d.years * 12 + d.months).getTime() + rest;
  const fixed = start.getTime() + (d.years * 365 + d.months * 30) * DAY_MS + rest;
  return new Date(Math.min(calendar, fixed));
}

/** The largest whole number of months (0-24) whose secret, starting `now`, ends by `end(now)`. */
export function monthsWithin(end: (start: Date) => Date, now: Date): number {
  let months = 0;
  while (months < 24 && addMonths(now, months + 1).getTime() <= end(now).getTime()) months++;
  return months;
}

/** "184 days", "2160 hours", "4 days 12 hours 30 minutes 5 seconds". */
export function describeDuration(d: IsoDuration): string {
  const parts: Array<[number, string]> = [
    [d.years, "year"],
    [d.months, "month"],
    [d.weeks, "week"],
    [d.days, "day"],
    [d.hours, "hour"],
    [d.minutes, "minute"],
    [d.seconds, "second"],
  ];
  const named = parts.filter(([v]) => v > 0).map(([v, unit]) => `${v} ${unit}${v === 1 ? "" : "s"}`);
  return named.length > 0 ? named.join(" ") : "0 seconds";
}

/**
 * Whether a restriction binds an application created at `createdAt`: Graph "enforces the policy for an
 * app created on or after the enforcement date" (the name says "after"; the harsher reading is taken).
 * An unknown creation date is bound, to be safe.
 */
export function restrictionApplies(appliesAfter: string | null, createdAt: Date | null): boolean {
  if (!appliesAfter) return true;
  const from = Date.parse(appliesAfter);
  if (Number.isNaN(from) || !createdAt) return true;
  return createdAt.getTime() >= from;
}

export type SecretVerdict =
  | { kind: "allowed"; note?: string }
  | { kind: "blocked" }
  | { kind: "too_long"; limit: string; raw: string; maxMonths: number }
  | { kind: "uncomparable"; raw: string };

/**
 * The verdict of one policy (the app's own, or the tenant default) on a secret of `months` months
 * added at `now` to an application created at `createdAt` (a new application: `now`).
 */
export function judgeSecret(
  policy: PasswordRestrictions,
  createdAt: Date | null,
  now: Date,
  months: number,
): SecretVerdict {
  const exempt: string[] = [];
  const created = createdAt ? createdAt.toISOString().slice(0, 10) : "unknown";
  const addition = policy.passwordAddition;
  if (addition) {
    if (restrictionApplies(addition.appliesAfter, createdAt)) return { kind: "blocked" };
    exempt.push(`blocks new secrets only for apps created from ${addition.appliesAfter!.slice(0, 10)} on`);
  }
  const lifetime = policy.passwordLifetime;
  if (lifetime) {
    const d = parseIsoDuration(lifetime.maxLifetime);
    if (!restrictionApplies(lifetime.appliesAfter, createdAt)) {
      exempt.push(
        `limits secrets to ${lifetime.maxLifetime} only for apps created from ${lifetime.appliesAfter!.slice(0, 10)} on`,
      );
    } else if (!d) {
      return { kind: "uncomparable", raw: lifetime.maxLifetime };
    } else {
      const end = (start: Date) => durationEnd(d, start);
      if (addMonths(now, months).getTime() > end(now).getTime())
        return {
          kind: "too_long",
          limit: describeDuration(d),
          raw: lifetime.maxLifetime,
          maxMonths: monthsWithin(end, now),
        };
      return {
        kind: "allowed",
        note: `allows secrets up to ${describeDuration(d)} (${lifetime.maxLifetime}): checked.`,
      };
    }
  }
  if (exempt.length === 0) return { kind: "allowed" };
  return {
    kind: "allowed",
    note: `${exempt.join(" and ")}; this app was created ${created}, so it is not restricted.`,
  };
}
