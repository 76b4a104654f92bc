// `npm run bench`: how long a learner waits. For each lesson, the reference solution's verify time
// beside a floor measured in the same run (start the file as verify does, wait until it listens, one
// round trip, stop it); then the CLI's own start, the time from a crash to its verdict, and thirty
// verifications at once. Prints a Markdown table; the README records a run of it.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { lessons, timeoutsOf, type Lesson } from '../src/lessons.ts';
import { lessonPaths, ROOT } from '../src/paths.ts';
import { loadLessonModule, verifyFile, type Verdict } from '../verify/harness/run-verifier.ts';
import { Verification } from '../verify/harness/session.ts';
import { Transcript } from '../verify/harness/transcript.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 30);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const worst = (xs: number[]) => Math.max(...xs);

/** Start as verify does, wait until listening, one round trip (a ping), stop. */
async function floor(lesson: Lesson): Promise<number> {
  const started = performance.now();
  const v = new Verification(lesson, lessonPaths(lesson.slug).solution, new Transcript(), timeoutsOf(lesson));
  try {
    const { prepareRun } = await loadLessonModule(lesson);
    const prepared = (await prepareRun?.(v)) ?? {};
    await v.start(prepared.start);
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

function cliStart(): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const result = spawnSync(process.execPath, [path.join(ROOT, 'bin/websocket-workshop.js'), 'list'], { env: { ...process.env, NO_COLOR: '1' } });
    if (result.status !== 0) throw new Error(`list failed: ${result.stderr}`);
    times.push(performance.now() - started);
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

process.stderr.write(`Benchmarking (${RUNS} runs each)…\n`);
const rows = await lessonRows();
const list = cliStart();
const crash = await crashToVerdict();
const crowd = await classAtOnce();
console.log(
  [
    `| lesson | verify median ms | verify worst ms | floor ms | ratio | target |`,
    `|---|---|---|---|---|---|`,
    ...rows,
    '',
    `- \`list\` (CLI start): ${Math.round(list)} ms median (target ≤ 300 ms): ${list <= 300 ? 'ok' : 'MISSES'}`,
    `- crash → verdict: ${Math.round(crash)} ms median (target ≤ 300 ms): ${crash <= 300 ? 'ok' : 'MISSES'}`,
    `- ${crowd}`,
    `- machine: ${process.platform} ${process.arch}, Node ${process.version}, ${(await import('node:os')).cpus().length} cores`,
  ].join('\n'),
);
process.exit(0);
