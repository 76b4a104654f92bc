/**
 * A per-key sliding-window limit: at most `limit` events in any `windowMs`. The class server keys it by
 * learner, so one runaway loop of `wsw verify` slows only that learner, never the class feed.
 */
export class RateLimit {
  private readonly events = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records an event for `key` and returns true, or returns false (recording nothing) when over the limit. */
  take(key: string): boolean {
    const now = this.now();
    // Only the timestamps inside the window matter; dropping the rest keeps memory bounded per key.
    const recent = (this.events.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (recent.length >= this.limit) {
      this.events.set(key, recent);
      return false;
    }
    recent.push(now);
    this.events.set(key, recent);
    return true;
  }
}
