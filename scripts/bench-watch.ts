// `wsw watch` against a verify started by hand, both through the installed command: from a save of the
// learner's file to the verdict's line (✓ PASS), and from pressing Enter on `wsw verify` to that same
// line. Lesson 02's solution, in a temporary HOME where it was selected.
// `npx tsx scripts/bench-watch.ts` prints them; `watchFigures()` gives them to `npm run bench`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { lessonPaths, workspaceFile } from '../src/paths.ts';
import { CliProcess } from '../test/cli-process.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LESSON = '02-echo-server';
const VERDICT = `✓ PASS  ${LESSON}`;
const READY = 'Ctrl-C stops watching';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median ms from a save to watch's verdict, and from starting `wsw verify` to its verdict; and the ratio. */
export async function watchFigures(): Promise<{ watchMs: number; byHandMs: number; line: string }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-bench-watch-'));
  const solution = fs.readFileSync(lessonPaths(LESSON).solution, 'utf8');
  try {
    const select = new CliProcess(home, ['select', LESSON]);
    if ((await select.exitCode()) !== 0) throw new Error(`select failed: ${select.out}`);
    const file = workspaceFile(LESSON, home);
    fs.writeFileSync(file, solution);
    const watch = new CliProcess(home, ['watch']);
    const byHand: number[] = [];
    const watched: number[] = [];
    try {
      await watch.untilText(READY);
      for (let i = 0; i < RUNS; i++) {
        // A save that changes the file, as an editor's would.
        const mark = watch.mark;
        const saved = performance.now();
        fs.writeFileSync(file, `${solution}\n// save ${i}\n`);
        await watch.untilText(VERDICT, mark);
        watched.push(performance.now() - saved);
        await watch.untilText(READY, mark);

        const started = performance.now();
        const verify = new CliProcess(home, ['verify']);
        await verify.untilText(VERDICT);
        byHand.push(performance.now() - started);
        await verify.exitCode();
      }
    } finally {
      watch.child.kill('SIGTERM');
      await watch.ended;
    }
    const watchMs = median(watched);
    const byHandMs = median(byHand);
    const ratio = watchMs / byHandMs;
    return {
      watchMs,
      byHandMs,
      line: `\`watch\`: save → verdict ${Math.round(watchMs)} ms median, a verify started by hand ${Math.round(byHandMs)} ms: ${ratio.toFixed(2)}x (target ≤ 1.2x): ${ratio <= 1.2 ? 'ok' : 'MISSES'}`,
    };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(`- ${(await watchFigures()).line}`);
  process.exit(0);
}
