import pc from 'picocolors';
import path from 'node:path';
import type { Verdict } from './run-verifier.ts';
import { plainRuleText } from './rules.ts';
import { prefixOf, type TranscriptEntry } from './transcript.ts';

/** Colours for the terminal; all identity when colour is off (NO_COLOR, pipes). */
export type Palette = Pick<typeof pc, 'red' | 'green' | 'yellow' | 'cyan' | 'magenta' | 'dim' | 'bold' | 'blue'>;

/** A palette that colours nothing: for files, tests and NO_COLOR. */
export const plain: Palette = pc.createColors(false);

/** A palette that follows the terminal: colour on a TTY, none under NO_COLOR or in a pipe. */
export const terminal: Palette = pc.createColors(pc.isColorSupported);

/** One transcript line, coloured by who speaks. */
export function formatEntry(entry: TranscriptEntry, p: Palette = plain): string {
  const prefix = prefixOf(entry.source);
  const colour = entry.source.kind === 'verify' ? p.cyan : entry.source.kind === 'program' ? p.yellow : p.magenta;
  const text = entry.tone === 'error' ? p.red(entry.text) : entry.tone === 'detail' ? p.dim(entry.text) : entry.text;
  return `${colour(prefix)} ${text}`;
}

/** The closing block of a verification: the verdict, and on failure what to do about it. */
export function formatVerdict(verdict: Verdict, p: Palette = plain, cwd = process.cwd()): string[] {
  const steps = `${verdict.steps.filter((s) => s.passed).length}/${verdict.steps.length} steps`;
  if (verdict.passed) {
    return ['', p.green(p.bold(`✓ PASS  ${verdict.lesson}`)) + p.dim(`  (${steps}, ${verdict.durationMs} ms)`)];
  }
  const f = verdict.failure!;
  const file = path.relative(cwd, verdict.file) || verdict.file;
  const lines = [
    '',
    p.red(p.bold(`✗ FAIL  ${f.code}`)) + (f.step ? p.dim(`  (in step "${f.step}")`) : ''),
    `  ${f.message}`,
    ...f.details.map((d) => p.dim(`  ${d}`)),
  ];
  if (f.rule) lines.push(`  ${p.dim(`Rule ${f.rule.id}:`)} ${plainRuleText(f.rule.text)}`);
  if (f.hint) lines.push(`  ${p.yellow('Hint:')} ${f.hint}`);
  if (f.coveredByHint) lines.push(`  ${p.dim('More help:')} wsw hint ${f.coveredByHint} is about this mistake`);
  lines.push(`  ${p.dim('Try it by hand:')} wsw run ${quote(file)} --lesson ${verdict.lesson}`);
  return lines;
}

function quote(file: string): string {
  return /^[\w./-]+$/.test(file) ? file : JSON.stringify(file);
}
