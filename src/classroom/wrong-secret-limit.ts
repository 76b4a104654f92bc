/** Wrong codes or keys one address may send per window before it is refused with 429. */
export const WRONG_SECRETS_PER_WINDOW = 20;
export const WRONG_SECRET_WINDOW_MS = 60_000;
/** Addresses remembered at most; past that the oldest are forgotten, so a spray of addresses cannot fill memory. */
const ADDRESSES_KEPT = 10_000;

/**
 * Counts wrong class codes and teacher keys per address. At 20 a minute, guessing a 50-bit code would
 * take longer than the universe has existed, yet a learner mistyping the code a few times is never blocked.
 */
export class WrongSecretLimit {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit = WRONG_SECRETS_PER_WINDOW,
    private readonly windowMs = WRONG_SECRET_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  private recent(address: string): number[] {
    const now = this.now();
    return (this.failures.get(address) ?? []).filter((t) => now - t < this.windowMs);
  }

  /** True when this address has sent too many wrong secrets lately: it is not even checked. */
  blocked(address: string): boolean {
    return this.recent(address).length >= this.limit;
  }

  /** Records a wrong secret from this address; returns how many it sent within the window. */
  fail(address: string): number {
    const recent = this.recent(address);
    recent.push(this.now());
    this.failures.delete(address);
    this.failures.set(address, recent);
    if (this.failures.size > ADDRESSES_KEPT) this.failures.delete(this.failures.keys().next().value!);
    return recent.length;
  }

  /** Seconds until this address may try again. */
  retryAfterSeconds(address: string): number {
    const oldest = this.recent(address)[0] ?? this.now();
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }

  /** The window's length in seconds, for the teacher's log. */
  get windowSeconds(): number {
    return this.windowMs / 1000;
  }

  get perWindow(): number {
    return this.limit;
  }
}
