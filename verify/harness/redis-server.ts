import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import { Redis } from 'ioredis';
import { CannotJudge } from './failure.ts';
import { findOnPath } from './find-on-path.ts';
import { freePort } from './ports.ts';
import type { Verification } from './session.ts';

/** Codes of the verdicts "cannot judge" that come from Redis, not from the learner's code. */
export const RedisCodes = {
  /** Neither REDIS_URL nor redis-server on PATH: there is no Redis to verify against. */
  UNAVAILABLE: 'REDIS_UNAVAILABLE',
  /** REDIS_URL is set but does not answer PING. */
  UNREACHABLE: 'REDIS_UNREACHABLE',
  /** redis-server is installed but would not start. */
  START_FAILED: 'REDIS_START_FAILED',
} as const;

/**
 * The name (CLIENT SETNAME) of every connection the verifier opens, so that CLIENT LIST tells them
 * apart from the learner's.
 */
export const VERIFIER_CONNECTION_NAME = 'wsw-verifier';

const HOW_TO_GET_REDIS =
  'Install it so that redis-server is on your PATH (apt-get install redis-server, or brew install redis), ' +
  'or set REDIS_URL to a Redis you may use, e.g. REDIS_URL=redis://127.0.0.1:6379.';
const READY_TIMEOUT_MS = 5000;
const PROBE_EVERY_MS = 20;
const STOP_GRACE_MS = 1000;
const START_ATTEMPTS = 3;

/** The Redis one verification (or one `run`) works with. */
export interface RedisForVerification {
  /** What the learner's program gets as REDIS_URL. */
  url: string;
  /**
   * `started`: a redis-server of this verification's own, on a free port, stopped at teardown: nobody
   * else uses it. `REDIS_URL`: the one named by the verifier's own environment, which other
   * verifications (a class of learners) may use at the same time.
   */
  source: 'started' | 'REDIS_URL';
  /**
   * Empty for a Redis of its own. For a shared one, a suffix unique to this verification (`:5f3a9c1e`):
   * append it to every channel and key name the learner's program is given, so that runs sharing one
   * Redis never hear each other. (Pub/sub channels are global: a database number does not separate them.)
   */
  isolation: string;
  /** Opens a connection of the verifier's own, named VERIFIER_CONNECTION_NAME, closed at teardown. */
  connect(): Redis;
}

/** True when a Redis can be had: REDIS_URL is set, or redis-server is on PATH. For test suites to skip on. */
export function redisAvailable(): boolean {
  return Boolean(process.env.REDIS_URL) || findOnPath('redis-server') !== undefined;
}

/**
 * Gives one verification a real Redis (never a mock). When the verifier's own environment sets
 * REDIS_URL, that Redis is used, after a PING; `isolation` then says how to keep this run apart from
 * others on it. Otherwise redis-server is started from PATH on a free port, persisting nothing, and
 * stopped with the verification (through `v.defer`). Readiness is a PING answered, never a sleep.
 * Throws CannotJudge (verify exits 2) when there is no Redis at all, saying how to get one.
 */
export async function provideRedis(v: Verification): Promise<RedisForVerification> {
  const shared = process.env.REDIS_URL;
  if (shared) {
    v.note('Using the Redis at REDIS_URL from your environment, shared: this run keeps to channels of its own');
    const redis = handle(v, shared, 'REDIS_URL', `:${randomBytes(4).toString('hex')}`);
    const probe = redis.connect();
    try {
      await probe.ping();
    } catch (error) {
      throw new CannotJudge({
        code: RedisCodes.UNREACHABLE,
        message: `REDIS_URL is set to ${shared}, but that Redis does not answer: ${(error as Error).message.replace(/\.$/, '')}.`,
        hint:
          'Start that Redis, or correct REDIS_URL. Or unset it: the verifier then starts a redis-server of its own ' +
          '(apt-get install redis-server, or brew install redis).',
      });
    } finally {
      probe.disconnect();
    }
    return redis;
  }
  const binary = findOnPath('redis-server');
  if (!binary) {
    throw new CannotJudge({
      code: RedisCodes.UNAVAILABLE,
      message: 'This lesson needs a real Redis, and none was found: redis-server is not on your PATH and REDIS_URL is not set.',
      hint: HOW_TO_GET_REDIS,
    });
  }
  const url = await startRedisServer(v, binary);
  return handle(v, url, 'started', '');
}

function handle(v: Verification, url: string, source: RedisForVerification['source'], isolation: string): RedisForVerification {
  return {
    url,
    source,
    isolation,
    connect() {
      const connection = new Redis(url, {
        connectionName: VERIFIER_CONNECTION_NAME,
        // A verifier's connection fails fast rather than retrying behind the story's back.
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
        connectTimeout: 2000,
      });
      connection.on('error', () => {});
      v.defer(() => connection.disconnect());
      return connection;
    },
  };
}

/** redis-server processes still running, so that even an abrupt exit of the verifier takes them down. */
const liveServers = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveServers) child.kill('SIGKILL');
});

/** Starts redis-server on a free port and resolves with its URL once it answers PING. */
async function startRedisServer(v: Verification, binary: string): Promise<string> {
  let lastOutput = '';
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = await freePort();
    const started = Date.now();
    v.note(`Starting redis-server on 127.0.0.1:${port}, a Redis of this run's own that keeps nothing on disk`);
    const child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
      cwd: os.tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveServers.add(child);
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (error) => {
        keep(Buffer.from(error.message));
        resolve();
      });
    });
    void exited.then(() => liveServers.delete(child));
    v.defer(() => stopChild(child, exited));

    if (await answersPing(port, exited, READY_TIMEOUT_MS)) {
      v.note(`Redis answers PING (ready in ${Date.now() - started} ms)`);
      return `redis://127.0.0.1:${port}`;
    }
    await stopChild(child, exited);
    lastOutput = output.trim();
    // Another process may have taken the port between freePort() and redis-server's bind: try another.
    if (!/address already in use/i.test(lastOutput)) break;
  }
  throw new CannotJudge({
    code: RedisCodes.START_FAILED,
    message: `redis-server did not start.${lastOutput ? ` It said: ${lastOutput.split('\n').slice(-3).join(' ')}` : ''}`,
    hint: `Check that \`redis-server --version\` works in your terminal. ${HOW_TO_GET_REDIS}`,
  });
}

/** Probes 127.0.0.1:port with PING until +PONG comes back, the process exits, or time runs out. */
async function answersPing(port: number, exited: Promise<void>, timeoutMs: number): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  while (!gone && Date.now() < deadline) {
    if (await pingOnce(port)) return true;
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS))]);
  }
  return false;
}

/** One PING over a raw connection: true when Redis answers +PONG. */
function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}
