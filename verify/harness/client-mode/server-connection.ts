import WebSocket from 'ws';
import type { CloseEvent } from '../client.ts';
import { ClientLog, type HoldsLine } from '../client-log.ts';
import { HarnessCodes, VerifyFailure, type FailureDetails } from '../failure.ts';
import { describeCloseCode, describeFrame, frameSummary, type Frame } from '../frames.ts';
import type { Transcript } from '../transcript.ts';

/** Something the learner's client sent on one connection: a frame, or the end of the connection. */
type Received = ({ type: 'frame'; frame: Frame } | { type: 'close'; close: CloseEvent }) & HoldsLine;

/** Options for one wait on a connection. */
export interface ConnectionWaitOptions {
  /** How long to wait; default the lesson's step timeout. */
  timeoutMs?: number;
  /** The failure code when nothing arrives in time (default NO_REPLY). */
  timeoutCode?: string;
  /** The failure code when the connection ends first (default CONNECTION_CLOSED). */
  closedCode?: string;
  hint?: string;
}

/**
 * One WebSocket connection the learner's client opened to the verifier's server, seen from the
 * server's side: every frame the client sends is written into the transcript under the server's name
 * as it arrives (`[server] ← text …`), and waits fail with "Expected X, got Y" as a TestClient's do.
 */
export class ServerConnection {
  /** When the connection opened (Date.now()). */
  readonly openedAt = Date.now();
  /** When it ended, whoever ended it (Date.now()); undefined while open. */
  endedAt?: number;
  /** Set once the verifier has closed or dropped it: what follows is its own doing. */
  endedByServer = false;
  /** Resolves with how the connection ended. */
  readonly closed: Promise<CloseEvent>;
  private readonly inbox: Received[] = [];
  private waiter?: () => void;
  private readonly out: ClientLog;

  constructor(
    readonly ws: WebSocket,
    /** The request's path and query, as the client sent them. */
    readonly path: string,
    transcript: Transcript,
    name: string,
    private readonly stepTimeoutMs: number,
  ) {
    this.out = new ClientLog(name, transcript);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const frame: Frame = { kind: isBinary ? 'binary' : 'text', data };
      this.out.line(`← ${frameSummary(frame)}`);
      this.push({ type: 'frame', frame });
    });
    // A broken frame from the client is its failure to explain, not an exception of the verifier's.
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.endedAt ??= Date.now();
        const close: CloseEvent = { code, reason: reason.toString(), clean: code !== 1006 };
        if (!this.endedByServer) {
          this.out.line(close.clean ? `← close ${describeCloseCode(code)}${close.reason ? ` reason ${JSON.stringify(close.reason)}` : ''}` : '✂ your client dropped the connection without a close frame (1006)');
        }
        this.push({ type: 'close', close });
        resolve(close);
      });
    });
  }

  /** True until the connection has ended or the verifier has begun ending it. */
  get live(): boolean {
    return this.endedAt === undefined && !this.endedByServer;
  }

  private push(item: Received): void {
    this.inbox.push(item);
    this.waiter?.();
  }

  /** The next frame the client sends; fails when the connection ends first or nothing comes in time. */
  async nextFrame(awaiting: string, options: ConnectionWaitOptions = {}): Promise<Frame> {
    const timeoutMs = options.timeoutMs ?? this.stepTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new VerifyFailure({
          code: options.timeoutCode ?? HarnessCodes.NO_REPLY,
          expected: `${awaiting} within ${timeoutMs} ms`,
          actual: 'nothing (the server was still waiting)',
          hint: options.hint,
        });
      }
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    const item = this.inbox.shift()!;
    if (item.type === 'close') {
      this.inbox.unshift(item);
      throw new VerifyFailure({
        code: options.closedCode ?? HarnessCodes.CONNECTION_CLOSED,
        expected: awaiting,
        actual: item.close.clean ? `a close frame ${describeCloseCode(item.close.code)} from your client` : 'your client dropped the connection',
        hint: options.hint,
      });
    }
    return item.frame;
  }

  /** Frames that arrived and were not taken yet. */
  get pending(): Frame[] {
    return this.inbox.flatMap((i) => (i.type === 'frame' ? [i.frame] : []));
  }

  /** Fails if the client sends any frame within `ms`. */
  async expectSilence(ms: number, failure: Omit<FailureDetails, 'actual'>): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    const frame = this.pending[0];
    if (frame) throw new VerifyFailure({ ...failure, actual: describeFrame(frame) });
  }

  /** Closes the connection with a close frame, as a server that restarts does (1012, say). */
  close(code: number, reason = ''): void {
    this.out.line(`→ close ${describeCloseCode(code)}${reason ? ` reason ${JSON.stringify(reason)}` : ''}`);
    this.endedByServer = true;
    this.endedAt ??= Date.now();
    this.ws.close(code, reason);
  }

  /** Drops the TCP connection without a close frame, as a crashed server or a lost network does. */
  terminate(why = 'drops the connection without a close frame'): void {
    if (this.endedAt !== undefined) return;
    this.out.line(`✂ ${why}`);
    this.endedByServer = true;
    this.endedAt = Date.now();
    this.ws.terminate();
  }

  /** Releases the connection quietly at the end of a verification. */
  dispose(): void {
    this.endedByServer = true;
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }
}
