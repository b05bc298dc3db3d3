// weakKeyReason(bytes): refuses keys that are obviously not random (one byte repeated, a short pattern,
// a counting sequence, a handful of symbols), so a placeholder never guards a hand-off or the jobs route.

/** Why `key` is obviously low-entropy, or undefined when nothing obvious is wrong with it. */
export function weakKeyReason(key: Uint8Array): string | undefined {
  const n = key.length;
  if (n === 0) return "is empty";
  if (key.every((b) => b === key[0])) return "is one byte repeated";
  for (let period = 2; period <= Math.min(8, n / 2); period++)
    if (key.every((b, i) => i < period || b === key[i - period])) return `repeats a ${period}-byte pattern`;
  const step = (key[1]! - key[0]! + 256) % 256;
  if (n >= 4 && key.every((b, i) => i === 0 || (b - key[i - 1]! + 256) % 256 === step)) return "is a counting sequence";
  const distinct = new Set(key).size;
  // A random key of 8+ symbols (even hex) almost surely has 5+ distinct ones; 4 or fewer is a pattern.
  if (n >= 8 && distinct <= 4) return `uses only ${distinct} distinct symbols`;
  return undefined;
}
