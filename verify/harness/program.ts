import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../../src/paths.ts';
import { PACKAGES_DIR } from '../../src/workspace.ts';
import { HarnessCodes, VerifyFailure } from './failure.ts';
import { BoundedOutput } from './output.ts';
import { canConnect, reachableHost, type LoopbackHost } from './ports.ts';
import { findSyntaxError, syntaxErrorFailure } from './syntax-error.ts';
import type { Transcript } from './transcript.ts';

const require = createRequire(import.meta.url);
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;
// From the workshop's root, not from this module: the CLI may run as a compiled bundle elsewhere.
const PRELOAD = pathToFileURL(path.join(ROOT, 'verify', 'harness', 'runtime', 'preload.mjs')).href;
const REPORT_FD = 3;
const PROBE_EVERY_MS = 40;
const CLOSE_WAIT_MS = 200;
const PROBE_TIMEOUT_MS = 2000;
const WRONG_PORT_GRACE_MS = 250;
const START_EXTENSION_MS = 1000;
/**
 * A program that has not called listen() this long after it started is asked what it is waiting on;
 * one that waits on nothing but timers, seen so for IDLE_FOR_MS on end, gets its verdict then rather
 * than after the whole start timeout. Counted from the first such answer, which comes only once its
 * modules have loaded (while they load, the loader's MessagePort is among its resources), so a
 * server that listens after a 1.5 s timer always listens first, however long it took to load. One
 * waiting on I/O (a Redis connection, a file) always gets the full timeout.
 */
const IDLE_PROBE_AFTER_MS = 300;
const IDLE_PROBE_EVERY_MS = 150;
const IDLE_FOR_MS = 1700;
/** An answer slower than this says the machine is busy: then no conclusion is drawn from it. */
const IDLE_QUICK_ANSWER_MS = 80;
/** What the program's own output, and the probe's signal handler, show as resources: no I/O to wait on. */
const NOT_WAITING: ReadonlySet<string> = new Set(['Timeout', 'Immediate', 'PipeWrap', 'TTYWrap', 'SignalWrap']);
const MAX_START_EXTENSIONS = 5;
/** A program that has used this much CPU and still does not listen is not starting: it is stuck. */
const STARTING_CPU_BUDGET_MS = 3000;
/** Clock ticks per second of /proc's CPU times: 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

/** What to start and how. */
export interface ProgramOptions {
  /** Absolute path of the learner's file. */
  file: string;
  /** The port the program must listen on; given to it as PORT. None for a client (client mode). */
  port?: number;
  /** Extra environment (the lesson's own variables). */
  env?: Record<string, string>;
  /** The prefix its output gets in the transcript. */
  name?: string;
  transcript: Transcript;
  /** Kept for the lessons that ask; `resources()` now answers for every program. */
  probeResources?: boolean;
  /** Has the program watch its own event loop: `resources()` then tells its longest pause (`loopMaxMs`). */
  watchEventLoop?: boolean;
  /** Has the program collect its garbage before it tells its memory in `resources()` (a full GC each ask). */
  collectGarbage?: boolean;
  /**
   * Client mode: the program is a client of the verifier's server. Its stdin is a pipe (`writeLine`),
   * it gets no PORT, its exits are told in a client's words, and the preload reports every TCP
   * connection it opens (`connects`) and makes Math.random well spread (see preload.mjs).
   */
  client?: boolean;
}

/** How the program ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A report from the preload inside the program: it listened on a port. */
interface ListenReport {
  type: 'listening';
  port: number;
  address: string;
  requested: number | null;
}

/** A report from the preload: the program called ws send() on a socket whose readyState was not OPEN. */
export interface SendNotOpenReport {
  type: 'send-not-open';
  readyState: number;
}

/** A report from the preload: the program called listen() asking for this port (0: any). */
interface ListenCalledReport {
  type: 'listen-called';
  requested: number | null;
}

