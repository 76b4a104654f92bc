import os from 'node:os';
import { parseArgs } from 'node:util';
import { startClassServer } from '../classroom/class-server.ts';
import { UsageError } from './args.ts';
import { colour, say } from './output.ts';

const USAGE = 'wsw classroom [--port <n>] [--host <address>] [--stuck-after <minutes>]';

/** The address learners should use: the bound one, or for "every interface" this machine's first network address. */
function reachableHost(bound: string): string {
  if (bound !== '0.0.0.0' && bound !== '::') return bound.includes(':') ? `[${bound}]` : bound;
  for (const addresses of Object.values(os.networkInterfaces())) {
    const address = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (address) return address.address;
  }
  return '127.0.0.1';
}

function parse(argv: string[]): { port: number; host: string; stuckAfter: number } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, host: { type: 'string' }, 'stuck-after': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length) throw new Error(`classroom takes no arguments, got: ${positionals.join(' ')}`);
    const port = Number(values.port ?? 0);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: a port number (0 picks a free one), got ${values.port}`);
    const stuckAfter = Number(values['stuck-after'] ?? 10);
    if (!(stuckAfter > 0)) throw new Error(`--stuck-after: minutes, more than 0, got ${values['stuck-after']}`);
    return { port, host: values.host ?? '0.0.0.0', stuckAfter };
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
}

/**
 * `classroom`: runs a class server for a teacher — a live dashboard of every learner's verdicts — until
 * Ctrl-C or SIGTERM, then exits 0. Prints the class code, the dashboard's address and the join command.
 */
export async function classroomCommand(argv: string[]): Promise<number> {
  const { port, host, stuckAfter } = parse(argv);
  const server = await startClassServer({ port, host, stuckAfterMinutes: stuckAfter });
  const base = `http://${reachableHost(host)}:${server.port}`;
  say(
    colour.bold(`Class server running. Class code: ${server.code}`),
    `Dashboard (keep it to yourself: it shows the code): ${base}/?code=${server.code}`,
    `Learners join with: ${colour.bold(`wsw join ${base} --name <your name> --code ${server.code}`)}`,
    colour.dim(`A learner counts as stuck after the same failure 3 times in a row, or ${stuckAfter} min without a pass. Ctrl-C ends the class.`),
  );
  server.onJoin((name) => say(`${JSON.stringify(name)} joined (${server.registry.size} in class).`));
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await server.close();
  say(`Class ended (${signal}).`);
  return 0;
}
