import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { headerValue } from './http.ts';
import type { Transcript } from './transcript.ts';

/** One event of a Server-Sent Events stream, as the specification's parser dispatches it. */
export interface SseEvent {
  /** The last event id when it was dispatched (the stream's, as an EventSource keeps it). */
  lastEventId: string;
  /** True when the event's own lines carried an `id:` field. */
  ownId: boolean;
  /** The data lines joined with \n: the text an EventSource gives to onmessage. */
  data: string;
  /** Its lines as they came, for telling the learner what was sent. */
  lines: string[];
  /** Index of the body piece (chunk) that completed it. */
  piece: number;
}

/** A piece of the response body as it crossed the wire: one chunk, or one read when not chunked. */
interface BodyPiece {
  wireBytes: number;
  /** True when it held nothing but comment lines (and their line ends). */
  commentOnly: boolean;
}

/** The response head of a stream. */
export interface StreamHead {
  statusCode: number;
  headers: Array<[string, string]>;
  headBytes: number;
}

export interface SseStreamOptions {
  host: string;
  port: number;
  transcript: Transcript;
}

/**
 * A raw client of an event stream over a bare TCP socket: it sends exactly the request asked for,
 * reads the response head and then the body as it comes (chunked or not), parses it line by line as
 * the Server-Sent Events specification says (lines end at \r\n, \n or \r), and counts the bytes of
 * every piece on the wire. It never reconnects: what the server sent, it shows as sent.
 */
export class SseStream {
  private socket?: net.Socket;
  private raw = Buffer.alloc(0);
  private decoder = new StringDecoder('utf8');
  private text = '';
  private chunked = false;
  private wakers = new Set<() => void>();
  head?: StreamHead;
  readonly events: SseEvent[] = [];
  /** Comment lines, without their colon. */
  readonly comments: string[] = [];
  /** Every field line in order (`retry: 200`, `id: 3`, …), comments left out. */
  readonly fieldLines: string[] = [];
  /** `retry` values, in order. */
  readonly retries: string[] = [];
  readonly pieces: BodyPiece[] = [];
  ended = false;
  /** True once the server ended the response properly: the last chunk (or, without chunks, the end of the connection). */
  finished = false;
  wireBytes = 0;
  // The parser's state, as the specification names it.
  private data: string[] = [];
  private lines: string[] = [];
  private lastEventId = '';
  private ownId = false;

  constructor(
    readonly name: string,
    private readonly options: SseStreamOptions,
  ) {}

  log(text: string, tone?: 'detail' | 'error'): void {
    this.options.transcript.add({ kind: 'client', name: this.name }, text, tone);
  }

  /** Connects and sends `GET path` with the given extra headers. Resolves once the request is written. */
  open(path = '/events', headers: Array<[string, string]> = []): Promise<void> {
    const { host, port } = this.options;
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${host}:${port}`, 'Accept: text/event-stream', ...headers.map(([n, v]) => `${n}: ${v}`)];
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      this.socket = socket;
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('error', () => {});
        socket.write(`${lines.join('\r\n')}\r\n\r\n`, () => resolve());
      });
      socket.on('data', (chunk: Buffer) => this.take(chunk));
      socket.on('end', () => {
        if (this.head && !this.chunked) this.finished = true;
      });
      socket.on('close', () => {
        this.ended = true;
        this.wakeAll();
      });
    });
  }

  /** Drops the connection, as a closed browser tab does. */
  close(): void {
    this.socket?.destroy();
    this.ended = true;
    this.wakeAll();
  }

  /** Waits until `ready()` holds, the stream ends, or `timeoutMs` passes; resolves with `ready()`. */
  async until(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!ready() && !this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.wakers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, deadline - Date.now());
        this.wakers.add(done);
      });
    }
    return ready();
  }

  /** The header's value (case-insensitive name), once the head has come. */
  header(name: string): string | undefined {
    return this.head ? headerValue(this.head, name) : undefined;
  }

  /** The events whose id field said `id`. */
  withId(id: number): SseEvent[] {
    return this.events.filter((e) => e.ownId && e.lastEventId === String(id));
  }

  /**
   * Bytes on the wire from body piece `from` up to the one that completed `event`, leaving out the
   * pieces that held only comments (keep-alives that happened to come meanwhile).
   */
  bytesFor(from: number, event: SseEvent): number {
    return this.pieces.slice(from, event.piece + 1).filter((p) => !p.commentOnly).reduce((sum, p) => sum + p.wireBytes, 0);
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }

  private take(chunk: Buffer): void {
    this.wireBytes += chunk.length;
    this.raw = Buffer.concat([this.raw, chunk]);
    if (!this.head) {
      const end = this.raw.indexOf('\r\n\r\n');
      if (end === -1) return;
      const [status = '', ...lines] = this.raw.subarray(0, end).toString('latin1').split('\r\n');
      const headers = lines.map((line): [string, string] => {
        const colon = line.indexOf(':');
        return colon === -1 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1).trim()];
      });
      this.head = { statusCode: Number(/^HTTP\/\d\.\d (\d{3})/.exec(status)?.[1] ?? 0), headers, headBytes: end + 4 };
      this.chunked = /chunked/i.test(headerValue(this.head, 'transfer-encoding') ?? '');
      this.raw = this.raw.subarray(end + 4);
    }
    this.readBody();
    this.wakeAll();
  }

  private readBody(): void {
    if (!this.chunked) {
      if (this.raw.length > 0) this.piece(this.raw, this.raw.length);
      this.raw = Buffer.alloc(0);
      return;
    }
    for (;;) {
      const lineEnd = this.raw.indexOf('\r\n');
      if (lineEnd === -1) return;
      const size = parseInt(this.raw.subarray(0, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return;
      const total = lineEnd + 2 + size + 2;
      if (this.raw.length < total) return;
      this.piece(this.raw.subarray(lineEnd + 2, lineEnd + 2 + size), total);
      this.raw = this.raw.subarray(total);
      if (size === 0) {
        this.finished = true;
        return;
      }
    }
  }

  private piece(body: Buffer, wireBytes: number): void {
    const text = this.decoder.write(Buffer.from(body));
    const index = this.pieces.length;
    const commentOnly = text.length > 0 && text.split(/\r\n|\r|\n/).every((line) => line === '' || line.startsWith(':'));
    this.pieces.push({ wireBytes, commentOnly });
    this.text += text;
    // A line ends at \r\n, \n or \r; a \r at the very end may be the first half of a \r\n still coming.
    for (;;) {
      const match = /\r\n|\n|\r/.exec(this.text);
      if (!match || (match[0] === '\r' && match.index === this.text.length - 1)) break;
      const line = this.text.slice(0, match.index);
      this.text = this.text.slice(match.index + match[0].length);
      this.line(line, index);
    }
  }

  /** The specification's "process the line". */
  private line(line: string, piece: number): void {
    if (line === '') {
      if (this.data.length > 0) {
        this.events.push({ lastEventId: this.lastEventId, ownId: this.ownId, data: this.data.join('\n'), lines: this.lines, piece });
      }
      this.data = [];
      this.lines = [];
      this.ownId = false;
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line.slice(1));
      return;
    }
    this.fieldLines.push(line);
    this.lines.push(line);
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) {
      this.lastEventId = value;
      this.ownId = true;
    } else if (field === 'retry') this.retries.push(value);
  }
}
