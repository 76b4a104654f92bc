import fs from 'node:fs';
import { verifyFile } from '../../verify/harness/run-verifier.ts';
import { formatEntry, formatVerdict } from '../../verify/harness/report.ts';
import { Transcript } from '../../verify/harness/transcript.ts';
import { lessonNumber, nextLesson, shortSlug } from '../lessons.ts';
import { lessonPaths } from '../paths.ts';
import { Progress } from '../progress.ts';
import { parseFileCommand } from './args.ts';
import { colour, say, shown } from './output.ts';
import { resolveTarget } from './target.ts';

/** Exit code when the verification could not take place (a tool the lesson needs is missing). */
const CANNOT_JUDGE = 2;

/**
 * `verify [file] [--lesson <slug>]`: judges the file against the lesson, live, frame by frame.
 * Exit 0 on a pass (the lesson is marked done and the reference solution shown), 1 on a fail.
 */
export async function verifyCommand(argv: string[]): Promise<number> {
  const progress = new Progress();
  const { lesson, file } = resolveTarget(parseFileCommand('verify', argv), progress);
  say(colour.bold(`Verifying ${shown(file)} against lesson ${lessonNumber(lesson)} · ${lesson.title}`), '');
  const transcript = new Transcript();
  transcript.onEntry((entry) => say(formatEntry(entry, colour)));
  const verdict = await verifyFile({ lesson, file, transcript });
  say(...formatVerdict(verdict, colour));
  if (verdict.failure?.cannotJudge) return CANNOT_JUDGE;
  if (!verdict.passed) {
    say('', `Change your file and run ${colour.bold('wsw verify')} again. Stuck? ${colour.bold('wsw print')} shows the task again.`);
    return 1;
  }
  progress.markCompleted(lesson.slug);
  say(
    '',
    colour.green(`Lesson ${lessonNumber(lesson)} is done. Here is the reference solution, to compare notes:`),
    '',
    colour.dim(`// solutions/${lesson.slug}.ts`),
    fs.readFileSync(lessonPaths(lesson.slug).solution, 'utf8').trimEnd(),
    '',
  );
  const next = nextLesson(lesson);
  say(
    next
      ? `Next: ${colour.bold(`wsw select ${shortSlug(next)}`)} (${next.title}), or ${colour.bold('wsw')} for the menu.`
      : colour.green('That was the last lesson. Well done!'),
  );
  return 0;
}
