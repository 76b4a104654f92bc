/**
 * Lesson 07 in `wsw run`: two servers that share a chat through a Redis channel. A message published
 * before a server has subscribed never reaches that server's clients, so the first client waits until
 * every server has subscribed; otherwise the learner's first message could vanish for no fault of
 * theirs. Redis is asked how many connections hear the channel (PUBSUB NUMSUB), and asked again each
 * time a SUBSCRIBE goes through it (seen on a MONITOR connection, as the verifier watches it).
 */
import { Redis } from 'ioredis';
import { VERIFIER_CONNECTION_NAME } from '../../verify/harness/redis-server.ts';
import type { RunningServer } from '../../verify/harness/session.ts';
import type { RunSession } from './run-session.ts';

/** Without MONITOR (a managed Redis may refuse it), how often to ask again. */
const ASK_EVERY_MS = 50;
/** With MONITOR, how often to ask all the same, in case a wake came between two questions. */
const ASK_AGAIN_WATCHING_MS = 250;

/** The Redis and channel that every server of the run was given, if they share one and there are several. */
export function sharedChannel(session: RunSession): { url: string; channel: string } | undefined {
  const envs = session.servers.map((server: RunningServer) => session.envOf.get(server));
  if (envs.length < 2) return undefined;
  const [first] = envs;
  const url = first?.REDIS_URL;
  const channel = first?.CHAT_CHANNEL;
  if (!url || !channel || envs.some((env) => env?.REDIS_URL !== url || env?.CHAT_CHANNEL !== channel)) return undefined;
  return { url, channel };
}

/**
 * Waits until each server hears the channel it shares with the others, at most the time a server may
 * take to start, and says so either way: a server that never subscribes is the learner's to fix, and
 * the run goes on. Does nothing for a run whose servers share no channel. Rejects when a server exits.
 */
export async function waitForSubscribers(session: RunSession): Promise<void> {
  const shared = sharedChannel(session);
  if (!shared) return;
  const { url, channel } = shared;
  const servers = session.servers.length;
  const everyone = servers === 2 ? 'both servers' : `all ${servers} servers`;
  session.note(`Waiting until ${everyone} have subscribed to ${channel}: Redis passes a message only to those already subscribed`);
  const admin = connect(session, url);
  const subscribed = await subscribeWatch(session, admin);
  // Where MONITOR is refused, the [redis] lines come from a subscription of the run's own to the
  // channel (see RedisTraffic): one subscriber that is not a server.
  const ownSubscribers = subscribed.watching ? 0 : 1;
  const count = async () => Number((await admin.pubsub('NUMSUB', channel))[1] ?? 0) - ownSubscribers;
  const deadline = Date.now() + session.timeouts.startMs;
  const waiting = (async () => {
    let heard = await count();
    while (heard < servers && Date.now() < deadline) {
      // A SUBSCRIBE wakes the watch at once; Redis is asked again after a while all the same, so that a
      // wake that came between two questions is never waited out to the deadline.
      await subscribed.next(Math.min(subscribed.watching ? ASK_AGAIN_WATCHING_MS : ASK_EVERY_MS, deadline - Date.now()));
      heard = await count();
    }
    return heard;
  })().catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  const heard = await Promise.race([waiting, session.programGone]).finally(() => subscribed.stop());
  if (heard instanceof Error) {
    session.note(`Could not ask Redis who has subscribed (${heard.message}): the first client connects without waiting`);
    return;
  }
  if (heard >= servers) {
    session.note(`${capital(everyone)} have subscribed to ${channel}: what one publishes there now reaches the other${servers > 2 ? 's' : ''}`);
  } else {
    session.note(
      `Only ${Math.max(0, heard)} of the ${servers} servers subscribed to ${channel} within ${session.timeouts.startMs} ms: until each does, a message stays on the server it reached. wsw verify says what is missing.`,
    );
  }
}

/** A connection of the run's own, named as the verifier's are, closed at the end. */
function connect(session: RunSession, url: string): Redis {
  const connection = new Redis(url, { connectionName: VERIFIER_CONNECTION_NAME, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 2000 });
  connection.on('error', () => {});
  session.defer(() => connection.disconnect());
  return connection;
}

/**
 * Resolves `next` when a SUBSCRIBE goes through Redis (or after `timeoutMs`). `watching` is false
 * when this Redis refuses MONITOR: then only the timeout wakes it.
 */
async function subscribeWatch(session: RunSession, admin: Redis): Promise<{ watching: boolean; next: (timeoutMs: number) => Promise<void>; stop: () => void }> {
  const wakers = new Set<() => void>();
  let monitor: Redis | undefined;
  try {
    monitor = await admin.monitor();
    monitor.on('error', () => {});
    session.defer(() => monitor?.disconnect());
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (/^p?subscribe$/i.test(args[0] ?? '')) for (const wake of wakers) wake();
    });
  } catch {
    monitor = undefined;
  }
  return {
    watching: monitor !== undefined,
    next: (timeoutMs) =>
      new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, timeoutMs));
        wakers.add(wake);
      }),
    stop: () => {
      monitor?.disconnect();
      for (const wake of wakers) wake();
    },
  };
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
