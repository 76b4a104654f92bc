import path from 'node:path';
import { findLesson, type Lesson, UnknownLessonError } from '../lessons.ts';
import { VERDICT_SCHEMA_VERSION, type VerdictDocument } from '../../verify/harness/verdict-json.ts';
import type { UsageError } from './args.ts';

/** A verdict document whose lesson or file may be unknown (null): nothing could be judged. */
export type CannotJudgeDocument = Omit<VerdictDocument, 'lesson' | 'file'> & { lesson: string | null; file: string | null };

/**
 * The one JSON document `verify --json` prints when it cannot judge at all (no lesson selected, an
 * unknown lesson, no such file, bad arguments): exit code 2, `passed: false`, and the reason as the
 * failure with its stable code, so a tool never has to parse prose.
 */
export function cannotJudgeDocument(error: UsageError | UnknownLessonError, argv: string[]): CannotJudgeDocument {
  const lessonFlag = argv.indexOf('--lesson') >= 0 ? argv[argv.indexOf('--lesson') + 1] : undefined;
  let lesson: string | null = null;
  try {
    if (lessonFlag) lesson = findLesson(lessonFlag).slug;
  } catch {
    lesson = null;
  }
  const file = argv.find((a, i) => !a.startsWith('-') && argv[i - 1] !== '--lesson');
  return { ...emptyDocument(error.code, error.message, true), lesson, file: file ? path.resolve(file) : null, exitCode: 2 };
}

/**
 * `verify --all --json`'s entry for a lesson passed once whose file is gone: it no longer passes
 * (exit code 1), and the failure says where the file was.
 */
export function missingFileDocument(lesson: Lesson, file: string): CannotJudgeDocument {
  return { ...emptyDocument('NO_SUCH_FILE', `There is no file at ${file} any more.`, false), lesson: lesson.slug, file, exitCode: 1 };
}

function emptyDocument(code: string, message: string, cannotJudge: boolean): CannotJudgeDocument {
  return {
    schemaVersion: VERDICT_SCHEMA_VERSION,
    lesson: null,
    file: null,
    passed: false,
    exitCode: 2,
    failure: {
      code,
      message,
      expected: null,
      actual: null,
      hint: null,
      step: null,
      details: [],
      cannotJudge,
      coveredByHint: null,
      rule: null,
    },
    failedStep: null,
    steps: [],
    durationMs: 0,
    transcript: [],
    output: [],
  };
}
