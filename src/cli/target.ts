import fs from 'node:fs';
import path from 'node:path';
import { findLesson, shortSlug, type Lesson } from '../lessons.ts';
import { learnerFile } from '../workspace.ts';
import { Progress } from '../progress.ts';
import { noLessonSelected, UsageError, type FileCommandArgs } from './args.ts';

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
  if (!slug) throw noLessonSelected();
  const lesson = findLesson(slug);
  const file = path.resolve(args.file ?? learnerFile(lesson.slug, progress));
  if (!fs.existsSync(file)) {
    throw new UsageError(
      args.file
        ? `There is no file at ${file}.`
        : `There is no file at ${file} yet. Run \`wsw select ${shortSlug(lesson)}\` to get the starter there, or pass the path of your file.`,
      'NO_SUCH_FILE',
    );
  }
  if (!fs.statSync(file).isFile()) throw new UsageError(`${file} is a folder; give the path of your server's file.`, 'NO_SUCH_FILE');
  return { lesson, file };
}

/**
 * Refuses a lesson whose learner writes a client, for a command that starts the learner's file as a
 * server and talks to it (`playground`): it would wait for a listen that never comes.
 */
export function requireServerLesson(lesson: Lesson, command: string): void {
  if (lesson.writes !== 'client') return;
  throw new UsageError(
    `${lesson.slug} has you write a client, not a server: \`${command}\` has nothing to talk to. ` +
      "Try it with `wsw run`, which starts the workshop's own server for it, and judge it with verify.",
    'CLIENT_LESSON',
  );
}
