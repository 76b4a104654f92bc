import path from 'node:path';
import { terminal } from '../../verify/harness/report.ts';

/** Colours for this terminal (none under NO_COLOR or in a pipe). */
export const colour = terminal;

/** Prints lines to stdout. */
export function say(...lines: string[]): void {
  for (const line of lines) process.stdout.write(`${line}\n`);
}

/** A path as the learner would type it from here. */
export function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') ? `./${relative}` : file;
}
