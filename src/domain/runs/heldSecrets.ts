// The only place a new secret's value lives: in this process's memory, keyed by run id, between
// Graph's addPassword answer and UMP (or the sealed hand-off). It is never stored, logged or posted,
// so a restart loses it on purpose and the resumed run adds a fresh secret instead.

export type HeldSecrets = ReturnType<typeof createHeldSecrets>;

export function createHeldSecrets() {
  const values = new Map<string, string>();
  return {
    /** Keeps the value of the secret run `runId` just added. */
    put(runId: string, value: string): void {
      values.set(runId, value);
    },
    /** The value, if this process still holds it; it stays held. */
    peek(runId: string): string | undefined {
      return values.get(runId);
    },
    /** The value, if held, and forgets it (it has reached where it belongs). */
    take(runId: string): string | undefined {
      const value = values.get(runId);
      values.delete(runId);
      return value;
    },
    has(runId: string): boolean {
      return values.has(runId);
    },
    /** Forgets the value without using it (the run ended or the secret was removed). */
    drop(runId: string): void {
      values.delete(runId);
    },
    /** For tests: how many values this process holds. */
    size(): number {
      return values.size;
    },
  };
}
