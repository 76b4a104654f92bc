/**
 * A socket.io client of `wsw run`, for the lesson that speaks socket.io: the verifier's
 * SocketIoTestClient, so events, acks, disconnects and reconnections read as they do in a verification.
 */
import { HarnessCodes, VerifyFailure } from '../../verify/harness/failure.ts';
import type { SocketIoTestClient } from '../../verify/harness/socketio-client.ts';
import type { Transcript } from '../../verify/harness/transcript.ts';
import type { RunClient } from './run-clients.ts';
import type { RunOutput } from './run-console.ts';
import type { SocketIoCommand, WsCommand } from './run-commands.ts';

/** How long a drain of the inbox waits at a time (see WsRunClient: a run may last for hours). */
const DRAIN_WAIT_MS = 60_000;

/** A SocketIoTestClient driven by typed commands. Every event is emitted with an ack callback. */
export class SocketIoRunClient implements RunClient {
  readonly finished: Promise<void>;
  private finishedFlag = false;
  private lastReason = '';
  private readonly inFlight = new Set<Promise<void>>();
  /** Set when the run ends: an ack that times out during teardown is no news. */
  private ended = false;

  /** `client` must be connected, and log on `arrival`; `ackWaitMs` is how long an ack may take. */
  constructor(
    private readonly client: SocketIoTestClient,
    private readonly transcript: Transcript,
    private readonly ackWaitMs: number,
    /** Where the run's own lines go: why nothing was sent, say. */
    private readonly out: RunOutput,
    /** Which server it talks to (`server B`), when there is more than one. */
    readonly server?: string,
  ) {
    const socket = client.socket;
    this.finished = new Promise<void>((resolve) => {
      socket.on('disconnect', (reason) => {
        this.lastReason = reason;
        // socket.io-client comes back by itself after a drop; only a disconnect it will not undo is the end.
        if (socket.active) return;
        this.finishedFlag = true;
        resolve();
      });
    });
    void this.drain();
  }

  get name(): string {
    return this.client.name;
  }

  get isOpen(): boolean {
    return this.client.isConnected;
  }

  get isFinished(): boolean {
    return this.finishedFlag;
  }

  describeState(): string {
    const socket = this.client.socket;
    if (socket.connected) return `connected, socket.id ${socket.id}${socket.recovered ? ' (recovered)' : ''}`;
    if (socket.active) return `reconnecting by itself${this.lastReason ? ` after "${this.lastReason}"` : ''}`;
    return `disconnected${this.lastReason ? ` ("${this.lastReason}")` : ''}`;
  }

  perform(command: WsCommand | SocketIoCommand): void {
    if (this.finishedFlag) {
      this.out.print(this.out.colour.red(`${this.name} is ${this.describeState()}: nothing was sent. /connect opens another client.`));
      return;
    }
    if (!this.isOpen && command.kind !== 'disconnect') {
      // socket.io-client buffers what is emitted while it reconnects; saying so beats a silent wait.
      this.out.print(this.out.colour.dim(`${this.name} is reconnecting: socket.io-client keeps this event and sends it once it is back.`));
    }
    switch (command.kind) {
      case 'chat':
        return this.emit('chat', [{ message: command.message }]);
      case 'emit':
        return this.emit(command.event, command.args);
      case 'disconnect':
        return this.client.disconnect();
      default:
        throw new Error(`${command.kind} is a plain WebSocket command, not one for a socket.io client`);
    }
  }

  async settled(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  /** The run is over: stop reporting acks that will now never come. */
  end(): void {
    this.ended = true;
  }

  private emit(event: string, args: unknown[]): void {
    const acked = this.client.emitWithAck(event, args, `an ack for ${event}`, { timeoutMs: this.ackWaitMs }).then(
      () => {},
      (error: unknown) => {
        // The server's exit rejects every wait too, and a client disconnected for good drops its acks
        // (socket.io-client forgets them): the run says so in its own words.
        if (this.ended || this.finishedFlag || !(error instanceof VerifyFailure) || error.code !== HarnessCodes.NO_REPLY) return;
        this.transcript.add(
          { kind: 'client', name: this.name },
          `no ack for ${event} within ${this.ackWaitMs} ms: the server did not call the callback (fine for an event it answers without one)`,
          'detail',
        );
      },
    );
    const waiting: Promise<void> = Promise.race([acked, this.finished]).finally(() => this.inFlight.delete(waiting));
    this.inFlight.add(waiting);
  }

  /** Reads every event as it comes, so that the client's inbox does not grow for the length of a run. */
  private async drain(): Promise<void> {
    while (!this.finishedFlag && !this.ended) {
      try {
        await this.client.next('anything', { timeoutMs: DRAIN_WAIT_MS });
      } catch (error) {
        if (!(error instanceof VerifyFailure) || error.code !== HarnessCodes.NO_REPLY) return;
      }
    }
  }
}
