import { HarnessCodes, VerifyFailure } from '../../verify/harness/failure.ts';
import { urlHost } from '../../verify/harness/ports.ts';
import { loadLessonModule } from '../../verify/harness/run-verifier.ts';
import type { ClientConnectOptions, RunningServer, Verification } from '../../verify/harness/session.ts';
import { socketIoClient } from '../../verify/harness/socketio-client.ts';
import { timeoutsOf } from '../lessons.ts';
import { parseFileCommand } from './args.ts';
import { colour } from './output.ts';
import { RunClients, type OpenClient } from './run-clients.ts';
import type { RunProtocol } from './run-commands.ts';
import { RunConsole, type RunOutput } from './run-console.ts';
import { executeLine, printFailure } from './run-execute.ts';
import { ArrivalOrder, RunTranscript, showEveryServerLine } from './run-printer.ts';
import { waitForSubscribers } from './run-redis.ts';
import { crossingTip, serverLetter } from './run-servers.ts';
import { RunSession } from './run-session.ts';
import { SocketIoRunClient } from './run-socketio-client.ts';
import { WsRunClient } from './run-ws-client.ts';
import { resolveTarget } from './target.ts';
import { runClientLesson } from './run-client-lesson.ts';

/** After standard input ends (a pipe), how long to keep listening for replies nobody waits for. */
const DRAIN_MS = 500;
/** When every connection drops, how long to wait for the server's exit, which would explain the drop. */
const DEATH_SETTLE_MS = 300;
/** Signals that end a run through its teardown, so that the learner's server never outlives it. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** What each of them means to a learner. */
const SIGNAL_MEANING: Record<string, string> = { SIGINT: 'Ctrl-C', SIGTERM: 'SIGTERM', SIGHUP: 'The terminal closed' };

/** Why a run ended. */
type Ending = 'input' | 'stopped' | 'closed' | 'server';

/**
 * `run [file] [--lesson <slug>]`: starts the learner's server exactly as verify does, and connects an
 * interactive client: each line typed is sent as a text frame, everything received is printed, and
 * slash commands send the rest (binary frames, pings, JSON, a close) or open more clients (`/help`).
 * For a lesson whose prepareRun says `protocol: 'socket.io'`, the client is a socket.io client and
 * lines are events. Ctrl-C, the end of piped input, the server's exit or the last client's close stop
 * everything. Nothing is judged. Variables set in the learner's shell win over the lesson's (see
 * RunSession); what the server prints and what the clients see appear in the order they happened.
 */
