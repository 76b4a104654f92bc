// `npm run bench`: how long a learner waits. For each lesson, the reference solution's verify time
// beside a floor measured in the same run (start the file as verify does, wait until it listens, one
// round trip, stop it); then the CLI's own start, the time from a crash to its verdict, the ways a
// learner's file could be started, watch against a verify by hand, thirty verifications at once, how
// far a class dashboard's feed runs behind its learners, and (BENCH_SUITE=1) the whole npm test. Prints a Markdown table; the README records a run of it.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { startClassServer } from '../src/classroom/class-server.ts';
import { lessons, timeoutsOf, type Lesson } from '../src/lessons.ts';
import { lessonPaths, ROOT } from '../src/paths.ts';
import { loadLessonModule, verifyFile, type Verdict } from '../verify/harness/run-verifier.ts';
import { urlHost } from '../verify/harness/ports.ts';
import { Verification } from '../verify/harness/session.ts';
import { Transcript } from '../verify/harness/transcript.ts';
import { classroomFigures } from './bench-classroom.ts';
import { learnerStartFigures } from './bench-start.ts';
import { watchFigures } from './bench-watch.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 30);
const LEARNERS = Number(process.env.BENCH_LEARNERS ?? 200);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const worst = (xs: number[]) => Math.max(...xs);

/**
 * Start as verify does, wait until listening, one round trip (a ping; a GET for a server of plain
 * HTTP), stop. A lesson whose program is a client: start it against the verifier's own server, and
 * wait for its first attempt to connect. A lesson of two servers (17) starts both, as run does.
 */
async function floor(lesson: Lesson): Promise<number> {
  const started = performance.now();
  const v = new Verification(lesson, lessonPaths(lesson.slug).solution, new Transcript(), timeoutsOf(lesson));
  try {
    if (lesson.writes === 'client') {
      await v.startClient(await v.serve());
      return performance.now() - started;
    }
    const { prepareRun } = await loadLessonModule(lesson);
    const prepared = (await prepareRun?.(v)) ?? {};
    const server = await v.start(prepared.start);
    if (prepared.protocol === 'http') {
      await (await fetch(`http://${urlHost(server.host)}:${server.port}/`)).arrayBuffer();
      return performance.now() - started;
    }
    // A socket.io server upgrades only on its own path; a plain client there still gets ws pongs.
    const path = prepared.protocol === 'socket.io' ? '/socket.io/?EIO=4&transport=websocket' : undefined;
    const client = await v.client('bench', { path, ...prepared.client, log: 'silent' });
    await new Promise<void>((resolve) => {
      client.ws.once('pong', () => resolve());
      client.ws.ping();
    });
  } finally {
    await v.teardown();
  }
  return performance.now() - started;
}

/** Lessons whose verify waits on timers the lesson itself sets (ticks, heartbeats): no 1.5x target. */
const timedByLesson = (lesson: Lesson) => Object.keys(lesson.env ?? {}).some((k) => /_MS$/.test(k));

async function lessonRows(): Promise<string[]> {
  const rows: string[] = [];
  for (const lesson of lessons) {
    const verifies: number[] = [];
    const floors: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      floors.push(await floor(lesson));
      const verdict = await verifyFile({ lesson, file: lessonPaths(lesson.slug).solution });
      if (!verdict.passed) throw new Error(`${lesson.slug}: the solution failed with ${verdict.failure?.code}`);
      verifies.push(verdict.durationMs);
    }
    const ratio = median(verifies) / median(floors);
    const target = timedByLesson(lesson) ? 'waits on lesson timers' : ratio <= 1.5 ? 'ok (≤ 1.5x)' : 'MISSES 1.5x';
    rows.push(
      `| ${lesson.slug} | ${Math.round(median(verifies))} | ${Math.round(worst(verifies))} | ${Math.round(median(floors))} | ${ratio.toFixed(2)}x | ${target} |`,
    );
    process.stderr.write(`  ${lesson.slug} done\n`);
  }
  return rows;
}

