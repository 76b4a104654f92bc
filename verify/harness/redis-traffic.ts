import type { Redis } from 'ioredis';
import { previewText } from './frames.ts';
import type { RedisForVerification } from './redis-server.ts';
import type { Verification } from './session.ts';

/** A pub/sub command that went through Redis. */
export interface RedisCommand {
  /** Upper case: SUBSCRIBE, PUBLISH, PSUBSCRIBE, UNSUBSCRIBE… */
  name: string;
  /** The channel (or pattern) it names; a SUBSCRIBE to several gives one command per channel. */
  channel: string;
  /** What a PUBLISH carried. */
  payload?: string;
  /** The connection that sent it, as Redis sees it (`127.0.0.1:51234`); unknown without MONITOR. */
  from?: string;
}

const PUBSUB_COMMANDS = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'PUBLISH']);

/**
 * Watches what goes through Redis, so a transcript can show it beside what the clients saw:
 * `[redis] server A → PUBLISH chat {…}`. It opens a MONITOR connection of its own; when the Redis
 * refuses MONITOR (a managed one may), it subscribes to the channel instead and sees only what is
 * published, not who published it.
 *
 * Lines are held until `show()`, so that a verifier writes them at defined points of its story (after
 * a client's send, before the relays are read) and the transcript reads the same on every run. With
 * `live`, lines are written as commands arrive (for `run`).
 */
export class RedisTraffic {
  /** Every command seen, oldest first. */
  readonly commands: RedisCommand[] = [];
  /** Subscribers to the channel the watcher adds itself: 1 when it had to subscribe instead of MONITOR. */
  ownSubscribers = 0;
  private shown = 0;
  private readonly names = new Map<string, string>();
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly v: Verification,
    /** The channel this run's programs use. */
    readonly channel: string,
    /** When false, only commands on `channel` are kept (the Redis is shared with other runs). */
    private readonly allChannels: boolean,
    private readonly live: boolean,
    private readonly decode = false,
  ) {}

  /**
   * Starts watching `channel` on `redis`. Resolves once the watch is in place. With `decode`, channels
   * and payloads are kept as the text that was sent (see fromMonitorRepr), not as MONITOR prints them.
   */
  static async watch(v: Verification, redis: RedisForVerification, channel: string, options: { live?: boolean; decode?: boolean } = {}): Promise<RedisTraffic> {
    const traffic = new RedisTraffic(v, channel, redis.source === 'started', options.live ?? false, options.decode ?? false);
    const connection = redis.connect();
    try {
      const monitor: Redis = await connection.monitor();
      monitor.on('error', () => {});
      v.defer(() => monitor.disconnect());
      monitor.on('monitor', (_time: string, args: string[], source: string) => traffic.seen(args, source));
    } catch {
      // No MONITOR here: a subscription of our own still sees every message on the channel.
      const subscriber = redis.connect();
      await subscriber.subscribe(channel);
      traffic.ownSubscribers = 1;
      subscriber.on('message', (_channel: string, payload: string) => traffic.add({ name: 'PUBLISH', channel, payload }));
      v.note(`This Redis does not allow MONITOR: [redis] lines show what was published on ${channel}, not who published it`);
    }
    return traffic;
  }

  private seen(raw: string[], source: string): void {
    const args = this.decode ? raw.map(fromMonitorRepr) : raw;
    const name = args[0]?.toUpperCase() ?? '';
    if (!PUBSUB_COMMANDS.has(name)) return;
    if (name === 'PUBLISH') this.add({ name, channel: args[1] ?? '', payload: args[2] ?? '', from: source });
    else for (const channel of args.slice(1)) this.add({ name, channel, from: source });
  }

  private add(command: RedisCommand): void {
    if (!this.allChannels && command.channel !== this.channel) return;
    this.commands.push(command);
    if (this.live) this.show();
    for (const wake of this.waiters) wake();
  }

  /** How many PUBLISH commands on the channel so far. */
  get publishes(): number {
    return this.onChannel('PUBLISH').length;
  }

  /** The PUBLISH commands on the channel, oldest first. */
  get published(): RedisCommand[] {
    return this.onChannel('PUBLISH');
  }

  /** Commands of one kind on the watched channel. */
  onChannel(name: string): RedisCommand[] {
    return this.commands.filter((c) => c.name === name && c.channel === this.channel);
  }

  /** Resolves true as soon as `condition` holds (checked now and after each command), false after `timeoutMs`. */
  async until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.nextCommand(left);
    }
    return true;
  }

  /** Resolves when the next command arrives, or after `timeoutMs`. */
  nextCommand(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.waiters.add(wake);
    });
  }

  /** From now on, lines show the connection at `from` by this name (`server A`). */
  name(from: string, as: string): void {
    this.names.set(from, as);
  }

  /** The name given to a connection, if any. */
  nameOf(from: string | undefined): string | undefined {
    return from === undefined ? undefined : this.names.get(from);
  }

  /**
   * Writes the lines of every command not shown yet. A PUBLISH from a connection that has no name yet
   * is taken to come from `publisher`, the server whose client has just spoken, and named so.
   */
  show(publisher?: string): void {
    for (const command of this.commands.slice(this.shown)) {
      if (publisher && command.name === 'PUBLISH' && command.from && !this.names.has(command.from)) this.name(command.from, publisher);
      const who = this.nameOf(command.from) ?? command.from;
      const what = `${command.name} ${command.channel}${command.payload === undefined ? '' : ` ${previewText(command.payload)}`}`;
      this.v.transcript.add({ kind: 'client', name: 'redis' }, who ? `${who} → ${what}` : what);
    }
    this.shown = this.commands.length;
  }
}

/**
 * The text an argument of a MONITOR line stands for. MONITOR prints each argument as Redis quotes it:
 * `\\` for a backslash, `\n`, `\r`, `\t`, `\a`, `\b`, and `\xHH` for every other byte that is not
 * printable ASCII (so `é` arrives as `\xc3\xa9`); ioredis has already turned `\"` back into `"`.
 * The bytes are read back, and decoded as UTF-8.
 */
export function fromMonitorRepr(arg: string): string {
  if (!arg.includes('\\')) return arg;
  const bytes: number[] = [];
  const simple: Record<string, number> = { '\\': 0x5c, '"': 0x22, n: 0x0a, r: 0x0d, t: 0x09, a: 0x07, b: 0x08 };
  for (let i = 0; i < arg.length; i++) {
    const c = arg.charCodeAt(i);
    if (c !== 0x5c || i + 1 === arg.length) {
      bytes.push(...Buffer.from(arg[i]!, 'utf8'));
      continue;
    }
    const next = arg[i + 1]!;
    if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(arg.slice(i + 2, i + 4))) {
      bytes.push(parseInt(arg.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (next in simple) {
      bytes.push(simple[next]!);
      i += 1;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
