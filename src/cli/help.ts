import { editDistance } from '../lessons.ts';
import { shortCommandTip } from './command-name.ts';
import { textWidth } from './lesson-commands.ts';
import { renderMarkdown } from './markdown.ts';
import { colour, colourOn, say, sayExactly } from './output.ts';

/** Every command the CLI knows, for `help` and for "did you mean" on a typo. */
export const COMMANDS = [
  'list', 'select', 'current', 'print', 'next', 'verify', 'run', 'playground', 'watch', 'hint',
  'solution', 'reset', 'doctor', 'classroom', 'join', 'help',
] as const;

/** What `wsw help` prints, as Markdown. */
export const HELP = `# websocket-workshop

Learn WebSockets on Node.js by building real servers, judged by real clients.

## The loop

1. \`wsw\` opens the menu; pick a lesson (or \`wsw select echo-server\`). Its starter is copied to \`./websocket-workshop/NN-slug.ts\`, never over your own work, and every command finds it from then on, from any folder.
2. Edit that file.
3. \`wsw run\` starts your server and connects a client you type into; \`/help\` there lists its commands.
4. \`wsw verify\` judges it, frame by frame. A pass marks the lesson done.

## Commands

- \`wsw\`: the menu
- \`wsw list\`: all lessons, with what you have done
- \`wsw select <lesson>\`: choose a lesson (number, name or title)
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
- \`wsw classroom [--port N] [--stuck-after M] [--data DIR | --redis URL]\`: teach a class, with a live dashboard of your learners
- \`wsw join <url> --name <name> --code <code>\`: join a class (\`wsw join --leave\` to leave it)

Exit codes of verify: 0 pass, 1 fail, 2 could not judge (no such file or lesson, a missing tool). The JSON of \`--json\` is described by schema/verdict.schema.json.
`;

/** Prints the help, wrapped to the terminal, and how to get the short command if it is missing. */
export function printHelp(): void {
  say(renderMarkdown(HELP, { width: textWidth(), colour: colourOn }).trimEnd());
  const tip = shortCommandTip();
  if (tip) sayExactly('', colour.dim(tip));
}

/** The command a typo most likely meant, if one is close: `verfy` → `verify`. */
export function closestCommand(typed: string): string | undefined {
  const word = typed.toLowerCase().replace(/^-+/, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const command of COMMANDS) {
    const d = editDistance(word, command);
    if (d < bestDistance) [best, bestDistance] = [command, d];
  }
  return best && bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}