/** A report from the preload, on request: what keeps the program alive, and the warnings it raised. */
export interface ResourcesReport {
  type: 'resources';
  /** Timers (setTimeout, setInterval) that keep the event loop alive: unref'd ones are not counted. */
  timers: number;
  /**
   * Live timers the program made and unref'd: they keep nothing alive, but one left running for a
   * connection that has gone is as much a leak (see liveTimers).
   */
  unrefTimers?: number;
  /** Every resource keeping the program alive, by kind: 'Timeout', 'TCPSocketWrap', 'TCPServerWrap', … */
  resources: string[];
  /** The names of the process warnings raised so far, e.g. 'MaxListenersExceededWarning'. */
  warnings: string[];
  /** When the program answered (Date.now() in the program). */
  at: number;
  /** The program's memory when it answered, in bytes (process.memoryUsage()). */
  memory: { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  /**
   * With `watchEventLoop`: the longest the program's event loop was kept from turning, in ms, since
   * the report before (or the start); each report starts a new window. Undefined otherwise.
   */
  loopMaxMs?: number;
  /**
   * With `watchEventLoop`: the worker threads the program started from its main thread, ever
   * (`started`) and not yet exited (`alive`), and the messages its main thread posted to them
   * (`posted`). Undefined otherwise.
   */
  workers?: { started: number; alive: number; posted?: number };
}

/**
 * Every timer still running in the program, unref'd ones too: what a check for timers that outlived
 * their connections counts. (What keeps the program alive is `timers` alone.)
 */
export function liveTimers(report: ResourcesReport): number {
  return report.timers + (report.unrefTimers ?? 0);
}

/**
 * A report from the preload, in client mode: the program opened a TCP connection to `port`
 * (`tcp-connect`), or that connection failed before it was established (`tcp-failed`, with the error's
 * code). Its time is the program's own Date.now(): attempts the server cannot see (nothing listens
 * there) are timed by these.
 */
export interface ConnectReport {
  type: 'tcp-connect' | 'tcp-failed';
  at: number;
  port: number | null;
  code?: string;
}

type Report = ListenReport | SendNotOpenReport | ListenCalledReport | ResourcesReport | ConnectReport;

/** Process groups still alive, so that even an abrupt exit of the verifier takes them down. */
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
});

/**
 * The learner's program, run the way every lesson runs it: `node` with tsx (so .ts, .mts, .js, .mjs and
 * .cjs all work), in its own process group, with PORT set, its output captured and bounded. Stopping it
 * always takes down the whole group.
 */
export class LearnerProgram {
  readonly child: ChildProcess;
  readonly name: string;
  /** Resolves when the program has exited, for whatever reason. */
  readonly exited: Promise<ExitInfo>;
  exitInfo?: ExitInfo;
  /** Set when stop() needed SIGKILL because SIGTERM was not enough. */
  neededKill = false;
  private readonly output: BoundedOutput;
  private readonly listens: ListenReport[] = [];
  /** Every send() the program made on a WebSocket that was not OPEN (CLOSING 2 or CLOSED 3). */
  readonly sendsNotOpen: SendNotOpenReport[] = [];
  private readonly listenWaiters: Array<() => void> = [];
  /** Ports the program asked listen() for, other than 0. */
  private readonly portsAsked: number[] = [];
  /** Each takes a report (true) or leaves it for a later ask (false: it answers an earlier signal). */
  private readonly resourceWaiters: Array<(report: ResourcesReport) => boolean> = [];
  /** Client mode: every TCP connection the program opened, and every one that failed, in order. */
  readonly connects: ConnectReport[] = [];
  /** Client mode: called with each connect report as it comes. */
  private readonly connectListeners: Array<(report: ConnectReport) => void> = [];

