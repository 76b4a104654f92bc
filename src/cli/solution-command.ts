import fs from 'node:fs';
import { createTwoFilesPatch } from 'diff';
import { lessonNumber } from '../lessons.ts';
import { lessonPaths } from '../paths.ts';
import { learnerFile } from '../workspace.ts';
import { Progress } from '../progress.ts';
import { UsageError } from './args.ts';
import { parseLessonCommand } from './lesson-args.ts';
import { colour, say, shown } from './output.ts';

/**
 * `solution [--lesson <slug>] [--force] [--diff]`: the reference solution, once the lesson is passed.
 * Before that only with --force, after a line that says looking early is a choice. `--diff` shows what
 * separates the learner's file from it.
 */
export function solutionCommand(argv: string[]): number {
  const progress = new Progress();
  const { lesson, flags } = parseLessonCommand('solution', argv, ['force', 'diff'], progress);
  const heading = `${String(lessonNumber(lesson)).padStart(2, '0')} · ${lesson.title}`;
  if (!progress.completed().includes(lesson.slug)) {
    if (!flags.force) {
      say(
        `You have not passed ${heading} yet, so its solution stays hidden: working it out is where the learning is.`,
        `Try ${colour.bold('wsw hint')} first. To look anyway, run ${colour.bold('wsw solution --force')}.`,
      );
      return 1;
    }
    say(colour.yellow('You chose to look before passing. That is allowed: read it, close it, then write your own from memory.'), '');
  }
  const solutionFile = lessonPaths(lesson.slug).solution;
  const solution = fs.readFileSync(solutionFile, 'utf8');
  if (!flags.diff) {
    say(colour.dim(`// solutions/${lesson.slug}.ts`), solution.trimEnd());
    return 0;
  }
  const mine = learnerFile(lesson.slug);
  if (!fs.existsSync(mine)) throw new UsageError(`There is no file at ${mine} to compare. Run \`wsw select ${lesson.slug}\` first.`);
  const patch = createTwoFilesPatch(shown(mine), `solutions/${lesson.slug}.ts`, fs.readFileSync(mine, 'utf8'), solution, 'yours', 'reference');
  for (const line of patch.split('\n').slice(1)) {
    say(
      line.startsWith('+') && !line.startsWith('+++')
        ? colour.green(line)
        : line.startsWith('-') && !line.startsWith('---')
          ? colour.red(line)
          : line.startsWith('@@')
            ? colour.cyan(line)
            : line,
    );
  }
  return 0;
}
