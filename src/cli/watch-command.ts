import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { verifyFile, type Verdict } from '../../verify/harness/run-verifier.ts';
import { formatEntry, formatVerdict } from '../../verify/harness/report.ts';
import { Transcript, type TranscriptEntry } from '../../verify/harness/transcript.ts';
import { lessonNumber, lessons, shortSlug, type Lesson } from '../lessons.ts';
import { Progress } from '../progress.ts';
import { learnerFile, prepareLessonFile } from '../workspace.ts';
import { UsageError } from './args.ts';
import { hintCommand } from './hint-command.ts';
import { parseLessonCommand } from './lesson-args.ts';
import { colour, say, shown } from './output.ts';
import { RunQueue } from './watch-queue.ts';
import { reportVerdict } from '../classroom/reporter.ts';
import { typeCheckLines } from './typecheck/report.ts';
import { TypeChecker } from './typecheck/type-checker.ts';

/**
 * The environment variable that makes `watch` poll the file instead of waiting for file-system
 * events: `WSW_WATCH_POLL=1`. Needed where events do not arrive (network drives, some containers,
 * Windows folders seen from WSL); polling is already the default under WSL.
 */
export const POLL_VARIABLE = 'WSW_WATCH_POLL';

/** How often the file is looked at when polling: quick enough to feel immediate, cheap for one file. */
const POLL_INTERVAL_MS = 250;
/** A save counts once the file has stopped changing for this long: editors write in several steps. */
const SETTLE_MS = 150;
/** How many transcript lines before a failure are shown: enough to see the exchange, short enough to read. */
const CONTEXT_LINES = 12;

const CLEAR_SCREEN = '\u001b[2J\u001b[3J\u001b[H';
const CTRL_C = '\u0003';

/**
 * Whether `watch` polls the file rather than waiting for file-system events: when `WSW_WATCH_POLL=1`,
 * or under WSL (its kernel release names Microsoft), where events for files on Windows drives never come.
 */
export function watchesByPolling(env: NodeJS.ProcessEnv = process.env, release = os.release()): boolean {
  return env[POLL_VARIABLE] === '1' || /microsoft/i.test(release);
}

/**
 * `watch [--lesson <slug>]`: verifies the learner's file for the lesson at once, then again on every
 * save, each time on a fresh screen: the failure with the lines that led to it, or the pass and what
 * comes next, then the type errors of a TypeScript file. In a terminal the keys `q` (quit), `h` (next hint) and `n` (next lesson, after a pass)
 * work; elsewhere it runs until it is stopped by a signal. Returns 0 when stopped.
 */
export async function watchCommand(argv: string[]): Promise<number> {
  const progress = new Progress();
  const { lesson, positionals } = parseLessonCommand('watch', argv, [], progress);
  if (positionals.length > 0) {
    throw new UsageError(`watch takes no file: it watches your file for the lesson.\nUsage: wsw watch [--lesson <slug>]`);
  }
  const file = learnerFile(lesson.slug, progress);
  if (!fs.existsSync(file)) {
    throw new UsageError(
      `There is no file at ${shown(file)} yet. Run \`wsw select ${shortSlug(lesson)}\` to get the starter there, then \`wsw watch\` again.`,
    );
  }
  return new WatchSession(lesson, file, progress, watchesByPolling()).start();
}

/** One `watch`: the file being watched, the verification loop, the keys, and a clean stop. */
class WatchSession {
  private watcher?: FSWatcher;
  private readonly runs = new RunQueue(
    (reason) => this.verifyOnce(reason),
    (error) => {
      // verifyFile throws only when a lesson's verifier is broken: the workshop's fault, and watch goes on.
      say('', colour.red(`The verification itself broke (a fault in the workshop, not in your file): ${(error as Error).stack ?? String(error)}`));
      this.showStatus();
    },
  );
  /** One checker for the whole session: after the first save, it has TypeScript's libraries parsed. */
  private readonly types = new TypeChecker();
  private passed = false;
  private stopping = false;
  private finish!: (code: number) => void;
  private readonly finished = new Promise<number>((resolve) => (this.finish = resolve));
  /** Keys are read only from a terminal: a pipe's bytes are not keystrokes. */
  private readonly readsKeys = Boolean(process.stdin.isTTY);
  /** The screen is cleared only in a terminal; in a pipe a separator keeps every run readable. */
  private readonly clearsScreen = Boolean(process.stdout.isTTY);

