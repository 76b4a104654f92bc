import http from 'node:http';
import type net from 'node:net';
import { WebSocketServer } from 'ws';
import type { ConnectReport, LearnerProgram } from '../program.ts';
import { freePort } from '../ports.ts';
import type { Transcript } from '../transcript.ts';
import { ServerConnection } from './server-connection.ts';

/**
 * How the server meets the attempts that come next:
 * - `accept`: completes the handshake, and keeps the connection until the verifier ends it;
 * - `refuse`: answers the upgrade request with an HTTP status (503, say) instead of 101;
 * - `drop-after-first-frame`: accepts, then drops the TCP connection as soon as the first frame
 *   arrives: a connection that opens, and is gone a moment later.
 * (A server that is down is not a way of meeting attempts: see goDown().)
 */
export type Welcome = { kind: 'accept' } | { kind: 'refuse'; status: number } | { kind: 'drop-after-first-frame' };

/** One attempt of the learner's client to connect, as the verifier's server saw it (or, while down, its program). */
export interface Attempt {
  /** 1 for the first attempt the server ever saw, and so on. */
  number: number;
  /** When it arrived (Date.now()): the TCP connection, or, while down, the program's own report of it. */
  at: number;
  /** When it was over for the client: refused, dropped, closed by the server, failed (ECONNREFUSED). */
  endedAt?: number;
  /** The request's path and query; undefined while down or before the request came. */
  path?: string;
  /** What became of it, in words: "accepted", "refused with 503", "refused: nothing listening". */
  outcome?: string;
  /** The WebSocket connection, for an attempt that was accepted. */
  connection?: ServerConnection;
  /** The earlier attempt that was still open when this one arrived: the client held two at once. */
  overlapped?: Attempt;
}

/** What the server needs from the verification it belongs to. */
export interface ControlledServerContext {
  transcript: Transcript;
  /** The prefix of its lines: `[server]`. */
  name: string;
  stepTimeoutMs: number;
}

/**
 * The verifier's own WebSocket server, for a lesson whose learner writes a client: it listens on a free
 * loopback port, meets each attempt as told (accept, refuse, drop), can go down and come back on the
 * same port, and records every attempt with its time and outcome, so the verifier can measure the
 * delays a client waited and see two connections held at once.
 */
export class ControlledServer {
  readonly attempts: Attempt[] = [];
  private welcome: Welcome = { kind: 'accept' };
  private http!: http.Server;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly sockets = new Map<net.Socket, Attempt>();
  private readonly waiters: Array<() => void> = [];
  /** Attempts taken by nextAttempt() so far. */
  private taken = 0;
  /** Since when (Date.now()) nothing listens; undefined while up. */
  private downSince?: number;
  /** The windows during which nothing listened, to place the program's reports that come late. */
  private readonly downWindows: Array<{ from: number; to?: number }> = [];
  /** The program's attempts while down, by the time they began, until their failure is reported. */
  private readonly pendingDown: Attempt[] = [];

  private constructor(
    readonly port: number,
    private readonly ctx: ControlledServerContext,
  ) {}

  /** Starts listening on a free loopback port. */
  static async start(ctx: ControlledServerContext): Promise<ControlledServer> {
    const server = new ControlledServer(await freePort(), ctx);
    await server.listen();
    return server;
  }

  /** `ws://127.0.0.1:PORT` followed by `pathAndQuery`. */
  url(pathAndQuery = '/'): string {
    return `ws://127.0.0.1:${this.port}${pathAndQuery}`;
  }

  /** True while the server listens. */
  get up(): boolean {
    return this.downSince === undefined;
  }

  /**
   * Meets the next `times` attempts this way, then goes back to the way before; without `times`, every
   * attempt from now on, until told otherwise. Planned here, not by the verifier as each attempt comes,
   * so that an attempt arriving a moment after the last planned one is met as it should be.
   */
  meet(welcome: Welcome, times?: number): void {
    if (times === undefined) {
      this.plan.length = 0;
      this.welcome = welcome;
    } else {
      for (let i = 0; i < times; i++) this.plan.push(welcome);
    }
  }
  /** How the next attempts are met, before `welcome` takes over again. */
  private readonly plan: Welcome[] = [];

