/** How often the watch looks at the clock. */
const TICK_MS = 10;
/** A gap between two looks longer than this is recorded as a pause. */
const RECORD_FROM_MS = 25;
/** Pauses older than this are forgotten, so memory stays bounded on a long verification. */
const KEEP_MS = 60_000;

/** One stretch of time during which the verifier's own event loop did not run. */
export interface Pause {
  /** Wall-clock time (Date.now()) of the last look before the pause. */
  from: number;
  /** Wall-clock time of the first look after it. */
  to: number;
}

/**
 * Watches the verifier's own event loop for pauses. On a busy machine the operating system may not run
 * the verifier for a while; during that time its clients answer nothing (not even a ping with a pong),
 * and its timers fire late. A lesson that judges the learner's timing asks this watch, before blaming
 * the learner, whether the verifier itself stood still at the decisive moment.
 */
export class EventLoopPauses {
  private last = Date.now();
  private readonly pauses: Pause[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.look(), TICK_MS);
    // Never the reason the verifier's process stays alive.
    this.timer.unref();
  }

  private look(): void {
    const now = Date.now();
    if (now - this.last > RECORD_FROM_MS) this.pauses.push({ from: this.last, to: now });
    this.last = now;
    while (this.pauses.length && this.pauses[0]!.to < now - KEEP_MS) this.pauses.shift();
  }

  /**
   * The longest pause that overlaps the wall-clock window [from, to], in ms (0 if none). A pause still
   * under way when this is called counts up to now.
   */
  longestWithin(from: number, to: number = Date.now()): number {
    const ongoing: Pause = { from: this.last, to: Date.now() };
    let longest = 0;
    for (const pause of [...this.pauses, ongoing]) {
      if (pause.to - pause.from <= RECORD_FROM_MS) continue;
      if (pause.to >= from && pause.from <= to) longest = Math.max(longest, pause.to - pause.from);
    }
    return longest;
  }

  /** Stops watching. */
  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Resolves once I/O that was already waiting when it was called has been handled. After a pause, timers
 * fire before the poll phase reads the sockets: a deadline that has just expired should let whatever
 * already arrived be handled before concluding that nothing came.
 */
export async function afterPendingIo(): Promise<void> {
  // A read and the 'close' it may cause take a poll phase and a close phase: three turns cover both.
  for (let turn = 0; turn < 3; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}
