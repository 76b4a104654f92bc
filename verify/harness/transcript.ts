import { performance } from 'node:perf_hooks';

/** Who a transcript line comes from: the verifier, the learner's program, or a named client. */
export type Source = { kind: 'verify' } | { kind: 'program'; name: string } | { kind: 'client'; name: string };

export interface TranscriptEntry {
  /** Milliseconds since the verification started. */
  atMs: number;
  source: Source;
  text: string;
  /** Lines the renderer may dim (details) or stress (a failure). */
  tone?: 'detail' | 'error';
}

/** Called with every entry as it happens, so a learner watches the verification live. */
export type TranscriptSink = (entry: TranscriptEntry) => void;

/** The ordered record of a verification: what each client sent and received, and what the program printed. */
export class Transcript {
  readonly entries: TranscriptEntry[] = [];
  private readonly start = performance.now();
  private readonly sinks: TranscriptSink[] = [];

  /** Adds a listener that sees every entry from now on. */
  onEntry(sink: TranscriptSink): void {
    this.sinks.push(sink);
  }

  /** Records a line. */
  add(source: Source, text: string, tone?: TranscriptEntry['tone']): void {
    const entry: TranscriptEntry = { atMs: Math.round(performance.now() - this.start), source, text, tone };
    this.entries.push(entry);
    for (const sink of this.sinks) sink(entry);
  }

  /** A line from the verifier itself. */
  note(text: string, tone?: TranscriptEntry['tone']): void {
    this.add({ kind: 'verify' }, text, tone);
  }
}

/** The bracketed prefix a line is shown with: `[verify]`, `[your server]`, `[alice]`. */
export function prefixOf(source: Source): string {
  switch (source.kind) {
    case 'verify':
      return '[verify]';
    case 'program':
      return `[${source.name}]`;
    case 'client':
      return `[${source.name}]`;
  }
}

/** Plain-text rendering of one entry (no colour): `[alice] → text "hi"`. */
export function renderEntry(entry: TranscriptEntry): string {
  return `${prefixOf(entry.source)} ${entry.text}`;
}
