import type net from 'node:net';
import type { ClientOptions } from 'ws';
import type { Lesson, Timeouts } from '../../lessons/manifest.ts';
import { TestClient, type FrameLogging, type UnreadHolder } from './client.ts';
import { ControlledServer } from './client-mode/controlled-server.ts';
import { firstAttempt, RunningClient } from './client-mode/learner-client.ts';
import { VerifyFailure, type FailureDetails } from './failure.ts';
import { delay } from './json.ts';
import { freePort, urlHost, type LoopbackHost } from './ports.ts';
import { LearnerProgram } from './program.ts';
import type { RuleId } from './rules.ts';
import type { Transcript } from './transcript.ts';

/** A learner's server that is up and listening. */
export interface RunningServer {
  program: LearnerProgram;
  port: number;
  /** The loopback address it answered on. */
  host: LoopbackHost;
  /** `ws://127.0.0.1:PORT` (no trailing slash). */
  wsUrl: string;
  /** `http://127.0.0.1:PORT`. */
  httpUrl: string;
}

export interface StartOptions {
  /** Shown as the prefix of its output: `[your server]` by default. */
  name?: string;
  /** Extra env on top of the lesson's. */
  env?: Record<string, string>;
  /** The port to give it; default a fresh free one. Pass an earlier server's port to restart it. */
  port?: number;
  /** True when the server speaks TLS: its URLs are then wss:// and https://. */
  tls?: boolean;
  /** Lets the verifier ask the program what keeps it alive: `server.program.resources()`. */
  probeResources?: boolean;
  /** Has the program watch its event loop: `server.program.resources()` then tells its longest pause. */
  watchEventLoop?: boolean;
  /**
   * Has the program run a full garbage collection before it tells its memory: `resources()` then
   * gives what it really holds, not garbage a later collection would free. Each ask costs a pause.
   */
  collectGarbage?: boolean;
}

/** How to start a learner's client (client mode): see Verification.startClient. */
export interface ClientStartOptions {
  /** Shown as the prefix of its output: `[your client]` by default. */
  name?: string;
  /** Extra env on top of the lesson's (and SERVER_URL). */
  env?: Record<string, string>;
  /** Path and query of SERVER_URL, default `/`. */
  path?: string;
  /**
   * The failure to report when the program exits while being verified, instead of the harness's
   * PROGRAM_CRASHED or PROGRAM_EXITED: a lesson that knows what the exit means (a crash at the first
   * refused attempt, say) names it. Undefined keeps the harness's failure.
   */
  explainExit?: (program: LearnerProgram, when: string) => VerifyFailure | undefined;
}

export interface ClientConnectOptions {
  /** Path and query to connect to, default `/`. */
  path?: string;
  /** Which server, when a lesson starts more than one; default the first. */
  server?: RunningServer;
  /** Passed to the ws client (e.g. `ca` for a wss:// server). */
  ws?: ClientOptions;
  /** A full URL instead of the server's own (another host name, say); `path` is ignored then. */
  url?: string;
  /** When received frames appear in the transcript (see FrameLogging); default `arrival`. */
  log?: FrameLogging;
  /**
   * Pings are counted (client.pings) but get no line each: they arrive on the server's clock, so
   * their lines would fall anywhere in the story. The lesson says what they came to instead.
   */
  quietPings?: boolean;
  /**
   * Sees the client's TCP socket the moment it exists, before the handshake is sent: a lesson that reads
   * the raw wire (frame headers, RSV1) attaches its reader there. See compression-tap.ts.
   */
  tap?: (socket: net.Socket) => void;
}

/**
 * What a lesson's verifier works with. It reads as the lesson's story: start the server, open clients,
 * send, expect; all plumbing (ports, processes, timeouts, teardown) stays in here.
 */
export class Verification {
  readonly servers: RunningServer[] = [];
  /** Every client opened, of whatever kind, whose unread lines a failure releases. */
  private readonly holders: UnreadHolder[] = [];
  readonly clients: TestClient[] = [];
  /** The step running now, named in failures. */
  currentStep?: string;
  readonly steps: StepRecord[] = [];
  private readonly cleanups: Array<() => Promise<unknown> | unknown> = [];
  private goneReject!: (failure: VerifyFailure) => void;
  /** Rejects when any server the verification started exits; every wait races against it. */
  readonly programGone: Promise<never>;

