import fs from 'node:fs';
import { verifyFile, type Verdict } from '../../verify/harness/run-verifier.ts';
import { formatEntry, formatVerdict } from '../../verify/harness/report.ts';
import { Transcript } from '../../verify/harness/transcript.ts';
import { reportVerdict, reportVerdicts } from '../classroom/reporter.ts';
import { exitCodeOf, verdictDocument } from '../../verify/harness/verdict-json.ts';
import { findLesson, lessonNumber, lessons, type Lesson } from '../lessons.ts';
import { lessonPaths } from '../paths.ts';
import { learnerFile } from '../workspace.ts';
import { Progress } from '../progress.ts';
import { parseFileCommand, UsageError } from './args.ts';
import { missingFileDocument } from './cannot-judge-json.ts';
import { afterPassLines } from './lesson-commands.ts';
import { colour, say, sayExactly, shown } from './output.ts';
import { resolveTarget } from './target.ts';
import { typeCheckLines } from './typecheck/report.ts';
import { TypeChecker, type PendingTypeCheck, type TypeCheckOutcome, type TypeDiagnostic } from './typecheck/type-checker.ts';

/**
 * `verify [file] [--lesson <slug>] [--json]`: judges the file against the lesson, live, frame by frame.
 * Exit 0 on a pass (the lesson is marked done and the reference solution shown), 1 on a fail, 2 when it
 * could not judge. `--all` re-verifies every completed lesson; `--json` prints a document for tools.
 * A TypeScript file is type-checked meanwhile; its type errors follow the verdict and never change it.
 */
export async function verifyCommand(argv: string[]): Promise<number> {
  const args = parseFileCommand('verify', argv);
  const progress = new Progress();
  if (args.all) return verifyAll(progress, Boolean(args.json));
  const { lesson, file } = resolveTarget(args, progress);
  // Type-checked alongside the run, in a process of its own: the verdict never waits for it.
  const checker = new TypeChecker();
  try {
    return await verifyOne(lesson, file, progress, Boolean(args.json), checker.start(file));
  } finally {
    checker.close();
  }
}

/** One file against one lesson; the type errors, if any, come after the verdict. */
async function verifyOne(lesson: Lesson, file: string, progress: Progress, json: boolean, typeCheck: PendingTypeCheck): Promise<number> {
  if (json) {
    const verdict = await verifyFile({ lesson, file });
    if (verdict.passed) progress.markCompleted(lesson.slug);
    sayExactly(JSON.stringify({ ...verdictDocument(verdict), ...typeErrorsField(await typeCheck.outcome()) }, null, 2));
    // In a class, the teacher's dashboard hears of it; never throws, and takes a second at most.
    await reportVerdict(verdict);
    return exitCodeOf(verdict);
  }

  say(colour.bold(`Verifying ${shown(file)} against lesson ${lessonNumber(lesson)} · ${lesson.title}`), '');
  const transcript = new Transcript();
  transcript.onEntry((entry) => say(formatEntry(entry, colour)));
  const verdict = await verifyFile({ lesson, file, transcript });
  say(...formatVerdict(verdict, colour));
  if (verdict.passed) {
    progress.markCompleted(lesson.slug);
    showSolutionAndNext(lesson);
  } else if (!verdict.failure?.cannotJudge) {
    say('', `Change your file and run ${colour.bold('wsw verify')} again. Stuck? ${colour.bold('wsw print')} shows the task again.`);
  }
  const reported = reportVerdict(verdict);
  say(...typeCheckLines(await typeCheck.outcome(), verdict.passed, colour));
  await reported;
  return exitCodeOf(verdict);
}

/** `typeErrors` for the JSON document (an optional field of the schema), when the check ran to its end. */
function typeErrorsField(outcome: TypeCheckOutcome): { typeErrors?: TypeDiagnostic[] } {
  return outcome.kind === 'checked' ? { typeErrors: outcome.errors } : {};
}

function showSolutionAndNext(lesson: Lesson): void {
  say(
    '',
    colour.green(`Lesson ${lessonNumber(lesson)} is done. Here is the reference solution, to compare notes:`),
    '',
    colour.dim(`// solutions/${lesson.slug}.ts`),
  );
  sayExactly(fs.readFileSync(lessonPaths(lesson.slug).solution, 'utf8').trimEnd(), '');
  say(...afterPassLines(lesson));
}

/**
 * `verify --all`: re-verifies the workspace file of every lesson marked done, one after another, and
 * prints a table. Exit 1 if any has regressed (or its file is gone), 2 if one could not be judged.
 */
async function verifyAll(progress: Progress, json: boolean): Promise<number> {
  const done = lessons.filter((l) => progress.completed().includes(l.slug));
  if (done.length === 0) throw new UsageError('No lesson is marked done yet: verify --all re-checks the lessons you have passed.');
  const rows: Array<{ lesson: Lesson; verdict?: Verdict; missing?: string }> = [];
  for (const lesson of done.map((l) => findLesson(l.slug))) {
    const file = learnerFile(lesson.slug, progress);
    if (!fs.existsSync(file)) {
      rows.push({ lesson, missing: file });
      if (!json) say(`${colour.red('✗')} ${lesson.slug.padEnd(24)} ${colour.red('no file')} at ${shown(file)}`);
      continue;
    }
    const verdict = await verifyFile({ lesson, file });
    rows.push({ lesson, verdict });
    if (!json) {
      const mark = verdict.passed ? colour.green('✓') : colour.red('✗');
      const result = verdict.passed ? colour.green('pass') : colour.red(verdict.failure!.code);
      say(`${mark} ${lesson.slug.padEnd(24)} ${result} ${colour.dim(`(${verdict.durationMs} ms)`)}`);
    }
  }
  if (json) {
    sayExactly(JSON.stringify(rows.map((r) => (r.verdict ? verdictDocument(r.verdict) : missingFileDocument(r.lesson, r.missing!))), null, 2));
  }
  await reportVerdicts(rows.flatMap((r) => (r.verdict ? [r.verdict] : [])));
  const codes = rows.map((r) => (r.verdict ? exitCodeOf(r.verdict) : 1));
  const failed = codes.filter((c) => c !== 0).length;
  if (!json) say('', failed ? colour.red(`${failed} of ${rows.length} no longer pass.`) : colour.green(`All ${rows.length} still pass.`));
  return codes.includes(1) ? 1 : codes.includes(2) ? 2 : 0;
}