export async function runCommand(argv: string[]): Promise<number> {
  const { lesson, file } = resolveTarget(parseFileCommand('run', argv));
  // A lesson whose learner writes a client gets the workshop's server to play against instead.
  if (lesson.writes === 'client') {
    const stop = stopSignals();
    try {
      return await runClientLesson(lesson, file, stop);
    } finally {
      stop.dispose();
    }
  }
  showEveryServerLine();
  const stop = stopSignals();
  let clients: RunClients | undefined;
  const terminal = new RunConsole({
    input: process.stdin,
    output: process.stdout,
    prompt: () => (clients ? `${colour.magenta(clients.current.name)}> ` : '> '),
    onInterrupt: () => stop.stop('Ctrl-C'),
  });
  const printer = new ArrivalOrder((line) => terminal.print(line), colour);
  const out: RunOutput = { print: (line) => printer.print(line), colour };
  const transcript = new RunTranscript();
  transcript.onEntry((entry) => printer.entry(entry));
  const session = new RunSession(lesson, file, transcript, timeoutsOf(lesson), process.env);
  try {
    const starting = startAndConnect(session, out, printer);
    // Ctrl-C while the server starts must still stop it: the start is raced, and its late failure ignored.
    starting.catch(() => {});
    const started = await Promise.race([starting, stop.stopped.then(() => undefined)]);
    if (!started) {
      out.print(colour.dim(`${await stop.stopped}: stopping your server.`));
      return 0;
    }
    if (started.protocol === 'http') return await serveHttp(session, out, terminal, stop, started.tryIt);
    clients = started.clients;
    const { protocol } = started;
    out.print(
      colour.dim(
        protocol === 'socket.io'
          ? 'Type a line to emit it as chat { message } (after /join <room>); /help lists the commands. Ctrl-C stops your server and every client.'
          : 'Type a line and press Enter to send it as a text frame; /help lists the commands. Ctrl-C stops your server and every client.',
      ),
    );
    // A server with a page of its own (lesson 18): the page is the other half of what to try.
    for (const line of started.tryIt) out.print(colour.dim(line));
    const across = crossingTip(session.servers, clients.current.name);
    if (across) out.print(colour.dim(across));
    const ctx = { ...out, protocol, clients, servers: session.servers };
    terminal.start((line) => printer.doing(() => executeLine(line, ctx)));

    const running = clients;
    let ending: Ending = await Promise.race([
      terminal.ended.then(async () => {
        // Piped input ends at once: give the answers to its last lines the time to arrive.
        await running.settled();
        await sleep(DRAIN_MS);
        return 'input' as const;
      }),
      stop.stopped.then(() => 'stopped' as const),
      running.allFinished.then(() => 'closed' as const),
      session.programGone.catch(() => 'server' as const),
    ]);
    if (ending === 'closed') {
      // A crash drops every connection a moment before the exit is seen: report the cause, not the symptom.
      ending = await Promise.race([sleep(DEATH_SETTLE_MS).then(() => 'closed' as const), session.programGone.catch(() => 'server' as const)]);
    }
    if (ending === 'server') {
      printFailure(exitExplained(session), out);
      return 1;
    }
    const why = ending === 'input' ? (terminal.interactive ? 'Ctrl-D' : 'The input ended') : ending === 'closed' ? 'Every client is closed' : await stop.stopped;
    out.print(colour.dim(`${why}: stopping your server${session.servers.length > 1 ? 's' : ''}.`));
    return 0;
  } catch (error) {
    if (!(error instanceof VerifyFailure)) throw error;
    printFailure(session.servers.some((s) => s.program.exitInfo) ? exitExplained(session) : error, out);
    return 1;
  } finally {
    clients?.end();
    printer.flush();
    terminal.close();
    stop.dispose();
    await session.teardown();
    printer.flush();
  }
}

/**
 * Runs the lesson's preparation, starts the server, waits until servers that share a Redis channel
 * have all subscribed to it, and connects the first client.
 */
async function startAndConnect(
  session: RunSession,
  out: RunOutput,
  printer: ArrivalOrder,
): Promise<{ protocol: 'http'; tryIt: string[] } | { protocol: RunProtocol; clients: RunClients; tryIt: string[] }> {
  const { prepareRun } = await loadLessonModule(session.lesson);
  const prepared = (await prepareRun?.(session)) ?? {};
  const server = await session.start(prepared.start);
  await waitForSubscribers(session);
  const tryIt = prepared.tryIt?.(`http://${urlHost(server.host)}:${server.port}`) ?? [];
  if (prepared.protocol === 'http') {
    await printer.idle();
    return { protocol: 'http', tryIt };
  }
  const protocol: RunProtocol = prepared.protocol ?? 'websocket';
  const client = pointedAt(prepared.client, prepared.start?.port, server.port);
  const open = protocol === 'socket.io' ? openSocketIo(session, out) : openWebSocket(session, client, out);
  const clients = new RunClients(open, (text) => out.print(out.colour.dim(text)));
  // What the server printed as it started goes before the client's lines; the client's before the prompt.
  await printer.idle();
  await printer.doing(() => clients.connect());
  await printer.idle();
  return { clients, protocol, tryIt };
}

/**
 * A lesson whose server speaks plain HTTP (Server-Sent Events, long polling): no WebSocket client to
 * type into. The server runs, with what to try printed, until Ctrl-C, the end of input or its exit.
 */
