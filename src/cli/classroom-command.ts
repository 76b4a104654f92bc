import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startClassServer, type Refusal } from '../classroom/class-server.ts';
import { WRONG_SECRETS_PER_WINDOW } from '../classroom/wrong-secret-limit.ts';
import { UsageError } from './args.ts';
import { colour, say, sayExactly } from './output.ts';

const USAGE = 'wsw classroom [--port <n>] [--host <address>] [--stuck-after <minutes>] [--data <folder> | --redis <url>]';
/** Where the class is kept when --data is not given: beside the teacher, in the folder `classroom` runs in. */
const DEFAULT_DATA = 'wsw-class';

/** The address learners should use: the bound one, or for "every interface" this machine's first network address. */
function reachableHost(bound: string): string {
  if (bound !== '0.0.0.0' && bound !== '::') return bound.includes(':') ? `[${bound}]` : bound;
  for (const addresses of Object.values(os.networkInterfaces())) {
    const address = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (address) return address.address;
  }
  return '127.0.0.1';
}

function parse(argv: string[]): { port: number | undefined; host: string; stuckAfter: number; data: string; redis?: string } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, host: { type: 'string' }, 'stuck-after': { type: 'string' }, data: { type: 'string' }, redis: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length) throw new Error(`classroom takes no arguments, got: ${positionals.join(' ')}`);
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new Error(`--port: a port number (0 picks a free one), got ${values.port}`);
    const stuckAfter = Number(values['stuck-after'] ?? 10);
    if (!(stuckAfter > 0)) throw new Error(`--stuck-after: minutes, more than 0, got ${values['stuck-after']}`);
    if (values.data === '') throw new Error('--data: a folder to keep the class in.');
    if (values.data !== undefined && values.redis !== undefined) throw new Error('--data and --redis: the class is kept in one place, choose one.');
    if (values.redis !== undefined && !/^rediss?:\/\//.test(values.redis)) throw new Error(`--redis: a Redis URL such as redis://127.0.0.1:6379, got ${values.redis}`);
    return { port, host: values.host ?? '0.0.0.0', stuckAfter, data: path.resolve(values.data ?? DEFAULT_DATA), redis: values.redis };
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
}

/** The port a class kept in this folder last listened on, if any. */
function readPort(file: string): number | undefined {
  try {
    const port = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
  } catch {
    return undefined;
  }
}

/** A Redis URL fit to print: its password, if any, is not shown on a screen the class may see. */
function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** One line for the teacher about wrong secrets: the first from an address, and when it is blocked. */
function refusalLine(refusal: Refusal): string | undefined {
  if (refusal.blocked && refusal.count === WRONG_SECRETS_PER_WINDOW) {
    return colour.red(`${refusal.address} sent ${refusal.count} wrong codes or keys within a minute: refused (429) until the minute is over.`);
  }
  if (refusal.count === 1) return colour.dim(`Refused a wrong ${refusal.what} from ${refusal.address}.`);
  return undefined;
}

/**
 * `classroom`: runs a class server for a teacher — a live dashboard of every learner's verdicts — until
 * Ctrl-C or SIGTERM, then exits 0. Prints the class code, the dashboard's address (with the teacher key)
 * and the join command. The class is kept in a folder: run it again there and the same class resumes.
 */
export async function classroomCommand(argv: string[]): Promise<number> {
  const { port, host, stuckAfter, data, redis } = parse(argv);
  const store = redis ? { redisUrl: redis } : { dataDir: data };
  // A resumed class listens where it did before, so the address the learners saved still leads to it.
  const portFile = path.join(data, 'port');
  const previousPort = port === undefined && !redis ? readPort(portFile) : undefined;
  let server;
  try {
    try {
      server = await startClassServer({ port: previousPort ?? port ?? 0, host, stuckAfterMinutes: stuckAfter, ...store });
    } catch (error) {
      if (previousPort === undefined || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      say(colour.yellow(`Port ${previousPort}, where this class ran before, is taken: learners must run the new join command below.`));
      server = await startClassServer({ port: 0, host, stuckAfterMinutes: stuckAfter, ...store });
    }
  } catch (error) {
    say(colour.red(`Could not start the class: ${(error as Error).message}`));
    return 1;
  }
  if (!redis) fs.writeFileSync(portFile, `${server.port}\n`, { mode: 0o600 });
  const base = `http://${reachableHost(host)}:${server.port}`;
  say(
    colour.bold(server.resumed ? `Class resumed (${server.registry.size} learners). Class code: ${server.code}` : `Class server running. Class code: ${server.code}`),
    redis
      ? `Kept in Redis at ${withoutPassword(redis)}: every wsw classroom --redis with this URL serves this same class.`
      : `Kept in ${data}: run wsw classroom there again to resume this class.`,
    `Your dashboard (keep this address to yourself: its key opens the class's data): ${base}/?key=${server.teacherKey}`,
  );
  // Exactly as written: it is typed on the learners' machines, where `wsw` is what the README sets up.
  sayExactly(`Learners join with: ${colour.bold(`wsw join ${base} --name <your name> --code ${server.code}`)}`);
  say(colour.dim(`A learner counts as stuck after the same failure 3 times in a row, or ${stuckAfter} min without a pass. Ctrl-C ends the class.`));
  const running = server;
  running.onJoin((name) => say(`${JSON.stringify(name)} joined (${running.registry.size} in class).`));
  running.onRefusal((refusal) => {
    const line = refusalLine(refusal);
    if (line) say(line);
  });
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await server.close();
  say(`Class ended (${signal}).`);
  return 0;
}
