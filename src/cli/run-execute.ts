/**
 * Carries out one line typed into `wsw run`: sends it from the current client, or runs the slash
 * command it names. Messages go into the transcript as the verifier writes them; the run's own answers
 * (help, errors, the list of clients) are printed without a prefix.
 */
import { VerifyFailure } from '../../verify/harness/failure.ts';
import type { RunningServer } from '../../verify/harness/session.ts';
import type { RunClients } from './run-clients.ts';
import { parseRunLine, runHelp, type RunProtocol } from './run-commands.ts';
import type { RunOutput } from './run-console.ts';
import { chooseServer, serverLetters } from './run-servers.ts';

/** Everything a line needs to be carried out. */
export interface RunContext extends RunOutput {
  protocol: RunProtocol;
  clients: RunClients;
  /** The servers the run started, in order: clients open on the first unless /connect --server says. */
  servers: readonly RunningServer[];
}

/** Handles one typed line. Never throws for what the learner typed or for a client that failed to connect. */
export async function executeLine(line: string, ctx: RunContext): Promise<void> {
  const { clients, print, colour } = ctx;
  const command = parseRunLine(line, ctx.protocol);
  const help = () => runHelp(ctx.protocol, serverLetters(ctx.servers));
  switch (command.kind) {
    case 'invalid':
      print(colour.red(command.message));
      if (command.showCommands) for (const text of help()) print(text);
      return;
    case 'help':
      for (const text of help()) print(text);
      return;
    case 'clients':
      for (const client of clients.describe()) print(client);
      return;
    case 'use': {
      const chosen = clients.use(command.name);
      if (typeof chosen === 'string') print(colour.red(chosen));
      else print(colour.dim(`Lines are now sent from ${chosen.name}.`));
      return;
    }
    case 'connect': {
      const server = command.server === undefined ? undefined : chooseServer(ctx.servers, command.server);
      if (typeof server === 'string') {
        print(colour.red(`${server} Nothing was opened.`));
        return;
      }
      try {
        const opened = await clients.connect(command.name ?? clients.defaultName(), server);
        if (typeof opened === 'string') print(colour.red(opened));
        else print(colour.dim(`Lines are now sent from ${opened.name}. /clients lists every client; /use <name> switches.`));
      } catch (error) {
        if (!(error instanceof VerifyFailure)) throw error;
        printFailure(error, ctx);
      }
      return;
    }
    default:
      clients.current.perform(command);
  }
}

/** A failure as a verdict shows it: the code and message, the details, the hint. */
export function printFailure(failure: VerifyFailure, { print, colour }: RunOutput): void {
  print('');
  print(colour.red(`${failure.code}: ${failure.message}`));
  for (const detail of failure.details) print(colour.dim(`  ${detail}`));
  if (failure.hint) print(`${colour.yellow('Hint:')} ${failure.hint}`);
}
