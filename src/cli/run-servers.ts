/**
 * The servers of one `wsw run`, as `/connect --server` names them. Most lessons start one; lesson 07
 * starts server A and server B, and a message only shows it crossed when clients sit on both.
 */
import type { RunningServer } from '../../verify/harness/session.ts';

/** The letter a server goes by: `B` for "server B", else A, B… in the order they started. */
export function serverLetter(servers: readonly RunningServer[], server: RunningServer): string {
  const named = /^server (\w+)$/i.exec(server.program.name)?.[1];
  return (named ?? String.fromCharCode(65 + servers.indexOf(server))).toUpperCase();
}

/** Every server's letter, in the order they started. */
export function serverLetters(servers: readonly RunningServer[]): string[] {
  return servers.map((server) => serverLetter(servers, server));
}

/**
 * The server `typed` names: its letter (`B`, `b`) or its number (`2`). Returns why not otherwise,
 * in words the learner can act on.
 */
export function chooseServer(servers: readonly RunningServer[], typed: string): RunningServer | string {
  const letters = serverLetters(servers);
  if (servers.length < 2) return 'This lesson runs one server, so there is no other to choose: /connect [name] opens a client on it.';
  const wanted = typed.toUpperCase();
  const byNumber = /^\d+$/.test(wanted) ? servers[Number(wanted) - 1] : undefined;
  const chosen = byNumber ?? servers[letters.indexOf(wanted)];
  const named = `${letters.slice(0, -1).join(', ')} and ${letters.at(-1)}`;
  return chosen ?? `There is no server ${typed}: the servers are ${named} (or 1 to ${servers.length}).`;
}

/** With several servers: where the first client is, and how to open one on the next server. */
export function crossingTip(servers: readonly RunningServer[], firstClient: string): string | undefined {
  if (servers.length < 2) return undefined;
  const [here, there] = [serverLetter(servers, servers[0]!), serverLetter(servers, servers[1]!)];
  return `The client ${firstClient} is on server ${here}. To watch a message cross, open one on server ${there}: /connect bob --server ${there}`;
}
