import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { lessonPaths, workspaceFile, WORKSPACE_DIR } from './paths.ts';
import type { Lesson } from './lessons.ts';

const require = createRequire(import.meta.url);

/** The node_modules folder that holds ws, socket.io, ioredis and their types, wherever npm put them. */
export const PACKAGES_DIR = path.dirname(path.dirname(require.resolve('ws')));

/** What preparing a lesson's file did. */
export interface WorkspaceResult {
  file: string;
  /** True when the starter was copied now; false when the learner's file was already there. */
  created: boolean;
}

/**
 * Makes sure the learner has a file for the lesson in `./websocket-workshop/`: copies the starter
 * only if no file is there (a learner's work is never overwritten), and sets the folder up so the
 * file runs as an ES module and an editor finds the types of ws and Node.
 */
export function prepareLessonFile(lesson: Lesson, cwd = process.cwd()): WorkspaceResult {
  const file = workspaceFile(lesson.slug, cwd);
  prepareWorkspace(path.dirname(file));
  if (fs.existsSync(file)) return { file, created: false };
  fs.copyFileSync(lessonPaths(lesson.slug).starter, file, fs.constants.COPYFILE_EXCL);
  return { file, created: true };
}

function prepareWorkspace(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  writeOnce(path.join(dir, 'package.json'), {
    name: WORKSPACE_DIR,
    private: true,
    // Lesson files use import/export and top-level await.
    type: 'module',
  });
  writeOnce(path.join(dir, 'tsconfig.json'), {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    },
  });
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

function writeOnce(file: string, content: unknown): void {
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`);
}
