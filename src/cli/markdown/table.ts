import type { Styles } from './styles.ts';
import { blockWidth, CODE_SPACE, visibleWidth, wrap } from './wrap.ts';

/** A table's cells, already rendered inline (styled, inline code's spaces still as CODE_SPACE). */
export interface TableCells {
  header: string[];
  rows: string[][];
  align: Array<'left' | 'center' | 'right' | null>;
}

/** Columns a cell's padding takes (one space each side), and a border's. */
const PADDING = 2;
const BORDER = 1;
/** Columns below which a cell is a column of single letters: such a table is better shown as records. */
const MIN_CELL = 4;

/**
 * Draws a table within `width` columns. When its natural size does not fit, the cells are wrapped
 * at spaces (see `share` for the widths), so that nothing is cut. It is drawn here rather than by
 * cli-table3, which would measure the text again its own way, truncate a cell whose measure differs
 * from ours, and take most of the time a lesson takes to render.
 */
export function renderTable(cells: TableCells, width: number, styles: Styles): string {
  const columns = cells.header.length;
  const all = [cells.header, ...cells.rows];
  const natural = range(columns).map((c) => Math.max(1, ...all.map((row) => visibleWidth(row[c] ?? ''))));
  const longestWord = range(columns).map((c) => Math.max(1, ...all.map((row) => longestWordWidth(row[c] ?? ''))));
  const room = width - columns * PADDING - (columns + 1) * BORDER;
  if (room < columns * MIN_CELL) return records(cells, width, styles);
  const widths = share(natural, longestWord, room);

  const wrapRow = (row: string[]): string[][] => range(columns).map((c) => wrap(row[c] ?? '', widths[c]!));
  const header = wrapRow(cells.header).map((lines) => lines.map(styles.tableHead));
  const body = cells.rows.map(wrapRow);
  const line = (left: string, middle: string, right: string): string =>
    styles.decoration(left + widths.map((w) => '─'.repeat(w + PADDING)).join(middle) + right);
  const drawRow = (row: string[][]): string[] =>
    range(Math.max(1, ...row.map((lines) => lines.length))).map((i) => {
      const texts = row.map((lines, c) => pad(lines[i] ?? '', widths[c]!, cells.align[c] ?? 'left'));
      const bar = styles.decoration('│');
      return `${bar} ${texts.join(` ${bar} `)} ${bar}`;
    });
  // Lines between rows only when a row spans several lines: one-line rows read well without.
  const ruled = body.some((row) => row.some((lines) => lines.length > 1));
  const rows = body.flatMap((row, i) => [...(ruled && i > 0 ? [line('├', '┼', '┤')] : []), ...drawRow(row)]);
  return [line('┌', '┬', '┐'), ...drawRow(header), line('├', '┼', '┤'), ...rows, line('└', '┴', '┘')].join('\n');
}

/**
 * A table too wide for the width even with its cells squeezed: each row becomes a record, one
 * `header: value` line a cell (continuation lines indented), a blank line between records.
 */
function records(cells: TableCells, width: number, styles: Styles): string {
  const record = (row: string[]): string[] =>
    cells.header.flatMap((header, c) =>
      wrap(`${styles.tableHead(header)}: ${row[c] ?? ''}`, width - 2).map((line, i) => (i === 0 ? line : `  ${line}`)),
    );
  return cells.rows.map((row) => record(row).join('\n')).join('\n\n');
}

function pad(text: string, width: number, align: 'left' | 'center' | 'right'): string {
  const room = width - visibleWidth(text);
  const before = align === 'right' ? room : align === 'center' ? Math.floor(room / 2) : 0;
  return ' '.repeat(before) + text + ' '.repeat(room - before);
}

/**
 * The widths of the columns, `room` columns in all. A column that needs no more than an even share
 * gets all it needs (a narrow column is not wrapped to save a column or two); the others share what
 * is left, each keeping at least its longest word, in proportion to how much more they would need.
 */
export function share(natural: number[], minimum: number[], room: number): number[] {
  if (sum(natural) <= room) return natural;
  const widths = natural.map(() => 0);
  let open = range(natural.length);
  let left = room;
  for (let settled = true; settled && open.length > 0; ) {
    const even = left / open.length;
    const fits = open.filter((c) => natural[c]! <= even);
    settled = fits.length > 0;
    for (const c of fits) widths[c] = natural[c]!;
    left -= sum(fits.map((c) => natural[c]!));
    open = open.filter((c) => !fits.includes(c));
  }
  const floor = open.map((c) => Math.min(natural[c]!, minimum[c]!));
  // When even the longest words do not fit, words must be broken: share out by need alone.
  const base = sum(floor) <= left ? floor : floor.map(() => 1);
  const shared = proportional(base, open.map((c) => natural[c]!), left);
  open.forEach((c, i) => (widths[c] = shared[i]!));
  return widths;
}

/** Adds to `base` the room left over, in proportion to how far each column is from `target`. */
function proportional(base: number[], target: number[], room: number): number[] {
  const spare = room - sum(base);
  const wants = target.map((t, c) => Math.max(0, t - base[c]!));
  const wanted = sum(wants);
  const exact = wants.map((w) => (wanted === 0 ? 0 : (w * spare) / wanted));
  const widths = base.map((b, c) => b + Math.floor(exact[c]!));
  // The columns left over by rounding down go to the largest fractions first.
  const order = range(base.length).sort((x, y) => (exact[y]! % 1) - (exact[x]! % 1));
  for (let extra = room - sum(widths), i = 0; extra > 0 && order.length > 0; extra--, i++) widths[order[i % order.length]!]! += 1;
  return widths.map((w) => Math.max(1, w));
}

function longestWordWidth(text: string): number {
  return blockWidth(text.split(/[ \n]+/).flatMap((word) => word.split(CODE_SPACE)));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
