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
import type { Transcript } from './transcript.ts';

const require = createRequire(import.meta.url);
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;
const PRELOAD = pathToFileURL(path.join(import.meta.dirname, 'runtime', 'preload.mjs')).href;
const REPORT_FD = 3;
const PROBE_EVERY_MS = 40;
const CLOSE_WAIT_MS = 200;
const PROBE_TIMEOUT_MS = 2000;
const WRONG_PORT_GRACE_MS = 250;
const START_EXTENSION_MS = 1000;
const MAX_START_EXTENSIONS = 5;
/** A program that has used this much CPU and still does not listen is not starting: it is stuck. */
const STARTING_CPU_BUDGET_MS = 3000;
/** Clock ticks per second of /proc's CPU times: 100 on every Linux Node runs on. */
const CLOCK_TICKS = 100;

/** What to start and how. */
export interface ProgramOptions {
  /** Absolute path of the learner's file. */
  file: string;
  /** The port the program must listen on; given to it as PORT. */
  port: number;
  /** Extra environment (the lesson's own variables). */
  env?: Record<string, string>;
  /** The prefix its output gets in the transcript. */
  name?: string;
  transcript: Transcript;
  /** Lets `resources()` ask the program what keeps it alive (off unless a lesson needs it). */
  probeResources?: boolean;
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
  /** Every resource keeping the program alive, by kind: 'Timeout', 'TCPSocketWrap', 'TCPServerWrap', … */
  resources: string[];
  /** The names of the process warnings raised so far, e.g. 'MaxListenersExceededWarning'. */
  warnings: string[];
}

type Report = ListenReport | SendNotOpenReport | ListenCalledReport | ResourcesReport;

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
  private readonly resourceWaiters: Array<(report: ResourcesReport) => void> = [];

  constructor(private readonly options: ProgramOptions) {
    this.name = options.name ?? 'your server';
    const { transcript } = options;
    this.child = spawn(process.execPath, ['--import', TSX_LOADER, '--import', PRELOAD, options.file], {
      cwd: path.dirname(options.file),
      env: {
        ...process.env,
        ...options.env,
        PORT: String(options.port),
        WSW_REPORT_FD: String(REPORT_FD),
        ...(options.probeResources ? { WSW_PROBE: 'resources' } : {}),
        WSW_PACKAGES_FROM: pathToFileURL(path.join(ROOT, 'package.json')).href,
        // For CommonJS files, which do not go through the resolve hook.
        NODE_PATH: PACKAGES_DIR,
        FORCE_COLOR: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    if (this.child.pid) liveGroups.add(this.child.pid);
    this.output = new BoundedOutput((line) => transcript.add({ kind: 'program', name: this.name }, line));
    this.output.attach(this.child.stdout!, 'stdout');
    this.output.attach(this.child.stderr!, 'stderr');
    readline.createInterface({ input: this.child.stdio[REPORT_FD] as Readable }).on('line', (line) => {
      try {
        const report = JSON.parse(line) as Report;
        if (report.type === 'send-not-open') {
          this.sendsNotOpen.push(report);
          return;
        }
        if (report.type === 'resources') {
          for (const waiter of this.resourceWaiters.splice(0)) waiter(report);
          return;
        }
        if (report.type === 'listen-called') {
          if (report.requested) this.portsAsked.push(report.requested);
          for (const waiter of this.listenWaiters.splice(0)) waiter();
          return;
        }
        this.listens.push(report);
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
    const { port } = this.options;
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

  /** The failure that says the program is no longer running, with its exit status and stack. */
  exitFailure(when: string): VerifyFailure {
    const { code, signal } = this.exitInfo ?? { code: null, signal: null };
    const status = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const location = locateError(this.stderrTail, this.options.file);
    if (code === 0 && !signal) {
      return new VerifyFailure({
        code: HarnessCodes.PROGRAM_EXITED,
        message: `Your program ${status} ${when}. A server is expected to be a long-running process.`,
        hint: 'Something must keep the process alive: a listening server does. Check that you call listen and never process.exit().',
      });
    }
    return new VerifyFailure({
      code: HarnessCodes.PROGRAM_CRASHED,
      message: `Your program ${status} ${when}.${location ? ` The error was raised at ${location}.` : ''}`,
      hint: 'Read the error above, printed under [your server]: its first line says what went wrong, the stack says where.',
      details: errorExcerpt(this.stderrTail),
    });
  }

  /**
   * Asks the program what keeps it alive right now and which warnings it has raised (SIGWINCH, answered
   * by the preload). Only for a program started with `probeResources`; undefined when no answer comes
   * within `timeoutMs`, or when the program has exited: then there is nothing to judge by.
   */
  async resources(timeoutMs: number): Promise<ResourcesReport | undefined> {
    const pid = this.child.pid;
    if (!this.options.probeResources || !pid || this.exitInfo) return undefined;
    let timer: NodeJS.Timeout | undefined;
    let waiter: ((report: ResourcesReport) => void) | undefined;
    const answer = new Promise<ResourcesReport | undefined>((resolve) => {
      waiter = resolve;
      this.resourceWaiters.push(resolve);
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
