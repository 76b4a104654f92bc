import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline/promises';
import { lessonPaths } from '../paths.ts';
import { learnerFile } from '../workspace.ts';
import { Progress } from '../progress.ts';
import { parseLessonCommand } from './lesson-args.ts';
import { colour, say, shown } from './output.ts';

/**
 * `reset [--lesson <slug>] [--yes]`: gives the learner a fresh starter for the lesson. Their file is
 * first moved to a timestamped backup beside it, so nothing is lost; on a terminal it asks first.
 * `reset --progress` forgets the lessons done and the hints seen instead (files are not touched).
 */
export async function resetCommand(argv: string[]): Promise<number> {
  if (argv.includes('--progress')) {
    new Progress().reset();
    say('Your progress is forgotten: no lesson is done, no hint seen. Your files are where they were.');
    return 0;
  }
  const progress = new Progress();
  const { lesson, flags } = parseLessonCommand('reset', argv, ['yes'], progress);
  const file = learnerFile(lesson.slug, progress);
  const starter = lessonPaths(lesson.slug).starter;
  let backup: string | undefined;
  if (fs.existsSync(file)) {
    if (process.stdin.isTTY && !flags.yes) {
      const ask = readline.createInterface({ input: process.stdin, output: process.stdout });
      const answer = await ask.question(`Replace ${shown(file)} with the starter? Your file is kept as a backup beside it. [y/N] `);
      ask.close();
      if (!/^y(es)?$/i.test(answer.trim())) {
        say('Nothing changed.');
        return 1;
      }
    }
    backup = backupName(file);
    fs.renameSync(file, backup);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.copyFileSync(starter, file);
  progress.setFile(lesson.slug, file);
  say(colour.green(`${shown(file)} is the starter again.`));
  if (backup) say(`Your previous file is in ${shown(backup)}.`);
  return 0;
}

/** `02-echo-server.ts` → `02-echo-server.backup-20261125-093012.ts`, beside it; never an existing name. */
function backupName(file: string): string {
  const stamp = new Date().toISOString().replace(/\..*$/, '').replace(/[-:]/g, '').replace('T', '-');
  const { dir, name, ext } = path.parse(file);
  for (let n = 1; ; n++) {
    const candidate = path.join(dir, `${name}.backup-${stamp}${n > 1 ? `-${n}` : ''}${ext}`);
    if (!fs.existsSync(candidate)) return candidate;
  }
}
