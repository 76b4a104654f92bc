import fs from 'node:fs';
import { findLesson, lessonNumber, lessons, shortSlug, type Lesson } from '../lessons.ts';
import { lessonPaths } from '../paths.ts';
import { Progress } from '../progress.ts';
import { learnerFile, prepareLessonFile } from '../workspace.ts';
import { noLessonSelected, UsageError } from './args.ts';
import { asTyped, shortCommandTip } from './command-name.ts';
import { renderMarkdown } from './markdown.ts';
import { colour, colourOn, say, sayExactly, shown } from './output.ts';

/** The width lesson texts are wrapped to: the terminal's, or COLUMNS (or 80) in a pipe. */
export function textWidth(): number {
  const columns = process.stdout.isTTY ? process.stdout.columns : Number(process.env.COLUMNS) || 80;
  return Math.max(40, columns || 80);
}

/** "Lesson 2 of 8 · Echo server": where the learner is in the course. */
export function lessonHeading(lesson: Lesson): string {
  return `Lesson ${lessonNumber(lesson)} of ${lessons.length} · ${lesson.title}`;
}

/** Slugs of the lessons not yet passed, in course order. */
export function unfinished(progress: Progress): Lesson[] {
  const done = new Set(progress.completed());
  return lessons.filter((l) => !done.has(l.slug));
}

/** "03 Broadcast, 05 Heartbeat": a short list of lessons for a sentence. */
export function lessonList(list: Lesson[]): string {
  return list.map((l) => `${String(lessonNumber(l)).padStart(2, '0')} ${l.title}`).join(', ');
}

/**
 * Prints a lesson's task as the learner reads it: the heading, where their file is, the text wrapped
 * to the terminal, and again where their file is and what to type next, where the eye ends up.
 */
