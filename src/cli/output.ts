import path from 'node:path';
import pc from 'picocolors';
import { terminal } from '../../verify/harness/report.ts';
import { asTyped } from './command-name.ts';
import { stripStyles, visibleWidth, wrap } from './markdown/wrap.ts';

/** Colours for this terminal (none under NO_COLOR or in a pipe). */
export const colour = terminal;

/** Whether this terminal gets colour at all (false under NO_COLOR and in a pipe). */
export const colourOn = pc.isColorSupported;

/**
 * Prints lines to stdout, with every `wsw …` command in the form that works where the learner is,
 * and, in a terminal, each line fitted to its width.
 */
export function say(...lines: string[]): void {
  for (const line of fitted(lines.flatMap((l) => asTyped(l).split('\n')))) process.stdout.write(`${line}\n`);
}

/** Prints lines exactly as given: JSON for tools, and text that names the command itself. */
export function sayExactly(...lines: string[]): void {
  for (const line of lines) process.stdout.write(`${line}\n`);
}

/** A path as the learner would type it from here. */
export function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') ? `./${relative}` : file;
}

// eslint-disable-next-line no-control-regex -- ANSI codes start with ESC
const ANSI_AT_START = /^\x1b\[[0-9;]*m/;

/**
 * Lines fitted to the terminal's width, when there is a terminal: a line too long continues on the
 * next, under the text after its `[label]`, or two columns further in than it began. In a pipe,
 * lines are left whole for tools and files.
 */
export function fitted(lines: string[], width = process.stdout.isTTY ? process.stdout.columns : 0): string[] {
  if (!width) return lines;
  return lines.flatMap((line) => {
    if (visibleWidth(line) <= width) return [line];
    const bare = stripStyles(line);
    const lead = /^( *)(\[[^\]]{1,30}\] )?/.exec(bare)!;
    const first = lead[0].length;
    const indent = ' '.repeat(lead[2] ? first : first + 2);
    // Split after the lead in the styled line: skip as many visible characters as the lead has.
    let cut = 0;
    for (let seen = 0; seen < first && cut < line.length; ) {
      const code = ANSI_AT_START.exec(line.slice(cut));
      if (code) {
        cut += code[0].length;
      } else {
        cut++;
        seen++;
      }
    }
    const room = Math.max(20, width - indent.length);
    const pieces = wrap(line.slice(cut), room);
    return pieces.map((piece, i) => (i === 0 ? line.slice(0, cut) + piece : indent + piece));
  });
}
