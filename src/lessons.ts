import { lessons, DEFAULT_TIMEOUTS, type Hint, type Lesson, type Timeouts } from '../lessons/manifest.ts';

export { lessons, type Lesson };

/** The lesson's number as written in its slug ("02-echo-server" → 2). */
export function lessonNumber(lesson: Lesson): number {
  return Number(lesson.slug.slice(0, 2));
}

/** The slug without its number ("02-echo-server" → "echo-server"). */
export function shortSlug(lesson: Lesson): string {
  return lesson.slug.replace(/^\d+-/, '');
}

/** The lesson's time limits: its own overrides on top of the defaults. */
export function timeoutsOf(lesson: Lesson): Timeouts {
  return { ...DEFAULT_TIMEOUTS, ...lesson.timeouts };
}

/** Raised when a lesson name matches nothing; its message suggests what was likely meant and lists what exists. */
export class UnknownLessonError extends Error {
  readonly code = 'UNKNOWN_LESSON';

  constructor(readonly query: string) {
    const q = query.trim();
    const suggestions = suggest(q);
    const first = /^\d+$/.test(q)
      ? `There is no lesson ${q}: the lessons are numbered 1 to ${lessons.length}.`
      : `There is no lesson "${q}".`;
    super(
      first +
        (suggestions.length ? ` Did you mean ${suggestions.map((l) => `"${shortSlug(l)}"`).join(' or ')}?` : '') +
        `\nLessons: ${lessons.map((l) => l.slug).join(', ')}`,
    );
    this.name = 'UnknownLessonError';
  }
}

/**
 * Finds a lesson by slug ("02-echo-server"), slug without number ("echo-server"), number ("2", "02")
 * or title ("Echo server"), ignoring case. Throws UnknownLessonError when none matches.
 */
export function findLesson(query: string): Lesson {
  const q = query.trim().toLowerCase();
  const found = lessons.find(
    (l) =>
      l.slug === q ||
      shortSlug(l) === q ||
      l.title.toLowerCase() === q ||
      (/^\d+$/.test(q) && lessonNumber(l) === Number(q)),
  );
  if (!found) throw new UnknownLessonError(query);
  return found;
}

/** A lesson's hints as text, in order. */
export function hintTexts(lesson: Lesson): string[] {
  return lesson.hints.map((h) => (typeof h === 'string' ? h : h.text));
}

/** The number (1-based) of the first hint that covers a failure code, if any does. */
export function hintCovering(lesson: Lesson, code: string): number | undefined {
  const index = lesson.hints.findIndex((h: string | Hint) => typeof h !== 'string' && h.covers.includes(code));
  return index === -1 ? undefined : index + 1;
}

/** The lesson after this one, if any. */
export function nextLesson(lesson: Lesson): Lesson | undefined {
  return lessons[lessons.indexOf(lesson) + 1];
}

/**
 * The lessons a query most likely meant: those whose name or title contains it as a word ("echo",
 * "redis"), else the nearest name by edit distance when it is close enough to be a typo.
 */
function suggest(query: string): Lesson[] {
  const q = query.toLowerCase().replace(/^\d+-/, '');
  if (!q || /^\d+$/.test(q)) return [];
  const words = (l: Lesson) => `${shortSlug(l)} ${l.title.toLowerCase()}`.split(/[^a-z0-9.]+/);
  const containing = lessons.filter((l) => words(l).some((w) => w.startsWith(q)) || (q.length >= 4 && shortSlug(l).includes(q)));
  if (containing.length > 0 && containing.length <= 3) return containing;
  let best: Lesson | undefined;
  let bestDistance = Infinity;
  for (const lesson of lessons) {
    const d = editDistance(q, shortSlug(lesson));
    if (d < bestDistance) [best, bestDistance] = [lesson, d];
  }
  // A suggestion further away than a third of the word is noise, not help.
  return best && bestDistance <= Math.max(2, Math.floor(q.length / 3)) ? [best] : [];
}

/** How many single-letter edits turn a into b (Levenshtein distance), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
