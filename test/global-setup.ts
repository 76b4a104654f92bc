// Before the suite: the compiled CLI in dist/ is brought up to date, as npm install's `prepare` does,
// so that the commands the tests spawn start as a learner's do. (One test starts them from source.)
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../src/paths.ts';

export default function setup(): void {
  const build = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`scripts/build.mjs failed:\n${build.stdout}${build.stderr}`);
}
