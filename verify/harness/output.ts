import type { Readable } from 'node:stream';

/** Limits on how much of a program's output is shown. Memory stays bounded whatever the program prints. */
export interface OutputLimits {
  /** Lines shown live from the start. */
  headLines: number;
  /** Lines kept from the end once the head is full, shown when the program stops. */
  tailLines: number;
  /** A longer line is cut here. */
  lineChars: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { headLines: 200, tailLines: 40, lineChars: 500 };

/**
 * Splits a program's stdout and stderr into lines and passes the first `headLines` on at once; after
 * that it keeps only the last few kilobytes, unsplit, and counts the rest, so a program that prints
 * 100 MB costs little memory and little time. `flush()` emits the cut marker and the kept tail.
 */
export class BoundedOutput {
  private shown = 0;
  private omittedBytes = 0;
  /** Raw text after the head was full: only its end is kept. */
  private tail = '';
  private readonly partial = new Map<Readable, string>();
  /** The last few kilobytes of stderr, whatever was shown: where a crash's stack is. */
  stderrTail = '';

  constructor(
    private readonly emit: (line: string, stream: 'stdout' | 'stderr') => void,
    private readonly limits: OutputLimits = DEFAULT_OUTPUT_LIMITS,
  ) {}

  /** Starts reading a stream. */
  attach(stream: Readable, name: 'stdout' | 'stderr'): void {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.take(stream, name, chunk));
    stream.on('end', () => {
      const rest = this.partial.get(stream);
      if (rest) this.line(rest, name);
      this.partial.delete(stream);
    });
  }

  private get headFull(): boolean {
    return this.shown >= this.limits.headLines;
  }

  private take(stream: Readable, name: 'stdout' | 'stderr', chunk: string): void {
    if (name === 'stderr') this.stderrTail = (this.stderrTail + chunk).slice(-8192);
    if (this.headFull) {
      // No splitting once the head is shown: a flood is only counted and its end kept.
      this.omittedBytes += chunk.length;
      this.tail = (this.tail + chunk).slice(-this.tailChars);
      return;
    }
    let text = (this.partial.get(stream) ?? '') + chunk;
    let newline: number;
    while (!this.headFull && (newline = text.indexOf('\n')) !== -1) {
      this.line(text.slice(0, newline), name);
      text = text.slice(newline + 1);
    }
    if (this.headFull) {
      this.take(stream, name, text);
      text = '';
    }
    // A line with no end in sight is cut rather than buffered forever.
    if (text.length > this.limits.lineChars * 4) {
      this.line(text, name);
      text = '';
    }
    this.partial.set(stream, text);
  }

  private get tailChars(): number {
    return this.limits.tailLines * (this.limits.lineChars + 1);
  }

  private line(raw: string, name: 'stdout' | 'stderr'): void {
    const clean = raw.replace(/\r$/, '');
    this.shown++;
    this.emit(this.cut(clean), name);
  }

  private cut(line: string): string {
    return line.length > this.limits.lineChars ? `${line.slice(0, this.limits.lineChars)}… (line cut)` : line;
  }

  /** Emits what was held back: a marker for the cut, then the last lines. Safe to call twice. */
  flush(): void {
    if (!this.omittedBytes) return;
    const lines = this.tail.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const kept = lines.slice(-this.limits.tailLines);
    const hiddenBytes = this.omittedBytes - kept.reduce((n, l) => n + l.length + 1, 0);
    if (hiddenBytes > 0) this.emit(`… ${formatSize(hiddenBytes)} of output not shown …`, 'stdout');
    for (const line of kept) this.emit(this.cut(line.replace(/\r$/, '')), 'stdout');
    this.tail = '';
    this.omittedBytes = 0;
  }
}

function formatSize(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
