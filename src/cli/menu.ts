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

1. \`wsw\` opens the menu; pick a lesson (or \`wsw select echo-server\`).
   Its starter is copied to \`./websocket-workshop/NN-slug.ts\` (never over your own work).
2. Edit that file.
3. \`wsw run\` starts your server and connects a client you type into; \`/help\` there lists its
   commands (binary frames, pings, closes, more clients).
4. \`wsw verify\` judges it, frame by frame. A pass marks the lesson done.

## Commands

__\`wsw\`__ ................................ the menu
__\`wsw list\`__ ........................... all lessons
__\`wsw select <lesson>\`__ ................ choose a lesson (slug, name or number)
__\`wsw current\`__ ........................ the lesson you are on
__\`wsw print\`__ .......................... the task of the current lesson
__\`wsw next\`__ ........................... move to the next unfinished lesson
__\`wsw verify [file] [--lesson <slug>]\`__  judge your server
__\`wsw run [file] [--lesson <slug>]\`__ ... try your server by hand (\`/help\` inside)
__\`wsw playground [file] [--lesson <slug>]\`__ try your server from a browser page
__\`wsw watch [--lesson <slug>]\`__ ........ verify again on every save (q quit, h hint, n next)
__\`wsw hint [N] [--all]\`__ ................ the next hint (or hint N, or all of them)
__\`wsw solution [--diff] [--force]\`__ ...... the reference solution, once you have passed
__\`wsw reset [--lesson <slug>]\`__ ......... a fresh starter (your file is kept as a backup)
__\`wsw reset --progress\`__ ............... forget your progress (your files stay)
__\`wsw doctor\`__ ......................... check that this machine has what the lessons need
__\`wsw classroom [--port N] [--stuck-after M]\`__ teach a class: a live dashboard of your learners
__\`wsw join <url> --name <name> --code <code>\`__ join a class: each verify reports to your teacher
__\`wsw join --leave\`__ ..................... leave the class: verify no longer reports

\`wsw verify --json\` prints one JSON document (schema/verdict.schema.json); \`wsw verify --all\`
re-verifies every lesson you have passed.

Exit codes of verify: 0 pass, 1 fail, 2 could not judge (no such file or lesson, a missing tool).
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
    problem: { text: fs.readFileSync(lessonPaths(lesson.slug).problem, 'utf8'), type: 'md' },
  };
}