  constructor(
    readonly lesson: Lesson,
    /** Absolute path of the learner's file. */
    readonly file: string,
    readonly transcript: Transcript,
    readonly timeouts: Timeouts,
  ) {
    this.programGone = new Promise<never>((_, reject) => (this.goneReject = reject));
    this.programGone.catch(() => {});
  }

  /** Writes a line of the verifier's own into the transcript. */
  note(text: string): void {
    this.transcript.note(text);
  }

  /** The lesson's env plus PORT-independent extras, as given to every server. */
  get lessonEnv(): Record<string, string> {
    return { ...this.lesson.env };
  }

  /** Starts the learner's program on a free port and waits until it listens there. */
  async start(options: StartOptions = {}): Promise<RunningServer> {
    const port = options.port ?? (await freePort());
    const env = { ...this.lessonEnv, ...options.env };
    const shownEnv = Object.entries({ PORT: String(port), ...env })
      // A URL with a password (REDIS_URL=redis://user:secret@host) is shown without it.
      .map(([k, v]) => `${k}=${v.replace(/(\/\/[^:/@\s]*:)[^@\s]+@/, '$1***@')}`)
      .join(' ');
    this.note(`Starting ${options.name ?? 'your server'}: ${shortPath(this.file)} with ${shownEnv}`);
    const startedAt = Date.now();
    const program = new LearnerProgram({ file: this.file, port, env, name: options.name, transcript: this.transcript, probeResources: options.probeResources, watchEventLoop: options.watchEventLoop, collectGarbage: options.collectGarbage });
    this.defer(() => program.stop());
    const host = await program.waitUntilListening(this.timeouts.startMs);
    this.note(`${options.name ?? 'Your server'} is listening on ${urlHost(host)}:${port} (ready in ${Date.now() - startedAt} ms)`);
    this.failWhenGone(program);
    const server: RunningServer = {
      program,
      port,
      host,
      wsUrl: `${options.tls ? 'wss' : 'ws'}://${urlHost(host)}:${port}`,
      httpUrl: `${options.tls ? 'https' : 'http'}://${urlHost(host)}:${port}`,
    };
    this.servers.push(server);
    return server;
  }

  /** Makes every wait fail once `program` exits, unless the verification stopped it on purpose. */
  private failWhenGone(program: LearnerProgram, explain?: ClientStartOptions['explainExit']): void {
    void program.exited.then(() => {
      if (this.stopping || this.stoppedOnPurpose.has(program)) return;
      const when = this.currentStep ? `during "${this.currentStep}"` : 'while being verified';
      this.goneReject(explain?.(program, when) ?? program.exitFailure(when));
    });
  }

  /**
   * Client mode: starts the verifier's own WebSocket server on a free port, for a lesson whose learner
   * writes a client. The verifier tells it how to meet attempts, and reads what the client sends.
   */
  async serve(options: { name?: string } = {}): Promise<ControlledServer> {
    const server = await ControlledServer.start({ transcript: this.transcript, name: options.name ?? 'server', stepTimeoutMs: this.timeouts.stepMs });
    this.defer(() => server.close());
    this.note(`The verifier's server listens on 127.0.0.1:${server.port}`);
    return server;
  }