  constructor(private readonly options: ProgramOptions) {
    this.name = options.name ?? 'your server';
    const { transcript } = options;
    this.child = spawn(process.execPath, ['--import', TSX_LOADER, '--import', PRELOAD, options.file], {
      cwd: path.dirname(options.file),
      env: {
        ...process.env,
        ...options.env,
        ...(options.port !== undefined ? { PORT: String(options.port) } : {}),
        ...(options.client ? { WSW_CLIENT_MODE: '1' } : {}),
        WSW_REPORT_FD: String(REPORT_FD),
        // Every program answers the resources probe: the start-up check below asks it too.
        WSW_PROBE: 'resources',
        ...(options.watchEventLoop ? { WSW_WATCH_LOOP: '1' } : {}),
        ...(options.collectGarbage ? { WSW_PROBE_GC: '1' } : {}),
        WSW_PACKAGES_FROM: pathToFileURL(path.join(ROOT, 'package.json')).href,
        // For CommonJS files, which do not go through the resolve hook.
        NODE_PATH: PACKAGES_DIR,
        FORCE_COLOR: '0',
      },
      stdio: [options.client ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    if (this.child.pid) liveGroups.add(this.child.pid);
    this.output = new BoundedOutput((line) => transcript.add({ kind: 'program', name: this.name }, line));
    this.output.attach(this.child.stdout!, 'stdout');
    this.output.attach(this.child.stderr!, 'stderr');
    // A program that exits or closes its stdin makes a later write fail (EPIPE): the line is simply never read.
    this.child.stdin?.on('error', () => {});
    readline.createInterface({ input: this.child.stdio[REPORT_FD] as Readable }).on('line', (line) => {
      try {
        const report = JSON.parse(line) as Report;
        if (report.type === 'send-not-open') {
          this.sendsNotOpen.push(report);
          return;
        }
        if (report.type === 'resources') {
          for (const waiter of this.resourceWaiters.splice(0)) if (!waiter(report)) this.resourceWaiters.push(waiter);
          return;
        }
        if (report.type === 'tcp-connect' || report.type === 'tcp-failed') {
          this.connects.push(report);
          for (const listener of this.connectListeners) listener(report);
          return;
        }
        if (report.type === 'listen-called') {
          if (report.requested) this.portsAsked.push(report.requested);
          for (const waiter of this.listenWaiters.splice(0)) waiter();
          return;
        }
        this.listens.push(report as ListenReport);
        for (const waiter of this.listenWaiters.splice(0)) waiter();
      } catch {
        // Only the preload writes here; a broken line is ignored rather than trusted.
      }
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        if (this.child.pid) liveGroups.delete(this.child.pid);
        const done = () => {
          if (this.exitInfo) return;
          this.output.flush();
          this.exitInfo = { code, signal };
          resolve(this.exitInfo);
        };
        // Wait for 'close' (every line printed has been read, the stack included), but not for long:
        // a child the program spawned may hold its output open.
        this.child.once('close', done);
        setTimeout(done, CLOSE_WAIT_MS);
      });
      this.child.once('error', () => {
        this.exitInfo = { code: null, signal: null };
        resolve(this.exitInfo);
      });
    });
  }

  /** Every port the program has listened on so far (PORT among them), in the order it began listening. */
  get listeningPorts(): number[] {
    return this.listens.map((r) => r.port);
  }

  /** Client mode: calls `listener` with every TCP connection the program opens or fails to open from now on. */
  onConnect(listener: (report: ConnectReport) => void): void {
    this.connectListeners.push(listener);
  }

  /**
   * Client mode: writes one line to the program's stdin, as if typed (a newline is added). A program
   * that has exited, or closed its stdin, simply never reads it.
   */
  writeLine(text: string): void {
    const stdin = this.child.stdin;
    if (!stdin || stdin.destroyed || this.exitInfo) return;
    stdin.write(`${text}\n`);
  }

  /** The process id (also the process group id). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Everything the program wrote to stderr lately (bounded): where its stack trace is. */
  get stderrTail(): string {
    return this.output.stderrTail;
  }

  /**
   * Waits until the program accepts connections on PORT and returns the loopback host to use.
   * Fails at once if the program exits or listens on another port, and after `timeoutMs` if it never
   * listens. Readiness is probed by connecting, never assumed after a sleep.
   */
  async waitUntilListening(timeoutMs: number): Promise<LoopbackHost> {
    const port = this.options.port!;
    let deadline = Date.now() + timeoutMs;
    let wrong: number | undefined;
    let wrongSince = 0;
    const wrongPort = () =>
      new VerifyFailure({
        code: HarnessCodes.WRONG_PORT,
        expected: `your server to listen on port ${port} (the PORT environment variable)`,
        actual: `it used port ${wrong} instead`,
        hint: 'Do not hard-code the port: read it with Number(process.env.PORT). The verifier picks a free port each run.',
      });
    const cpu = new CpuWatch(this.child.pid);
    const idle = new IdleWatch(this);
    let extended = 0;
    for (;;) {
      if (Date.now() >= deadline) {
        // On a machine overloaded by a whole class verifying at once, a program can still be busy
        // starting when the time is up. While it works and has not used much CPU, give it more time.
        if (extended >= MAX_START_EXTENSIONS || !cpu.stillStarting()) break;
        if (extended++ === 0) this.options.transcript.note('The machine is busy: giving your server more time to start');
        deadline += START_EXTENSION_MS;
      }
      cpu.sample();
      const onPort = this.listens.find((r) => r.port === port);
      const askedForPort = Boolean(onPort) || this.portsAsked.includes(port);
      if (wrong === undefined) {
        wrong = this.portsAsked.find((p) => p !== port) ?? this.listens.find((r) => r.port !== port && r.requested !== 0)?.port;
        wrongSince = Date.now();
      }
      // Listening on another port besides PORT is allowed: give the listen on PORT a moment to come.
      const onlyWrong = wrong !== undefined && !askedForPort;
      if (this.exitInfo) throw onlyWrong ? wrongPort() : this.exitFailure('before it started listening');
      if (onlyWrong && Date.now() - wrongSince >= WRONG_PORT_GRACE_MS) throw wrongPort();
      // The address the program reported is the one to use; probing both is the fallback for a
      // listen the preload could not see. Loopback connects answer at once, even on a busy machine.
      const host = onPort ? hostFor(onPort.address) : undefined;
      if (host ? await canConnect(host, port, PROBE_TIMEOUT_MS) : false) return host!;
      const probed = await reachableHost(port);
      if (probed) return probed;
      if (!askedForPort && wrong === undefined && (await idle.plainlyIdle())) throw this.idleFailure();
      await Promise.race([
        this.exited,
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(PROBE_EVERY_MS, Math.max(0, deadline - Date.now())));
          this.listenWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        }),
      ]);
    }
    if (this.exitInfo) throw this.exitFailure('before it started listening');
    throw new VerifyFailure({
      code: HarnessCodes.NEVER_LISTENED,
      message: `Your server did not listen on port ${port} within ${timeoutMs} ms.`,
      hint:
        'A server must call listen (or new WebSocketServer({ port })) with the port from process.env.PORT, ' +
        'and keep running. If it does, check that nothing before listen() blocks or waits forever.',
    });
  }

  /** NEVER_LISTENED for a program seen waiting on nothing but timers, never having called listen(). */
  private idleFailure(): VerifyFailure {
    return new VerifyFailure({
      code: HarnessCodes.NEVER_LISTENED,
      message: `Your server did not listen on port ${this.options.port}: it has finished starting, is waiting on nothing but timers, and never called listen().`,
      hint:
        'A server must call listen (or new WebSocketServer({ port })) with the port from process.env.PORT, ' +
        'and keep running. Check that the code that listens runs at all: is it in a function nobody calls, or after an early return?',
    });
  }

  /** The failure that says the program is no longer running, with its exit status and stack. */
  exitFailure(when: string): VerifyFailure {
    const { code, signal } = this.exitInfo ?? { code: null, signal: null };
    const status = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const location = locateError(this.stderrTail, this.options.file);
    const client = this.options.client;
    if (code === 0 && !signal && client) {
      // A client, too, runs until it is stopped: connected, or waiting to try again.
      return new VerifyFailure({
        code: HarnessCodes.PROGRAM_EXITED,
        message: `Your client ${status} ${when}. A client is expected to keep running, connected or trying to connect, until it is stopped.`,
        hint: 'An open connection, or a timer waiting to retry, keeps the process alive. Check that you never call process.exit() and that every ending schedules a new attempt.',
      });
    }
    if (code === 0 && !signal) {
      return new VerifyFailure({
        code: HarnessCodes.PROGRAM_EXITED,
        message: `Your program ${status} ${when}. A server is expected to be a long-running process.`,
        hint: 'Something must keep the process alive: a listening server does. Check that you call listen and never process.exit().',
      });
    }
    // A file that does not parse is best told by the parser's own words and the line, not its stack.
    const syntaxError = findSyntaxError(this.stderrTail);
    if (syntaxError) return syntaxErrorFailure(syntaxError, this.options.file);
    return new VerifyFailure({
      code: HarnessCodes.PROGRAM_CRASHED,
      message: `Your ${client ? 'client' : 'program'} ${status} ${when}.${location ? ` The error was raised at ${location}.` : ''}`,
      hint: `Read the error above, printed under [${client ? this.name : 'your server'}]: its first line says what went wrong, the stack says where.`,
      details: errorExcerpt(this.stderrTail),
    });
  }

  /**
   * Asks the program what keeps it alive right now and which warnings it has raised (SIGWINCH, answered
   * by the preload); undefined when no answer comes within `timeoutMs`, or when the program has
   * exited: then there is nothing to judge by.
   */
  async resources(timeoutMs: number): Promise<ResourcesReport | undefined> {
    const pid = this.child.pid;
    if (!pid || this.exitInfo) return undefined;
    let timer: NodeJS.Timeout | undefined;
    let waiter: ((report: ResourcesReport) => boolean) | undefined;
    // An answer to an earlier ask that came too late for it may arrive first: only one the program
    // made after this signal was sent tells the state from now on.
    const askedAt = Date.now();
    const answer = new Promise<ResourcesReport | undefined>((resolve) => {
      waiter = (report) => {
        if (report.at < askedAt) return false;
        resolve(report);
        return true;
      };
      this.resourceWaiters.push(waiter);
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      process.kill(pid, 'SIGWINCH');
    } catch {
      // Already gone: the answer never comes, and the timeout says so.
    }
    const report = await Promise.race([answer, this.exited.then(() => undefined)]);
    clearTimeout(timer);
    const left = this.resourceWaiters.indexOf(waiter!);
    if (left !== -1) this.resourceWaiters.splice(left, 1);
    return report;
  }

  /**
   * Stops the program and everything it started: SIGTERM to the group, then SIGKILL after `graceMs`.
   * Resolves once the program is gone. Safe to call more than once.
   */
  async stop(graceMs = 500): Promise<ExitInfo> {
    const pid = this.child.pid;
    if (pid && !this.exitInfo) {
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        this.neededKill = true;
        killGroup(pid, 'SIGKILL');
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // Children the program spawned share its group and may outlive it: sweep them too.
    if (pid) killGroup(pid, 'SIGKILL');
    return this.exited;
  }
}

/**
 * Follows the CPU time a process uses (from /proc, on Linux): a program still starting on a busy
 * machine uses CPU as it goes; one that waits forever uses none, and one that loops uses a lot.
 */
class CpuWatch {
  private samples: Array<{ at: number; cpuMs: number }> = [];

  constructor(private readonly pid: number | undefined) {}

  /** Records the CPU used so far. */
  sample(): void {
    const cpuMs = this.cpuMs();
    if (cpuMs === undefined) return;
    this.samples.push({ at: Date.now(), cpuMs });
    this.samples = this.samples.filter((s) => Date.now() - s.at <= 500);
  }

  /** True when the process used CPU in the last moments, but not so much that it must be stuck. */
  stillStarting(): boolean {
    const now = this.cpuMs();
    const oldest = this.samples[0];
    if (now === undefined || !oldest) return false;
    return now > oldest.cpuMs && now < STARTING_CPU_BUDGET_MS;
  }

  private cpuMs(): number | undefined {
    if (!this.pid) return undefined;
    try {
      const stat = fs.readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      // Fields after the command name in parentheses: state is the first, utime the 12th, stime the 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    } catch {
      return undefined;
    }
  }
}

/** Which loopback address reaches a server bound to `address`: IPv6 only when it is bound to ::1 alone. */
function hostFor(address: string): LoopbackHost {
  return address === '::1' ? '::1' : '127.0.0.1';
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** "your-file.ts:12:5" when the stack mentions the learner's file, so the learner knows where to look. */
export function locateError(stderr: string, file: string): string | undefined {
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`${escaped}:(\\d+)(?::(\\d+))?`).exec(stderr);
  return match ? `${path.basename(file)}:${match[1]}${match[2] ? `:${match[2]}` : ''}` : undefined;
}

/** The first error line of a stack trace, as a short excerpt. */
function errorExcerpt(stderr: string): string[] {
  const lines = stderr.split('\n').filter((l) => l.trim());
  const first = lines.findIndex((l) => /^\w*(Error|Exception)\b|^\s*at |Error:/.test(l));
  return first === -1 ? [] : lines.slice(first, first + 1).map((l) => l.trim());
}

/**
 * Tells a program that is plainly idle before it listens: asked from IDLE_PROBE_AFTER_MS on, it
 * answered quickly each time, for IDLE_FOR_MS on end, with nothing but timers to wait on. Any sign
 * of I/O (a socket connecting, a file read, a child process), or a slow answer (a busy machine),
 * starts the watch again.
 */
class IdleWatch {
  private readonly startedAt = Date.now();
  private idleSince: number | undefined;
  private lastProbe = 0;

  constructor(private readonly program: LearnerProgram) {}

  async plainlyIdle(): Promise<boolean> {
    const now = Date.now();
    if (now - this.startedAt < IDLE_PROBE_AFTER_MS || now - this.lastProbe < IDLE_PROBE_EVERY_MS) return false;
    this.lastProbe = now;
    const asked = Date.now();
    const report = await this.program.resources(IDLE_PROBE_EVERY_MS);
    const quick = Date.now() - asked <= IDLE_QUICK_ANSWER_MS;
    const waitingOnIo = !report || report.resources.some((resource) => !NOT_WAITING.has(resource));
    if (!quick || waitingOnIo) {
      this.idleSince = undefined;
      return false;
    }
    this.idleSince ??= asked;
    return Date.now() - this.idleSince >= IDLE_FOR_MS;
  }
}