  private listen(): Promise<void> {
    this.http = http.createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain' }).end('This server speaks WebSocket only.\n');
    });
    this.http.on('connection', (socket) => this.arrived(socket));
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket as net.Socket, head));
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.port, '127.0.0.1', () => {
        this.http.off('error', reject);
        resolve();
      });
    });
  }

  /** A TCP connection arrived: a new attempt, which may overlap one still open. */
  private arrived(socket: net.Socket): void {
    const attempt = this.record(Date.now());
    this.sockets.set(socket, attempt);
    socket.on('close', () => {
      this.sockets.delete(socket);
      attempt.endedAt ??= Date.now();
      if (!attempt.outcome) {
        attempt.outcome = 'closed by your client before its upgrade request';
        this.wake();
      }
    });
  }

  private record(at: number): Attempt {
    const attempt: Attempt = { number: this.attempts.length + 1, at };
    attempt.overlapped = this.attempts.find((a) => a !== attempt && this.stillOpen(a));
    this.attempts.push(attempt);
    this.wake();
    return attempt;
  }

  /** Resolves at the next arrival or outcome of an attempt, or after `ms`. */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** An attempt whose connection neither side has begun to end. */
  private stillOpen(attempt: Attempt): boolean {
    if (attempt.connection) return attempt.connection.live;
    return attempt.endedAt === undefined;
  }

  private upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const attempt = this.sockets.get(socket) ?? this.record(Date.now());
    attempt.path = req.url ?? '/';
    const welcome = this.plan.shift() ?? this.welcome;
    if (welcome.kind === 'refuse') {
      socket.end(`HTTP/1.1 ${welcome.status} ${http.STATUS_CODES[welcome.status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      attempt.endedAt = Date.now();
      attempt.outcome = `refused with ${welcome.status}`;
      this.wake();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new ServerConnection(ws, attempt.path!, this.ctx.transcript, this.ctx.name, this.ctx.stepTimeoutMs);
      attempt.connection = connection;
      attempt.outcome = 'accepted';
      void connection.closed.then(() => (attempt.endedAt = connection.endedAt));
      if (welcome.kind === 'drop-after-first-frame') {
        attempt.outcome = 'accepted, then dropped';
        ws.once('message', () => {
          connection.terminate('drops the connection at once, without a close frame');
          attempt.endedAt = connection.endedAt;
        });
      }
      this.wake();
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /**
   * Follows the program's own reports of the TCP connections it opens: while the server is down, they
   * are the only trace of its attempts (ECONNREFUSED happens in the client's kernel).
   */
  watch(program: LearnerProgram): void {
    program.onConnect((report) => this.reported(report));
  }

  private reported(report: ConnectReport): void {
    if (report.port !== this.port) return;
    const wasDown = this.downWindows.some((w) => report.at >= w.from && (w.to === undefined || report.at < w.to));
    if (report.type === 'tcp-connect') {
      if (wasDown) this.pendingDown.push(this.record(report.at));
      return;
    }
    const attempt = this.pendingDown.shift();
    if (!attempt) return;
    attempt.endedAt = report.at;
    attempt.outcome = `refused: nothing listening (${report.code ?? 'connection failed'})`;
    this.wake();
  }

  /**
   * The next attempt not taken yet, once its outcome is known; undefined when none comes within
   * `timeoutMs` (or `until` settles first).
   */
  async nextAttempt(timeoutMs: number, until?: Promise<unknown>): Promise<Attempt | undefined> {
    const deadline = Date.now() + timeoutMs;
    let stop = false;
    void until?.then(
      () => (stop = true),
      () => (stop = true),
    );
    for (;;) {
      const attempt = this.attempts[this.taken];
      if (attempt?.outcome) {
        this.taken++;
        return attempt;
      }
      const left = deadline - Date.now();
      if (left <= 0 || stop) return undefined;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          this.waiters.push(resolve);
          timer = setTimeout(resolve, Math.min(left, 50));
        }),
        until ?? new Promise<void>(() => {}),
      ]).catch(() => {});
      clearTimeout(timer);
    }
  }

  /** Attempts that arrived and were not taken by nextAttempt() yet. */
  get untaken(): Attempt[] {
    return this.attempts.slice(this.taken);
  }

  /** Drops every open connection and stops listening: from now on, attempts fail with ECONNREFUSED. */
  async goDown(): Promise<void> {
    const at = Date.now();
    this.downSince = at;
    this.downWindows.push({ from: at });
    for (const attempt of this.attempts) attempt.connection?.terminate('the server goes down: drops the connection without a close frame');
    for (const socket of this.sockets.keys()) socket.destroy();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** Listens again, on the same port. */
  async comeBack(): Promise<void> {
    // From now on the server sees each attempt itself.
    this.downWindows.at(-1)!.to = Date.now();
    this.downSince = undefined;
    await this.listen();
  }

  /** Stops everything, at the end of a verification. */
  async close(): Promise<void> {
    for (const attempt of this.attempts) attempt.connection?.dispose();
    for (const socket of this.sockets.keys()) socket.destroy();
    this.wss.close();
    await new Promise<void>((resolve) => (this.http.listening ? this.http.close(() => resolve()) : resolve()));
  }
}
