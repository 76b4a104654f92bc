import { parseArgs } from 'node:util';

/** `verify` and `run` take the same shape: an optional file, and an optional `--lesson <slug>`. */
export interface FileCommandArgs {
  file?: string;
  lesson?: string;
  /** verify only: print one JSON document instead of the transcript. */
  json?: boolean;
  /** verify only: re-verify every completed lesson. */
  all?: boolean;
}

/** Thrown for arguments the CLI cannot use; the message says what is wrong and what is expected. */
export class UsageError extends Error {
  override name = 'UsageError';

  /**
   * @param code stable code for tools (`verify --json` prints it): NO_LESSON_SELECTED, NO_SUCH_FILE,
   *   BAD_ARGUMENTS, …
   */
  constructor(
    message: string,
    readonly code = 'BAD_ARGUMENTS',
  ) {
    super(message);
  }
}

/** The one answer every command gives when it needs a lesson and none is selected (exit 2). */
export function noLessonSelected(): UsageError {
  return new UsageError('No lesson is selected yet. Pick one with `wsw select <lesson>` (see `wsw list`), or from the menu: `wsw`.', 'NO_LESSON_SELECTED');
}

const USAGE: Record<string, string> = {
  verify: 'wsw verify [file] [--lesson <slug>] [--json] | wsw verify --all [--json]',
  run: 'wsw run [file] [--lesson <slug>]',
};

/** Parses `[file] [--lesson <slug>]` (and verify's `--json`, `--all`), rejecting anything else clearly. */
export function parseFileCommand(command: 'verify' | 'run', argv: string[]): FileCommandArgs {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        lesson: { type: 'string', short: 'l' },
        ...(command === 'verify' ? { json: { type: 'boolean' }, all: { type: 'boolean' } } : {}),
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 1) {
      throw new UsageError(`${command} takes one file, got ${positionals.length}: ${positionals.join(' ')}`);
    }
    const args: FileCommandArgs = {
      file: positionals[0],
      lesson: values.lesson as string | undefined,
      json: Boolean(values.json),
      all: Boolean(values.all),
    };
    if (args.all && (args.file || args.lesson)) throw new UsageError('--all verifies every completed lesson: give no file and no --lesson with it.');
    return args;
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${error.message}\nUsage: ${USAGE[command]}`, error.code);
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE[command]}`);
  }
}