  /**
   * Client mode: starts the learner's program as a client of `server`, with SERVER_URL (and the
   * lesson's env) set and its stdin a pipe, and waits for its first attempt to connect (the server
   * meets it as it was told). Fails with NEVER_CONNECTED when no attempt comes within the start timeout.
   */
  async startClient(server: ControlledServer, options: ClientStartOptions = {}): Promise<RunningClient> {
    const url = server.url(options.path);
    const env = { ...this.lessonEnv, SERVER_URL: url, ...options.env };
    const name = options.name ?? 'your client';
    this.note(`Starting ${name}: ${shortPath(this.file)} with ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    const startedAt = Date.now();
    const program = new LearnerProgram({ file: this.file, env, name, transcript: this.transcript, client: true });
    this.defer(() => program.stop());
    server.watch(program);
    const client = new RunningClient(program, server, url, this.transcript);
    const seen = server.attempts.length;
    // Attempts seen before this client started are another client's: wait for one of its own.
    await firstAttempt(client, this.timeouts.startMs, seen);
    this.note(`${name} made its first attempt to connect (ready in ${Date.now() - startedAt} ms)`);
    this.failWhenGone(program, options.explainExit);
    return client;
  }

  /** Stops a client on purpose (SIGTERM, then SIGKILL after `graceMs`); see stopServer. */
  async stopClient(client: RunningClient, graceMs = 500): Promise<{ ms: number; neededKill: boolean }> {
    return this.stopProgram(client.program, graceMs);
  }

  /** True once teardown has begun: no exit is a failure from then on. */
  private stopping = false;
  /** Servers the verification stopped itself: their exit is no failure. */
  private readonly stoppedOnPurpose = new WeakSet<LearnerProgram>();

  /** Stops a server on purpose (SIGTERM, then SIGKILL after `graceMs`), reporting how long it took. */
  async stopServer(server: RunningServer, graceMs = 500): Promise<{ ms: number; neededKill: boolean }> {
    return this.stopProgram(server.program, graceMs);
  }

  private async stopProgram(program: LearnerProgram, graceMs: number): Promise<{ ms: number; neededKill: boolean }> {
    this.stoppedOnPurpose.add(program);
    const started = Date.now();
    this.note(`Sending SIGTERM to ${program.name}`);
    await program.stop(graceMs);
    const ms = Date.now() - started;
    this.note(program.neededKill ? `${program.name} ignored SIGTERM; killed after ${ms} ms` : `${program.name} exited in ${ms} ms`);
    return { ms, neededKill: program.neededKill };
  }

  /** Opens a named WebSocket client to a running server. */
  async client(name: string, options: ClientConnectOptions = {}): Promise<TestClient> {
    const server = options.server ?? this.servers[0];
    if (!server) throw new Error('client() before start(): start the server first');
    const client = new TestClient(name, {
      transcript: this.transcript,
      stepTimeoutMs: this.timeouts.stepMs,
      programGone: this.programGone,
      logging: options.log,
      maxFrameBytes: this.lesson.maxFrameBytes,
      quietPings: options.quietPings,
    });
    this.clients.push(client);
    this.track(client);
    this.defer(() => client.dispose());
    await client.connect(options.url ?? `${server.wsUrl}${options.path ?? '/'}`, options.ws, options.tap);
    return client;
  }

  /**
   * Runs one step of the lesson's story, naming the rules (R1, R2, … of problem.md) it checks. Its
   * title and rules appear in the transcript and in any failure raised inside it.
   */
  async step(title: string, rules: readonly RuleId[], body: () => Promise<void>): Promise<void> {
    this.currentStep = title;
    this.currentRules = rules;
    this.note(`▸ ${title}${rules.length > 0 ? `  (${rules.join(', ')})` : ''}`);
    const started = Date.now();
    try {
      await Promise.race([body(), this.programGone]);
      this.steps.push({ title, rules: [...rules], ms: Date.now() - started, passed: true });
    } catch (error) {
      this.steps.push({ title, rules: [...rules], ms: Date.now() - started, passed: false });
      if (error instanceof VerifyFailure) error.step ??= title;
      throw error;
    }
    this.currentStep = undefined;
    this.currentRules = undefined;
  }

  /** The rules of the step running now. */
  currentRules?: readonly RuleId[];

  /**
   * Writes the held lines of every frame that arrived and was never read, across all clients, in the
   * order they arrived: after a failure, so the learner sees everything the server did send.
   */
  releaseUnread(): void {
    const held = this.holders.flatMap((c) => c.takeUnread()).sort((a, b) => a.seq - b.seq);
    for (const line of held) this.transcript.add({ kind: 'client', name: line.name }, line.text);
  }

  /** Registers a client of another kind (socket.io, say) so that a failure releases its unread lines too. */
  track(client: UnreadHolder): void {
    this.holders.push(client);
  }

  /**
   * Runs `body` (usually a whole step) in which the verifier sends what may kill a careless program.
   * When it fails because the learner's program died meanwhile, the death is reported as the lesson's
   * own failure, named by `blame()` (the code, when it happened, the hint), with the program's stack,
   * rather than as the dropped connection it caused. `blame()` returning undefined leaves the failure
   * as it was. A program that exited with 0 died of nothing the verifier sent, unless `cleanExits`.
   * The program watched is the first server's, unless `servers` names others.
   */
  async blameDeath(
    body: () => Promise<void>,
    blame: () => DeathBlame | undefined,
    options: { cleanExits?: boolean; servers?: readonly RunningServer[] } = {},
  ): Promise<void> {
    try {
      await body();
    } catch (error) {
      const cause = error instanceof VerifyFailure ? blame() : undefined;
      const watched = options.servers ?? this.servers.slice(0, 1);
      if (!cause || watched.length === 0) throw error;
      // A crash takes a moment to show: the connection drops before the exit is known.
      const died = await Promise.race([
        ...watched.map(({ program }) => program.exited.then((exit) => (options.cleanExits || exit.code !== 0 || exit.signal ? program : undefined))),
        delay(DEATH_SETTLE_MS).then(() => undefined),
      ]);
      if (!died) throw error;
      const crash = died.exitFailure(cause.when);
      const failure = this.fail({ code: cause.code, message: crash.message, details: crash.details, hint: cause.hint });
      failure.step = (error as VerifyFailure).step;
      throw failure;
    }
  }


  /** A failure to throw: `throw v.fail({ code, expected, actual, hint })`. */
  fail(details: FailureDetails): VerifyFailure {
    return new VerifyFailure(details);
  }

  /** Registers work to undo at the end, whatever happens (run in reverse order). */
  defer(cleanup: () => Promise<unknown> | unknown): void {
    this.cleanups.push(cleanup);
  }

  /** Runs every cleanup; never throws. */
  async teardown(): Promise<void> {
    this.stopping = true;
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // Teardown goes on whatever one step of it does.
      }
    }
  }
}

/** What a lesson blames a death of the learner's program on: its code, the moment, and the hint. */
export interface DeathBlame {
  code: string;
  /** When it died, as "when it received …": completes "Your program crashed …". */
  when: string;
  hint: string;
}

/** How long a failure waits to see whether the program is exiting. */
const DEATH_SETTLE_MS = 300;

/** One step as it ran: its title, the rules it checks, how long it took, whether it passed. */
export interface StepRecord {
  title: string;
  rules: RuleId[];
  ms: number;
  passed: boolean;
}

function shortPath(file: string): string {
  const relative = file.startsWith(process.cwd() + '/') ? file.slice(process.cwd().length + 1) : file;
  return relative;
}

/** What a lesson's verifier module exports by default. */
export type LessonVerifier = (v: Verification) => Promise<void>;

/**
 * What a lesson's verifier module may export as `prepareRun`, when `run` needs more than one plain ws
 * server and a ws client: the options to start the server with (TLS files, a REDIS_URL) and to connect
 * the interactive client with. Anything it starts, it registers with `v.defer` to be stopped.
 */
export type PrepareRun = (v: Verification) => Promise<{
  start?: StartOptions;
  client?: ClientConnectOptions;
  /**
   * What the interactive client speaks: 'socket.io' for a socket.io server; default 'websocket'.
   * 'http' for a server that speaks plain HTTP to its clients: run opens no client, and prints `tryIt`.
   */
  protocol?: 'websocket' | 'socket.io' | 'http';
  /**
   * What to try beside run's own client, given the server's base URL (http://127.0.0.1:PORT): with
   * protocol 'http', commands for another terminal; with a WebSocket, the server's page to open.
   */
  tryIt?: (base: string) => string[];
}>;
