import { hintTexts, lessonNumber } from '../lessons.ts';
import { Progress } from '../progress.ts';
import { UsageError } from './args.ts';
import { parseLessonCommand } from './lesson-args.ts';
import { colour, say } from './output.ts';

/**
 * `hint [N] [--all] [--lesson <slug>]`: the next hint of the lesson each time it is called, mildest
 * first; `hint N` shows hint N (a verdict names the one about its mistake); `--all` shows every hint.
 */
export function hintCommand(argv: string[]): number {
  const progress = new Progress();
  const { lesson, flags, positionals } = parseLessonCommand('hint', argv, ['all'], progress);
  const hints = hintTexts(lesson);
  const heading = `${String(lessonNumber(lesson)).padStart(2, '0')} · ${lesson.title}`;
  if (flags.all) {
    say(colour.bold(`All ${hints.length} hints for ${heading}:`), '');
    hints.forEach((hint, i) => say(`${colour.yellow(`${i + 1}.`)} ${hint}`, ''));
    progress.setHintsSeen(lesson.slug, hints.length);
    return 0;
  }
  let number: number;
  if (positionals[0] !== undefined) {
    number = Number(positionals[0]);
    if (!Number.isInteger(number) || number < 1 || number > hints.length) {
      throw new UsageError(`This lesson has hints 1 to ${hints.length}; there is no hint "${positionals[0]}".`);
    }
  } else {
    const seen = progress.hintsSeen(lesson.slug);
    if (seen >= hints.length) {
      say(`You have seen all ${hints.length} hints for ${heading}. ${colour.bold('wsw hint --all')} shows them again.`);
      say(`Still stuck? Run ${colour.bold('wsw run')} and try your server by hand, or look early with ${colour.bold('wsw solution --force')}.`);
      return 0;
    }
    number = seen + 1;
  }
  progress.setHintsSeen(lesson.slug, Math.max(progress.hintsSeen(lesson.slug), number));
  say(colour.bold(`Hint ${number} of ${hints.length} for ${heading}:`), '', hints[number - 1]!, '');
  if (number < hints.length) say(colour.dim(`(${colour.bold('wsw hint')} again for the next one, ${colour.bold('wsw hint --all')} for all)`));
  else say(colour.dim('That was the last hint.'));
  return 0;
}
