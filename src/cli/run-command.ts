import readline from 'node:readline';
import { VerifyFailure } from '../../verify/harness/failure.ts';
import { formatEntry } from '../../verify/harness/report.ts';
import { Verification } from '../../verify/harness/session.ts';
import { loadLessonModule } from '../../verify/harness/run-verifier.ts';
import { Transcript } from '../../verify/harness/transcript.ts';
import { timeoutsOf } from '../lessons.ts';
import { parseFileCommand } from './args.ts';
import { colour, say } from './output.ts';
import { resolveTarget } from './target.ts';

/** After standard input ends (a pipe), how long to keep listening for replies. */
const DRAIN_MS = 500;

/**
 * `run [file] [--lesson <slug>]`: starts the learner's server exactly as verify does, and connects an
 * interactive client: each line typed is sent as a text frame, everything received is printed.
 * Ctrl-C (or the end of piped input) stops both. Nothing is judged.
 */
export async function runCommand(argv: string[]): Promise<number> {
  const { lesson, file } = resolveTarget(parseFileCommand('run', argv));
  const transcript = new Transcript();
  transcript.onEntry((entry) => say(formatEntry(entry, colour)));
  const session = new Verification(lesson, file, transcript, timeoutsOf(lesson));
  try {
    const { prepareRun } = await loadLessonModule(lesson);
    const prepared = (await prepareRun?.(session)) ?? {};
    await session.start(prepared.start);
    const you = await session.client('you', prepared.client);
    say(colour.dim('Type a line and press Enter to send it as a text frame. Ctrl-C stops your server and this client.'));
    const lines = readline.createInterface({ input: process.stdin, terminal: false });
    lines.on('line', (line) => {
      if (you.isOpen) you.sendText(line);
      else say(colour.dim('(the connection is closed; nothing was sent)'));
    });
    await Promise.race([
      new Promise<void>((resolve) => lines.once('close', () => setTimeout(resolve, DRAIN_MS))),
      new Promise<void>((resolve) => process.once('SIGINT', () => resolve())),
      new Promise<void>((resolve) => you.ws.once('close', () => resolve())),
      session.programGone,
    ]);
    lines.close();
    return 0;
  } catch (error) {
    if (!(error instanceof VerifyFailure)) throw error;
    say('', colour.red(`${error.code}: ${error.message}`));
    if (error.hint) say(`${colour.yellow('Hint:')} ${error.hint}`);
    return 1;
  } finally {
    await session.teardown();
  }
}
