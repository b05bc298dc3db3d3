// Review plan reads live state through Graph and UMP: a failure there becomes an operator-readable
// sentence on the card instead of a failed turn.

import { describeError } from "../domain/errors";
import type { Logger } from "../domain/ports";

export async function guardReview<T>(log: Logger, fn: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await fn();
  } catch (e) {
    const d = describeError(e);
    log.warn("review failed", { code: d.code, error: d.message });
    const prefix =
      d.code === "validation_failed" || d.code === "config_invalid"
        ? "Cannot plan this"
        : "Could not read the live state";
    return { error: `${prefix} (${d.code}): ${d.message}${d.hint ? ` ${d.hint}` : ""}` };
  }
}
