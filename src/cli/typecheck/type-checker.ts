import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { ROOT } from '../../paths.ts';
import { LEARNER_COMPILER_OPTIONS, PACKAGES_DIR } from '../../workspace.ts';

/** One type error in the learner's file. Line and column count from 1, as editors show them. */
export interface TypeDiagnostic {
  /** Absolute path of the file. */
  file: string;
  line: number;
  column: number;
  /** TypeScript's number for the error: 2322 for TS2322. */
  code: number;
  /** TypeScript's message; the lines after the first explain it, indented. */
  message: string;
}

/** What a type check came to. */
export type TypeCheckOutcome =
  | { kind: 'checked'; errors: TypeDiagnostic[]; ms: number }
  /** The file does not parse: the verdict shows the syntax error, with its line. */
  | { kind: 'unparsable' }
  /** A JavaScript file, or one that is not there: nothing to check. */
  | { kind: 'not-typescript' }
  | { kind: 'skipped'; reason: string };

/** The extensions of the files that are type-checked: the TypeScript ones tsx runs as Node programs. */
export const TYPE_CHECKED = /\.[cm]?ts$/;

/**
 * How long a type check may still take once the verdict is out: the verdict never waits for it, and
 * what comes after it waits only this long.
 */
export const TYPE_CHECK_CAP_MS = 10_000;

/** The options of the tsconfig.json each workspace gets, so the check agrees with the learner's editor. */
export const TYPE_CHECK_OPTIONS = LEARNER_COMPILER_OPTIONS;

// From the workshop's root, not from this module: the CLI may run as a compiled bundle elsewhere.
const ENTRY = path.join(ROOT, 'src', 'cli', 'typecheck', 'checker.mjs');
/**
 * A low priority: the check runs mostly on what the verifier and the learner's program leave idle,
 * so the verdict comes no later (on two cores, at normal priority, lesson 02's verdict came about a
 * third later). Not the lowest: on a machine busy with other work the check would starve.
 */
const NICENESS = 10;

/** Settings that tests change. */
export interface TypeCheckerSettings {
  /** See TYPE_CHECK_CAP_MS. */
  capMs?: number;
  /** The script that checks (checker.mjs). */
  entry?: string;
}

/**
 * Type-checks learner files in a process of its own, next to the verification: TypeScript is slow to
 * start and parses megabytes of declarations, which must not hold up the verifier. The process starts
 * with the first check and serves every later one (watch checks after each save), reusing what it has
 * parsed. It keeps nothing alive: when the workshop exits, it does too.
 */
export class TypeChecker {
  private child?: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, (outcome: TypeCheckOutcome) => void>();
  private readonly capMs: number;
  private readonly entry: string;

  constructor(settings: TypeCheckerSettings = {}) {
    this.capMs = settings.capMs ?? TYPE_CHECK_CAP_MS;
    this.entry = settings.entry ?? ENTRY;
  }

  /** Starts checking `file` now; the answer is waited for only once the verdict is out. */
  start(file: string): PendingTypeCheck {
    const absolute = path.resolve(file);
    if (!TYPE_CHECKED.test(absolute) || !fs.existsSync(absolute)) return new PendingTypeCheck(Promise.resolve({ kind: 'not-typescript' }), 0, () => {});
    const child = this.process();
    const id = this.nextId++;
    const outcome = new Promise<TypeCheckOutcome>((resolve) => this.waiting.set(id, resolve));
    child.stdin!.write(`${JSON.stringify({ id, file: absolute })}\n`);
    return new PendingTypeCheck(outcome, this.capMs, () => {
      // A check past its time holds up every later one: start afresh next time.
      if (this.child === child) this.stop('the type check took too long');
    });
  }

  /** Stops the process; a check still under way comes to "skipped". */
  close(): void {
    this.stop('the type check was stopped');
  }

  private process(): ChildProcess {
    if (this.child) return this.child;
    const settings = { compilerOptions: TYPE_CHECK_OPTIONS, packagesDir: PACKAGES_DIR, cacheDir: cacheDir() };
    const child = spawn(process.execPath, [this.entry, JSON.stringify(settings)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    try {
      if (child.pid) os.setPriority(child.pid, NICENESS);
    } catch {
      // Not allowed here: it only competes a little more.
    }
    // A checker that died is told by its 'close'; a write to it then must not throw.
    child.stdin!.on('error', () => {});
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => this.answer(line));
    child.once('error', (error) => this.gone(child, `the type checker could not start (${error.message})`));
    child.once('close', (code) => this.gone(child, `the type checker stopped${code ? ` (exit code ${code}: ${firstLine(stderr)})` : ''}`));
    // Neither the process nor its pipes keep the workshop running; when it exits, stdin ends, and so does the check.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
    return child;
  }

  private answer(line: string): void {
    let message: { id?: number; outcome?: TypeCheckOutcome; fatal?: string };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    if (message.fatal) {
      this.stop(message.fatal);
      return;
    }
    const resolve = message.id === undefined ? undefined : this.waiting.get(message.id);
    if (!resolve || !message.outcome) return;
    this.waiting.delete(message.id!);
    resolve(message.outcome);
  }

  private stop(reason: string): void {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    child.stdin?.end();
    child.kill();
    this.settleAll(reason);
  }

  private gone(child: ChildProcess, reason: string): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.settleAll(reason);
  }

  private settleAll(reason: string): void {
    for (const resolve of this.waiting.values()) resolve({ kind: 'skipped', reason });
    this.waiting.clear();
  }
}

/** A type check under way. */
export class PendingTypeCheck {
  private waited?: Promise<TypeCheckOutcome>;

  constructor(
    private readonly result: Promise<TypeCheckOutcome>,
    private readonly capMs: number,
    private readonly onTimeout: () => void,
  ) {}

  /**
   * The outcome, waiting at most the cap from the first call: "skipped" if the check is not done by
   * then. Call it once the verdict is out.
   */
  outcome(): Promise<TypeCheckOutcome> {
    this.waited ??= new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve({ kind: 'skipped', reason: `TypeScript took longer than ${duration(this.capMs)}` });
        this.onTimeout();
      }, this.capMs);
      void this.result.then((outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
    });
    return this.waited;
  }
}

/** Where checks keep what they learnt between runs: per user, outside the learner's folders. */
function cacheDir(): string {
  let user = 'user';
  try {
    user = os.userInfo().username.replace(/[^\w.-]/g, '_');
  } catch {
    // No user name (some containers): one shared folder will do.
  }
  return path.join(os.tmpdir(), `websocket-workshop-typecheck-${user}`);
}

function duration(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim())?.trim() ?? 'no message';
}
