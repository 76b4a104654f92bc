import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { ClientLog } from './client-log.ts';
import type { ClientContext, ExpectOptions, FrameLogging, HeldLine } from './client.ts';
import { HarnessCodes, VerifyFailure, type FailureDetails } from './failure.ts';
import type { RunningServer, Verification } from './session.ts';

/** Something a socket.io client saw, in the order it saw it. */
export type SocketIoItem =
  | { type: 'event'; event: string; args: unknown[] }
  | { type: 'disconnect'; reason: string }
  | { type: 'connect'; recovered: boolean };

type Received = SocketIoItem & { held?: HeldLine };

/** Options of socket.io-client itself (transports, reconnection, auth…). */
export type SocketIoOptions = Partial<ManagerOptions & SocketOptions>;

/**
 * Defaults for verifier clients: the websocket transport alone (no HTTP long-polling first, so a
 * connection is one upgrade, fast and the same every run), reconnection attempts a few dozen
 * milliseconds apart instead of one to five seconds, and a fresh connection per client.
 */
export const FAST_SOCKETIO: SocketIoOptions = {
  transports: ['websocket'],
  reconnectionDelay: 50,
  reconnectionDelayMax: 100,
  forceNew: true,
};

const PREVIEW_CHARS = 120;

/** The namespace `flush()` knocks at: one no lesson uses. */
const FLUSH_NAMESPACE = '/wsw-flush';

/**
 * A real socket.io-client that writes into the transcript, under its own name, every event it emits
 * and receives, every acknowledgement, and every disconnect and reconnect; with expectations that fail
 * with "Expected X, got Y". The socket.io counterpart of TestClient.
 */
export class SocketIoTestClient {
  /** The underlying socket.io-client socket, for lessons that need more than the helpers offer. */
  socket!: Socket;
  private readonly inbox: Received[] = [];
  private waiter?: () => void;

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
   * Connects to a socket.io server and waits for socket.io's own handshake to complete. `auth` is
   * what the server reads as socket.handshake.auth; it is sent again on every reconnection.
   */
  async connect(url: string, options: SocketIoOptions = {}): Promise<this> {
    // A connection attempt gives up after the step timeout, not socket.io-client's 20 s.
    const settings = { ...FAST_SOCKETIO, timeout: this.ctx.stepTimeoutMs, ...options };
    const auth = typeof settings.auth === 'object' ? `, auth ${JSON.stringify(settings.auth)}` : '';
    this.out.line(`connecting to ${url} with socket.io-client (${(settings.transports ?? []).join(', ') || 'default'} transport)${auth}`);
    const socket = io(url, settings);
    this.socket = socket;

    // socket.io-client hands over the events that came with a (re)connection, such as those a recovered
    // session replays, just before it says 'connect'. They are kept aside until then, and told after
    // the connection they came on.
    let first = true;
    let arrivedWhileConnecting: Array<{ event: string; args: unknown[] }> | undefined = [];
    socket.on('connect', () => {
      if (first) {
        first = false;
        this.out.line('connected (socket.io handshake done)');
      } else {
        const recovered = socket.recovered === true;
        const item: Received = { type: 'connect', recovered };
        this.out.received(item, `↻ reconnected by itself (socket.recovered: ${recovered})`);
        this.push(item);
      }
      for (const { event, args } of arrivedWhileConnecting ?? []) this.receive(event, args);
      arrivedWhileConnecting = undefined;
    });
    socket.on('disconnect', (reason) => {
      arrivedWhileConnecting = [];
      const item: Received = { type: 'disconnect', reason };
      const comeback = socket.active ? 'socket.io-client will reconnect by itself' : 'socket.io-client will not reconnect';
      this.out.received(item, `✂ disconnected: "${reason}" (${comeback})`);
      this.push(item);
    });
    socket.onAny((event: string, ...args: unknown[]) => {
      const received = { event, args: withoutOffset(socket, args) };
      if (arrivedWhileConnecting) arrivedWhileConnecting.push(received);
      else this.receive(received.event, received.args);
    });

    const connected = new Promise<void>((resolve, reject) => {
      const onConnect = () => {
        socket.off('connect_error', onError);
        resolve();
      };
      const onError = (error: Error) => {
        socket.off('connect', onConnect);
        this.out.line(`! ${error.message}`, 'error');
        // A first connection that fails is a verdict: stop, or socket.io-client would keep trying forever.
        socket.io.reconnection(false);
        socket.disconnect();
        reject(
          new VerifyFailure({
            code: HarnessCodes.CONNECT_FAILED,
            expected: 'socket.io-client to connect',
            actual: `connect_error: ${error.message}`,
            hint: 'Your server must be a socket.io server listening on PORT: new Server(Number(process.env.PORT)).',
          }),
        );
      };
      // Only the first connection: later, while reconnecting, connect_error is routine.
      socket.once('connect', onConnect);
      socket.once('connect_error', onError);
    });
    await Promise.race([connected, this.ctx.programGone]);
    return this;
  }

