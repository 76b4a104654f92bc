/**
 * A plain WebSocket client of `wsw run`: the verifier's TestClient, so every frame reads as it does in
 * a verification, plus what only a person trying things needs (pings timed, a close chosen by hand).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { HarnessCodes, VerifyFailure } from '../../verify/harness/failure.ts';
import type { TestClient } from '../../verify/harness/client.ts';
import { describeCloseCode, previewText } from '../../verify/harness/frames.ts';
import type { Transcript, TranscriptEntry } from '../../verify/harness/transcript.ts';
import type { RunClient } from './run-clients.ts';
import type { RunOutput } from './run-console.ts';
import type { SocketIoCommand, WsCommand } from './run-commands.ts';

/** A ping waiting for its pong. */
interface PendingPing {
  sentAt: number;
  timer: NodeJS.Timeout;
  done: () => void;
  settled: Promise<void>;
}

/**
 * How long a drain of the inbox waits at a time. TestClient keeps every frame until it is read, and
 * stops listening past a limit meant for a verification; a run may last all afternoon, so frames
 * are read (and dropped, their lines already printed) as they come.
 */
const DRAIN_WAIT_MS = 60_000;

/** A TestClient driven by typed commands. */
export class WsRunClient implements RunClient {
  readonly finished: Promise<void>;
  private finishedFlag = false;
  private readonly pings: PendingPing[] = [];

  /** False after `/pong off`: pings then go unanswered, as they would to a client that vanished. */
  private answersPings = true;

  /**
   * `client` must be connected, log frames on `arrival`, and leave pings to this class: opened with
   * `quietPings` and ws's `autoPong: false`, so that each ping gets one line saying whether it was
   * answered, and `/pong off` can stop the answers. `replyWaitMs` is how long a pong may take before
   * it is reported missing.
   */
  constructor(
    private readonly client: TestClient,
    private readonly transcript: Transcript,
    private readonly replyWaitMs: number,
    /** Where the run's own lines go: why nothing was sent, say. */
    private readonly out: RunOutput,
    /** Which server it talks to (`server B`), when there is more than one. */
    readonly server?: string,
  ) {
    this.finished = new Promise<void>((resolve) => {
      const finish = () => {
        this.finishedFlag = true;
        // A ping the close overtook gets no pong: the close line already says why.
        this.end();
        resolve();
      };
      if (client.ws.readyState === WebSocket.CLOSED) finish();
      else client.ws.once('close', finish);
    });
    client.ws.on('ping', (data: Buffer) => this.answer(data));
    client.ws.on('pong', (data: Buffer) => this.pong(data));
    void this.drain();
  }

  get name(): string {
    return this.client.name;
  }

  get isOpen(): boolean {
    return this.client.isOpen;
  }

  get isFinished(): boolean {
    return this.finishedFlag;
  }

  describeState(): string {
    const url = this.client.ws.url;
    switch (this.client.ws.readyState) {
      case WebSocket.CONNECTING:
        return `connecting to ${url}`;
      case WebSocket.OPEN:
        return `open, ${url}`;
      case WebSocket.CLOSING:
        return 'closing: waiting for the close frame in answer';
      default: {
        const close = this.client.closed;
        if (!close) return 'closed';
        return close.clean
          ? `closed ${describeCloseCode(close.code)}${close.reason ? ` reason ${JSON.stringify(close.reason)}` : ''}`
          : 'dropped without a close frame (1006)';
      }
    }
  }

  perform(command: WsCommand | SocketIoCommand): void {
    if (!this.isOpen) {
      this.out.print(this.out.colour.red(`${this.name} is ${this.describeState()}: nothing was sent. /connect opens another client.`));
      return;
    }
    switch (command.kind) {
      case 'text':
      case 'json':
        return this.client.sendText(command.text);
      case 'binary':
        return this.client.sendBinary(command.data);
      case 'ping':
        return this.ping(command.data);
      case 'close':
        return this.client.close(command.code, command.reason);
      case 'pongs':
        return this.setPongs(command.on);
      default:
        throw new Error(`${command.kind} is a socket.io command, not one for a plain WebSocket client`);
    }
  }

  async settled(): Promise<void> {
    await Promise.all(this.pings.map((p) => p.settled));
  }

  end(): void {
    for (const ping of this.pings.splice(0)) {
      clearTimeout(ping.timer);
      ping.done();
    }
  }

  private log(text: string, tone?: TranscriptEntry['tone']): void {
    this.transcript.add({ kind: 'client', name: this.name }, text, tone);
  }

  /** A ping from the server: answered with a pong carrying the same bytes (RFC 6455 §5.5.3), unless pongs are off. */
  private answer(data: Buffer): void {
    if (!this.answersPings) {
      this.log(`← ping${describePayload(data)}, not answered (pongs are off: /pong on answers again)`, 'detail');
      return;
    }
    this.log(`← ping${describePayload(data)}`, 'detail');
    if (this.client.ws.readyState === WebSocket.OPEN) this.client.ws.pong(data);
  }

  private setPongs(on: boolean): void {
    if (on === this.answersPings) {
      this.out.print(this.out.colour.dim(`${this.name} already ${on ? 'answers every ping' : 'leaves pings unanswered'}.`));
      return;
    }
    this.answersPings = on;
    this.log(
      on
        ? 'pongs on: every ping is answered again, as a live client does'
        : 'pongs off: pings go unanswered from now on, as from a client whose network vanished; a heartbeat should terminate this connection',
    );
  }

  private ping(data: Buffer): void {
    this.log(`→ ping${describePayload(data)}`);
    let done!: () => void;
    const settled = new Promise<void>((resolve) => (done = resolve));
    const pending: PendingPing = {
      sentAt: performance.now(),
      done,
      settled,
      timer: setTimeout(() => {
        this.pings.splice(this.pings.indexOf(pending), 1);
        this.log(`no pong within ${this.replyWaitMs} ms: a WebSocket server answers every ping by itself, so the connection is stuck`, 'error');
        done();
      }, this.replyWaitMs),
    };
    this.pings.push(pending);
    this.client.ws.ping(data);
  }

  /** Pongs come back in the order of the pings (RFC 6455 §5.5.3); one that answers none was sent unasked. */
  private pong(data: Buffer): void {
    const ping = this.pings.shift();
    if (!ping) {
      this.log(`← pong${describePayload(data)} (unsolicited: no ping was waiting for it)`);
      return;
    }
    clearTimeout(ping.timer);
    this.log(`← pong${describePayload(data)} (round trip ${formatMs(performance.now() - ping.sentAt)})`);
    ping.done();
  }

  /** Reads every frame as it comes, so that the client's inbox never fills; the lines are already printed. */
  private async drain(): Promise<void> {
    for (;;) {
      try {
        const item = await this.client.next('anything', { timeoutMs: DRAIN_WAIT_MS });
        if (item.type === 'close') return;
      } catch (error) {
        // Only a quiet minute is a reason to go on; a close, a flood or the server's exit ends the reading.
        if (!(error instanceof VerifyFailure) || error.code !== HarnessCodes.NO_REPLY || this.finishedFlag) return;
      }
    }
  }
}

function describePayload(data: Buffer): string {
  return data.length > 0 ? ` ${previewText(data.toString('utf8'))}` : '';
}

/** Loopback round trips take a fraction of a millisecond: show one decimal below 10 ms. */
function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
