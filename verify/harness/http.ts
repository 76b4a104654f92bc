import net from 'node:net';
import type { Transcript } from './transcript.ts';

/** A request as the raw client writes it: every byte of it is under the verifier's control. */
export interface RawRequest {
  method?: string;
  /** Path and query, e.g. `/time`. */
  path: string;
  /** Header lines in the order written. `Host` is added first unless given. */
  headers?: Array<[string, string]>;
  /** Bytes sent after the head (a POST's JSON, say); `Content-Length` is added last unless given. */
  body?: string | Buffer;
}

/** A response read byte by byte off the socket, with its size on the wire broken down. */
export interface RawResponse {
  /** `HTTP/1.1`. */
  httpVersion: string;
  statusCode: number;
  statusMessage: string;
  /** Header lines in the order received, names as the server wrote them. */
  headers: Array<[string, string]>;
  /** The body, with any chunked framing removed. */
  body: Buffer;
  /** Bytes of the status line, the header lines and the blank line after them. */
  headBytes: number;
  /** Bytes of body framing: chunk sizes and their line ends. 0 with Content-Length. */
  framingBytes: number;
  /** Every byte of this response: headBytes + framingBytes + body.length. */
  bytes: number;
}

/** The value of a header (case-insensitive name), or undefined. */
export function headerValue(response: Pick<RawResponse, 'headers'>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return response.headers.find(([n]) => n.toLowerCase() === wanted)?.[1];
}

/** What came back for one request: a complete response, or what there was of one when it stopped. */
export type RawExchange =
  | { complete: true; requestBytes: number; response: RawResponse }
  | {
      complete: false;
      requestBytes: number;
      /** Why reading stopped: nothing more came in time, or the server closed the connection. */
      stopped: 'timeout' | 'closed';
      /** The status line and headers, when they had arrived. */
      head?: Omit<RawResponse, 'body' | 'framingBytes' | 'bytes'>;
      /** Body bytes that had arrived (chunk framing removed). */
      partialBody: number;
      /** Every byte that had arrived. */
      receivedBytes: number;
    };

/** An answer to an upgrade request: the response head and the socket, which from now on carries frames. */
export interface RawUpgrade {
  exchange: RawExchange;
  /** The connection, still open when the server switched protocols; paused until its new owner resumes it. */
  socket: net.Socket;
  /** Bytes that arrived after the response head, in the same reads: the first frames. */
  rest: Buffer;
}

export interface RawHttpOptions {
  host: string;
  port: number;
  /** How long to wait for a complete response. */
  timeoutMs: number;
  transcript: Transcript;
}

/**
 * An HTTP/1.1 client that speaks over a bare TCP socket, so the verifier controls every header it
 * sends and counts every byte that crosses the wire. It keeps one connection alive between requests
 * (as a browser does) and reconnects if the server closed it. Lines go to the transcript under its name.
 */
export class RawHttpClient {
  private socket?: net.Socket;
  private buffered = Buffer.alloc(0);
  private closed = true;
  private wake?: () => void;
  /** TCP connections opened so far. */
  connections = 0;

  constructor(
    readonly name: string,
    private readonly options: RawHttpOptions,
  ) {}

  /** Writes a line into the transcript under this client's name. */
  log(text: string, tone?: 'detail' | 'error'): void {
    this.options.transcript.add({ kind: 'client', name: this.name }, text, tone);
  }

