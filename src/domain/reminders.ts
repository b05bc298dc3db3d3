// dueThreshold(secret, now, thresholds) and daysUntil: which reminder a secret is due for. Pure, clock passed in.
// A secret gets the most urgent threshold it has crossed; thresholds it skipped past (the bot was
// down, or the secret was created with less time left) are not sent late one after another.

export const EXPIRED = "expired";
const DAY_MS = 86_400_000;

export interface SecretExpiry {
  keyId: string;
  endDateTime: string;
}

/** The threshold label ("60", "30", …, or "expired") due now, or null when none is crossed. */
export function dueThreshold(secret: SecretExpiry, now: Date, thresholdsDays: readonly number[]): string | null {
  const remaining = Date.parse(secret.endDateTime) - now.getTime();
  if (!Number.isFinite(remaining)) return null;
  if (remaining <= 0) return EXPIRED;
  const crossed = [...thresholdsDays].sort((a, b) => a - b).find((d) => remaining <= d * DAY_MS);
  return crossed === undefined ? null : String(crossed);
}

/**
 * Whole days left, rounded up while in the future (a secret 1.5 days out "expires in 2 days"); once
 * expired, always negative (-1 from the very instant of expiry), so "days left" agrees with the
 * "expired" threshold and a card never says "expires in 0 days" about a dead secret.
 */
export function daysUntil(endDateTime: string, now: Date): number {
  const remaining = Date.parse(endDateTime) - now.getTime();
  return remaining > 0 ? Math.ceil(remaining / DAY_MS) : -Math.max(1, Math.ceil(-remaining / DAY_MS));
}
