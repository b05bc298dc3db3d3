// The expiry schedule as a pure function: which threshold is due at which instant, and the day count
// a reminder shows. Table tests with a fixed clock.

import { describe, expect, it } from "vitest";
import { daysUntil, dueThreshold, EXPIRED } from "../../src/domain/reminders";

const DAY = 86_400_000;
const NOW = new Date("2026-01-01T12:00:00.000Z");
const THRESHOLDS = [60, 30, 14, 7, 1];
const endIn = (ms: number) => ({ keyId: "k", endDateTime: new Date(NOW.getTime() + ms).toISOString() });

describe("dueThreshold", () => {
  const table: Array<[string, number, string | null]> = [
    ["a year out", 365 * DAY, null],
    ["just over 60 days", 60 * DAY + 1, null],
    ["exactly 60 days", 60 * DAY, "60"],
    ["59 days", 59 * DAY, "60"],
    ["just over 30 days", 30 * DAY + 1, "60"],
    ["30 days", 30 * DAY, "30"],
    ["15 days", 15 * DAY, "30"],
    ["14 days", 14 * DAY, "14"],
    ["8 days", 8 * DAY, "14"],
    ["7 days", 7 * DAY, "7"],
    ["2 days", 2 * DAY, "7"],
    ["1 day", DAY, "1"],
    ["one minute", 60_000, "1"],
    ["the very instant", 0, EXPIRED],
    ["a day ago", -DAY, EXPIRED],
    ["a year ago", -365 * DAY, EXPIRED],
  ];
  for (const [name, ms, want] of table)
    it(`${name} → ${want ?? "nothing"}`, () => expect(dueThreshold(endIn(ms), NOW, THRESHOLDS)).toBe(want));

  it("does not depend on the order REMINDER_DAYS lists the thresholds", () => {
    expect(dueThreshold(endIn(10 * DAY), NOW, [1, 60, 7, 30, 14])).toBe("14");
    expect(dueThreshold(endIn(10 * DAY), NOW, [14])).toBe("14");
    expect(dueThreshold(endIn(20 * DAY), NOW, [14])).toBeNull();
  });

  it("a secret that skipped thresholds (bot down, short lifetime) gets only the most urgent one", () => {
    expect(dueThreshold(endIn(3 * DAY), NOW, THRESHOLDS)).toBe("7");
  });

  it("ignores an unparseable expiry", () => {
    expect(dueThreshold({ keyId: "k", endDateTime: "not a date" }, NOW, THRESHOLDS)).toBeNull();
  });

  it("walking day by day through a secret's last 70 days yields each threshold, then expired, in order", () => {
    const end = NOW.getTime() + 70 * DAY;
    const seen: string[] = [];
    for (let t = NOW.getTime(); t <= end + 2 * DAY; t += DAY / 4) {
      const due = dueThreshold({ keyId: "k", endDateTime: new Date(end).toISOString() }, new Date(t), THRESHOLDS);
      if (due && seen[seen.length - 1] !== due) seen.push(due);
    }
    expect(seen).toEqual(["60", "30", "14", "7", "1", EXPIRED]);
  });
});

describe("daysUntil", () => {
  const table: Array<[string, number, number]> = [
    ["59 days", 59 * DAY, 59],
    ["59.5 days (rounded up)", 59.5 * DAY, 60],
    ["a few hours", 3 * 3_600_000, 1],
    ["exactly one day", DAY, 1],
    ["the very instant of expiry", 0, -1],
    ["an hour ago", -3_600_000, -1],
    ["a day and a half ago", -1.5 * DAY, -2],
    ["two days ago", -2 * DAY, -2],
  ];
  for (const [name, ms, want] of table)
    it(`${name} → ${want}`, () => expect(daysUntil(endIn(ms).endDateTime, NOW)).toBe(want));
});