  constructor(
    private lesson: Lesson,
    private file: string,
    private readonly progress: Progress,
    private readonly polling: boolean,
  ) {}

  /** Starts watching; resolves with the exit code once the learner (or a signal) stops it. */
  start(): Promise<number> {
    // Every way out goes through stop(), which returns normally, so the process exits through its
    // exit hooks, and those take down any learner's server a verification still had running.
    // The listeners stay on: a second Ctrl-C while stopping must not kill the process outright.
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void this.stop());
    if (this.readsKeys) {
      process.stdin.setRawMode(true);
      process.stdin.setEncoding('utf8');
      process.stdin.on('data', this.onKeys);
    }
    this.watchFile()
      .then(() => this.schedule('first verification'))
      .catch((error: unknown) => {
        say(colour.red(`Cannot watch ${shown(this.file)}: ${(error as Error).message}`));
        void this.stop(2);
      });
    return this.finished;
  }

  /** Watches the file's folder, not the file: editors that save by renaming replace the file itself. */
  private async watchFile(): Promise<void> {
    await this.watcher?.close();
    const file = this.file;
    const dir = path.dirname(file);
    const watcher = watch(dir, {
      depth: 0,
      ignoreInitial: true,
      ignored: (p: string) => {
        const resolved = path.resolve(p);
        return resolved !== dir && resolved !== file;
      },
      usePolling: this.polling,
      interval: POLL_INTERVAL_MS,
      awaitWriteFinish: { stabilityThreshold: SETTLE_MS, pollInterval: 50 },
    });
    this.watcher = watcher;
    const ours = (p: string) => this.watcher === watcher && path.resolve(p) === file;
    watcher.on('add', (p) => ours(p) && this.schedule(`${path.basename(file)} is back (${clock()})`));
    watcher.on('change', (p) => ours(p) && this.schedule(`saved at ${clock()}`));
    watcher.on('unlink', (p) => {
      if (ours(p)) say('', colour.yellow(`${shown(file)} is gone. Watching for it to come back.`));
    });
    watcher.on('error', (error) => say(colour.red(`Watching ${shown(file)} failed: ${(error as Error).message}`)));
    await new Promise<void>((resolve) => watcher.once('ready', resolve));
  }

  /** A save while a verification runs cancels nothing: it queues one more run, however many saves come. */
  private schedule(reason: string): void {
    if (this.runs.request(reason) === 'queued') say(colour.dim('Saved during the verification: it runs again when this one ends.'));
  }

  private async verifyOnce(reason: string): Promise<void> {
    const { lesson, file } = this;
    this.passed = false;
    if (this.clearsScreen) process.stdout.write(CLEAR_SCREEN);
    else say('', colour.dim('─'.repeat(72)));
    say(
      colour.bold(`Watching ${shown(file)} · lesson ${pad(lesson)} · ${lesson.title}`),
      colour.dim(`${reason} · verifying${this.polling ? ` · polling for changes every ${POLL_INTERVAL_MS} ms` : ''}`),
    );
    const transcript = new Transcript();
    // Only the steps, live, so a long verification shows it is moving; the detail comes with the verdict.
    transcript.onEntry((entry) => {
      if (entry.source.kind === 'verify' && entry.text.startsWith('▸ ')) say(colour.dim(`  ${entry.text}`));
    });
    const typeCheck = this.types.start(file);
    const verdict = await verifyFile({ lesson, file, transcript });
    if (this.stopping) return;
    if (verdict.passed) this.showPass(verdict);
    else this.showFailure(verdict, file);
    const typeErrors = typeCheckLines(await typeCheck.outcome(), verdict.passed, colour);
    if (!this.stopping) say(...typeErrors);
    // A learner in a class is reported on, whichever way they verify.
    await reportVerdict(verdict);
    this.showStatus();
  }

  private showFailure(verdict: Verdict, file: string): void {
    const context = failureContext(verdict.transcript, verdict.failure!.code, file);
    if (context.length > 0) {
      say('', colour.dim('The last lines before the failure:'), ...context.map((entry) => formatEntry(entry, colour)));
    }
    say(...formatVerdict(verdict, colour));
  }

  private showPass(verdict: Verdict): void {
    say(...formatVerdict(verdict, colour));
    this.progress.markCompleted(this.lesson.slug);
    this.passed = true;
    const next = this.upcoming();
    const done = colour.green(`Lesson ${pad(this.lesson)} is done.`);
    if (!next) say('', `${done} ${colour.green('Every lesson is done. Well done!')}`);
    else if (this.readsKeys) say('', `${done} Press ${colour.bold('n')} to go on to ${pad(next)} · ${next.title}.`);
    else say('', `${done} Next: ${colour.bold('wsw next')} (${pad(next)} · ${next.title}).`);
  }

  private showStatus(): void {
    const save = `Save ${shown(this.file)} to verify again`;
    if (!this.readsKeys) {
      say('', colour.dim(`${save} · Ctrl-C stops watching`));
      return;
    }
    const keys = [`${colour.bold('q')} quit`, `${colour.bold('h')} next hint`];
    if (this.passed && this.upcoming()) keys.push(`${colour.bold('n')} next lesson`);
    say('', `${colour.dim(`${save} ·`)} ${keys.join(colour.dim(' · '))}`);
  }

  /** The lesson `n` moves to: the first one not done after this one, else the first one not done. */
  private upcoming(): Lesson | undefined {
    const done = new Set(this.progress.completed());
    const after = lessons.slice(lessons.indexOf(this.lesson) + 1);
    return after.find((l) => !done.has(l.slug)) ?? lessons.find((l) => !done.has(l.slug));
  }

  private readonly onKeys = (data: string): void => {
    for (const key of data) {
      if (key === 'q' || key === 'Q' || key === CTRL_C) {
        void this.stop();
        return;
      }
      if (key === 'h') this.showHint();
      else if (key === 'n') void this.moveOn();
    }
  };

  private showHint(): void {
    say('');
    try {
      hintCommand(['--lesson', this.lesson.slug]);
    } catch (error) {
      say(colour.red((error as Error).message));
    }
    this.showStatus();
  }

  /**
   * `n` after a pass: selects the next lesson as `wsw next` would (its starter copied unless a file is
   * there) and watches that file instead. Its task is one `wsw print` away.
   */
  private async moveOn(): Promise<void> {
    if (!this.passed) {
      say(colour.dim(`${colour.bold('n')} moves to the next lesson once this one passes.`));
      return;
    }
    const next = this.upcoming();
    if (!next) return;
    this.passed = false;
    this.progress.setCurrent(next.slug);
    const { file, created } = prepareLessonFile(next, process.cwd(), this.progress);
    this.lesson = next;
    this.file = file;
    await this.watchFile();
    const origin = created ? 'a copy of the starter' : 'your file, already there';
    this.schedule(`now on lesson ${pad(next)}: ${shown(file)} is ${origin}; ${colour.bold('wsw print')} shows the task`);
  }

  /** Stops everything, once: keys, the watcher, and (through the process's exit) any running server. */
  private async stop(code = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.runs.stop();
    this.types.close();
    if (this.readsKeys) {
      process.stdin.off('data', this.onKeys);
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
    await this.watcher?.close();
    say('', colour.dim(this.runs.busy ? 'Stopped watching, and the verification under way.' : 'Stopped watching.'));
    this.finish(code);
  }
}

/**
 * The transcript lines that led to a failure: the last few before the verifier noted it. Stack frames
 * outside the learner's file are folded into one line, so the error message above them stays in view.
 */
function failureContext(entries: TranscriptEntry[], code: string, file: string): TranscriptEntry[] {
  let end = entries.length;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    if (entry.source.kind === 'verify' && entry.tone === 'error' && entry.text.startsWith(`✗ ${code}`)) {
      end = i;
      break;
    }
  }
  const name = path.basename(file);
  const lines: TranscriptEntry[] = [];
  let run: TranscriptEntry[] = [];
  const fold = () => {
    if (run.length === 1) lines.push(run[0]!);
    else if (run.length > 1) lines.push({ ...run[0]!, tone: 'detail', text: `    at … (${run.length} stack frames, none in ${name})` });
    run = [];
  };
  for (const entry of entries.slice(0, end)) {
    if (entry.source.kind === 'program' && /^\s+at /.test(entry.text) && !entry.text.includes(name)) {
      run.push(entry);
    } else {
      fold();
      lines.push(entry);
    }
  }
  fold();
  return lines.slice(-CONTEXT_LINES);
}

function pad(lesson: Lesson): string {
  return String(lessonNumber(lesson)).padStart(2, '0');
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}
