/**
 * What `wsw run` prints, in the order it happened. The learner's server writes to a pipe, and the
 * clients read from sockets. When the server logs a message and then answers it, the log line is in
 * the pipe before the answer is on the socket; but Node may read the socket first, or read the pipe
 * a moment before the line arrives and the socket a moment after the answer did, and the answer
 * would be printed above the log line that came before it. So a line about something that arrived
 * waits until the pipe has been read once more (the next turn of the event loop), and the server's
 * lines read meanwhile go before it. What the learner does (a frame sent, a client connecting) is
 * never overtaken: the server's lines about it can only come after.
 */
import { DEFAULT_OUTPUT_LIMITS } from '../../verify/harness/output.ts';
import { formatEntry, type Palette } from '../../verify/harness/report.ts';
import { Transcript, type TranscriptEntry } from '../../verify/harness/transcript.ts';

/**
 * A line waiting to be printed: `arrived` for news from a socket or a timer, which the server's
 * lines may overtake; `done` for what the learner's typing did, and for the server's own lines.
 */
interface Waiting {
  line: string;
  kind: 'arrived' | 'done';
  /** The turn it was queued in: an arrived line is printed once a later turn has read the pipe. */
  turn: number;
  /** Told once it is printed (see idle). */
  printed?: Array<() => void>;
}

/** Prints run's lines in the order they happened; see the top of this file. */
export class ArrivalOrder {
  private readonly queue: Waiting[] = [];
  /** Turns of the event loop seen, counted at their end (setImmediate runs after a turn's I/O). */
  private turn = 0;
  private scheduled?: NodeJS.Immediate;
  /** Above zero while a typed line is being carried out: its lines are things done, not news. */
  private acting = 0;

  constructor(
    private readonly write: (line: string) => void,
    private readonly colour: Palette,
  ) {}

  /** A transcript entry: the server's output goes before any news still waiting; anything else in turn. */
  entry(entry: TranscriptEntry): void {
    if (entry.source.kind !== 'program') {
      this.print(formatRunEntry(entry, this.colour));
      return;
    }
    // After everything done and every earlier server line, before the news queued since.
    let at = this.queue.length;
    while (at > 0 && this.queue[at - 1]!.kind === 'arrived') at--;
    this.queue.splice(at, 0, { line: formatEntry(entry, this.colour), kind: 'done', turn: this.turn });
    this.drain();
  }

  /** A line of run's own or a client's, printed after every line before it. */
  print(line: string): void {
    this.queue.push({ line, kind: this.acting > 0 ? 'done' : 'arrived', turn: this.turn });
    this.drain();
  }

  /**
   * Runs `act`, the carrying out of a typed line: what it prints before its first wait (a frame
   * sent, a client connecting) is something done, which the server's answer can only follow.
   */
  doing<T>(act: () => T): T {
    this.acting++;
    try {
      return act();
    } finally {
      this.acting--;
    }
  }

  /**
   * Resolves once every line waiting now is printed (lines that come meanwhile may still wait): before
   * the first client connects, say, so that what the server printed as it started comes first.
   */
  idle(): Promise<void> {
    const last = this.queue.at(-1);
    if (!last) return Promise.resolve();
    return new Promise((resolve) => (last.printed ??= []).push(resolve));
  }

  /** Prints every waiting line now: before the run exits, so that nothing is lost. */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    for (const waiting of this.queue.splice(0)) this.emit(waiting);
  }

  private emit({ line, printed }: Waiting): void {
    this.write(line);
    for (const resolve of printed ?? []) resolve();
  }

  /** Prints the lines at the head of the queue that may go now; keeps turns coming while news waits. */
  private drain(): void {
    while (this.queue.length > 0 && (this.queue[0]!.kind === 'done' || this.queue[0]!.turn < this.turn - 1)) this.emit(this.queue.shift()!);
    if (this.queue.length === 0 || this.scheduled) return;
    // A pending immediate also makes the next turn look at the pipe without blocking: news waits
    // one short turn, never for the next thing to happen.
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.turn++;
      this.drain();
    });
  }
}

/** A transcript line as run shows it: the harness's own lines under `[run]`, since nothing is verified. */
export function formatRunEntry(entry: TranscriptEntry, colour: Palette): string {
  if (entry.source.kind !== 'verify') return formatEntry(entry, colour);
  const text = entry.tone === 'error' ? colour.red(entry.text) : entry.tone === 'detail' ? colour.dim(entry.text) : entry.text;
  return `${colour.cyan('[run]')} ${text}`;
}

/** Entries a run keeps, and how many it drops at a time once past that: it may last all afternoon. */
const KEPT_ENTRIES = 2000;
const DROPPED_AT_ONCE = 500;

/**
 * A transcript that forgets its oldest entries: every line is printed as it comes, and nothing in a
 * run reads far back, so a server that logs all afternoon does not fill memory.
 */
export class RunTranscript extends Transcript {
  override add(...args: Parameters<Transcript['add']>): void {
    super.add(...args);
    if (this.entries.length > KEPT_ENTRIES + DROPPED_AT_ONCE) this.entries.splice(0, DROPPED_AT_ONCE);
  }
}

/**
 * Shows every line the server prints, live. Verify shows the first lines live and keeps only the end
 * of the rest for its verdict; a run lasts as long as the learner likes, and a line that appears only
 * when the server stops says nothing about the moment it was printed. (Each line is still cut at
 * the usual length.) Run is a process of its own, so the default it changes is its own.
 */
export function showEveryServerLine(): void {
  DEFAULT_OUTPUT_LIMITS.headLines = Number.POSITIVE_INFINITY;
}