async function serveHttp(session: RunSession, out: RunOutput, terminal: RunConsole, stop: StopSignals, tryIt: string[]): Promise<number> {
  const { colour: c } = out;
  out.print(c.dim('Your server speaks plain HTTP to its clients, so run opens no WebSocket client. From another terminal, open a stream, resume one, hold a poll, publish:'));
  for (const line of tryIt) out.print(`  ${line}`);
  out.print(c.dim('What your server prints appears here. Ctrl-C stops it.'));
  terminal.start(async () => out.print(c.dim('Nothing is sent from here: type the commands above in another terminal.')));
  const ending = await Promise.race([
    terminal.ended.then(() => (terminal.interactive ? 'Ctrl-D' : 'The input ended')),
    stop.stopped,
    session.programGone.catch(() => 'server' as const),
  ]);
  if (ending === 'server') {
    printFailure(exitExplained(session), out);
    return 1;
  }
  out.print(c.dim(`${ending}: stopping your server.`));
  return 0;
}

/**
 * The client options prepareRun gave, with its URL moved to the port the server really got: the
 * learner's PORT, when it differs from the port prepareRun chose (lesson 06's wss://localhost:…).
 */
function pointedAt(options: ClientConnectOptions | undefined, chosen: number | undefined, used: number): ClientConnectOptions | undefined {
  if (!options?.url || chosen === undefined || chosen === used) return options;
  const url = new URL(options.url);
  if (url.port !== String(chosen)) return options;
  url.port = String(used);
  return { ...options, url: url.href };
}

/**
 * Plain WebSocket clients, connected as prepareRun says (a wss:// URL and its certificate, say), on
 * the server asked for. They answer pings themselves, so that /pong off can stop the answers.
 */
function openWebSocket(session: Verification, options: ClientConnectOptions = {}, out: RunOutput): OpenClient {
  return async (name, server) => {
    // A URL of prepareRun's own is the first server's: another server is reached at its own address.
    const where: ClientConnectOptions = server && server !== session.servers[0] ? { ...options, url: undefined, server } : options;
    const client = await session.client(name, { ...where, ws: { ...options.ws, autoPong: false }, quietPings: true, log: 'arrival' });
    return new WsRunClient(client, session.transcript, session.timeouts.stepMs, out, serverName(session, server));
  };
}

/** socket.io clients, each with its name as the username in the handshake, as the verifier's are, on the server asked for. */
function openSocketIo(session: Verification, out: RunOutput): OpenClient {
  return async (name, server) =>
    new SocketIoRunClient(
      await socketIoClient(session, name, { auth: { username: name }, log: 'arrival', server }),
      session.transcript,
      session.timeouts.stepMs,
      out,
      serverName(session, server),
    );
}

/** `server B`, when the run has more than one server to tell apart. */
function serverName(session: Verification, server: RunningServer = session.servers[0]!): string | undefined {
  return session.servers.length > 1 ? `server ${serverLetter(session.servers, server)}` : undefined;
}

/** The verifier's explanation of a server that exited: its status, where it threw, what to look at. */
function exitExplained(session: Verification): VerifyFailure {
  const gone = session.servers.find((s) => s.program.exitInfo);
  return gone
    ? gone.program.exitFailure('while you were trying it')
    : new VerifyFailure({ code: HarnessCodes.PROGRAM_EXITED, message: 'Your server stopped while you were trying it.' });
}

/**
 * The stop signals, caught for the length of a run; `stop` is Ctrl-C typed at the prompt. `stopped`
 * resolves with what stopped it, in words.
 */
/** The signals that stop a run, as one promise. */
type StopSignals = { stopped: Promise<string>; stop: (why: string) => void; dispose: () => void };

function stopSignals(): StopSignals {
  let stop!: (why: string) => void;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onSignal = (signal: NodeJS.Signals) => stop(SIGNAL_MEANING[signal] ?? signal);
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return { stopped, stop, dispose: () => STOP_SIGNALS.forEach((signal) => process.off(signal, onSignal)) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
