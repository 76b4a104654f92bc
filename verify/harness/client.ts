import net from 'node:net';
import tls from 'node:tls';
import type { IncomingMessage } from 'node:http';
import WebSocket, { type ClientOptions } from 'ws';
import { HarnessCodes, VerifyFailure, type FailureDetails } from './failure.ts';
import { ClientLog } from './client-log.ts';
import { explainNetworkError } from './network-errors.ts';
import { describeCloseCode, describeFrame, formatBytes, frameSummary, type Frame } from './frames.ts';
import type { Transcript } from './transcript.ts';

/** How a connection ended, as the client saw it. */
export interface CloseEvent {
  code: number;
  reason: string;
  /** True when the server sent a close frame; false when the TCP connection just dropped. */
  clean: boolean;
}

/** Something that arrived, with the transcript line held for it when frames are logged on reading. */
type Received = ({ type: 'frame'; frame: Frame } | { type: 'close'; close: CloseEvent }) & { held?: HeldLine };

/** A transcript line not written yet; `seq` orders held lines across clients. */
export interface HeldLine {
  seq: number;
  name: string;
  text: string;
}

/**
 * When a client writes what it receives into the transcript:
 * - `arrival`: as it arrives, for watching live (`run`, most steps);
 * - `read`: when the verifier takes it (next, expectJson, expectClose…), so that frames several
 *   clients receive at the same moment appear in the story's order, the same every run;
 * - `silent`: never, for crowds of clients whose every frame would drown the story.
 */
export type FrameLogging = 'arrival' | 'read' | 'silent';


/** A client whose unread lines the verification can release after a failure. */
export interface UnreadHolder {
  takeUnread(): HeldLine[];
}

/** Options for one expectation. Failures default to the harness's codes; lessons name their own. */
export interface ExpectOptions {
  /** How long to wait. Defaults to the lesson's step timeout. */
  timeoutMs?: number;
  /** Failure code when the wrong thing arrives. */
  code?: string;
  /** Hint when the wrong thing arrives. */
  hint?: string;
  /** Failure code when nothing arrives in time (default NO_REPLY). */
  timeoutCode?: string;
  /** Hint when nothing arrives in time. */
  timeoutHint?: string;
}

/** Everything a client needs from the session it belongs to. */
export interface ClientContext {
  transcript: Transcript;
  stepTimeoutMs: number;
  /** Rejects when the learner's program dies, so no wait outlives it. */
  programGone: Promise<never>;
  /** When received frames are written; default `arrival`. */
  logging?: FrameLogging;
  /** The largest frame the lesson allows; larger ones fail with FRAME_TOO_LARGE. */
  maxFrameBytes?: number;
  /** Counts pings without a transcript line for each (a lesson that says what they came to instead). */
  quietPings?: boolean;
}

/** The largest frame a client accepts when the lesson sets no limit. */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;
/** Messages a client keeps unread before it decides the server is flooding it. */
export const MAX_UNREAD_FRAMES = 2000;

/**
 * A real `ws` client that writes every frame it sends and receives into the transcript under its own
 * name, and offers expectations that fail with "Expected X, got Y".
 */
export class TestClient {
  /** The underlying ws socket, for lessons that need more than the helpers offer. */
  ws!: WebSocket;
  /** Bytes that crossed the TCP connection, handshake included. */
  readonly wire = { sent: 0, received: 0 };
  /** The handshake response, once connected. */
  response?: IncomingMessage;
  /** Pings the server sent, with their arrival times (ms since connect). */
  readonly pings: number[] = [];
  private readonly inbox: Received[] = [];
  private waiter?: () => void;
  private closeEvent?: CloseEvent;
  private socket?: net.Socket;
  private connectedAt = 0;
  /** Set when the server sent more unread messages than a client keeps. */
  private flooded = false;
  /** The last socket error, to explain a drop that follows it. */
  private lastError?: NodeJS.ErrnoException;

  /** Where this client's lines go, and when. */
  private readonly out: ClientLog;

  constructor(
    readonly name: string,
    private readonly ctx: ClientContext,
  ) {
    this.out = new ClientLog(name, ctx.transcript, ctx.logging);
  }

  /** Held lines of items never read, oldest first; they are released by whoever calls this. */
  takeUnread(): HeldLine[] {
    return this.out.takeUnread(this.inbox);
  }

