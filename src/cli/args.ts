import { parseArgs } from 'node:util';

/** `verify` and `run` take the same shape: an optional file, and an optional `--lesson <slug>`. */
export interface FileCommandArgs {
  file?: string;
  lesson?: string;
}

/** Thrown for arguments the CLI cannot use; the message says what is wrong and what is expected. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Parses `[file] [--lesson <slug>]`, rejecting anything else with a clear message. */
export function parseFileCommand(command: string, argv: string[]): FileCommandArgs {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { lesson: { type: 'string', short: 'l' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 1) {
      throw new UsageError(`${command} takes one file, got ${positionals.length}: ${positionals.join(' ')}`);
    }
    return { file: positionals[0], lesson: values.lesson };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${(error as Error).message}\nUsage: wsw ${command} [file] [--lesson <slug>]`);
  }
}
