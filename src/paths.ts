import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The workshop's own folder (where package.json lives), wherever it is installed. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Name of the folder, under the learner's current directory, that holds their lesson files. */
export const WORKSPACE_DIR = 'websocket-workshop';

/** Every file a lesson has, derived from its slug alone. */
export interface LessonPaths {
  dir: string;
  problem: string;
  starter: string;
  solution: string;
  verifier: string;
  fixtures: string;
}

/** Paths of a lesson's files inside the workshop. */
export function lessonPaths(slug: string): LessonPaths {
  const dir = path.join(ROOT, 'lessons', slug);
  return {
    dir,
    problem: path.join(dir, 'problem.md'),
    starter: path.join(dir, 'starter.ts'),
    solution: path.join(ROOT, 'solutions', `${slug}.ts`),
    verifier: path.join(ROOT, 'verify', `${slug}.ts`),
    fixtures: path.join(ROOT, 'verify', 'fixtures', slug),
  };
}

/** The folder for lesson files when `select` runs inside the workshop's own folder. */
export const INNER_WORKSPACE_DIR = 'workspace';

function isInside(dir: string, cwd: string): boolean {
  const relative = path.relative(dir, cwd);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * Where `select` puts lesson files for a learner in `cwd`: `./websocket-workshop/` under it; the
 * folder itself when the learner is already in (or under) such a folder; and `workspace/` inside the
 * workshop's own folder (itself usually named websocket-workshop) when they are in there, so that no
 * `websocket-workshop/websocket-workshop/` appears.
 */
export function workspaceDir(cwd = process.cwd()): string {
  if (isInside(ROOT, cwd)) return path.join(ROOT, INNER_WORKSPACE_DIR);
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (path.basename(dir) === WORKSPACE_DIR) return dir;
    if (path.dirname(dir) === dir) break;
  }
  return path.join(cwd, WORKSPACE_DIR);
}

/** The learner's file for a lesson as `select` would place it from `cwd`: `NN-slug.ts` in workspaceDir(). */
export function workspaceFile(slug: string, cwd = process.cwd()): string {
  return path.join(workspaceDir(cwd), `${slug}.ts`);
}
