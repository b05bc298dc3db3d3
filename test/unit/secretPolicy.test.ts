// The app management policy as syncbot reads it (issue 19): any ISO 8601 duration, calendar months
// taken at their shortest reading, and the enforcement date; and the bounded backoff that waits out
// Entra's replication.

import { describe, expect, it } from "vitest";
import type { PasswordRestrictions } from "../../src/domain/ports";
import {
  describeDuration,
  durationEnd,
  judgeSecret,
  monthsWithin,
  parseIsoDuration,
  restrictionApplies,
} from "../../src/domain/requests/secretPolicy";
import { replicationDelay, waitForReplication } from "../../src/domain/steps/replicationWait";

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("parseIsoDuration", () => {
  it.each([
    ["P90D", { days: 90 }],
    ["PT2160H", { hours: 2160 }],
    ["P4DT12H30M5S", { days: 4, hours: 12, minutes: 30, seconds: 5 }],
    ["P6M", { months: 6 }],
    ["P1Y2M", { years: 1, months: 2 }],
    ["P26W", { weeks: 26 }],
    ["PT0.5S", { seconds: 0.5 }],
  ])("%s", (text, parts) => {
    expect(parseIsoDuration(text)).toEqual({
      years: 0,
      months: 0,
      weeks: 0,
      days: 0,
      hours: 0,
      minutes: 0,
      seconds: 0,
      ...parts,
    });
  });

  it.each(["", "P", "PT", "90D", "P1.5D", "P1DT", "PT1H1D", "p90d"])("refuses %j", (text) => {
    expect(parseIsoDuration(text)).toBeNull();
  });
});

describe("durationEnd", () => {
  it("is exact for days and time", () => {
    const start = at("2026-01-31T10:00:00Z");
    expect(durationEnd(parseIsoDuration("PT2160H")!, start).getTime() - start.getTime()).toBe(2160 * HOUR);
    expect(durationEnd(parseIsoDuration("P4DT12H30M5S")!, start).getTime() - start.getTime()).toBe(
      4 * DAY + 12 * HOUR + 30 * 60_000 + 5000,
    );
  });

  it("takes the shorter of calendar months and 30-day months", () => {
    // From January 31, six calendar months end on July 31 (181 days): 30-day months are shorter.
    expect(durationEnd(parseIsoDuration("P6M")!, at("2026-01-31T00:00:00Z")).toISOString()).toBe(
      new Date(Date.parse("2026-01-31T00:00:00Z") + 180 * DAY).toISOString(),
    );
    // From February 1, one calendar month is 28 days: shorter than 30.
    expect(durationEnd(parseIsoDuration("P1M")!, at("2026-02-01T00:00:00Z")).toISOString()).toBe(
      "2026-03-01T00:00:00.000Z",
    );
    // A year across no leap day: 365 days either way.
    expect(durationEnd(parseIsoDuration("P1Y")!, at("2026-03-01T00:00:00Z")).toISOString()).toBe(
      "2027-03-01T00:00:00.000Z",
    );
  });
});

describe("monthsWithin and describeDuration", () => {
  it("counts the whole months that fit", () => {
    const now = at("2026-01-31T00:00:00Z");
    // January 31 + 3 months = April 30: 89 days, inside 90.
    expect(monthsWithin((s) => durationEnd(parseIsoDuration("PT2160H")!, s), now)).toBe(3);
    expect(monthsWithin((s) => durationEnd(parseIsoDuration("PT2160H")!, s), at("2026-05-31T00:00:00Z"))).toBe(2);
    expect(monthsWithin((s) => durationEnd(parseIsoDuration("P6M")!, s), now)).toBe(5);
    // Two calendar years across a leap day are 731 days; 2 × 365 is the shorter reading.
    expect(monthsWithin((s) => durationEnd(parseIsoDuration("P2Y")!, s), at("2027-03-01T00:00:00Z"))).toBe(23);
    expect(monthsWithin((s) => durationEnd(parseIsoDuration("P731D")!, s), at("2026-03-01T00:00:00Z"))).toBe(24);
  });

  it("spells durations out", () => {
    expect(describeDuration(parseIsoDuration("P90D")!)).toBe("90 days");
    expect(describeDuration(parseIsoDuration("PT2160H")!)).toBe("2160 hours");
    expect(describeDuration(parseIsoDuration("P1DT1S")!)).toBe("1 day 1 second");
  });
});

