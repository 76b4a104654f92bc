/**
 * The environment `wsw run` gives the learner's server, and which of it is the learner's own. The
 * lesson's variables (TICK_MS, HEARTBEAT_INTERVAL_MS…) are short so that verify is quick; by hand a
 * learner may want them slower, so a variable set in their shell wins over the lesson's value and
 * over what run itself sets (REDIS_URL, TLS_CERT…), and the banner says which values are theirs.
 */
import type { Lesson } from '../../lessons/manifest.ts';

/** The learner's shell environment, as process.env gives it. */
export type ShellEnv = Readonly<Record<string, string | undefined>>;

/** Where a value came from, when the learner had a say: set as it is, or made from theirs. */
export type Origin = 'yours' | 'from yours';

/** A server's environment, and which of its values are the learner's. */
export interface LearnerEnv {
  env: Record<string, string>;
  origins: Map<string, Origin>;
}

/**
 * The lesson with the learner's values in place of its own for every variable it names, so that
 * whatever run works out from them (lesson 07's channel name) follows the learner's choice too.
 */
export function withLearnerValues(lesson: Lesson, shell: ShellEnv): Lesson {
  if (!lesson.env) return lesson;
  const env = Object.fromEntries(Object.entries(lesson.env).map(([key, value]) => [key, shell[key] ?? value]));
  return { ...lesson, env };
}

/**
 * A server's environment once the learner's values are in: `given` is what the lesson and run would
 * give it, where the lesson's own variables (`lessonKeys`) already hold the learner's values. A value
 * run worked out from the learner's (a channel with this run's suffix) is kept, and marked as made
 * from theirs; any other variable the learner set is theirs as it is.
 */
export function learnerEnv(given: Record<string, string>, lessonKeys: ReadonlySet<string>, shell: ShellEnv): LearnerEnv {
  const env = { ...given };
  const origins = new Map<string, Origin>();
  for (const key of Object.keys(env)) {
    const theirs = shell[key];
    if (theirs === undefined) continue;
    if (!lessonKeys.has(key)) env[key] = theirs;
    origins.set(key, env[key] === theirs ? 'yours' : 'from yours');
  }
  return { env, origins };
}

/** PORT as the learner set it: a port number, nothing when unset, or why it cannot be used. */
export function learnerPort(shell: ShellEnv): { port: number } | { unusable: string } | undefined {
  const value = shell.PORT;
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (/^\d+$/.test(value) && port >= 1 && port <= 65535) return { port };
  return { unusable: `PORT=${value} in your shell is not a port number (1 to 65535): your server gets a free port instead.` };
}

/**
 * `PORT=40123 HEARTBEAT_INTERVAL_MS=1000 (yours)`: every value the server gets from run, the
 * learner's marked. A password in a URL (redis://user:secret@host) is not shown.
 */
export function describeEnv(port: number, portIsYours: boolean, { env, origins }: LearnerEnv): string {
  const shown = [`PORT=${port}${portIsYours ? ' (yours)' : ''}`];
  for (const [key, value] of Object.entries(env)) {
    const origin = origins.get(key);
    shown.push(`${key}=${value.replace(/(\/\/[^:/@\s]*:)[^@\s]+@/, '$1***@')}${origin ? ` (${origin})` : ''}`);
  }
  return shown.join(' ');
}

/**
 * When the lesson's timers are short and the learner kept them, how to slow them down: a run is
 * watched by a person, and ten pings a second scroll past faster than anyone reads.
 */
export function slowerTimersTip(lesson: Lesson, shell: ShellEnv): string | undefined {
  // Timers only, named in milliseconds: a limit such as POOL_SIZE or RATE_LIMIT is no clock to slow down.
  const kept = Object.entries(lesson.env ?? {}).filter(([key, value]) => /_MS$/.test(key) && shell[key] === undefined && /^\d+$/.test(value));
  if (kept.length === 0) return undefined;
  const values = kept.map(([key, value]) => `${key}=${value}`).join(' and ');
  const slower = kept.map(([key, value]) => `${key}=${Number(value) * 10}`).join(' ');
  return `${values} ${kept.length > 1 ? 'are' : 'is'} short so that verify is quick. To watch at a human pace, set your own in your shell: ${slower} wsw run`;
}
