// How long a learner's file takes from spawn to listening, started the ways it could be: as verify
// starts it (node --import tsx, then the harness's preload), with a bare esbuild transform hook in
// tsx's place, and the same program already in JavaScript with no TypeScript loader at all (the floor
// any loader adds to). Each start is timed to the first successful TCP connect on PORT.
// `npx tsx scripts/bench-start.ts` prints them; `learnerStartFigures()` gives them to `npm run bench`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../src/paths.ts';
import { PACKAGES_DIR } from '../src/workspace.ts';
import { freePort } from '../verify/harness/ports.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const require = createRequire(import.meta.url);
const PRELOAD = pathToFileURL(path.join(ROOT, 'verify/harness/runtime/preload.mjs')).href;
const TSX = pathToFileURL(require.resolve('tsx')).href;

/** The alternative to tsx that was measured: esbuild (which tsx brings) transforming .ts files, nothing else. */
const ESBUILD_HOOKS = `import { transform } from ${JSON.stringify(pathToFileURL(require.resolve('esbuild')).href)};
import { readFile } from 'node:fs/promises';
export async function load(url, context, next) {
  if (!/\\.m?ts$/.test(url)) return next(url, context);
  const source = await readFile(new URL(url), 'utf8');
  const { code } = await transform(source, { loader: 'ts', format: 'esm', sourcemap: 'inline', sourcefile: url });
  return { format: 'module', source: code, shortCircuit: true };
}
`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Resolves once something accepts a TCP connection on the port. */
async function listening(port: number, deadline: number): Promise<void> {
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
}

async function timeStart(args: string[], cwd: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, PORT: String(port), NODE_PATH: PACKAGES_DIR, WSW_PACKAGES_FROM: pathToFileURL(path.join(ROOT, 'package.json')).href },
    stdio: 'ignore',
  });
  try {
    await listening(port, Date.now() + 10_000);
    return performance.now() - started;
  } finally {
    child.kill('SIGKILL');
  }
}

/** Lines for the bench: each way of starting lesson 02's solution, median ms, and against the floor. */
export async function learnerStartFigures(): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-bench-start-'));
  try {
    const ts = path.join(dir, 'echo.ts');
    fs.copyFileSync(path.join(ROOT, 'solutions/02-echo-server.ts'), ts);
    // The same program in JavaScript, for the floor: the types stripped by the transform measured below.
    const esbuild = (await import('esbuild')) as typeof import('esbuild');
    const js = path.join(dir, 'echo.mjs');
    fs.writeFileSync(js, (await esbuild.transform(fs.readFileSync(ts, 'utf8'), { loader: 'ts', format: 'esm' })).code);
    fs.writeFileSync(path.join(dir, 'esbuild-hooks.mjs'), ESBUILD_HOOKS);
    fs.writeFileSync(path.join(dir, 'esbuild-register.mjs'), "import { register } from 'node:module';\nregister('./esbuild-hooks.mjs', import.meta.url);\n");
    const ways: Array<[string, string[]]> = [
      ['tsx (as verify starts it)', ['--import', TSX, '--import', PRELOAD, ts]],
      ['an esbuild transform hook instead of tsx', ['--import', './esbuild-register.mjs', '--import', PRELOAD, ts]],
      ['the same program in JavaScript, no loader', ['--import', PRELOAD, js]],
    ];
    const times = new Map<string, number[]>(ways.map(([name]) => [name, []]));
    // Interleaved, so that a busy moment of the machine falls on every way alike.
    for (let i = 0; i < RUNS; i++) for (const [name, args] of ways) times.get(name)!.push(await timeStart(args, dir));
    const floor = median(times.get(ways[2]![0])!);
    return ways.map(([name]) => {
      const m = median(times.get(name)!);
      return `starting the learner's file, ${name}: ${Math.round(m)} ms median to listening (${(m / floor).toFixed(2)}x plain JavaScript)`;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const line of await learnerStartFigures()) console.log(`- ${line}`);
}
