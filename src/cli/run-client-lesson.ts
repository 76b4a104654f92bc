/**
 * `wsw run` for a lesson whose learner writes a client (lesson 14): the workshop's own server, the
 * learner's client pointed at it with SERVER_URL, and the learner at the keyboard playing the network.
 * A line typed goes to the client's standard input; slash commands drop, refuse, take down and bring
 * back the server, so that every way a connection ends can be tried by hand. Nothing is judged.
 */
import { VerifyFailure } from '../../verify/harness/failure.ts';
import { delay } from '../../verify/harness/json.ts';
import type { Attempt, ControlledServer } from '../../verify/harness/client-mode/controlled-server.ts';
import type { RunningClient } from '../../verify/harness/client-mode/learner-client.ts';
import type { ServerConnection } from '../../verify/harness/client-mode/server-connection.ts';
import type { Lesson } from '../../lessons/manifest.ts';
import { timeoutsOf } from '../lessons.ts';
import { colour } from './output.ts';
import { RunConsole, type RunOutput } from './run-console.ts';
import { slowerTimersTip } from './run-env.ts';
import { printFailure } from './run-execute.ts';
import { ArrivalOrder, RunTranscript } from './run-printer.ts';
import { RunSession } from './run-session.ts';

/** After standard input ends (a pipe), how long the client keeps running before it is stopped. */
const DRAIN_MS = 500;
/** The close code /drop sends when none is given: "service restart", as a deploy would. */
const DEFAULT_DROP_CODE = 1012;
/** The status /refuse answers with when none is given. */
const DEFAULT_REFUSE_STATUS = 503;

/** What the server can be told at the prompt, as /help lists it. */
export const CLIENT_RUN_HELP = [
  'A line without a slash is typed on your client’s standard input (//text types /text).',
  '/drop [code]      the server closes the connection with a close frame (default 1012)',
  '/kill             the server drops the connection without a close frame',
  '/refuse [status]  the server refuses every attempt from now on with an HTTP status (default 503)',
  '/accept           the server accepts attempts again',
  '/down             the server stops listening: attempts fail with ECONNREFUSED',
  '/up               the server listens again, on the same port',
  '/send <text>      the server sends a text frame to your client',
  '/help             this list',
];

/** How a stop was asked for, from the outside (a signal) or at the prompt (Ctrl-C). */
export interface RunStop {
  stopped: Promise<string>;
  stop: (why: string) => void;
}

/** Runs the workshop's server and the learner's client until a stop, the end of input, or the client's exit. */
export async function runClientLesson(lesson: Lesson, file: string, stop: RunStop): Promise<number> {
  const terminal = new RunConsole({ input: process.stdin, output: process.stdout, prompt: () => `${colour.magenta('you')}> `, onInterrupt: () => stop.stop('Ctrl-C') });
  const printer = new ArrivalOrder((line) => terminal.print(line), colour);
  const out: RunOutput = { print: (line) => printer.print(line), colour };
  const transcript = new RunTranscript();
  transcript.onEntry((entry) => printer.entry(entry));
  const session = new RunSession(lesson, file, transcript, timeoutsOf(lesson), process.env);
  let finished = false;
  try {
    const server = await session.serve();
    const tip = slowerTimersTip(lesson, process.env);
    if (tip) out.print(colour.dim(tip));
    const starting = session.startClient(server);
    starting.catch(() => {});
    const client = await Promise.race([starting, stop.stopped.then(() => undefined)]);
    if (!client) {
      out.print(colour.dim(`${await stop.stopped}: stopping your client.`));
      return 0;
    }
    void reportAttempts(server, out, () => finished);
    await printer.idle();
    out.print(colour.dim('Type a line to send it through your client; /help lists what the server can do. Ctrl-C stops everything.'));
    terminal.start((line) => printer.doing(async () => execute(line, client, server, out)));
    const ending = await Promise.race([
      terminal.ended.then(() => delay(DRAIN_MS)).then(() => (terminal.interactive ? 'Ctrl-D' : 'The input ended')),
      stop.stopped,
      // It only ever rejects: with the failure that explains the client's exit.
      session.programGone.catch((failure: unknown) => failure),
    ]);
    if (ending instanceof VerifyFailure) {
      printFailure(ending, out);
      return 1;
    }
    out.print(colour.dim(`${String(ending)}: stopping your client with SIGTERM, as a deploy would.`));
    await session.stopClient(client);
    return 0;
  } catch (error) {
    if (!(error instanceof VerifyFailure)) throw error;
    printFailure(error, out);
    return 1;
  } finally {
    finished = true;
    printer.flush();
    terminal.close();
    await session.teardown();
    printer.flush();
  }
}

