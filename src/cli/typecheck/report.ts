import type { Palette } from '../../../verify/harness/report.ts';
import { shown } from '../output.ts';
import type { TypeCheckOutcome } from './type-checker.ts';

/** More than this many errors are counted, not listed: the first ones are where to start. */
const MAX_LISTED = 10;

/**
 * What the type check adds under the verdict: the learner's type errors as `file:line:col  message`,
 * and after a pass, one line saying it passed all the same. Nothing when there are no type errors or
 * nothing to check; one dim line when the check was skipped.
 */
export function typeCheckLines(outcome: TypeCheckOutcome, passed: boolean, p: Palette): string[] {
  if (outcome.kind === 'skipped') return ['', p.dim(`Type check skipped: ${outcome.reason}.`)];
  if (outcome.kind !== 'checked' || outcome.errors.length === 0) return [];
  const { errors } = outcome;
  const count = `${errors.length} type ${errors.length === 1 ? 'error' : 'errors'}`;
  const lines = ['', p.yellow(p.bold(`TypeScript found ${count} in your file:`))];
  for (const error of errors.slice(0, MAX_LISTED)) {
    const [first, ...more] = error.message.split('\n');
    lines.push(`  ${shown(error.file)}:${error.line}:${error.column}  ${first}`, ...more.map((line) => p.dim(`    ${line}`)));
  }
  if (errors.length > MAX_LISTED) lines.push(p.dim(`  … and ${errors.length - MAX_LISTED} more: your editor shows them all.`));
  if (passed) {
    lines.push(
      '',
      `Your server passed, but TypeScript found ${count}: tsx runs code without checking its types. Fix ${errors.length === 1 ? 'it' : 'them'} before ${errors.length === 1 ? 'it becomes a bug' : 'they become bugs'}.`,
    );
  }
  return lines;
}
