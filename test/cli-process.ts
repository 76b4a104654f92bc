import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../src/paths.ts';

export const BIN = path.join(ROOT, 'bin', 'websocket-workshop.js');

let linked: string | undefined;

/**
 * A folder holding `wsw` as `npm link` makes it (a link to the workshop's command), for a PATH that
 * is what the README's set-up gives a learner. Made once per test process.
 */
export function linkedBinDir(): string {
  if (!linked) {
    linked = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-bin-'));
    fs.symlinkSync(BIN, path.join(linked, 'wsw'));
    const dir = linked;
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return linked;
}
/** How long one awaited line may take: generous for a busy machine, since only a hang ever reaches it. */
export const WAIT_MS = 15_000;

/** How the process ended. */
export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The CLI running in the background as a learner runs it after the README's set-up (`wsw` on PATH, a
 * temporary HOME that is also its working folder, no colour), with its output collected and waits on
 * what it prints: never a fixed sleep.
 */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves once the process has ended and all it printed has been read. */
  readonly ended: Promise<Ended>;
  /** Everything printed so far, stdout and stderr together. */
  out = '';
  /** Standard output alone (what `--json` promises to keep clean). */
  stdout = '';
  stderr = '';
  private closed = false;
  private readonly listeners = new Set<() => void>();

  constructor(home: string, args: string[], env: Record<string, string | undefined> = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      cwd: home,
      env: {
        ...process.env,
        PATH: `${linkedBinDir()}${path.delimiter}${process.env.PATH ?? ''}`,
        HOME: home,
        USERPROFILE: home,
        NO_COLOR: '1',
        FORCE_COLOR: undefined,
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const take = (stream: 'stdout' | 'stderr') => (data: Buffer) => {
      this.out += data.toString();
      this[stream] += data.toString();
      this.notify();
    };
    this.child.stdout.on('data', take('stdout'));
    this.child.stderr.on('data', take('stderr'));
    this.ended = new Promise((resolve) =>
      this.child.once('close', (code, signal) => {
        this.closed = true;
        this.notify();
        resolve({ code, signal });
      }),
    );
  }

  /** The exit code, once the process has ended. */
  async exitCode(): Promise<number | null> {
    return (await this.ended).code;
  }

  /** Everything printed so far, one entry per line. */
  get lines(): string[] {
    return this.out.split('\n');
  }

  /** The current length of the output: a wait given it looks only at what comes after. */
  get mark(): number {
    return this.out.length;
  }

  /**
   * Resolves with what `find` finds in the output (from `from` on), as soon as it is there. Fails,
   * with the output so far, after `timeoutMs` or when the process ends without it.
   */
  waitFor<T>(find: (out: string) => T | undefined, what: string, from = 0, timeoutMs = WAIT_MS): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find(this.out.slice(from));
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (this.closed) {
          done();
          reject(new Error(`the command ended before ${what} appeared. Output:\n${this.out.slice(from)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what} did not appear within ${timeoutMs} ms. Output:\n${this.out.slice(from)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Waits until `times` printed lines match (exactly, for a string) and returns the last of them. */
  untilLine(expected: string | RegExp, times = 1): Promise<string> {
    return this.waitFor((out) => {
      const matching = out.split('\n').filter((line) => (typeof expected === 'string' ? line === expected : expected.test(line)));
      return matching.length >= times ? matching[times - 1] : undefined;
    }, `${times} line(s) ${String(expected)}`);
  }

  /** Waits until the output matches, and returns the match. */
  untilMatch(pattern: RegExp): Promise<RegExpMatchArray> {
    return this.waitFor((out) => pattern.exec(out) ?? undefined, String(pattern));
  }

  /** Waits until `text` appears after `from`. */
  async untilText(text: string, from = 0): Promise<void> {
    await this.waitFor((out) => (out.includes(text) ? true : undefined), `"${text}"`, from);
  }

  /** Types a line, and waits for the line it should make appear. */
  send(line: string, expected: string | RegExp): Promise<string> {
    this.child.stdin.write(`${line}\n`);
    return this.untilLine(expected);
  }

  /** Ends the input, as the end of a pipe does, and returns the exit code. */
  end(): Promise<number | null> {
    this.child.stdin.end();
    return this.exitCode();
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}

/** What a command printed, and how it ended. */
export interface Finished {
  code: number | null;
  out: string;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end, as a learner would in `home`, with optional piped input and environment. */
export async function runCli(home: string, args: string[], input = '', env: Record<string, string | undefined> = {}): Promise<Finished> {
  const cli = new CliProcess(home, args, env);
  cli.child.stdin.end(input);
  const { code } = await cli.ended;
  return { code, out: cli.out, stdout: cli.stdout, stderr: cli.stderr };
}
