import { parseArgs, type ParseArgsConfig } from 'node:util';
import { findLesson, type Lesson } from '../lessons.ts';
import { Progress } from '../progress.ts';
import { noLessonSelected, UsageError } from './args.ts';

/**
 * Parses the flags of a command about one lesson (`hint`, `solution`, `reset`, `watch`): `--lesson
 * <slug>` or the current lesson, plus the command's own boolean flags. Unknown flags are an error.
 */
export function parseLessonCommand<F extends string>(
  command: string,
  argv: string[],
  flags: readonly F[],
  progress = new Progress(),
): { lesson: Lesson; flags: Record<F, boolean>; positionals: string[] } {
  const options: ParseArgsConfig['options'] = { lesson: { type: 'string', short: 'l' } };
  for (const flag of flags) options[flag] = { type: 'boolean' };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const usage = `wsw ${command} [--lesson <slug>]${flags.map((f) => ` [--${f}]`).join('')}`;
    throw new UsageError(`${(error as Error).message}\nUsage: ${usage}`);
  }
  const slug = (parsed.values.lesson as string | undefined) ?? progress.current();
  if (!slug) throw noLessonSelected();
  const values = Object.fromEntries(flags.map((f) => [f, Boolean(parsed.values[f])])) as Record<F, boolean>;
  return { lesson: findLesson(slug), flags: values, positionals: parsed.positionals };
}
