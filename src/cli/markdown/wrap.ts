import { deps } from './deps.ts';

/**
 * Stands for a space inside inline code while a paragraph is wrapped, so that a piece of code stays on
 * one line when it fits. A private-use character: it never occurs in a lesson, and is one column wide.
 */
export const CODE_SPACE = '\uE000';

// eslint-disable-next-line no-control-regex -- ANSI codes start with ESC
const SGR = /\x1b\[[0-9;]*m/g;
// eslint-disable-next-line no-control-regex -- ANSI codes start with ESC
const SGR_OR_CHAR = /\x1b\[[0-9;]*m|[\s\S]/gu;

/** The text without its colour and style codes: what a terminal shows of it. */
export function stripStyles(text: string): string {
  return text.replace(SGR, '');
}

/** Columns a string takes in a terminal: ANSI codes take none, wide characters and emoji two. */
export function visibleWidth(text: string): number {
  const bare = stripStyles(text);
  // Most words are printable ASCII, one column a character. string-width is slow (it builds its
  // regular expressions anew on each call), so it measures each other character once.
  if (/^[\x20-\x7e\uE000]*$/.test(bare)) return bare.length;
  let width = 0;
  graphemes ??= new Intl.Segmenter('en', { granularity: 'grapheme' });
  for (const { segment } of graphemes.segment(bare)) {
    let w = graphemeWidths.get(segment);
    if (w === undefined) graphemeWidths.set(segment, (w = deps().stringWidth(segment)));
    width += w;
  }
  return width;
}

let graphemes: Intl.Segmenter | undefined;
const graphemeWidths = new Map<string, number>();

/** The widest line of a block of lines. */
export function blockWidth(lines: string[]): number {
  return Math.max(0, ...lines.map(visibleWidth));
}

/**
 * Wraps styled text to `width` columns, breaking at spaces only. A word wider than `width` (a long
 * URL) starts a line of its own and is broken across lines, since no line may be wider. A line break
 * in the text (a hard break) is kept. A style still open at the end of a line is closed there and
 * opened again on the next, so that an indent or a border put in front of the next line stays plain.
 */
export function wrap(text: string, width: number): string[] {
  const lines = text.split('\n').flatMap((line) => wrapLine(line, width));
  return carryStyles(lines).map((line) => line.replaceAll(CODE_SPACE, ' '));
}

function wrapLine(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  let lineWidth = 0;
  for (const word of words(text, width)) {
    const wordWidth = visibleWidth(word);
    if (wordWidth > width) {
      if (lineWidth > 0) lines.push(line);
      const pieces = breakWord(word, width);
      lines.push(...pieces.slice(0, -1));
      line = pieces.at(-1) ?? '';
      lineWidth = visibleWidth(line);
    } else if (lineWidth > 0 && lineWidth + 1 + wordWidth > width) {
      lines.push(line);
      line = word;
      lineWidth = wordWidth;
    } else {
      line = lineWidth > 0 ? `${line} ${word}` : line + word;
      lineWidth += (lineWidth > 0 ? 1 : 0) + wordWidth;
    }
  }
  if (line !== '' || lines.length === 0) lines.push(line);
  return lines;
}

const NUMBER = /^\d[\d.,]*$/;
const UNIT = /^(?:\d{3}|ms|s|KiB|MiB|GiB|kB|MB|GB|bytes?|%)(?=$|[.,;:!?)])/;

/**
 * The words of a line. ANSI codes next to a space go with the word after them (or the last one), so
 * none is lost. Inline code, or a number and its unit, too wide for a line is split at its spaces.
 */
function words(text: string, width: number): string[] {
  const out: string[] = [];
  let codes = '';
  for (const part of text.split(/[ \t]+/)) {
    if (visibleWidth(part) === 0) {
      codes += part;
      continue;
    }
    const word = codes + part;
    codes = '';
    const last = out.at(-1);
    // A number stays with its unit ("80 KiB", "25 s", "30 000") as inline code does with itself.
    if (last !== undefined && NUMBER.test(last.replace(SGR, '')) && UNIT.test(word.replace(SGR, ''))) {
      out[out.length - 1] = last + CODE_SPACE + word;
    } else {
      out.push(word);
    }
  }
  if (codes !== '') {
    if (out.length > 0) out[out.length - 1] += codes;
    else out.push(codes);
  }
  return out
    .flatMap((word) => (word.includes(CODE_SPACE) && visibleWidth(word) > width ? word.split(CODE_SPACE) : [word]))
    .filter((word) => word !== '');
}

/** Characters a long word (a URL, a line of JSON) reads best broken after. */
const BREAK_AFTER = new Set([',', ';', '/', '&', '?', '=', '.', ':', '-', '_', ')', ']', '}']);

/**
 * Cuts a word into pieces of at most `width` columns, keeping ANSI codes whole. Each cut goes after
 * a comma, a slash or the like when there is one in the second half of the piece.
 */
function breakWord(word: string, width: number): string[] {
  const pieces: string[] = [];
  let units: string[] = [];
  let used = 0;
  const widthOf = (unit: string): number => (unit.startsWith('\x1b') ? 0 : visibleWidth(unit));
  for (const unit of word.match(SGR_OR_CHAR) ?? []) {
    const unitWidth = widthOf(unit);
    if (used + unitWidth > width && used > 0) {
      const cut = cutPoint(units, width, widthOf);
      pieces.push(units.slice(0, cut).join(''));
      units = units.slice(cut);
      used = units.reduce((total, u) => total + widthOf(u), 0);
    }
    units.push(unit);
    used += unitWidth;
  }
  pieces.push(units.join(''));
  return pieces;
}

/** How many of a full piece's units to keep: up to its last break character past half the width. */
function cutPoint(units: string[], width: number, widthOf: (unit: string) => number): number {
  let used = units.reduce((total, u) => total + widthOf(u), 0);
  for (let i = units.length - 1; i > 0 && used > width / 2; i--) {
    if (BREAK_AFTER.has(units[i]!)) return i + 1;
    used -= widthOf(units[i]!);
  }
  return units.length;
}

/** SGR parameters that end another: bold and dim end at 22, italic at 23, a colour at 39, … */
const ENDS: Record<string, (open: string) => boolean> = {
  '22': (open) => open === '1' || open === '2',
  '23': (open) => open === '3',
  '24': (open) => open === '4',
  '27': (open) => open === '7',
  '28': (open) => open === '8',
  '29': (open) => open === '9',
  '39': (open) => /^(3[0-8]|9[0-7])/.test(open),
  '49': (open) => /^(4[0-8]|10[0-7])/.test(open),
};

/** Closes at the end of each line the styles still open there, and opens them again on the next. */
function carryStyles(lines: string[]): string[] {
  let open: string[] = [];
  return lines.map((line) => {
    const before = open.map((params) => `\x1b[${params}m`).join('');
    for (const code of line.match(SGR) ?? []) {
      const params = code.slice(2, -1);
      if (params === '' || params === '0') open = [];
      else if (ENDS[params]) open = open.filter((o) => !ENDS[params]!(o));
      else open.push(params);
    }
    return before + line + (open.length > 0 ? '\x1b[0m' : '');
  });
}

/**
 * Folds a line of code wider than `width`: code is never re-wrapped, but a line may not overflow the
 * terminal either, where it would wrap anyway, under the indent. A trailing comment goes on as more
 * comment lines; anything else is folded at a space when there is one in the second half of the
 * line, each continuation starting with `↪ ` to show it is one.
 */
export function foldCode(line: string, width: number): string[] {
  if (visibleWidth(line) <= width) return [line];
  return foldComment(line, width) ?? foldAnywhere(line, width);
}

/** Comment room below which a comment is not worth folding as one: `↪` does better. */
const MIN_COMMENT_ROOM = 16;

/**
 * Folds a line that ends in a comment (`# …` or `// …`) into more comment lines, aligned under the
 * first: the code still runs if pasted, and reads as the author's own continued comments do.
 */
function foldComment(line: string, width: number): string[] | undefined {
  const match = /(^|\s)(#|\/\/) /.exec(line);
  if (!match) return undefined;
  const code = line.slice(0, match.index + match[1]!.length);
  const column = visibleWidth(code);
  const marker = `${match[2]} `;
  const room = width - column - marker.length;
  if (room < MIN_COMMENT_ROOM) return undefined;
  const text = line.slice(code.length + marker.length).trim();
  return wrap(text, room).map((piece, i) => (i === 0 ? code : ' '.repeat(column)) + marker + piece);
}

function foldAnywhere(line: string, width: number): string[] {
  const out: string[] = [];
  let rest = line;
  let room = width;
  while (visibleWidth(rest) > room) {
    const cut = foldPoint(rest, room);
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
    if (out.length === 1) room = Math.max(1, width - 2);
  }
  out.push(rest);
  return out.map((piece, i) => (i === 0 ? piece : `↪ ${piece}`));
}

/** Where to fold: after the last space that fits, if it is past half the room; else where the room ends. */
function foldPoint(text: string, room: number): number {
  let used = 0;
  let end = 0;
  let lastSpace = -1;
  for (const char of text) {
    const w = visibleWidth(char);
    if (used + w > room) break;
    if (char === ' ') lastSpace = end;
    used += w;
    end += char.length;
  }
  if (lastSpace > room / 2) return lastSpace + 1;
  // A character wider than the whole room still goes somewhere: alone, whole.
  return end > 0 ? end : [...text][0]!.length;
}