function cliStart(args: string[] = [path.join(ROOT, 'bin/websocket-workshop.js'), 'list']): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const result = spawnSync(process.execPath, args, { env: { ...process.env, NO_COLOR: '1' } });
    if (result.status !== 0) throw new Error(`${args.join(' ')} failed: ${result.stderr}`);
    times.push(performance.now() - started);
  }
  return median(times);
}

/** A program that stays alive on a timer and never listens, with a start timeout far longer: its verdict. */
async function neverListensVerdict(): Promise<number> {
  const times: number[] = [];
  const lesson = lessons.find((l) => l.slug === '02-echo-server')!;
  for (let i = 0; i < RUNS; i++) {
    const verdict = await verifyFile({ lesson, file: path.join(ROOT, 'verify/fixtures/harness/never-listens.ts') });
    if (verdict.failure?.code !== 'NEVER_LISTENED') throw new Error('the never-listens fixture did not get NEVER_LISTENED');
    times.push(verdict.durationMs);
  }
  return median(times);
}

/** From the message that makes the program crash to the verdict in hand. */
async function crashToVerdict(): Promise<number> {
  const times: number[] = [];
  const lesson = lessons.find((l) => l.slug === '02-echo-server')!;
  for (let i = 0; i < RUNS; i++) {
    const verdict = await verifyFile({ lesson, file: path.join(ROOT, 'verify/fixtures/harness/crashes-on-message.ts') });
    const sent = verdict.transcript.find((e) => e.text.startsWith('→ text'));
    if (verdict.failure?.code !== 'PROGRAM_CRASHED' || !sent) throw new Error('the crash fixture did not crash as expected');
    times.push(verdict.durationMs - sent.atMs);
  }
  return median(times);
}

/** Thirty verifications started at the same moment: solutions and starters of every lesson, in turn. */
async function classAtOnce(): Promise<string> {
  const jobs = Array.from({ length: CONCURRENT }, (_, i) => {
    const lesson = lessons[i % lessons.length]!;
    const starter = Math.floor(i / lessons.length) % 2 === 1;
    return { lesson, file: starter ? lessonPaths(lesson.slug).starter : lessonPaths(lesson.slug).solution, starter };
  });
  const started = performance.now();
  const verdicts: Verdict[] = await Promise.all(jobs.map((j) => verifyFile({ lesson: j.lesson, file: j.file })));
  const wall = performance.now() - started;
  const wrong = verdicts.filter((v, i) => v.passed === jobs[i]!.starter);
  return `${CONCURRENT} verifications at once: ${Math.round(wall)} ms wall time, ${wrong.length === 0 ? 'every verdict as alone' : `${wrong.length} WRONG verdicts: ${wrong.map((v) => `${v.lesson} ${v.failure?.code ?? 'pass'}`).join(', ')}`}`;
}

/**
 * A class at once: LEARNERS learners join and report over HTTP, as `wsw join` and `wsw verify` do, while
 * a dashboard's feed watches. Returns, for each report, the time from sending it to seeing it on the feed.
 */
async function classFeedLag(): Promise<number[]> {
  const code = 'BENCH2345';
  // Every learner here joins from 127.0.0.1: let the whole class in from one address.
  const server = await startClassServer({ host: '127.0.0.1', code, limits: { joinsPerAddress: LEARNERS } });
  const base = `http://127.0.0.1:${server.port}`;
  const feed = new WebSocket(`ws://127.0.0.1:${server.port}/feed?key=${encodeURIComponent(server.teacherKey)}`);
  const sentAt = new Map<string, number>();
  const lags: number[] = [];
  let allSeen!: () => void;
  const everyReportSeen = new Promise<void>((resolve) => (allSeen = resolve));
  feed.on('message', (data) => {
    const { reportId } = JSON.parse(String(data)) as { reportId?: string };
    if (!reportId) return;
    lags.push(performance.now() - sentAt.get(reportId)!);
    if (lags.length === LEARNERS) allSeen();
  });
  await new Promise((resolve, reject) => feed.once('open', resolve).once('error', reject));
  const learner = async (i: number) => {
    const joined = await fetch(`${base}/join`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `learner ${i}`, code }) });
    if (joined.status !== 201) throw new Error(`class feed: a join was refused: ${joined.status} ${await joined.text()}`);
    const { token } = (await joined.json()) as { token: string };
    const id = `bench-report-${i}`;
    sentAt.set(id, performance.now());
    const reported = await fetch(`${base}/report`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Class-Code': code },
      body: JSON.stringify({ id, lesson: '03-broadcast', passed: i % 2 === 0, failureCode: i % 2 ? 'BROADCAST_MISSED' : null, durationMs: 300, at: Date.now() }),
    });
    if (reported.status !== 200) throw new Error(`class feed: a report was refused: ${reported.status} ${await reported.text()}`);
  };
  try {
    await Promise.all(Array.from({ length: LEARNERS }, (_, i) => learner(i)));
    await everyReportSeen;
  } finally {
    feed.terminate();
    await server.close();
  }
  return lags;
}

