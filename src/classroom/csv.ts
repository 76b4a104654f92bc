import type { LearnerView } from './learner-registry.ts';

/**
 * One CSV cell: always quoted (commas, quotes and newlines in names survive), and a leading = + - @
 * (or tab / carriage return) gets a ' in front so a spreadsheet shows the text instead of running it
 * as a formula: learner names are chosen by learners. Invisible characters are taken out first, so a
 * zero-width space before the = cannot hide a formula from the guard; leading spaces do not hide it either.
 */
export function csvCell(value: string | number | boolean | null | undefined): string {
  // A zero-width joiner is kept for emoji (👩‍💻), but not allowed to hide a formula either.
  let text = value === null || value === undefined ? '' : String(value).replace(/(?!\u200D)[\p{Cf}\u034F\u115F\u1160\u3164\uFFA0]/gu, '');
  if (/^[\p{White_Space}\u200D]*[=+\-@\t\r]/u.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

/** Rows of cells as CSV text, CRLF-separated as RFC 4180 asks, ending with a line break. */
export function toCsv(rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null | undefined>>): string {
  return rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** The class as CSV: one row per learner, one column per lesson. */
export function classCsv(views: LearnerView[], slugs: string[]): string {
  // The label tells same-named learners apart; the id ties a row to the dashboard's.
  const header = ['name', 'learner id', 'current lesson', 'lessons done', 'last lesson', 'last result', 'failure code', 'last verdict at', 'stuck', ...slugs];
  const rows = views.map((v) => [
    v.label,
    v.id,
    v.currentLesson,
    v.lessonsDone.length,
    v.last?.lesson,
    v.last ? (v.last.passed ? 'pass' : 'fail') : '',
    v.last?.failureCode,
    v.last ? new Date(v.last.at).toISOString() : '',
    v.stuck ?? '',
    ...slugs.map((s) => (v.lessonsDone.includes(s) ? 'done' : v.currentLesson === s ? 'trying' : '')),
  ]);
  return toCsv([header, ...rows]);
}
