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
 * that it keeps only the last `tailLines` and counts the rest, so a program that prints 100 MB costs
 * a few kilobytes. `flush()` emits the cut marker and the kept tail.
 */
export class BoundedOutput {
  private shown = 0;
  private omittedLines = 0;
  private omittedBytes = 0;
  private tail: string[] = [];
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

  private take(stream: Readable, name: 'stdout' | 'stderr', chunk: string): void {
    if (name === 'stderr') this.stderrTail = (this.stderrTail + chunk).slice(-8192);
    let text = (this.partial.get(stream) ?? '') + chunk;
    let newline: number;
    while ((newline = text.indexOf('\n')) !== -1) {
      this.line(text.slice(0, newline), name);
      text = text.slice(newline + 1);
    }
    // A line with no end in sight is cut rather than buffered forever.
    if (text.length > this.limits.lineChars * 4) {
      this.line(text, name);
      text = '';
    }
    this.partial.set(stream, text);
  }

  private line(raw: string, name: 'stdout' | 'stderr'): void {
    const clean = raw.replace(/\r$/, '');
    const line = clean.length > this.limits.lineChars ? `${clean.slice(0, this.limits.lineChars)}… (line cut)` : clean;
    if (this.shown < this.limits.headLines) {
      this.shown++;
      this.emit(line, name);
      return;
    }
    this.omittedLines++;
    this.omittedBytes += raw.length + 1;
    this.tail.push(line);
    if (this.tail.length > this.limits.tailLines) this.tail.shift();
  }

  /** Emits what was held back: a marker for the cut, then the last lines. Safe to call twice. */
  flush(): void {
    const hidden = this.omittedLines - this.tail.length;
    if (hidden > 0) {
      this.emit(`… ${hidden} more lines (${Math.round(this.omittedBytes / 1024)} KiB) not shown …`, 'stdout');
    }
    for (const line of this.tail) this.emit(line, 'stdout');
    this.tail = [];
    this.omittedLines = 0;
    this.omittedBytes = 0;
  }
}
