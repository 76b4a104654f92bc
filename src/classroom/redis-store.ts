import { Redis } from 'ioredis';
import type { ClassEvent, ClassIdentity, ClassStore } from './class-store.ts';

/** The names every class server of one class shares in Redis. */
function names(prefix: string) {
  return { identity: `${prefix}:identity`, events: `${prefix}:events`, channel: `${prefix}:appended` };
}

/**
 * A class in Redis, shared by every class server started with the same --redis: the identity in one
 * key (created with SET NX, so servers starting together agree on one class), the changes in one list
 * (RPUSH gives them a single order across servers), and a pub/sub message after each append so the
 * other servers read the new changes at once and put them on their own dashboards' feeds — the
 * pattern lesson 07 teaches.
 */
export class RedisStore implements ClassStore {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly keys: ReturnType<typeof names>;
  private readonly listeners: Array<() => void> = [];

  constructor(url: string, prefix = 'wsw-class') {
    this.keys = names(prefix);
    // Commands wait while Redis is briefly away rather than fail at once; a request that cannot be
    // kept fails after its retries, and the learner's outbox keeps the report.
    this.redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, connectionName: 'wsw-class' });
    this.subscriber = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, connectionName: 'wsw-class-feed' });
    // ioredis reconnects by itself; an error event without a listener would end the process.
    this.redis.on('error', () => {});
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', () => {
      for (const listener of this.listeners) listener();
    });
  }

  async load(): Promise<{ identity: ClassIdentity; events: ClassEvent[] } | undefined> {
    await Promise.all([this.redis.connect(), this.subscriber.connect()]);
    await this.subscriber.subscribe(this.keys.channel);
    const identity = await this.redis.get(this.keys.identity);
    if (!identity) return undefined;
    return { identity: JSON.parse(identity) as ClassIdentity, events: await this.since(0) };
  }

  async create(identity: ClassIdentity): Promise<ClassIdentity> {
    const created = await this.redis.set(this.keys.identity, JSON.stringify(identity), 'NX');
    if (created) return identity;
    return JSON.parse((await this.redis.get(this.keys.identity))!) as ClassIdentity;
  }

  async append(event: ClassEvent): Promise<void> {
    await this.redis.rpush(this.keys.events, JSON.stringify(event));
    // Only a nudge: the list is the truth, read in order by each server.
    await this.redis.publish(this.keys.channel, '1');
  }

  private async since(from: number): Promise<ClassEvent[]> {
    const lines = await this.redis.lrange(this.keys.events, from, -1);
    return lines.map((line) => JSON.parse(line) as ClassEvent);
  }

  readonly shared = {
    since: (from: number) => this.since(from),
    onAppend: (listener: () => void) => void this.listeners.push(listener),
  };

  async close(): Promise<void> {
    this.redis.disconnect();
    this.subscriber.disconnect();
  }
}