describe("judgeSecret", () => {
  const now = at("2026-12-03T12:00:00Z");
  const lifetime = (maxLifetime: string, appliesAfter: string | null = null): PasswordRestrictions => ({
    passwordAddition: null,
    passwordLifetime: { maxLifetime, appliesAfter },
  });

  it("refuses a 6-month secret under PT2160H, with the months that fit", () => {
    expect(judgeSecret(lifetime("PT2160H"), now, now, 6)).toEqual({
      kind: "too_long",
      limit: "2160 hours",
      raw: "PT2160H",
      maxMonths: 3, // December 3 + 3 months = March 3: 90 days exactly
    });
    expect(judgeSecret(lifetime("PT2160H"), now, now, 3).kind).toBe("allowed");
  });

  it("lets an app created before the enforcement date keep 24 months; binds one created after", () => {
    const policy = lifetime("P90D", "2025-06-01T00:00:00Z");
    const old = judgeSecret(policy, at("2024-02-01T00:00:00Z"), now, 24);
    expect(old.kind).toBe("allowed");
    expect(old.kind === "allowed" && old.note).toMatch(
      /only for apps created from 2025-06-01 on; this app was created 2024-02-01/,
    );
    expect(judgeSecret(policy, at("2025-06-02T00:00:00Z"), now, 24).kind).toBe("too_long");
    // "On or after": an app created at the enforcement instant is bound; one a second earlier is not.
    expect(restrictionApplies("2025-06-01T00:00:00Z", at("2025-06-01T00:00:00Z"))).toBe(true);
    expect(restrictionApplies("2025-06-01T00:00:00Z", at("2025-05-31T23:59:59Z"))).toBe(false);
    // An unknown creation date is bound, to be safe.
    expect(judgeSecret(policy, null, now, 24).kind).toBe("too_long");
  });

  it("blocks additions unless the app predates the block; an unreadable duration cannot be compared", () => {
    const block = (appliesAfter: string | null): PasswordRestrictions => ({
      passwordAddition: { appliesAfter },
      passwordLifetime: null,
    });
    expect(judgeSecret(block(null), now, now, 6).kind).toBe("blocked");
    expect(judgeSecret(block("2026-01-01T00:00:00Z"), at("2020-01-01T00:00:00Z"), now, 6).kind).toBe("allowed");
    expect(judgeSecret(lifetime("P1.5M"), now, now, 1)).toEqual({ kind: "uncomparable", raw: "P1.5M" });
  });
});

describe("waitForReplication", () => {
  it("backs off exponentially up to the cap and never sleeps past the budget", async () => {
    let t = 0;
    const slept: number[] = [];
    const w = { budgetMs: 20_000, firstDelayMs: 1000, maxDelayMs: 4000 };
    const result = await waitForReplication(
      w,
      {
        now: () => t,
        sleep: async (ms) => {
          slept.push(ms);
          t += ms;
        },
      },
      async () => ({ done: false, reason: "not yet" }),
    );
    expect(result).toEqual({ ok: false, reason: "not yet", elapsedMs: 20_000 });
    expect(slept.reduce((a, b) => a + b, 0)).toBe(20_000);
    // 1 s, 2 s, 4 s, then capped (up to a quarter more for jitter).
    expect(slept[0]).toBeGreaterThanOrEqual(1000);
    expect(slept[0]).toBeLessThanOrEqual(1250);
    expect(slept[2]).toBeGreaterThanOrEqual(4000);
    expect(Math.max(...slept)).toBeLessThanOrEqual(5000);
  });

  it("returns as soon as the attempt succeeds, telling each wait first", async () => {
    let calls = 0;
    const told: number[] = [];
    const result = await waitForReplication(
      { budgetMs: 120_000, firstDelayMs: 10, maxDelayMs: 100 },
      { now: () => 0, sleep: async () => undefined, onWait: (n) => void told.push(n.attempt) },
      async () => (++calls < 3 ? { done: false, reason: "lagging" } : { done: true, value: "sp" }),
    );
    expect(result).toEqual({ ok: true, value: "sp" });
    expect(told).toEqual([1, 2]);
  });

  it("delays double from the first and stop at the cap", () => {
    const w = { budgetMs: 0, firstDelayMs: 500, maxDelayMs: 3000 };
    expect([1, 2, 3, 4, 5].map((n) => replicationDelay(w, n, () => 0))).toEqual([500, 1000, 2000, 3000, 3000]);
  });
});