  /** `Host: 127.0.0.1:PORT`, as a client that dialled this address would send it. */
  get hostHeader(): string {
    const { host, port } = this.options;
    return `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** The bytes a request becomes on the wire. */
  encode(request: RawRequest): Buffer {
    const headers = request.headers ?? [];
    const all = headers.some(([n]) => n.toLowerCase() === 'host') ? [...headers] : [['Host', this.hostHeader] as [string, string], ...headers];
    const body = request.body === undefined ? undefined : Buffer.from(request.body);
    if (body && !all.some(([n]) => n.toLowerCase() === 'content-length')) all.push(['Content-Length', String(body.length)]);
    const lines = [`${request.method ?? 'GET'} ${request.path} HTTP/1.1`, ...all.map(([n, v]) => `${n}: ${v}`)];
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    return body ? Buffer.concat([head, body]) : head;
  }

  /** Sends one request and reads its complete response (or what there is of it when it stops). */
  async request(request: RawRequest): Promise<RawExchange> {
    const bytes = this.encode(request);
    await this.write(bytes);
    return this.readResponse(bytes.length, request.method === 'HEAD');
  }

  /**
   * Sends an upgrade request and reads the response head only: after a 101, what follows is no longer
   * HTTP. Hands the socket over; this client opens a new connection for its next request.
   */
  async upgrade(request: RawRequest): Promise<RawUpgrade> {
    const bytes = this.encode(request);
    await this.write(bytes);
    const socket = this.socket!;
    const exchange = await this.readResponse(bytes.length, false, true);
    const rest = this.buffered;
    if (this.socket === socket) this.detach();
    // Held until the new owner listens, so no frame is read with nobody there to take it.
    socket.pause();
    return { exchange, socket, rest };
  }

  /** Closes the connection. */
  close(): void {
    this.socket?.destroy();
    this.detach();
  }

  private detach(): void {
    this.socket?.removeAllListeners('data');
    this.socket?.removeAllListeners('close');
    this.socket?.on('error', () => {});
    this.socket = undefined;
    this.buffered = Buffer.alloc(0);
    this.closed = true;
  }

  private async write(bytes: Buffer): Promise<void> {
    if (this.closed) await this.connect();
    this.socket!.write(bytes);
  }

  private connect(): Promise<void> {
    const { host, port } = this.options;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        this.connections++;
        this.closed = false;
        socket.off('error', reject);
        socket.on('error', () => {});
        resolve();
      });
      socket.once('error', reject);
      socket.on('data', (chunk: Buffer) => {
        this.buffered = Buffer.concat([this.buffered, chunk]);
        this.wake?.();
      });
      socket.on('close', () => {
        this.closed = true;
        this.wake?.();
      });
      this.socket = socket;
    });
  }

  /** Resolves when more bytes arrive, the connection closes, or the deadline passes (false). */
  private waitForMore(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(false);
      }, left);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(true);
      };
    });
  }

  private async readResponse(requestBytes: number, isHead: boolean, headOnly = false): Promise<RawExchange> {
    const deadline = Date.now() + this.options.timeoutMs;
    let head: ReturnType<typeof parseHead> | undefined;
    let body: BodyProgress = { done: false, body: Buffer.alloc(0), framing: 0, consumed: 0 };
    for (;;) {
      head ??= parseHead(this.buffered);
      if (head) {
        const afterHead = this.buffered.subarray(head.headBytes);
        if (headOnly || noBody(head.statusCode, isHead)) {
          this.buffered = afterHead;
          return { complete: true, requestBytes, response: { ...head, body: Buffer.alloc(0), framingBytes: 0, bytes: head.headBytes } };
        }
        body = readBody(head, afterHead, this.closed);
        if (body.done) {
          this.buffered = afterHead.subarray(body.consumed);
          const response: RawResponse = { ...head, body: body.body, framingBytes: body.framing, bytes: head.headBytes + body.framing + body.body.length };
          // The server said it will close: do not send the next request into a connection on its way out.
          if (/\bclose\b/i.test(headerValue(head, 'connection') ?? '')) this.close();
          return { complete: true, requestBytes, response };
        }
      }
      if (this.closed || !(await this.waitForMore(deadline))) {
        const receivedBytes = this.buffered.length;
        const stopped = this.closed ? 'closed' : 'timeout';
        this.close();
        return { complete: false, requestBytes, stopped, head, partialBody: body.body.length, receivedBytes };
      }
    }
  }
}

type Head = Omit<RawResponse, 'body' | 'framingBytes' | 'bytes'>;

/** The status line and headers, once the blank line that ends them has arrived. */
function parseHead(buffered: Buffer): Head | undefined {
  const end = buffered.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine = '', ...lines] = buffered.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^(HTTP\/\d\.\d) (\d{3}) ?(.*)$/.exec(statusLine);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return colon === -1 ? [line, ''] : [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  return {
    httpVersion: match?.[1] ?? statusLine,
    statusCode: match ? Number(match[2]) : 0,
    statusMessage: match?.[3] ?? '',
    headers,
    headBytes: end + 4,
  };
}

function noBody(status: number, isHead: boolean): boolean {
  return isHead || (status >= 100 && status < 200) || status === 204 || status === 304;
}

interface BodyProgress {
  done: boolean;
  body: Buffer;
  /** Bytes of chunk framing. */
  framing: number;
  /** Bytes of the buffer the body used up (body + framing). */
  consumed: number;
}

/** Reads as much of the body as has arrived, by Content-Length, by chunks, or until the server closes. */
function readBody(head: Head, data: Buffer, closed: boolean): BodyProgress {
  if (/chunked/i.test(headerValue(head, 'transfer-encoding') ?? '')) return readChunked(data);
  const length = headerValue(head, 'content-length');
  if (length !== undefined) {
    const n = Number(length);
    const body = data.subarray(0, n);
    return { done: body.length === n, body, framing: 0, consumed: body.length };
  }
  return { done: closed, body: data, framing: 0, consumed: data.length };
}

function readChunked(data: Buffer): BodyProgress {
  const parts: Buffer[] = [];
  let at = 0;
  let framing = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) break;
    if (size === 0) {
      // The last chunk, then optional trailer lines, then a blank line.
      const blank = data.indexOf('\r\n\r\n', lineEnd);
      if (blank === -1) break;
      const consumed = blank + 4;
      framing += consumed - at;
      return { done: true, body: Buffer.concat(parts), framing, consumed };
    }
    const start = lineEnd + 2;
    if (data.length < start + size + 2) {
      parts.push(data.subarray(start, Math.min(data.length, start + size)));
      break;
    }
    parts.push(data.subarray(start, start + size));
    framing += start - at + 2;
    at = start + size + 2;
  }
  return { done: false, body: Buffer.concat(parts), framing, consumed: at };
}
