// `wsw watch` as a learner runs it: a real process in a temporary HOME and folder, saves made to the
// learner's file, and every wait tied to what watch prints (or to the processes that exist), never to a clock.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RunQueue } from '../src/cli/watch-queue.ts';
import { watchesByPolling } from '../src/cli/watch-command.ts';
import { lessonPaths, workspaceFile } from '../src/paths.ts';
import { CliProcess, WAIT_MS } from './cli-process.ts';
import { processesMentioning } from './support.ts';

/** A server that listens, never answers, and ignores SIGTERM: the kind that outlives a careless watcher. */
const STUBBORN_SERVER = `import { WebSocketServer } from 'ws';
process.on('SIGTERM', () => {});
new WebSocketServer({ port: Number(process.env.PORT) });
`;

/** Waits until `condition` holds, looking again at each turn of a short interval, up to a timeout. */
async function until(condition: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const homes: string[] = [];
const running: CliProcess[] = [];

/** A fresh learner: a temporary HOME (their progress) that is also their working folder. */
async function learnerWith(lesson: string): Promise<{ home: string; file: string }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-watch-'));
  homes.push(home);
  const select = new CliProcess(home, ['select', lesson]);
  expect(await select.exitCode(), select.out).toBe(0);
  return { home, file: workspaceFile(lesson, home) };
}

function watchIn(home: string, args: string[] = [], env: Record<string, string> = {}): CliProcess {
  // A polling watch only where a test asks for one, whatever the machine running the suite has set.
  const cli = new CliProcess(home, ['watch', ...args], { WSW_WATCH_POLL: undefined, ...env });
  running.push(cli);
  return cli;
}

afterEach(async () => {
  for (const cli of running.splice(0)) {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGKILL');
      await cli.ended;
    }
  }
  for (const home of homes.splice(0)) fs.rmSync(home, { recursive: true, force: true });
});

describe('wsw watch', () => {
  it('verifies at once and on every save, survives a crash, and leaves nothing running when stopped', async () => {
    const { home, file } = await learnerWith('02-echo-server');
    const watch = watchIn(home);

    // The status line closes each run: what is asserted after it has all arrived.
    await watch.untilText('to verify again · Ctrl-C stops watching');
    expect(watch.out).toContain('✗ FAIL  ECHO_NO_REPLY');
    expect(watch.out).toContain('The last lines before the failure:');
    expect(watch.out).toContain('[alice] → text "hello"');
    expect(watch.out).toContain("Hint: Listen for 'message'");

    let mark = watch.mark;
    fs.copyFileSync(lessonPaths('02-echo-server').solution, file);
    await watch.untilText('✓ PASS  02-echo-server', mark);
    await watch.untilText('Lesson 02 is done. Next: wsw next (03 · Broadcast).', mark);
    await watch.untilText('Ctrl-C stops watching', mark);
    const completed = JSON.parse(fs.readFileSync(path.join(home, '.config/websocket-workshop/completed.json'), 'utf8'));
    expect(completed).toEqual(['02-echo-server']);

    mark = watch.mark;
    fs.writeFileSync(file, 'const x = ;\n');
    await watch.untilText('✗ FAIL  PROGRAM_CRASHED', mark);
    await watch.untilText('Ctrl-C stops watching', mark);
    const crash = watch.out.slice(mark);
    expect(crash, 'the error stays in view, its stack folded').toContain('ERROR: Unexpected ";"');
    expect(crash).toMatch(/at … \(\d+ stack frames, none in 02-echo-server\.ts\)/);
    expect(watch.child.exitCode, 'watch goes on after a crash').toBeNull();

    // Stopped in the middle of verifying a server that ignores SIGTERM: nothing of it may survive.
    mark = watch.mark;
    fs.writeFileSync(file, STUBBORN_SERVER);
    await watch.untilText('▸ echoes a text message as text', mark);
    expect(processesMentioning(file).length, 'the learner server runs').toBeGreaterThan(0);
    watch.child.kill('SIGTERM');
    expect(await watch.ended).toEqual({ code: 0, signal: null });
    expect(watch.out.slice(mark)).toContain('Stopped watching, and the verification under way.');
    await until(() => processesMentioning(file).length === 0, 'no process of the learner file is left', 2000);
  });

  it('with WSW_WATCH_POLL=1, sees a save by polling', async () => {
    const { home, file } = await learnerWith('02-echo-server');
    fs.writeFileSync(file, 'const x = ;\n');
    const watch = watchIn(home, ['--lesson', 'echo-server'], { WSW_WATCH_POLL: '1' });
    await watch.untilText('✗ FAIL  PROGRAM_CRASHED');
    expect(watch.out).toContain('polling for changes every');
    const mark = watch.mark;
    fs.copyFileSync(lessonPaths('02-echo-server').solution, file);
    await watch.untilText('✓ PASS  02-echo-server', mark);
    watch.child.kill('SIGINT');
    expect(await watch.ended).toEqual({ code: 0, signal: null });
  });

  it('without the lesson file, exits 2 saying how to get it', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-watch-'));
    homes.push(home);
    const watch = watchIn(home, ['--lesson', 'broadcast']);
    expect(await watch.exitCode()).toBe(2);
    expect(watch.out).toContain('There is no file at ./websocket-workshop/03-broadcast.ts yet. Run `wsw select broadcast`');
  });
});

