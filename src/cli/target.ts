import fs from 'node:fs';
import path from 'node:path';
import { findLesson, shortSlug, type Lesson } from '../lessons.ts';
import { workspaceFile } from '../paths.ts';
import { Progress } from '../progress.ts';
import { UsageError, type FileCommandArgs } from './args.ts';

/** The lesson and file a `verify` or `run` is about. */
export interface Target {
  lesson: Lesson;
  file: string;
}

/**
 * Works out which lesson and which file: `--lesson` or the current lesson; the file given or the
 * learner's workspace file. Throws UsageError (exit 2) when either is missing, saying how to fix it.
 */
export function resolveTarget(args: FileCommandArgs, progress = new Progress()): Target {
  const slug = args.lesson ?? progress.current();
  if (!slug) {
    throw new UsageError('No lesson is selected. Pick one with `wsw select <lesson>` (see `wsw list`), or pass --lesson <slug>.');
  }
  const lesson = findLesson(slug);
  const file = path.resolve(args.file ?? workspaceFile(lesson.slug));
  if (!fs.existsSync(file)) {
    throw new UsageError(
      args.file
        ? `There is no file at ${file}.`
        : `There is no file at ${file} yet. Run \`wsw select ${shortSlug(lesson)}\` to get the starter there, or pass the path of your file.`,
    );
  }
  if (!fs.statSync(file).isFile()) throw new UsageError(`${file} is a folder; give the path of your server's file.`);
  return { lesson, file };
}