  /** Emits an event without asking for an acknowledgement. */
  emit(event: string, ...args: unknown[]): void {
    this.out.line(`→ ${event} ${describeArgs(args)}`.trimEnd());
    this.socket.emit(event, ...args);
  }

  /**
   * Emits an event with an acknowledgement callback as its last argument, and waits for the server to
   * call it. Returns the arguments the server passed to it. The ack is written into the transcript
   * when it arrives: await it before reading other clients, so the transcript reads the same every run.
   */
  async emitWithAck(event: string, args: unknown[], awaiting: string, options: ExpectOptions = {}): Promise<unknown[]> {
    this.out.line(`→ ${event}${args.length ? ` ${describeArgs(args)}` : ''} (with an ack callback)`);
    const timeoutMs = options.timeoutMs ?? this.ctx.stepTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const acked = new Promise<unknown[]>((resolve, reject) => {
      this.socket.emit(event, ...args, (...reply: unknown[]) => {
        this.out.line(`← ack ${describeArgs(reply) || '(no argument)'}`);
        resolve(reply);
      });
      timer = setTimeout(() => {
        this.releaseUnread();
        reject(
          new VerifyFailure({
            code: options.timeoutCode ?? HarnessCodes.NO_REPLY,
            expected: `${awaiting} within ${timeoutMs} ms`,
            actual: `nothing: the ack callback was never called`,
            hint: options.timeoutHint,
          }),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([acked, this.ctx.programGone]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Waits until everything the server wrote to this client before it read this request has arrived,
   * without running any handler of the learner's: on the same connection it asks to enter a namespace
   * the lesson does not use, and waits for socket.io's answer (a refusal, or an entry where a program
   * opens namespaces of its own). The server writes that answer after everything it wrote before, so
   * once it is here, an event not in `pending` was not sent (unless a program waits on a timer before
   * sending). Events this client emitted before are handled before the server reads anything else.
   * Writes nothing into the transcript. Call it while connected.
   */
  async flush(options: ExpectOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? this.ctx.stepTimeoutMs;
    const probe = this.socket.io.socket(FLUSH_NAMESPACE, { auth: {} });
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve, reject) => {
      const done = () => {
        probe.off('connect', done);
        probe.off('connect_error', done);
        resolve();
      };
      probe.on('connect', done);
      probe.on('connect_error', done);
      timer = setTimeout(() => {
        probe.off('connect', done);
        probe.off('connect_error', done);
        reject(
          new VerifyFailure({
            code: options.timeoutCode ?? HarnessCodes.NO_REPLY,
            expected: `socket.io to answer ${this.name}'s request for the namespace ${FLUSH_NAMESPACE} within ${timeoutMs} ms`,
            actual: 'no answer: the server is not reading this connection',
            hint: options.timeoutHint,
          }),
        );
      }, timeoutMs);
    });
    if (!probe.active) probe.connect();
    try {
      await Promise.race([answered, this.ctx.programGone]);
    } finally {
      clearTimeout(timer);
      // Entered (a program with namespaces of its own): leave again, or the manager keeps it open.
      if (probe.connected) probe.disconnect();
    }
  }

  private receive(event: string, args: unknown[]): void {
    const item: Received = { type: 'event', event, args };
    this.out.received(item, `← ${event} ${describeArgs(args)}`.trimEnd());
    this.push(item);
  }

  private push(item: Received): void {
    this.inbox.push(item);
    this.waiter?.();
  }

  /**
   * The next thing this client saw: an event, a disconnect or a reconnect. Fails when nothing comes in
   * time, or when the learner's program dies meanwhile.
   */
  async next(awaiting: string, options: ExpectOptions = {}): Promise<SocketIoItem> {
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

  /** The next event; fails with CONNECTION_CLOSED if the client is disconnected first. */
  async nextEvent(awaiting: string, options: ExpectOptions = {}): Promise<{ event: string; args: unknown[] }> {
    const item = await this.next(awaiting, options);
    if (item.type === 'event') return item;
    this.releaseUnread();
    throw new VerifyFailure({
      code: HarnessCodes.CONNECTION_CLOSED,
      expected: awaiting,
      actual: describeItem(item),
      hint: options.hint ?? 'Keep each connection open: the server should not disconnect its clients.',
    });
  }

  /** Waits for a disconnect, and returns socket.io's reason ("transport close", "io server disconnect"…). */
  async expectDisconnect(awaiting = `${this.name} to be disconnected`, options: ExpectOptions = {}): Promise<string> {
    const item = await this.next(awaiting, options);
    if (item.type === 'disconnect') return item.reason;
    this.releaseUnread();
    throw new VerifyFailure({ code: options.code ?? 'UNEXPECTED_EVENT', expected: awaiting, actual: describeItem(item), hint: options.hint });
  }

  /** Waits for socket.io-client to reconnect by itself, and says whether the session was recovered. */
  async expectReconnect(awaiting = `${this.name} to reconnect`, options: ExpectOptions = {}): Promise<{ recovered: boolean }> {
    const item = await this.next(awaiting, options);
    if (item.type === 'connect') return { recovered: item.recovered };
    this.releaseUnread();
    throw new VerifyFailure({ code: options.code ?? 'UNEXPECTED_EVENT', expected: awaiting, actual: describeItem(item), hint: options.hint });
  }

  /**
   * Waits `ms`, then fails if any event arrived meanwhile. `failure` says what is wrong with the first
   * one that did; it sees the event, so it can name the mistake that sent it.
   */
  async expectSilence(ms: number, failure: (got: { event: string; args: unknown[] }) => FailureDetails): Promise<void> {
    await Promise.race([new Promise((resolve) => setTimeout(resolve, ms)), this.ctx.programGone]);
    const got = this.inbox.find((item) => item.type === 'event');
    if (got && got.type === 'event') {
      this.releaseUnread();
      throw new VerifyFailure(failure(got));
    }
  }

  /** Events received and not yet taken by an expectation. */
  get pending(): Array<{ event: string; args: unknown[] }> {
    return this.inbox.flatMap((item) => (item.type === 'event' ? [item] : []));
  }

  /** True while socket.io-client is connected. */
  get isConnected(): boolean {
    return this.socket?.connected ?? false;
  }

  /** Disconnects on purpose (socket.io-client then does not reconnect). */
  disconnect(): void {
    this.out.line('→ disconnect()');
    this.socket.disconnect();
  }

  /** Quietly releases the connection at the end of a verification: no reconnection, no more lines. */
  dispose(): void {
    if (!this.socket) return;
    this.socket.offAny();
    this.socket.removeAllListeners();
    this.socket.io.reconnection(false);
    this.socket.disconnect();
  }
}

/** Options for `socketIoClient`. */
export interface SocketIoClientOptions {
  /** Which server, when a lesson starts more than one; default the first. */
  server?: RunningServer;
  /** Another address than the server's own (a NetworkLink's, say). */
  url?: string;
  /** What the server reads as socket.handshake.auth. */
  auth?: Record<string, unknown>;
  /** When received events appear in the transcript; default `arrival`. */
  log?: FrameLogging;
  /** More socket.io-client options, over FAST_SOCKETIO. */
  io?: SocketIoOptions;
}

/** Opens a named socket.io client to a running server; it is disposed of when the verification ends. */
export async function socketIoClient(v: Verification, name: string, options: SocketIoClientOptions = {}): Promise<SocketIoTestClient> {
  const server = options.server ?? v.servers[0];
  if (!server) throw new Error('socketIoClient() before start(): start the server first');
  const client = new SocketIoTestClient(name, {
    transcript: v.transcript,
    stepTimeoutMs: v.timeouts.stepMs,
    programGone: v.programGone,
    logging: options.log,
  });
  v.track(client);
  v.defer(() => client.dispose());
  await client.connect(options.url ?? server.httpUrl, { ...options.io, ...(options.auth ? { auth: options.auth } : {}) });
  return client;
}


/**
 * The arguments of an event without the offset a server with connection state recovery appends to
 * every broadcast (a random string socket.io-client keeps to say what it last received). Listeners get
 * it as an extra last argument; the transcript and the expectations leave it out.
 */
function withoutOffset(socket: Socket, args: unknown[]): unknown[] {
  // `_pid` is set only when the server sent a session id for recovery: socket.io-client's own test.
  const recoverable = Boolean((socket as unknown as { _pid?: string })._pid);
  return recoverable && typeof args.at(-1) === 'string' ? args.slice(0, -1) : args;
}

/** Event arguments as a transcript shows them: each as JSON, strings quoted, long ones cut. */
export function describeArgs(args: unknown[]): string {
  return args
    .map((arg) => {
      const text = typeof arg === 'function' ? '(ack callback)' : (JSON.stringify(arg) ?? String(arg));
      return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
    })
    .join(' ');
}

/** "a chat event {"sender":"bob",…}", "a disconnect ("transport close")" — for Expected/got sentences. */
export function describeItem(item: SocketIoItem): string {
  switch (item.type) {
    case 'event':
      return `a ${item.event} event${item.args.length ? ` ${describeArgs(item.args)}` : ''}`;
    case 'disconnect':
      return `a disconnect ("${item.reason}")`;
    case 'connect':
      return `a reconnection (socket.recovered: ${item.recovered})`;
  }
}
