import fs from 'node:fs';
import { createRequire } from 'node:module';
import { findLesson, lessonNumber, lessons, type Lesson } from '../lessons.ts';
import { lessonPaths, ROOT } from '../paths.ts';
import { APP_NAME } from '../progress.ts';
import { prepareLessonFile } from '../workspace.ts';
import { colour, say, shown } from './output.ts';

const require = createRequire(import.meta.url);

/** The part of a workshopper-adventure instance this CLI uses. */
export interface Shop {
  execute(args: string[]): unknown;
  add(name: string, fn: () => object): unknown;
  selectExercise(specifier: string): string;
  getNext(): string | Error;
  appStorage: { get(name: string): unknown };
  cli: { commands: Array<{ aliases: string[] }> };
}

const HELP = `# websocket-workshop

Learn WebSockets on Node.js by building real servers, judged by real clients.

## The loop

1. \`wsw\` opens the menu; pick a lesson (or \`wsw select echo-server\`). Its starter is copied to \`./websocket-workshop/NN-slug.ts\`, never over your own work.
2. Edit that file.
3. \`wsw run\` starts your server and connects a client you type into; \`/help\` there lists its commands.
4. \`wsw verify\` judges it, frame by frame. A pass marks the lesson done.

## Commands

- \`wsw\`: the menu
- \`wsw list\`: all lessons, with what you have done
- \`wsw select <lesson>\`: choose a lesson (slug, name or number)
- \`wsw current\`, \`wsw print\`: the lesson you are on, and its task
- \`wsw next\`: move to the next unfinished lesson
- \`wsw verify [file] [--lesson <slug>]\`: judge your server (\`--json\` for tools, \`--all\` for every lesson passed)
- \`wsw run [file] [--lesson <slug>]\`: try your server by hand (\`/help\` inside)
- \`wsw playground [file] [--lesson <slug>]\`: try your server from a browser page
- \`wsw watch [--lesson <slug>]\`: verify again on every save (q quit, h hint, n next)
- \`wsw hint [N] [--all]\`: the next hint, hint N, or all of them
- \`wsw solution [--diff] [--force]\`: the reference solution, once you have passed
- \`wsw reset [--lesson <slug>]\`: a fresh starter (your file is kept as a backup)
- \`wsw reset --progress\`: forget your progress (your files stay)
- \`wsw doctor\`: check that this machine has what the lessons need
- \`wsw classroom [--port N] [--stuck-after M]\`: teach a class, with a live dashboard of your learners
- \`wsw join <url> --name <name> --code <code>\`: join a class (\`wsw join --leave\` to leave it)

Exit codes of verify: 0 pass, 1 fail, 2 could not judge (no such file or lesson, a missing tool). The JSON of \`--json\` is described by schema/verdict.schema.json.
`;

/** The workshopper-adventure instance: menu, list, select, print, next, reset, help. */
export function createShop(): Shop {
  const adventure = require('workshopper-adventure') as (options: object) => Shop;
  const names: Record<string, string> = {};
  for (const lesson of lessons) names[`exercise.${lesson.slug}`] = `${String(lessonNumber(lesson)).padStart(2, '0')} · ${lesson.title}`;
  const shop = adventure({
    name: APP_NAME,
    appDir: ROOT,
    // Shown by workshopper's credits screen; the workshop's own folder is the honest answer offline.
    appRepo: ROOT,
    title: 'WEBSOCKET WORKSHOP',
    subtitle: 'Pick a lesson and press Enter',
    languages: ['en'],
    help: { text: HELP, type: 'md' },
    footer: {
      text: '\n---\nEdit your file, then `wsw run` to try it and `wsw verify` to have it judged. `wsw` opens the menu.\n',
      type: 'md',
    },
    hideRemaining: true,
    ...names,
  });
  for (const lesson of lessons) shop.add(lesson.slug, () => exercise(lesson));
  // "Check for update" asks the npm registry; the workshop must work offline, and npm updates it.
  shop.cli.commands = shop.cli.commands.filter((command) => command.aliases[0] !== 'update');

  // Selecting a lesson (from the menu or `select`) also hands the learner a file to work in.
  const select = shop.selectExercise.bind(shop);
  shop.selectExercise = (specifier: string) => {
    const lesson = findLesson(specifier);
    const id = select(lesson.slug);
    const { file, created } = prepareLessonFile(lesson);
    say(
      created
        ? colour.green(`Your file for this lesson: ${shown(file)} (a copy of the starter; edit it there).`)
        : colour.green(`Your file for this lesson: ${shown(file)} (already there, left as it is).`),
    );
    return id;
  };
  return shop;
}

function exercise(lesson: Lesson): object {
  return {
    problem: { text: unwrapLines(fs.readFileSync(lessonPaths(lesson.slug).problem, 'utf8')), type: 'md' },
  };
}

/** A line that starts a block of its own in Markdown, rather than continuing the one above. */
const STARTS_BLOCK = /^(\s*$|#|\s*[-*+] |\s*\d+\. |\s*\||\s*>|\s*```)/;

/**
 * Joins the lines a paragraph or list item is wrapped over into one. The menu's Markdown renderer
 * joins them without a space ("must" + "get" → "mustget") and wraps to the terminal itself anyway.
 * Code blocks are left as they are.
 */
export function unwrapLines(markdown: string): string {
  const out: string[] = [];
  let inCode = false;
  for (const line of markdown.split('\n')) {
    const fence = /^\s*```/.test(line);
    const previous = out.at(-1);
    if (!inCode && !fence && previous !== undefined && previous.trim() !== '' && !STARTS_BLOCK.test(line) && !/^\s*(#|\||```)/.test(previous)) {
      out[out.length - 1] = `${previous.trimEnd()} ${line.trim()}`;
    } else {
      out.push(line);
    }
    if (fence) inCode = !inCode;
  }
  return out.join('\n');
}
