import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CLOSE_CODE_NAMES } from '../../verify/harness/frames.ts';
import { HarnessCodes, VerifyFailure } from '../../verify/harness/failure.ts';
import { formatEntry } from '../../verify/harness/report.ts';
import { urlHost } from '../../verify/harness/ports.ts';
import { loadLessonModule } from '../../verify/harness/run-verifier.ts';
import { Verification } from '../../verify/harness/session.ts';
import { Transcript } from '../../verify/harness/transcript.ts';
import { timeoutsOf } from '../lessons.ts';
import { startPlaygroundServer, type PlaygroundConfig, type PlaygroundServer } from '../playground/server.ts';
import { UsageError } from './args.ts';
import { colour } from './output.ts';
import { printFailure } from './run-execute.ts';
import { requireServerLesson, resolveTarget } from './target.ts';

const USAGE = 'wsw playground [file] [--lesson <slug>] [--port <n>]';
/** Signals that end a playground through its teardown, so that the learner's server never outlives it. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const SIGNAL_MEANING: Record<string, string> = { SIGINT: 'Ctrl-C', SIGTERM: 'SIGTERM', SIGHUP: 'The terminal closed' };

/** The arguments of `playground`: those of `run`, plus the port of the page. */
export interface PlaygroundArgs {
  file?: string;
  lesson?: string;
  /** The page's port; 0 (the default) lets the operating system choose a free one. */
  port: number;
}

/** Parses `[file] [--lesson <slug>] [--port <n>]`, rejecting anything else with the usage line. */
export function parsePlaygroundArgs(argv: string[]): PlaygroundArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { lesson: { type: 'string', short: 'l' }, port: { type: 'string', short: 'p' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`playground takes one file, got ${positionals.length}: ${positionals.join(' ')}\nUsage: ${USAGE}`);
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port wants a port number (0 to 65535), got ${values.port}\nUsage: ${USAGE}`);
  return { file: positionals[0], lesson: values.lesson, port };
}

/**
 * `playground [file] [--lesson <slug>] [--port <n>]`: starts the learner's server exactly as `run`
 * does, then serves a page on a second local HTTP server from which the browser's own WebSocket (or
 * socket.io-client, for a socket.io lesson) talks to it. Runs until Ctrl-C or SIGTERM; if the
 * learner's server exits, the page is told and the terminal prints the verifier's explanation.
 */
export async function playgroundCommand(argv: string[]): Promise<number> {
  const args = parsePlaygroundArgs(argv);
  const { lesson, file } = resolveTarget({ file: args.file, lesson: args.lesson });
  requireServerLesson(lesson, 'playground');
  const stop = stopSignals();
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const out = { print, colour };
  const transcript = new Transcript();
  transcript.onEntry((entry) => print(formatEntry(entry, colour)));
  const session = new Verification(lesson, file, transcript, timeoutsOf(lesson));
  let page: PlaygroundServer | undefined;
  try {
    const starting = startServers(session, args.port);
    // A stop signal while the server starts must still stop it: the start is raced, and its late failure ignored.
    starting.catch(() => {});
    const started = await Promise.race([starting, stop.stopped.then(() => undefined)]);
    if (!started) {
      // A page server that comes up after the stop is closed as soon as it does.
      starting.then(({ page: late }) => late.close(), () => {});
      print(colour.dim(`${await stop.stopped}: stopping your server.`));
      return 0;
    }
    page = started.page;
    session.defer(() => page?.close());
    print('');
    print(`${colour.bold('Playground:')} open ${colour.cyan(page.url)} in your browser.`);
    if (started.config.tls) for (const line of tlsAdvice(started.config.tls)) print(colour.yellow(line));
    for (const line of started.tryIt) print(colour.dim(line));
    print(colour.dim('Ctrl-C stops your server and the page.'));

    const ending = await Promise.race([stop.stopped.then((why) => ({ why })), session.programGone.catch((failure: unknown) => ({ failure }))]);
    if ('failure' in ending) {
      const failure = exitExplained(session, ending.failure);
      printFailure(failure, out);
      await page.tell('server-exited', { code: failure.code, message: failure.message, details: failure.details, hint: failure.hint ?? '' });
      return 1;
    }
    print(colour.dim(`${ending.why}: stopping your server${session.servers.length > 1 ? 's' : ''} and the page.`));
    await page.tell('stopped', { why: ending.why });
    return 0;
  } catch (error) {
    if (!(error instanceof VerifyFailure)) throw error;
    printFailure(session.servers.some((s) => s.program.exitInfo) ? exitExplained(session, error) : error, out);
    return 1;
  } finally {
    stop.dispose();
    await session.teardown();
  }
}

/** Runs the lesson's preparation, starts the learner's server(s), then the page's own server. */
async function startServers(session: Verification, port: number): Promise<{ page: PlaygroundServer; config: PlaygroundConfig; tryIt: string[] }> {
  const { prepareRun } = await loadLessonModule(session.lesson);
  const prepared = (await prepareRun?.(session)) ?? {};
  if (prepared.protocol === 'http') {
    // The page speaks WebSocket; a browser opens an event stream or a poll by its address alone.
    throw new UsageError(
      `${session.lesson.slug} speaks plain HTTP, not WebSocket: the playground has nothing to say to it. ` +
        'Try it with `wsw run`, which starts your server and prints the requests to make, or open its /events in a browser.',
      'HTTP_LESSON',
    );
  }
  const first = await session.start(prepared.start);
  // A server with a page of its own (lesson 18) says where it is, beside the playground's.
  const tryIt = prepared.tryIt?.(`http://${urlHost(first.host)}:${first.port}`) ?? [];
  const client = prepared.client ?? {};
  // The first entry is where `run` would connect its client: prepareRun's URL when it gives one (lesson 06's wss://localhost).
  const servers = session.servers.map((server, i) => ({
    name: server.program.name,
    url: i === 0 && client.url ? client.url : `${server.wsUrl}${client.path ?? '/'}`,
  }));
  const ca = client.ws?.ca;
  const config: PlaygroundConfig = {
    lesson: { slug: session.lesson.slug, title: session.lesson.title },
    protocol: prepared.protocol ?? 'websocket',
    servers,
    closeCodes: CLOSE_CODE_NAMES,
    tls: servers[0]!.url.startsWith('wss:')
      ? { httpsUrl: servers[0]!.url.replace(/^wss:/, 'https:'), fingerprint: typeof ca === 'string' || Buffer.isBuffer(ca) ? new X509Certificate(ca).fingerprint256 : undefined }
      : undefined,
  };
  try {
    return { page: await startPlaygroundServer(config, port), config, tryIt };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new UsageError(`The page cannot listen on port ${port} (${code === 'EADDRINUSE' ? 'it is in use' : 'not allowed'}): choose another with --port, or leave --port out for a free one.`);
    }
    throw error;
  }
}

