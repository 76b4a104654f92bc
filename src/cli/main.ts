import { UnknownLessonError } from '../lessons.ts';
import { UsageError } from './args.ts';
import { cannotJudgeDocument } from './cannot-judge-json.ts';
import { closestCommand, printHelp } from './help.ts';
import { currentCommand, listCommand, nextCommand, printCommand, selectCommand } from './lesson-commands.ts';
import { colour, say, sayExactly } from './output.ts';

/** Exit code when the CLI could not judge: a missing file, an unknown lesson, bad arguments. */
const CANNOT_JUDGE = 2;

/**
 * The entry point: runs one command and returns its exit code. The menu is workshopper-adventure's;
 * every command it leads to (select, print, help, …) is the workshop's own, so the same words come
 * back whichever way the learner got there.
 */
export async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  // workshopper-adventure colours through chalk, which does not read NO_COLOR itself.
  if (process.env.NO_COLOR) process.env.FORCE_COLOR = '0';
  try {
    switch (command) {
      case 'verify': {
        // Ctrl-C must still run the exit hooks that stop the learner's server.
        process.once('SIGINT', () => process.exit(130));
        const { verifyCommand } = await import('./verify-command.ts');
        return await verifyCommand(rest);
      }
      case 'run':
        return await (await import('./run-command.ts')).runCommand(rest);
      case 'select':
        return selectCommand(rest);
      case 'print':
        return printCommand(rest);
      case 'current':
        return currentCommand();
      case 'next':
        return nextCommand();
      case 'list':
        return listCommand();
      case 'help':
        printHelp();
        return 0;
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
        if (process.stdin.isTTY && process.stdout.isTTY) return await (await import('./menu.ts')).openMenu();
        listCommand();
        say('', `Run ${colour.bold('wsw help')} for the commands.`);
        return 0;
      default:
        return unknownCommand(command);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof UnknownLessonError) {
      // A tool asked for JSON: it gets one document, also when there is nothing to judge.
      if (command === 'verify' && rest.includes('--json')) {
        sayExactly(JSON.stringify(cannotJudgeDocument(error, rest), null, 2));
      } else {
        say(colour.red(error.message));
      }
      return CANNOT_JUDGE;
    }
    throw error;
  }
}

/** A word that is no command (or `--help`, `-h` where a command goes): the help, and a guess. */
function unknownCommand(typed: string): number {
  const isHelpFlag = typed === '--help' || typed === '-h';
  if (!isHelpFlag) {
    const guess = closestCommand(typed);
    say(colour.red(`"${typed}" is not a command.${guess ? ` Did you mean ${colour.bold(`wsw ${guess}`)}?` : ''}`), '');
  }
  printHelp();
  return CANNOT_JUDGE;
}
