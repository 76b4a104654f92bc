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

/** The learner's own file for a lesson: `./websocket-workshop/NN-slug.ts` under `cwd`. */
export function workspaceFile(slug: string, cwd = process.cwd()): string {
  return path.join(cwd, WORKSPACE_DIR, `${slug}.ts`);
}