/**
 * What a learner must know before the page can reach a wss:// server with this run's self-signed
 * certificate: the browser does not trust it, and the playground will not switch checks off.
 */
export function tlsAdvice(tls: NonNullable<PlaygroundConfig['tls']>): string[] {
  return [
    'Your server speaks wss:// with a self-signed certificate made for this run. Your browser does not trust it,',
    'so the page cannot connect until you choose to trust it yourself: open',
    `  ${tls.httpsUrl}`,
    'in the same browser, check the certificate is this one, and proceed past the warning (it lasts for that browser session).',
    ...(tls.fingerprint ? [`Its SHA-256 fingerprint: ${tls.fingerprint}`] : []),
    'Or use `wsw run`, whose client trusts exactly this certificate.',
  ];
}

/** The verifier's explanation of a server that exited: its status, where it threw, what to look at. */
function exitExplained(session: Verification, fallback: unknown): VerifyFailure {
  const gone = session.servers.find((s) => s.program.exitInfo);
  if (gone) return gone.program.exitFailure('while you were trying it in the playground');
  if (fallback instanceof VerifyFailure) return fallback;
  return new VerifyFailure({ code: HarnessCodes.PROGRAM_EXITED, message: 'Your server stopped while you were trying it in the playground.' });
}

/** The stop signals, caught while the playground runs; `stopped` resolves with what stopped it, in words. */
function stopSignals(): { stopped: Promise<string>; dispose: () => void } {
  let stop!: (why: string) => void;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onSignal = (signal: NodeJS.Signals) => stop(SIGNAL_MEANING[signal] ?? signal);
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return { stopped, dispose: () => STOP_SIGNALS.forEach((signal) => process.off(signal, onSignal)) };
}
