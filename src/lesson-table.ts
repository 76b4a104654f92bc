import { lessonNumber, lessons, shortSlug } from './lessons.ts';

/** Markers around the generated lesson table in README.md. */
export const TABLE_START = '<!-- lessons:start (generated from lessons/manifest.ts by `npm run readme`) -->';
export const TABLE_END = '<!-- lessons:end -->';

/** The README's lesson table, made from the manifest. */
export function lessonTable(): string {
  const rows = lessons.map(
    (l) => `| ${String(lessonNumber(l)).padStart(2, '0')} | ${l.title} | \`${shortSlug(l)}\` | ${l.summary} |`,
  );
  return ['| # | Lesson | Select with | What you build |', '|---|---|---|---|', ...rows].join('\n');
}

/** README text with the table between the markers replaced by a fresh one. */
export function withLessonTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start === -1 || end === -1) throw new Error('README.md has no lesson table markers');
  return `${readme.slice(0, start + TABLE_START.length)}\n${lessonTable()}\n${readme.slice(end)}`;
}