describe('the queue of verifications', () => {
  /** A queue whose jobs finish only when the test says so. */
  function queueOfHeldJobs() {
    const started: string[] = [];
    const finishers: Array<(error?: Error) => void> = [];
    const errors: unknown[] = [];
    const queue = new RunQueue(
      (reason) => {
        started.push(reason);
        return new Promise<void>((resolve, reject) => finishers.push((error) => (error ? reject(error) : resolve())));
      },
      (error) => errors.push(error),
    );
    return { queue, started, errors, finish: (n: number, error?: Error) => finishers[n]!(error) };
  }

  it('runs one at a time: saves during a run cancel nothing and queue exactly one more, with the latest reason', async () => {
    const { queue, started, finish } = queueOfHeldJobs();
    expect(queue.request('first')).toBe('started');
    expect(queue.request('saved 1')).toBe('queued');
    expect(queue.request('saved 2')).toBe('coalesced');
    expect(queue.request('saved 3')).toBe('coalesced');
    expect(started).toEqual(['first']);
    finish(0);
    await vi.waitFor(() => expect(started).toEqual(['first', 'saved 3']));
    expect(queue.busy).toBe(true);
    finish(1);
    await queue.idle();
    expect(started).toEqual(['first', 'saved 3']);
    expect(queue.busy).toBe(false);
    expect(queue.request('later')).toBe('started');
  });

  it('goes on after a run that throws, and once stopped drops what is queued', async () => {
    const { queue, started, errors, finish } = queueOfHeldJobs();
    queue.request('first');
    queue.request('second');
    finish(0, new Error('verifier broke'));
    await vi.waitFor(() => expect(started).toEqual(['first', 'second']));
    expect(errors).toHaveLength(1);
    queue.request('third');
    queue.stop();
    expect(queue.request('fourth')).toBe('ignored');
    finish(1);
    await queue.idle();
    expect(started).toEqual(['first', 'second']);
  });
});

describe('when watch polls', () => {
  it('polls under WSL and when WSW_WATCH_POLL=1, and waits for file events elsewhere', () => {
    expect(watchesByPolling({}, '5.15.167.4-microsoft-standard-WSL2')).toBe(true);
    expect(watchesByPolling({}, '4.4.0-19041-Microsoft')).toBe(true);
    expect(watchesByPolling({ WSW_WATCH_POLL: '1' }, '6.8.0-45-generic')).toBe(true);
    expect(watchesByPolling({}, '6.8.0-45-generic')).toBe(false);
    expect(watchesByPolling({ WSW_WATCH_POLL: '0' }, '6.8.0-45-generic')).toBe(false);
  });
});
