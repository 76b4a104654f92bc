import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../paths.ts';

/** The workshop's own command file: what `npm link` puts on PATH as `wsw` and `websocket-workshop`. */
export const BIN = path.join(ROOT, 'bin', 'websocket-workshop.js');

/** Where a command name leads on PATH, if anywhere. */
export interface Resolution {
  /** The file PATH finds first for the name, or undefined when none. */
  found?: string;
  /** True when that file is this workshop's own command. */
  ours: boolean;
}

/**
 * Folders npm puts on PATH for the command it runs (`npm start`, `npx`): the learner's own shell does
 * not have them, so a `wsw` found there is not one the learner can type.
 */
function addedByNpm(dir: string): boolean {
  const normal = dir.replace(/\\/g, '/');
  return /\/node_modules\/\.bin\/?$/.test(normal) || normal.includes('/_npx/') || normal.includes('/node-gyp-bin');
}

/**
 * Finds `name` on the learner's PATH as their shell would (first match wins), leaving out what npm
 * added for this run, and says whether it is this workshop.
 */
export function resolveOnPath(name: string, env: NodeJS.ProcessEnv = process.env): Resolution {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter((dir) => dir && !addedByNpm(dir));
  const extensions = process.platform === 'win32' ? (env.PATHEXT ?? '.CMD;.EXE').split(';').concat('') : [''];
  for (const dir of dirs) {
    for (const ext of extensions) {
      const candidate = path.join(dir, name + ext);
      let stat;
      try {
        stat = fs.statSync(candidate);
      } catch {
        continue;
      }
      if (!stat.isFile()) continue;
      return { found: candidate, ours: isOurs(candidate) };
    }
  }
  return { ours: false };
}

function isOurs(candidate: string): boolean {
  try {
    if (fs.realpathSync(candidate) === fs.realpathSync(BIN)) return true;
    // npm on Windows writes a small script that names the real file rather than a link to it.
    return process.platform === 'win32' && fs.readFileSync(candidate, 'utf8').includes('websocket-workshop.js');
  } catch {
    return false;
  }
}

function inside(dir: string, cwd: string): boolean {
  const relative = path.relative(dir, cwd);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function quoted(file: string): string {
  return /^[\w./\\:-]+$/.test(file) ? file : `"${file}"`;
}

/**
 * The command a learner types to reach this workshop from where they are, as printed in every hint,
 * footer and verdict: `wsw` when PATH leads there; inside the workshop's own folder `npx wsw` (npm runs
 * the folder's own command); anywhere else the full `node …/websocket-workshop.js`. Never `npx wsw`
 * outside the folder: there npx would offer to install an unrelated package of that name.
 */
export function typedCommand(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): string {
  if (resolveOnPath('wsw', env).ours) return 'wsw';
  if (inside(ROOT, cwd)) return 'npx wsw';
  return `node ${quoted(BIN)}`;
}

let cached: string | undefined;

/** typedCommand() for this process, worked out once. */
export function commandHere(): string {
  cached ??= typedCommand();
  return cached;
}

/**
 * Text the workshop prints, with every `wsw …` command in the form that works here. Lesson texts,
 * hints and verdicts are written with the short `wsw`; this is the one place that knows it may not be.
 */
export function asTyped(text: string): string {
  const command = commandHere();
  if (command === 'wsw') return text;
  // `wsw` as a word of its own (not inside a path, a file name or a longer word), also when a colour
  // code opens or closes right beside it.
  // eslint-disable-next-line no-control-regex -- colour codes start with ESC
  return text.replace(/(^|[^\w./-]|\x1b\[[0-9;]*m)wsw(?=$|[\s`'")\],.:;]|\x1b)/g, (_match, before: string) => before + command);
}

/** One line on how to get the short `wsw`, for learners who do not have it; empty when they do. */
export function shortCommandTip(): string {
  if (commandHere() === 'wsw') return '';
  const other = resolveOnPath('wsw');
  if (other.found) {
    return `\`wsw\` on your PATH (${other.found}) is not this workshop. Run \`npm link\` in ${ROOT} to make it this one, or keep typing \`${commandHere()}\`.`;
  }
  return `Tip: run \`npm link\` once in ${ROOT} and the short \`wsw\` works in every folder.`;
}
