import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { lessonPaths, ROOT, workspaceFile, WORKSPACE_DIR } from './paths.ts';
import { Progress } from './progress.ts';
import type { Lesson } from './lessons.ts';

const require = createRequire(import.meta.url);

/** The node_modules folder that holds ws, socket.io, ioredis and their types, wherever npm put them. */
export const PACKAGES_DIR = path.dirname(path.dirname(require.resolve('ws')));

/**
 * The TypeScript options of every workspace's tsconfig.json, and of the type check `verify` runs, so
 * the editor and the check agree. `lib: ES2022`, without the browser's DOM: a Node program has none
 * of it (and the check is a third faster without its declarations). `allowImportingTsExtensions`:
 * `import './helper.ts'` runs, so it is no error.
 */
export const LEARNER_COMPILER_OPTIONS = {
  target: 'ES2022',
  module: 'NodeNext',
  moduleResolution: 'NodeNext',
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node'],
  lib: ['ES2022'],
  allowImportingTsExtensions: true,
};

/** What preparing a lesson's file did. */
export interface WorkspaceResult {
  file: string;
  /** True when the starter was copied now; false when the learner's file was already there. */
  created: boolean;
}

/**
 * The learner's file for a lesson: the absolute path `select` recorded, wherever the learner is now;
 * before any select, where select would put it from the current folder.
 */
export function learnerFile(slug: string, progress = new Progress(), cwd = process.cwd()): string {
  return progress.fileOf(slug) ?? workspaceFile(slug, cwd);
}

/**
 * Makes sure the learner has a file for the lesson: the one recorded earlier if it is still there,
 * otherwise `NN-slug.ts` in the workspace folder for `cwd` (see workspaceDir). Copies the starter only
 * if no file is there (a learner's work is never overwritten), records the file's absolute path so
 * every command finds it from any folder, and sets the folder up so the file runs as an ES module
 * and an editor finds the types of ws and Node.
 */
export function prepareLessonFile(lesson: Lesson, cwd = process.cwd(), progress = new Progress()): WorkspaceResult {
  const recorded = progress.fileOf(lesson.slug);
  if (recorded && fs.existsSync(recorded)) return { file: recorded, created: false };
  const file = workspaceFile(lesson.slug, cwd);
  prepareWorkspace(path.dirname(file));
  progress.setFile(lesson.slug, file);
  if (fs.existsSync(file)) return { file, created: false };
  fs.copyFileSync(lessonPaths(lesson.slug).starter, file, fs.constants.COPYFILE_EXCL);
  return { file, created: true };
}

function prepareWorkspace(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  // Inside the workshop's folder, its own package.json already makes files ES modules and its
  // node_modules is found by walking up; a package.json of our own there would also hide the
  // folder's `wsw` from npx.
  const inWorkshop = !path.relative(ROOT, dir).startsWith('..');
  if (inWorkshop) {
    writeTsconfig(dir);
    return;
  }
  writeOnce(path.join(dir, 'package.json'), {
    name: WORKSPACE_DIR,
    private: true,
    // Lesson files use import/export and top-level await.
    type: 'module',
  });
  writeTsconfig(dir);
  // A link to the workshop's packages: the editor resolves `ws` and its types through it.
  const link = path.join(dir, 'node_modules');
  if (!fs.existsSync(link)) {
    try {
      fs.symlinkSync(PACKAGES_DIR, link, 'junction');
    } catch {
      // Without the link, files still run (the verifier resolves packages itself); only editor types are lost.
    }
  }
}

function writeTsconfig(dir: string): void {
  writeOnce(path.join(dir, 'tsconfig.json'), {
    compilerOptions: LEARNER_COMPILER_OPTIONS,
  });
}

function writeOnce(file: string, content: unknown): void {
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`);
}