/** One command typed at the prompt. */
async function execute(line: string, client: RunningClient, server: ControlledServer, out: RunOutput): Promise<void> {
  if (!line.startsWith('/') || line.startsWith('//')) {
    client.writeLine(line.startsWith('//') ? line.slice(1) : line);
    return;
  }
  const [command = '', ...rest] = line.slice(1).split(' ');
  const argument = rest.join(' ');
  const open = openConnection(server);
  switch (command) {
    case 'drop': {
      const code = argument ? Number(argument) : DEFAULT_DROP_CODE;
      if (!Number.isInteger(code) || code < 1000 || code > 4999) return out.print(colour.red(`/drop takes a close code from 1000 to 4999, not ${argument}`));
      if (!open) return out.print(colour.dim('No connection is open to drop.'));
      open.close(code);
      return;
    }
    case 'kill':
      if (!open) return out.print(colour.dim('No connection is open to drop.'));
      open.terminate();
      return;
    case 'refuse': {
      const status = argument ? Number(argument) : DEFAULT_REFUSE_STATUS;
      if (!Number.isInteger(status) || status < 400 || status > 599) return out.print(colour.red(`/refuse takes an HTTP status from 400 to 599, not ${argument}`));
      server.meet({ kind: 'refuse', status });
      return out.print(colour.dim(`The server refuses every attempt with ${status} from now on (/accept lets them in).`));
    }
    case 'accept':
      server.meet({ kind: 'accept' });
      return out.print(colour.dim('The server accepts attempts again.'));
    case 'down':
      if (!server.up) return out.print(colour.dim('The server is down already (/up brings it back).'));
      await server.goDown();
      return out.print(colour.dim('The server is down: nothing listens on its port (/up brings it back).'));
    case 'up':
      if (server.up) return out.print(colour.dim('The server is up already.'));
      await server.comeBack();
      return out.print(colour.dim(`The server listens again on 127.0.0.1:${server.port}.`));
    case 'send':
      if (!open) return out.print(colour.dim('No connection is open to send on.'));
      open.ws.send(argument);
      return out.print(`${colour.magenta('[server]')} → text ${JSON.stringify(argument)}`);
    case 'help':
      for (const text of CLIENT_RUN_HELP) out.print(colour.dim(text));
      return;
    default:
      out.print(colour.red(`Unknown command /${command}: /help lists the commands.`));
  }
}

/** The connection open now, if any: the last accepted one that neither side has ended. */
function openConnection(server: ControlledServer): ServerConnection | undefined {
  return server.attempts
    .map((attempt) => attempt.connection)
    .filter((connection): connection is ServerConnection => connection?.live === true)
    .at(-1);
}

/** Prints each attempt as its outcome becomes known, with the delay since the one before ended. */
async function reportAttempts(server: ControlledServer, out: RunOutput, finished: () => boolean): Promise<void> {
  let previous: Attempt | undefined;
  while (!finished()) {
    const attempt = await server.nextAttempt(1000);
    if (!attempt) continue;
    const since = !previous ? '' : previous.endedAt === undefined || attempt.overlapped ? ` while attempt ${previous.number} was still open` : ` ${Math.max(0, attempt.at - previous.endedAt)} ms after attempt ${previous.number} ended`;
    out.print(`${colour.cyan('[run]')} attempt ${attempt.number}${since}: ${attempt.outcome}`);
    previous = attempt;
  }
}
