import { parseArgs } from 'node:util';
import { flush, queuedReports, saveMembership, leaveClass } from '../classroom/reporter.ts';
import { UsageError } from './args.ts';
import { colour, say } from './output.ts';

const USAGE = 'wsw join <class url> --name <your name> --code <class code> | wsw join --leave';
const JOIN_TIMEOUT_MS = 5000;

function parse(argv: string[]): { url: URL; name: string; code: string } | 'leave' {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { name: { type: 'string' }, code: { type: 'string' }, leave: { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.leave) {
      if (positionals.length || values.name || values.code) throw new Error('--leave takes nothing else.');
      return 'leave';
    }
    if (positionals.length !== 1) throw new Error('join takes the class address your teacher gave you.');
    let url: URL;
    try {
      url = new URL(positionals[0]);
    } catch {
      throw new Error(`Not an address: ${positionals[0]}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`The class address starts with http://, got ${positionals[0]}`);
    if (!values.name?.trim()) throw new Error('--name: the name your teacher will see.');
    if (!values.code) throw new Error('--code: the class code your teacher gave you.');
    return { url, name: values.name.trim(), code: values.code.trim().toUpperCase() };
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
}

/**
 * `join <url> --name <name> --code <code>`: joins a teacher's class. The class server issues a token,
 * saved with the address and name in the learner's config; from then on every `wsw verify` reports its
 * verdict (lesson, pass or failure code, time — never the learner's code). Exit 1 if the class refuses.
 * `join --leave` stops reporting.
 */
export async function joinCommand(argv: string[]): Promise<number> {
  const args = parse(argv);
  if (args === 'leave') {
    const { wasMember, discarded } = leaveClass();
    const unsent = discarded ? ` ${discarded} unsent report${discarded === 1 ? '' : 's'} discarded.` : '';
    say(wasMember ? `Left the class: verify no longer reports.${unsent}` : `You are not in a class.${unsent}`);
    return 0;
  }
  const { url, name, code } = args;
  const base = url.origin;
  let response: Response;
  try {
    response = await fetch(new URL('/join', base), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, code }),
      signal: AbortSignal.timeout(JOIN_TIMEOUT_MS),
    });
  } catch (error) {
    // fetch hides the network's reason (ECONNREFUSED, ENOTFOUND…) in its cause; that is what helps.
    const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (error as Error).message;
    say(colour.red(`Could not reach the class server at ${base} (${reason}). Check the address with your teacher.`));
    return 1;
  }
  const body = (await response.json().catch(() => ({}))) as { token?: string; error?: string };
  if (response.status !== 201 || typeof body.token !== 'string') {
    say(colour.red(`The class at ${base} refused: ${body.error ?? `HTTP ${response.status}`}`));
    return 1;
  }
  const membership = { url: base, name, token: body.token, code };
  saveMembership(membership);
  say(colour.green(`Joined the class at ${base} as ${name}: each wsw verify now reports its verdict (lesson, pass or failure code, time; never your code).`));
  // Reports kept while the class did not know this learner go now, in order, under the new membership.
  const waiting = queuedReports().length;
  if (waiting) {
    const line = await flush(membership);
    say(line ?? `Class: sent ${waiting} report${waiting === 1 ? '' : 's'} that waited for you to join.`);
  }
  return 0;
}