export function printLesson(lesson: Lesson, progress = new Progress()): void {
  const file = learnerFile(lesson.slug, progress);
  const exists = fs.existsSync(file);
  const width = textWidth();
  // The lesson's own title becomes "Lesson N of M · Title"; commands are made typeable before the
  // text is wrapped, so that the wrapping sees them as they will be printed.
  const source = fs.readFileSync(lessonPaths(lesson.slug).problem, 'utf8');
  const markdown = asTyped(source.replace(/^# .*$/m, `# ${lessonHeading(lesson)}`));
  sayExactly(renderMarkdown(markdown, { width, colour: colourOn }).trimEnd(), '');
  // The path as plain text, to copy: escaped, so that no `_` or `*` in it turns into emphasis.
  const path = shown(file).replace(/[\\`*_{}[\]()#+!<>|~-]/g, '\\$&');
  const where = exists
    ? `Your file: ${path}`
    : `Your file will be ${path}: \`wsw select ${shortSlug(lesson)}\` puts the starter there.`;
  const footer = `---\n\n${where}\n\nEdit it, then \`wsw run\` to try it by hand and \`wsw verify\` to have it judged. \`wsw\` opens the menu.\n`;
  sayExactly(renderMarkdown(asTyped(footer), { width, colour: colourOn }).trimEnd());
}

/** `select <lesson>`: makes it the current lesson, hands the learner a file, and prints the task. */
export function selectCommand(args: string[], progress = new Progress()): number {
  const query = args.join(' ').trim();
  if (!query) {
    throw new UsageError(
      `select expects a lesson: its number (1 to ${lessons.length}), its name (\`echo-server\`) or its title.\nLessons: ${lessons.map((l) => l.slug).join(', ')}`,
    );
  }
  const lesson = findLesson(query);
  progress.setCurrent(lesson.slug);
  const { file, created } = prepareLessonFile(lesson, process.cwd(), progress);
  say(
    created
      ? colour.green(`Your file for this lesson: ${shown(file)} (a copy of the starter; edit it there).`)
      : colour.green(`Your file for this lesson: ${shown(file)} (already there, left as it is).`),
  );
  const tip = shortCommandTip();
  if (tip && !progress.toldShortCommand()) {
    sayExactly(colour.dim(tip));
    progress.setToldShortCommand();
  }
  say('');
  printLesson(lesson, progress);
  return 0;
}

/** `print [lesson]`: the task of the current lesson (or the one named) again. */
export function printCommand(args: string[], progress = new Progress()): number {
  const slug = args.length ? findLesson(args.join(' ')).slug : progress.current();
  if (!slug) throw noLessonSelected();
  printLesson(findLesson(slug), progress);
  return 0;
}

/** `current`: which lesson the learner is on, and where their file is. */
export function currentCommand(progress = new Progress()): number {
  const slug = progress.current();
  if (!slug) throw noLessonSelected();
  const lesson = findLesson(slug);
  const done = progress.completed().includes(slug);
  say(`${lessonHeading(lesson)}${done ? colour.green(' (done)') : ''}`, `Your file: ${shown(learnerFile(slug, progress))}`);
  return 0;
}

/** `list`: every lesson with its state (done, current, not started) and the count done. */
export function listCommand(progress = new Progress()): number {
  const done = new Set(progress.completed());
  const current = progress.current();
  for (const lesson of lessons) {
    const mark = done.has(lesson.slug) ? colour.green('✓') : lesson.slug === current ? colour.cyan('▸') : ' ';
    const state = done.has(lesson.slug) ? colour.green(' done') : lesson.slug === current ? colour.cyan(' current') : '';
    say(`${mark} ${colour.bold(lesson.slug)}${state}`, colour.dim(`    ${lesson.summary}`));
  }
  say('', `${done.size} of ${lessons.length} lessons done.`);
  return 0;
}

/**
 * `next`: moves to the next lesson after the current one that is not done. After the last lesson it
 * says so and names the unfinished ones, rather than starting again at lesson 1.
 */
export function nextCommand(progress = new Progress()): number {
  const left = unfinished(progress);
  if (left.length === 0) {
    say(colour.green(`All ${lessons.length} lessons are done. Well done!`));
    return 0;
  }
  const currentIndex = lessons.findIndex((l) => l.slug === progress.current());
  const upcoming = lessons.slice(currentIndex + 1).find((l) => left.includes(l));
  if (!upcoming) {
    const last = lessons.at(-1)!;
    say(
      `${lessonHeading(last)} is the last lesson: there is no next one.`,
      `${left.length} ${left.length === 1 ? 'lesson is' : 'lessons are'} not done yet: ${lessonList(left)}. ${colour.bold(`wsw select ${lessonNumber(left[0]!)}`)} goes back to the first of them.`,
    );
    return 0;
  }
  return selectCommand([upcoming.slug], progress);
}

/**
 * What a pass says about the course: how many lessons are left and what comes next; after the last
 * lesson, which ones are still unfinished. Call after the lesson is marked done.
 */
export function afterPassLines(lesson: Lesson, progress = new Progress()): string[] {
  const left = unfinished(progress);
  const upcoming = lessons.slice(lessons.indexOf(lesson) + 1).find((l) => left.includes(l));
  const count = left.length === 0 ? 'Every lesson is done.' : `${left.length} ${left.length === 1 ? 'lesson' : 'lessons'} left.`;
  if (upcoming) {
    return [`${count} Next: ${colour.bold(`wsw select ${shortSlug(upcoming)}`)} (${upcoming.title}), or ${colour.bold('wsw')} for the menu.`];
  }
  if (left.length === 0) return [colour.green(`That was the last lesson, and all ${lessons.length} are done. Well done!`)];
  return [
    `That was the last lesson. ${left.length} ${left.length === 1 ? 'is' : 'are'} not done yet: ${lessonList(left)}.`,
    `${colour.bold(`wsw select ${lessonNumber(left[0]!)}`)} goes back to the first of them.`,
  ];
}