  /** Writes every held line of this client now (a wait failed: show what did arrive). */
  releaseUnread(): void {
    this.out.releaseUnread(this.inbox);
  }


  /**
   * Opens the connection and waits for the handshake to complete. `tap`, if given, sees the TCP socket
   * as soon as it exists, so that a reader attached there gets every byte, the handshake's answer included.
   */
  async connect(url: string, options: ClientOptions = {}, tap?: (socket: net.Socket) => void): Promise<this> {
    this.out.line(`connecting to ${url}`);
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      handshakeTimeout: this.ctx.stepTimeoutMs,
      maxPayload: this.ctx.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      ...options,
      // Counting bytes on our own socket shows the learner what the wire really carried.
      createConnection: (opts: net.NetConnectOpts & tls.ConnectionOptions & { host?: string }) => {
        // What ws itself would do: TLS for wss:// (certificates checked, SNI from the host name).
        this.socket = url.startsWith('wss:')
          ? tls.connect({ ...opts, servername: opts.servername ?? (net.isIP(opts.host ?? '') ? '' : opts.host) })
          : net.connect(opts);
        tap?.(this.socket);
        return this.socket;
      },
    } as ClientOptions);
    this.ws = ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.flooded) return;
      const frame: Frame = { kind: isBinary ? 'binary' : 'text', data };
      const item: Received = { type: 'frame', frame };
      if (this.unreadFrames() >= MAX_UNREAD_FRAMES) {
        // A server that never stops sending would fill memory; stop listening and say so.
        this.flooded = true;
        this.inbox.length = 0;
        this.out.line(`✂ stops listening: ${MAX_UNREAD_FRAMES} messages arrived that nobody asked for`, 'error');
        ws.terminate();
        return;
      }
      this.out.received(item, `← ${frameSummary(frame)}`);
      this.push(item);
    });
    ws.on('error', (error: NodeJS.ErrnoException) => {
      this.lastError = error;
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.out.line(`✂ a frame larger than ${formatBytes(this.maxFrameBytes)} arrived: the most this lesson allows`, 'error');
        return;
      }
      this.out.line(`! ${error.code ?? error.message}: ${explainNetworkError(error, { client: this.name, doing: 'connected' }).likelyCause}`, 'error');
    });
    ws.on('ping', () => {
      this.pings.push(Date.now() - this.connectedAt);
      if (!this.ctx.quietPings) this.out.line('← ping', 'detail');
    });
    ws.on('close', (code, reason) => {
      this.countWire();
      const clean = code !== 1006;
      this.closeEvent = { code, reason: reason.toString(), clean };
      const item: Received = { type: 'close', close: this.closeEvent };
      this.out.received(
        item,
        clean
          ? `← close ${describeCloseCode(code)}${reason.length ? ` reason ${JSON.stringify(reason.toString())}` : ''}`
          : '✂ connection dropped without a close frame (1006)',
      );
      this.push(item);
    });

    const opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        // Logged here, before any frame the server sends at once can be logged.
        this.connectedAt = Date.now();
        this.countWire();
        this.out.line('connected (HTTP 101 Switching Protocols)');
        resolve();
      });
      ws.once('unexpected-response', (_req, res) => {
        const status = `${res.statusCode} ${res.statusMessage ?? ''}`.trim();
        this.out.line(`← HTTP ${status} (not an upgrade)`, 'error');
        res.resume();
        reject(
          new VerifyFailure({
            code: HarnessCodes.HANDSHAKE_REJECTED,
            expected: 'HTTP 101 Switching Protocols in answer to the upgrade request',
            actual: `HTTP ${status}`,
            hint: 'The WebSocket server must handle upgrade requests. Create it with new WebSocketServer({ port }) or attach it to your HTTP server with new WebSocketServer({ server }).',
          }),
        );
        ws.terminate();
      });
      ws.once('error', (error: NodeJS.ErrnoException) => {
        const explained = explainNetworkError(error, { client: this.name, doing: 'opening the WebSocket connection' });
        reject(
          new VerifyFailure({
            code: HarnessCodes.CONNECT_FAILED,
            expected: 'the WebSocket connection to open',
            actual: explained.sentence,
            hint: `Most likely ${explained.likelyCause}.`,
          }),
        );
      });
      ws.once('close', () =>
        reject(new VerifyFailure({ code: HarnessCodes.CONNECT_FAILED, message: 'The connection closed during the handshake.' })),
      );
    });
    ws.on('upgrade', (res) => (this.response = res));
    await Promise.race([opened, this.ctx.programGone]);
    return this;
  }

  private countWire(): void {
    if (!this.socket) return;
    this.wire.sent = this.socket.bytesWritten;
    this.wire.received = this.socket.bytesRead;
  }

  /** Bytes on the wire so far, handshake included. */
  wireBytes(): { sent: number; received: number } {
    this.countWire();
    return { ...this.wire };
  }

  private unreadFrames(): number {
    return this.inbox.length;
  }

  private get maxFrameBytes(): number {
    return this.ctx.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  private push(item: Received): void {
    this.inbox.push(item);
    this.waiter?.();
  }

  /** Sends a text frame. */
  sendText(text: string): void {
    this.send({ kind: 'text', data: Buffer.from(text) });
  }

  /** Sends a binary frame. */
  sendBinary(data: Buffer): void {
    this.send({ kind: 'binary', data });
  }

  /** Sends a value as a JSON text frame. */
  sendJson(value: unknown): void {
    this.sendText(JSON.stringify(value));
  }

  private send(frame: Frame): void {
    this.out.line(`→ ${frameSummary(frame)}`);
    this.ws.send(frame.data, { binary: frame.kind === 'binary' });
  }

  /**
   * Writes bytes on the TCP connection exactly as given, past ws: for frames a correct client never
   * sends (unmasked, reserved bits set). `shown` is the transcript line, as raw bytes cannot say what
   * they are.
   */
  writeRaw(bytes: Buffer, shown: string): void {
    this.out.line(`→ ${shown}`);
    this.socket?.write(bytes);
  }

  /**
   * The next thing that arrives: a frame, or the close. Fails when nothing arrives in time, or when the
   * learner's program dies while waiting. `awaiting` says, in failure messages, what was expected.
   */
  async next(awaiting: string, options: ExpectOptions = {}): Promise<Received> {
    if (this.flooded) throw this.closedWhileWaiting(awaiting, { code: 1006, reason: '', clean: false }, options);
    const timeoutMs = options.timeoutMs ?? this.ctx.stepTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.releaseUnread();
        throw new VerifyFailure({
          code: options.timeoutCode ?? HarnessCodes.NO_REPLY,
          expected: `${awaiting} within ${timeoutMs} ms`,
          actual: `nothing (${this.name} was still waiting)`,
          hint: options.timeoutHint,
        });
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          this.waiter = resolve;
          timer = setTimeout(resolve, left);
        }),
        this.ctx.programGone,
      ]).finally(() => clearTimeout(timer));
    }
    const item = this.inbox.shift()!;
    this.out.release(item);
    return item;
  }

  /** The next frame; fails with CONNECTION_CLOSED if the connection closes first. */
  async nextFrame(awaiting: string, options: ExpectOptions = {}): Promise<Frame> {
    const item = await this.next(awaiting, options);
    if (item.type === 'close') {
      this.releaseUnread();
      throw this.closedWhileWaiting(awaiting, item.close, options);
    }
    return item.frame;
  }

  private closedWhileWaiting(awaiting: string, close: CloseEvent, options: ExpectOptions): VerifyFailure {
    const doing = `waiting for ${awaiting}`;
    if (this.flooded) {
      return new VerifyFailure({
        code: HarnessCodes.FRAME_FLOOD,
        expected: awaiting,
        actual: `more than ${MAX_UNREAD_FRAMES} messages that ${this.name} never asked for, still coming`,
        hint: 'Something sends in a loop that never ends: a while loop, a timer that is never cleared, or a message handler that answers its own messages.',
      });
    }
    if (this.lastError?.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      return new VerifyFailure({
        code: HarnessCodes.FRAME_TOO_LARGE,
        expected: `${awaiting}, in frames of at most ${formatBytes(this.maxFrameBytes)}`,
        actual: `a larger frame, so ${this.name} closed the connection with 1009 (message too big)`,
        hint: 'Send what the lesson asks for, no more: check what you put into send(), and that you do not concatenate messages.',
      });
    }
    if (this.lastError?.code === 'WS_ERR_INVALID_UTF8') {
      return new VerifyFailure({
        code: HarnessCodes.TEXT_NOT_UTF8,
        expected: awaiting,
        actual: `a text frame whose bytes are not valid UTF-8, so ${this.name} closed the connection with 1007 (invalid payload data), as RFC 6455 requires`,
        hint: 'A text frame must hold UTF-8 text. Bytes that are not text (binary data) go in a binary frame: send(data, { binary: true }), or pass on the isBinary flag the message came with.',
      });
    }
    return new VerifyFailure({
      code: HarnessCodes.CONNECTION_CLOSED,
      expected: awaiting,
      actual: close.clean
        ? `a close frame ${describeCloseCode(close.code)}${close.reason ? ` reason ${JSON.stringify(close.reason)}` : ''}: your server closed the connection while ${this.name} was ${doing}`
        : this.lastError
          ? explainNetworkError(this.lastError, { client: this.name, doing }).sentence
          : `your server closed the TCP connection without a close frame (1006) while ${this.name} was ${doing}: it destroyed the socket, called terminate(), or crashed`,
      hint: options.hint ?? 'Keep each connection open until the client closes it.',
    });
  }

  /** Expects a text frame with exactly this content. */
  async expectText(expected: string, options: ExpectOptions = {}): Promise<void> {
    const want: Frame = { kind: 'text', data: Buffer.from(expected) };
    await this.expectFrame(want, options);
  }

  /** Expects a binary frame with exactly these bytes. */
  async expectBinary(expected: Buffer, options: ExpectOptions = {}): Promise<void> {
    await this.expectFrame({ kind: 'binary', data: expected }, options);
  }

  /** Expects exactly this frame: same type, same bytes. */
  async expectFrame(want: Frame, options: ExpectOptions = {}): Promise<void> {
    const got = await this.nextFrame(describeFrame(want), options);
    if (got.kind !== want.kind || !got.data.equals(want.data)) {
      throw new VerifyFailure({ code: options.code ?? 'UNEXPECTED_FRAME', expected: describeFrame(want), actual: describeFrame(got), hint: options.hint });
    }
  }

  /** Expects a text frame holding JSON, and returns it parsed. */
  async expectJson<T = unknown>(awaiting: string, options: ExpectOptions = {}): Promise<T> {
    const got = await this.nextFrame(awaiting, options);
    const fail = (actual: string, extra = '') =>
      new VerifyFailure({ code: options.code ?? 'NOT_JSON', expected: awaiting, actual: actual + extra, hint: options.hint });
    if (got.kind !== 'text') throw fail(describeFrame(got));
    try {
      return JSON.parse(got.data.toString('utf8')) as T;
    } catch {
      throw fail(describeFrame(got), ', which is not valid JSON');
    }
  }

  /** Fails if any frame arrives within `ms`. */
  async expectSilence(ms: number, failure: Omit<FailureDetails, 'actual'>): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    const frame = this.inbox.find((i) => i.type === 'frame');
    if (frame && frame.type === 'frame') {
      this.releaseUnread();
      throw new VerifyFailure({ ...failure, actual: describeFrame(frame.frame) });
    }
  }

  /** Waits for the connection to close and returns how. */
  async expectClose(awaiting = 'the connection to close', options: ExpectOptions = {}): Promise<CloseEvent> {
    for (;;) {
      const item = await this.next(awaiting, options);
      if (item.type === 'close') return item.close;
    }
  }

  /** Frames received and not yet taken by an expectation. */
  get pending(): Frame[] {
    return this.inbox.flatMap((i) => (i.type === 'frame' ? [i.frame] : []));
  }

  /** True while the connection is open. */
  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Closes cleanly with a close frame. */
  close(code = 1000, reason = ''): void {
    this.out.line(`→ close ${describeCloseCode(code)}${reason ? ` reason ${JSON.stringify(reason)}` : ''}`);
    this.ws.close(code, reason);
  }

  /**
   * Closes with a close frame that carries no status code, as a browser's `socket.close()` with no
   * arguments does: the server's 'close' handler then receives 1005.
   */
  closeWithoutCode(): void {
    this.out.line('→ close with no status code');
    this.ws.close();
  }

  /** Drops the TCP connection without a close frame, as a crashed or unplugged client would. */
  terminate(): void {
    this.out.line('✂ drops the connection without a close frame');
    this.ws.terminate();
  }

  /** Quietly releases the connection at the end of a verification. */
  dispose(): void {
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) {
      this.ws.removeAllListeners('close');
      this.ws.removeAllListeners('message');
      this.ws.on('error', () => {});
      this.ws.terminate();
    }
  }

  /** How the connection closed, once it has. */
  get closed(): CloseEvent | undefined {
    return this.closeEvent;
  }
}
