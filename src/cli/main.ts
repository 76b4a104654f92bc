import { findLesson, lessons, UnknownLessonError } from '../lessons.ts';
import { Progress } from '../progress.ts';
import { UsageError } from './args.ts';
import { createShop } from './menu.ts';
import { colour, say } from './output.ts';
import { runCommand } from './run-command.ts';
import { verifyCommand } from './verify-command.ts';

/** Exit code when the CLI could not judge: a missing file, an unknown lesson, bad arguments. */
const CANNOT_JUDGE = 2;

/**
 * The entry point. Returns the exit code for the workshop's own commands, or undefined where
 * workshopper-adventure is still writing. `verify` and `run` are the workshop's own; the menu and lesson navigation are
 * workshopper-adventure's, with lesson names resolved here so slugs, numbers and typos all get answers.
 */
export async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  // workshopper-adventure colours through chalk, which does not read NO_COLOR itself.
  if (process.env.NO_COLOR) process.env.FORCE_COLOR = '0';
  try {
    switch (command) {
      case 'verify':
        // Ctrl-C must still run the exit hooks that stop the learner's server.
        process.once('SIGINT', () => process.exit(130));
        return await verifyCommand(rest);
      case 'run':
        return await runCommand(rest);
      case 'select':
      case 'print': {
        if (rest.length === 0) return await shopCommand(argv);
        return await shopCommand([command, findLesson(rest.join(' ')).slug]);
      }
      case 'next':
        return await next();
      case 'list':
        return list();
      case 'hint':
        return (await import('./hint-command.ts')).hintCommand(rest);
      case 'solution':
        return await (await import('./solution-command.ts')).solutionCommand(rest);
      case 'reset':
        return await (await import('./reset-command.ts')).resetCommand(rest);
      case 'watch':
        return await (await import('./watch-command.ts')).watchCommand(rest);
      case 'classroom':
        return await (await import('./classroom-command.ts')).classroomCommand(rest);
      case 'join':
        return await (await import('./join-command.ts')).joinCommand(rest);
      case 'playground':
        return await (await import('./playground-command.ts')).playgroundCommand(rest);
      case 'doctor':
        // Loaded on demand: its checks pull in Redis and certificate code that other commands never need.
        return await (await import('./doctor-command.ts')).doctorCommand();
      case undefined:
        // The menu needs a terminal to draw in; in a pipe or CI, print the list instead.
        if (process.stdin.isTTY && process.stdout.isTTY) return await shopCommand(argv);
        list();
        say('', `Run ${colour.bold('wsw help')} for the commands.`);
        return 0;
      default:
        return await shopCommand(argv);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof UnknownLessonError) {
      say(colour.red(error.message));
      return CANNOT_JUDGE;
    }
    throw error;
  }
}

/**
 * Hands a command to workshopper-adventure. It writes asynchronously and exits by itself where it
 * wants a status, so no exit code is returned: the process ends when its output is done.
 */
async function shopCommand(argv: string[]): Promise<undefined> {
  createShop().execute(argv);
  return undefined;
}

/** `list`: every lesson with its state (done, current, not started) and the count done. */
function list(): number {
  const progress = new Progress();
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

/** `next`: moves to the next lesson not yet done, copying its starter, and prints its task. */
async function next(): Promise<number | undefined> {
  const progress = new Progress();
  const done = new Set(progress.completed());
  const currentIndex = lessons.findIndex((l) => l.slug === progress.current());
  const upcoming = lessons.slice(currentIndex + 1).find((l) => !done.has(l.slug)) ?? lessons.find((l) => !done.has(l.slug));
  if (!upcoming) {
    say(colour.green('Every lesson is done. Well done!'));
    return 0;
  }
  return shopCommand(['select', findLesson(upcoming.slug).slug]);
}