/**
 * The whole `npm test` (type check, lint, every test file), timed when BENCH_SUITE=1: it takes minutes,
 * and it measures the suite rather than what a learner waits for.
 */
function suiteFigure(): string {
  if (!process.env.BENCH_SUITE) return '`npm test`: not timed in this run (BENCH_SUITE=1 npm run bench times it; target ≤ 120 s)';
  const started = performance.now();
  const result = spawnSync('npm', ['test'], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, CI: '' } });
  const seconds = (performance.now() - started) / 1000;
  const outcome = result.status === 0 ? 'passed' : `FAILED (exit ${result.status})`;
  return `\`npm test\`: ${Math.round(seconds)} s, ${outcome} (target ≤ 120 s): ${seconds <= 120 ? 'ok' : 'MISSES'}`;
}

process.stderr.write(`Benchmarking (${RUNS} runs each)…\n`);
const rows = await lessonRows();
const list = cliStart();
const bareNode = cliStart(['-e', '0']);
const help = cliStart([path.join(ROOT, 'bin/websocket-workshop.js'), 'help']);
const idle = await neverListensVerdict();
const crash = await crashToVerdict();
const crowd = await classAtOnce();
const feedLag = worst(await classFeedLag());
const classroom = await classroomFigures();
const starts = await learnerStartFigures();
const watch = await watchFigures();
const suite = suiteFigure();
console.log(
  [
    `| lesson | verify median ms | verify worst ms | floor ms | ratio | target |`,
    `|---|---|---|---|---|---|`,
    ...rows,
    '',
    `- \`list\` (CLI start): ${Math.round(list)} ms median, ${(list / bareNode).toFixed(2)}x a bare \`node -e 0\` (${Math.round(bareNode)} ms; target ≤ 1.5x): ${list <= 1.5 * bareNode ? 'ok' : 'MISSES'}`,
    `- \`help\` (CLI start, Markdown rendered): ${Math.round(help)} ms median, ${(help / bareNode).toFixed(2)}x a bare node (target ≤ 1.5x): ${help <= 1.5 * bareNode ? 'ok' : 'MISSES'}`,
    `- a program that never listens (timers only) → verdict: ${Math.round(idle)} ms median (target ≤ 2500 ms): ${idle <= 2500 ? 'ok' : 'MISSES'}`,
    `- crash → verdict: ${Math.round(crash)} ms median (target ≤ 300 ms): ${crash <= 300 ? 'ok' : 'MISSES'}`,
    ...starts.map((line) => `- ${line}`),
    `- ${watch.line}`,
    `- ${suite}`,
    `- ${crowd}`,
    `- class feed, ${LEARNERS} learners reporting at once: ${Math.round(feedLag)} ms worst behind (target ≤ 1000 ms): ${feedLag <= 1000 ? 'ok' : 'MISSES'}`,
    ...classroom.map((line) => `- ${line.replace(/^- /, '')}`),
    `- machine: ${process.platform} ${process.arch}, Node ${process.version}, ${(await import('node:os')).cpus().length} cores`,
  ].join('\n'),
);
process.exit(0);
