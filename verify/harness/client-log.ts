import type { FrameLogging, HeldLine } from './client.ts';
import type { Transcript } from './transcript.ts';

let heldSequence = 0;

/** The next number in the one order that held lines of every kind of client share. */
function nextHeldSeq(): number {
  return heldSequence++;
}

/** Something a client received, which may carry its transcript line until the verifier reads it. */
export interface HoldsLine {
  held?: HeldLine;
}

/**
 * How a client (ws or socket.io) writes into the transcript under its name: at once, or — for what it
 * receives, in `read` mode — held on the item until the verifier takes it, so the story keeps one order.
 */
export class ClientLog {
  constructor(
    private readonly name: string,
    private readonly transcript: Transcript,
    private readonly logging: FrameLogging = 'arrival',
  ) {}

  /** Writes a line now (nothing in `silent` mode). */
  line(text: string, tone?: 'detail' | 'error'): void {
    if (this.logging === 'silent') return;
    this.transcript.add({ kind: 'client', name: this.name }, text, tone);
  }

  /** Writes a line about a received item now, or holds it on the item until it is read. */
  received(item: HoldsLine, text: string): void {
    if (this.logging === 'read') item.held = { seq: nextHeldSeq(), name: this.name, text };
    else this.line(text);
  }

  /** Writes the held line of an item the verifier has just taken. */
  release(item: HoldsLine): void {
    if (item.held) this.line(item.held.text);
    item.held = undefined;
  }

  /** Held lines of items never read, oldest first; they are released by whoever calls this. */
  takeUnread(items: HoldsLine[]): HeldLine[] {
    return items.flatMap((item) => {
      const held = item.held;
      item.held = undefined;
      return held ? [held] : [];
    });
  }

  /** Writes every held line of these items now (a wait failed: show what did arrive). */
  releaseUnread(items: HoldsLine[]): void {
    for (const held of this.takeUnread(items)) this.line(held.text);
  }
}
