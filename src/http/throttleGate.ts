// One throttling state per service, shared by every request an adapter sends to it (issue 13): the
// Graph middleware and the UMP client each hold one, so a 429 pauses all their workers together.

/**
 * The throttling state of one service, shared by every request to it: `pause` moves `pausedUntil`
 * forward (never back), `wait` holds a request until it has passed. Waiting uses the injected sleep
 * once per extension of the pause, so a test's shortened sleep never turns into a busy loop.
 * The state lives in this process: several bot instances each learn a throttling on their own.
 */
export class ThrottleGate {
  private pausedUntil = 0;
  /** Requests that waited at the gate without having been throttled themselves. */
  heldRequests = 0;

  constructor(
    private readonly sleep: (ms: number) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  remainingMs(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  /** `own`: the caller was throttled itself and yields at least once, even for a Retry-After of 0. */
  async wait(own = false): Promise<number> {
    let waited = 0;
    for (let round = 0; ; round++) {
      const target = this.pausedUntil;
      const ms = target - this.now();
      if (ms <= 0) {
        if (own && round === 0) await this.sleep(0);
        return waited;
      }
      await this.sleep(ms);
      waited += ms;
      // Extended while we slept (another 429): wait for the new end too. Otherwise the pause has been
      // served (with a test's shortened sleep, earlier than the wall clock says).
      if (this.pausedUntil === target) {
        this.pausedUntil = 0;
        return waited;
      }
    }
  }
}
