/**
 * What became of a request to run: it started now, it was queued, it joined the run already queued,
 * or it was ignored because the queue is stopped.
 */
export type RequestOutcome = 'started' | 'queued' | 'coalesced' | 'ignored';

/**
 * Runs one job at a time, for `watch`. A request during a run cancels nothing: it queues exactly one
 * more run, however many requests arrive before that run starts, and that run gets the latest reason.
 * A job that rejects is reported to `onError` and the queue goes on.
 */
export class RunQueue {
  private running = false;
  private draining: Promise<void> = Promise.resolve();
  private queued?: string;
  private stopped = false;

  constructor(
    private readonly job: (reason: string) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** True while a run is under way. */
  get busy(): boolean {
    return this.running;
  }

  /** Asks for a run; ignored once stopped. */
  request(reason: string): RequestOutcome {
    if (this.stopped) return 'ignored';
    if (this.running) {
      const outcome = this.queued === undefined ? 'queued' : 'coalesced';
      this.queued = reason;
      return outcome;
    }
    this.running = true;
    this.draining = this.drain(reason);
    return 'started';
  }

  /** Resolves once no run is under way and none is queued. */
  idle(): Promise<void> {
    return this.draining;
  }

  /** Drops the queued run and refuses new ones; the run under way is left to finish or be killed. */
  stop(): void {
    this.stopped = true;
    this.queued = undefined;
  }

  private async drain(first: string): Promise<void> {
    let reason: string | undefined = first;
    while (reason !== undefined) {
      try {
        await this.job(reason);
      } catch (error) {
        this.onError(error);
      }
      reason = this.queued;
      this.queued = undefined;
    }
    // Cleared in the same step as the last look at the queue, so no request falls in between.
    this.running = false;
  }
}
