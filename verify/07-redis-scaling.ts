/**
 * Lesson 07 — two servers, one chat. The story: a real Redis runs; two instances of the learner's chat
 * server start with the same REDIS_URL and CHAT_CHANNEL; alice, bob and alice2 (alice again, in a
 * second tab) connect to server A, carol, dave and bob2 to server B. Both servers subscribe, once each.
 * Whoever speaks, first, middle or last on either server, reaches every other client once, and never
 * itself; a burst keeps its order; any text arrives as sent; extra fields go no further than the server
 * they reached; bad input is answered, to its sender alone, and never published; what else arrives on
 * the channel, or on the channel next door, reaches no one. A crowd comes and goes, and the servers
 * still hold one subscription each. Last, server A stops and server C starts on its port: it must take
 * what A published for another instance's, as a pod on another host would. Beside what the clients
 * see, the transcript shows what went through Redis: `[redis] server A → PUBLISH …`.
 */
import fs from 'node:fs';
import type { Redis } from 'ioredis';
import { leaveHalfClosed } from './harness/half-closed-client.ts';
import { provideRedis, VERIFIER_CONNECTION_NAME, type RedisForVerification } from './harness/redis-server.ts';
import { RedisTraffic, type RedisCommand } from './harness/redis-traffic.ts';
import {
  defineRules,
  describeFrame,
  HarnessCodes,
  previewText,
  VerifyFailure,
  type Frame,
  type LessonVerifier,
  type PrepareRun,
  type RuleId,
  type RunningServer,
  type TestClient,
  type Verification,
} from './harness/index.ts';
import { asObject, delay, parseJson } from './harness/json.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  REDIS_NOT_USED: 'SCALING_REDIS_NOT_USED',
  REDIS_URL_IGNORED: 'SCALING_REDIS_URL_IGNORED',
  NOT_SUBSCRIBED: 'SCALING_NOT_SUBSCRIBED',
  OTHER_CHANNEL_RELAYED: 'SCALING_OTHER_CHANNEL_RELAYED',
  PUBLISH_ON_SUBSCRIBER: 'SCALING_PUBLISH_ON_SUBSCRIBER',
  SUBSCRIPTION_PER_CLIENT: 'SCALING_SUBSCRIPTION_PER_CLIENT',
  HANDLER_PER_CLIENT: 'SCALING_HANDLER_PER_CLIENT',
  PUBLISHER_PER_MESSAGE: 'SCALING_PUBLISHER_PER_MESSAGE',
  NOT_PUBLISHED: 'SCALING_NOT_PUBLISHED',
  PUBLISHED_TWICE: 'SCALING_PUBLISHED_TWICE',
  PUBLISHED_AS_SENT: 'SCALING_PUBLISHED_AS_SENT',
  LOCAL_MISSED: 'SCALING_LOCAL_MISSED',
  NOT_ACROSS: 'SCALING_NOT_ACROSS',
  SENT_TO_CLOSING_SOCKET: 'SCALING_SENT_TO_CLOSING_SOCKET',
  DUPLICATE: 'SCALING_DUPLICATE',
  ECHOED_TO_SENDER: 'SCALING_ECHOED_TO_SENDER',
  UNEXPECTED_FRAME: 'SCALING_UNEXPECTED_FRAME',
  WRONG_SHAPE: 'SCALING_WRONG_SHAPE',
  WRONG_SENDER: 'SCALING_WRONG_SENDER',
  TEXT_CHANGED: 'SCALING_TEXT_CHANGED',
  OUT_OF_ORDER: 'SCALING_OUT_OF_ORDER',
  NO_ERROR_REPLY: 'SCALING_NO_ERROR_REPLY',
  BAD_INPUT_RELAYED: 'SCALING_BAD_INPUT_RELAYED',
  BAD_INPUT_PUBLISHED: 'SCALING_BAD_INPUT_PUBLISHED',
  CRASHED_ON_BAD_INPUT: 'SCALING_CRASHED_ON_BAD_INPUT',
  CHANNEL_JUNK_RELAYED: 'SCALING_CHANNEL_JUNK_RELAYED',
  CRASHED_ON_CHANNEL_JUNK: 'SCALING_CRASHED_ON_CHANNEL_JUNK',
  ID_NOT_UNIQUE: 'SCALING_ID_NOT_UNIQUE',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: { text: 'Connect to the Redis at `process.env.REDIS_URL`.', codes: [Codes.REDIS_NOT_USED, Codes.REDIS_URL_IGNORED] },
  R3: { text: 'Subscribe to the channel in `process.env.CHAT_CHANNEL`, and to no other.', codes: [Codes.NOT_SUBSCRIBED, Codes.OTHER_CHANNEL_RELAYED] },
  R4: {
    text: 'Open two Redis connections per instance, when it starts: one subscribes, once; the other publishes every message.',
    codes: [Codes.PUBLISH_ON_SUBSCRIBER, Codes.SUBSCRIPTION_PER_CLIENT, Codes.HANDLER_PER_CLIENT, Codes.PUBLISHER_PER_MESSAGE],
  },
  R5: {
    text: 'Publish each chat message once, on `CHAT_CHANNEL`, as a message you build: never the text the client sent.',
    codes: [Codes.NOT_PUBLISHED, Codes.PUBLISHED_TWICE, Codes.PUBLISHED_AS_SENT],
  },
  R6: {
    text: 'Every other **open** client gets the relay, on both instances: the sender\'s neighbours directly, the other instance\'s clients through Redis.',
    codes: [Codes.LOCAL_MISSED, Codes.NOT_ACROSS, Codes.SENT_TO_CLOSING_SOCKET],
  },
  R7: {
    text: 'Each client gets each relay **exactly once**, and the sender never gets its own back.',
    codes: [Codes.DUPLICATE, Codes.ECHOED_TO_SENDER, Codes.UNEXPECTED_FRAME],
  },
  R8: {
    text: 'The relay is lesson 03\'s, these fields only: `{"type":"chat","sender":…,"message":…}`, where `sender` is the `username`, or `"Anonymous"` when it is missing or empty.',
    codes: [Codes.WRONG_SHAPE, Codes.WRONG_SENDER],
  },
  R9: { text: '`message` arrives exactly as it was sent.', codes: [Codes.TEXT_CHANGED] },
  R10: { text: "One sender's messages reach everyone in the order they were sent.", codes: [Codes.OUT_OF_ORDER] },
  R11: {
    text: 'Anything that is not a chat message gets `{"type":"error","message":"…"}` back, to its sender alone, and is neither relayed nor published; the server stays up.',
    codes: [Codes.NO_ERROR_REPLY, Codes.BAD_INPUT_RELAYED, Codes.BAD_INPUT_PUBLISHED, Codes.CRASHED_ON_BAD_INPUT],
  },
  R12: {
    text: 'Whatever else arrives on the channel is passed on to no one, and crashes nothing.',
    codes: [Codes.CHANNEL_JUNK_RELAYED, Codes.CRASHED_ON_CHANNEL_JUNK],
  },
  R13: {
    text: 'Recognise your own messages by an id no other instance has: `INSTANCE_ID`, or one made at start-up.',
    codes: [Codes.ID_NOT_UNIQUE],
  },
});

/** After the last relay expected, how long to listen for one that should not come (a duplicate, an echo). */
const SILENCE_MS = 100;
/** Subscribers the chat channel needs: one per server. */
const SERVERS = 2;
/** Clients that connect to each server, get one message and leave: enough for a leak to show. */
const VISITORS_PER_SERVER = 10;
/** Over 64 KiB, a WebSocket frame's length takes 8 bytes: code that assumes small messages shows here. */
const LARGE_MESSAGE = `${'ß'.repeat(50 * 1024)} end`;
/** A value only a client's extra field carries: if it reaches Redis, the client's text was published as it came. */
const EXTRA_FIELD_MARK = 'a field the server does not know';
const EMPTY_HINT =
  'An empty message is still a chat message: message is a string, "" like any other. Relay it and publish it; a check such as if (!chat.message) drops it.';
const LARGE_HINT = 'A large message must make the trip whole: no limit of your own, and nothing that cuts or splits the text on its way through Redis.';
const USERNAME_OPTIONAL_HINT =
  'username is optional: without it, or with "", the sender is "Anonymous"; with any other string, even one in another script, the sender is that string. Only a username that is there and not a string is an error.';
/** What a message round trip can break: everything from publishing to the relay each client gets. */
const ROUND_TRIP: RuleId[] = ['R4', 'R5', 'R6', 'R7', 'R8', 'R9', 'R13'];

export default (async (v) => {
  const { redis, traffic, env } = await shareRedis(v);
  const serverA = await v.start({ name: 'server A', env: { ...env, INSTANCE_ID: 'A' } });
  const serverB = await v.start({ name: 'server B', env: { ...env, INSTANCE_ID: 'B' } });
  const broker = new Broker(v, redis, traffic);
  const room = new TwoServerRoom(v, traffic, broker);
  // First, middle and last on each server; alice2 and bob2 share a username with alice and bob.
  const alice = await room.join('alice', serverA);
  const bob = await room.join('bob', serverA);
  const alice2 = await room.join('alice2', serverA, 'alice');
  const carol = await room.join('carol', serverB);
  const dave = await room.join('dave', serverB);
  const bob2 = await room.join('bob2', serverB, 'bob');

  await explained(v, traffic, async () => {
    await v.step('both servers subscribe to CHAT_CHANNEL, once each, on the Redis at REDIS_URL', ['R2', 'R3', 'R4'], async () => {
      await broker.expectSubscribers();
    });

    await v.step('alice, first on server A, reaches the five others on A and B: once each, and not herself', ROUND_TRIP, async () => {
      v.note('alice2 is alice in a second tab, and bob2 is bob on server B: same usernames, other connections');
      await room.say(alice, ['hello from A']);
      await room.expectNothingMore();
    });

    await v.step('whoever speaks, first, middle or last on either server, reaches every other client once', ROUND_TRIP, async () => {
      await room.say(carol, ['hi from B']);
      await room.say(bob, ['bob, in the middle on A']);
      await room.say(dave, ['dave, in the middle on B']);
      await room.say(alice2, ['alice again, from her second tab']);
      await room.say(bob2, ['bob again, from server B']);
      await room.expectNothingMore();
    });

    await v.step("dave's burst arrives everywhere in order, once", [...ROUND_TRIP, 'R10'], async () => {
      await room.say(dave, ['burst: one', 'burst: two', 'burst: three', 'burst: four', 'burst: five']);
      await room.expectNothingMore();
    });

    await v.step('any text arrives exactly as sent: accents, emoji, spaces at both ends, quotes, new lines, empty, 100 KiB', ROUND_TRIP, async () => {
      await room.say(bob2, ['  café — naïve  ', 'snow ☃, party 🎉, clef 𝄞', '\t漢字\n', 'a "quoted" word, a \\ backslash\nand a second line']);
      await room.say(alice2, [{ message: '', refused: { code: Codes.TEXT_CHANGED, hint: EMPTY_HINT } }]);
      await room.say(alice, [{ message: LARGE_MESSAGE, refused: { code: Codes.TEXT_CHANGED, hint: LARGE_HINT } }]);
      await room.expectNothingMore();
    });

    await v.step('the sender is the username, whatever it is, or "Anonymous" when there is none', ROUND_TRIP, async () => {
      const refused = { code: Codes.WRONG_SENDER, hint: USERNAME_OPTIONAL_HINT };
      await room.say(carol, [{ message: 'who am I?', sends: { type: 'chat', message: 'who am I?' }, sender: 'Anonymous', refused }]);
      await room.say(bob, [{ message: 'an empty name', sends: { type: 'chat', username: '', message: 'an empty name' }, sender: 'Anonymous', refused }]);
      await room.say(dave, [{ message: 'a name in any script', sends: { type: 'chat', username: 'zoë 🎉', message: 'a name in any script' }, sender: 'zoë 🎉', refused }]);
    });

    await room.survivesBadInput(() =>
      v.step('answers what is not a chat message with an error, to bob alone: nothing relayed, nothing published', ['R7', 'R11'], async () => {
        await room.sendAllBad(bob, BAD_INPUTS);
      }),
    );

    await v.step("extra fields in a chat go no further than the server it reached: not into Redis, not into the relay", ROUND_TRIP, async () => {
      // Fields the other instances would trust, had they come from a server: an origin, a sender.
      const sends = { message: 'with extra fields', origin: 'A', sender: 'mallory', note: EXTRA_FIELD_MARK, username: 'dave', type: 'chat', id: 7 };
      await room.say(dave, [{ message: 'with extra fields', sends, sender: 'dave', mustNotPublish: EXTRA_FIELD_MARK }]);
      await room.expectNothingMore();
    });

    await v.step('passes on nothing published on another channel', ['R3'], async () => {
      await room.expectOtherChannelsIgnored();
    });

    await room.survivesChannelJunk(() =>
      v.step('passes on nothing of what else arrives on the channel, and stays up', ['R12'], async () => {
        await room.expectJunkIgnored();
      }),
    );

    await v.step(
      `${2 * VISITORS_PER_SERVER} more clients come and go, two stay halfway through closing: still one subscription per server, each message once`,
      ROUND_TRIP,
      async () => {
        await room.crowdComesAndGoes(alice, carol);
      },
    );

    let erin: Member | undefined;
    await v.step('server C, started on the port server A had, is another instance: it passes on what A published', ['R3', 'R4', 'R6', 'R7', 'R13'], async () => {
      erin = await room.restartElsewhere(serverA, { ...env, INSTANCE_ID: 'C' });
    });

    await v.step('erin, alone on server C, still reaches everyone on B', ROUND_TRIP, async () => {
      // No one else on her server: a message must be published whether or not it has local listeners.
      await room.say(erin!, ['erin, alone on server C']);
      await room.expectNothingMore();
    });
  });
}) satisfies LessonVerifier;

/**
 * `wsw run`: a Redis started the same way, server A and server B on it, and the interactive client on
 * server A (run says how to open one on server B). What goes through Redis is shown as it happens.
 */
export const prepareRun: PrepareRun = async (v) => {
  const { env } = await shareRedis(v, { live: true });
  await v.start({ name: 'server A', env: { ...env, INSTANCE_ID: 'A' } });
  return { start: { name: 'server B', env: { ...env, INSTANCE_ID: 'B' } } };
};

// ── Redis: one per verification, and the environment that points the servers at it ─────────────────

interface SharedRedis {
  redis: RedisForVerification;
  traffic: RedisTraffic;
  /** What the servers get on top of the lesson's env: REDIS_URL and CHAT_CHANNEL. */
  env: Record<string, string>;
}

async function shareRedis(v: Verification, options: { live?: boolean } = {}): Promise<SharedRedis> {
  const redis = await provideRedis(v);
  const base = v.lessonEnv.CHAT_CHANNEL ?? 'chat';
  // On a Redis shared by a class, each run gets a channel of its own, so no one hears another's chat.
  // A verification on a Redis of its own gets another name than `wsw run` too: a program that writes
  // the channel's name in its code instead of reading CHAT_CHANNEL works by hand, and shows here.
  const channel = `${base}${redis.isolation || (options.live ? '' : ':verify')}`;
  // Decoded, so that what was published reads (and compares) as the text it was: é, not \xc3\xa9.
  const traffic = await RedisTraffic.watch(v, redis, channel, { ...options, decode: true });
  return { redis, traffic, env: { REDIS_URL: redis.url, CHAT_CHANNEL: channel } };
}

const BROKER_HINT =
  "Server A knows only its own sockets: carol and dave are connected to server B, another process, which no loop on A can reach. " +
  'Connect to Redis with new Redis(process.env.REDIS_URL), SUBSCRIBE one connection to process.env.CHAT_CHANNEL, and PUBLISH every chat message there with another.';

const SUBSCRIBE_ONCE_HINT =
  "Create the subscriber connection and call subscriber.subscribe(channel) once, at the top of the file, next to new WebSocketServer(): not in wss.on('connection'), and never unsubscribe when a client leaves. " +
  'A subscription belongs to the instance, not to a client: one connection hears the channel for all of them.';

/**
 * The verifier's own view of Redis, and its own voice there: how many connections hear the chat
 * channel, and a connection to publish on (as another room, another program, or another host would).
 */
class Broker {
  private readonly admin: Redis;
  private voice?: Redis;
  /** What the verifier published on the chat channel itself: not the servers' doing. */
  ownPublishes = 0;

  /** True on a Redis others use too: channels other than this run's may be theirs. */
  get shared(): boolean {
    return this.redis.source !== 'started';
  }

  constructor(
    private readonly v: Verification,
    private readonly redis: RedisForVerification,
    private readonly traffic: RedisTraffic,
  ) {
    this.admin = redis.connect();
  }

  /**
   * The connections that hear the chat channel: subscribed to it, or to a pattern that matches it
   * (PSUBSCRIBE). `repeated` names the connections that subscribed more than once; `patterns` the
   * wildcard patterns seen, which hear other channels too.
   */
  async subscribers(): Promise<{ count: number; exact: number; repeated: string[]; unsubscribed: string[]; patterns: string[] }> {
    const { channel } = this.traffic;
    const exact = Number((await this.admin.pubsub('NUMSUB', channel))[1] ?? 0) - this.traffic.ownSubscribers;
    const live = await this.liveAddresses();
    const byPattern = new Map<string, Set<string>>();
    const subscribes = new Map<string, number>();
    const unsubscribed = new Set<string>();
    for (const command of this.traffic.commands) {
      const from = command.from ?? '';
      if (command.name === 'SUBSCRIBE' && command.channel === channel) subscribes.set(from, (subscribes.get(from) ?? 0) + 1);
      if (command.name === 'UNSUBSCRIBE' && command.channel === channel) unsubscribed.add(from);
      if (command.name === 'PSUBSCRIBE' && globMatch(command.channel, channel)) {
        subscribes.set(from, (subscribes.get(from) ?? 0) + 1);
        if (!byPattern.has(from)) byPattern.set(from, new Set());
        byPattern.get(from)!.add(command.channel);
      }
      if (command.name === 'PUNSUBSCRIBE') byPattern.get(from)?.delete(command.channel);
    }
    const exactFrom = new Set(this.traffic.onChannel('SUBSCRIBE').map((c) => c.from));
    const byPatternOnly = [...byPattern].filter(([from, patterns]) => patterns.size > 0 && !exactFrom.has(from) && (!live || live.has(from)));
    const patterns = [...new Set([...byPattern.values()].flatMap((p) => [...p]).filter(hasWildcard))];
    const repeated = [...subscribes].filter(([from, n]) => from && n > 1).map(([from]) => from);
    return { count: exact + byPatternOnly.length, exact, repeated, unsubscribed: [...unsubscribed].filter(Boolean), patterns };
  }

  /** The addresses of the connections Redis has now, or nothing when it will not say (a managed Redis). */
  private async liveAddresses(): Promise<Set<string> | undefined> {
    try {
      const list = String(await this.admin.client('LIST'));
      return new Set([...list.matchAll(/\baddr=(\S+)/g)].map((m) => m[1]!));
    } catch {
      return undefined;
    }
  }

  /** How many connections to Redis are not the verifier's: the learner's servers'. */
  async learnerConnections(): Promise<number> {
    const list = String(await this.admin.client('LIST'));
    return list.split('\n').filter((line) => line.trim() && !line.includes(` name=${VERIFIER_CONNECTION_NAME} `)).length;
  }

  /** Publishes as the verifier; its lines show as `[redis] verifier → PUBLISH …`. */
  async publish(channel: string, payload: string): Promise<void> {
    if (!this.voice) {
      this.voice = this.redis.connect();
      try {
        const info = String(await this.voice.client('INFO'));
        const address = /\baddr=(\S+)/.exec(info)?.[1];
        if (address) this.traffic.name(address, 'verifier');
      } catch {
        // A Redis without CLIENT INFO: the lines show the connection's address instead.
      }
    }
    if (channel === this.traffic.channel) this.ownPublishes++;
    await this.voice.publish(channel, payload);
  }

  /**
   * Step 1. Waits until the chat channel has a subscriber per server (a readiness wait too: a message
   * published before a server has subscribed is lost to it). When it never does, says why: no Redis
   * at all, another Redis than REDIS_URL, or another channel. When it has more, says that too.
   */
  async expectSubscribers(): Promise<void> {
    const { v, traffic } = this;
    const { channel } = traffic;
    const deadline = Date.now() + v.timeouts.stepMs;
    let subscribers = await this.subscribers();
    while (subscribers.count < SERVERS && Date.now() < deadline) {
      // Woken by each SUBSCRIBE the watch sees; the short bound covers a watch that cannot see them.
      await traffic.nextCommand(Math.min(50, deadline - Date.now()));
      subscribers = await this.subscribers();
    }
    // NUMSUB can answer before the MONITOR lines of those SUBSCRIBEs have reached us: wait for them too.
    if (traffic.ownSubscribers === 0) {
      await traffic.until(() => traffic.commands.filter((c) => /^P?SUBSCRIBE$/.test(c.name)).length >= subscribers.count, 500);
    }
    traffic.show();
    if (subscribers.count >= SERVERS) {
      this.expectOneEach(subscribers, 'while six clients are connected');
      v.note(`✓ ${subscribers.count} connections subscribe to ${channel}, one per server: each listens there for what the other publishes`);
      return;
    }

    const expected = `${SERVERS} subscribers on ${channel} (CHAT_CHANNEL), one per server, within ${v.timeouts.stepMs} ms`;
    const elsewhere = [...new Set(traffic.commands.filter((c) => /^P?SUBSCRIBE$/.test(c.name) && c.channel !== channel).map((c) => c.channel))];
    // On a Redis of our own, any other connection is the learner's; on a shared one, only the code can tell.
    const connected = this.redis.source === 'started' ? (await this.learnerConnections()) > 0 : importsRedisClient(v);
    if (subscribers.count === 0 && elsewhere.length === 0) {
      // Connected to our own Redis, a program cannot be using another one.
      const evidence = this.redis.source === 'started' && connected ? undefined : hardCodedRedis(v);
      if (evidence) {
        throw v.fail({
          code: Codes.REDIS_URL_IGNORED,
          expected,
          actual: `none: your servers never connected to the Redis at REDIS_URL (${evidence})`,
          hint:
            'The verifier gives each run the Redis to use in REDIS_URL, on a port that changes every time: redis://localhost:6379 is only the default. ' +
            'Connect with new Redis(process.env.REDIS_URL), in production as here: the address of Redis is configuration, not code.',
        });
      }
      if (!connected) {
        throw v.fail({
          code: Codes.REDIS_NOT_USED,
          expected,
          actual: 'none: neither server connected to Redis, so carol and dave, on server B, could never hear alice on server A',
          hint: BROKER_HINT,
        });
      }
    }
    throw v.fail({
      code: Codes.NOT_SUBSCRIBED,
      expected,
      actual:
        `${subscribers.count === 0 ? 'none' : String(subscribers.count)}` +
        (elsewhere.length ? `; your servers subscribed to ${elsewhere.map((c) => JSON.stringify(c)).join(', ')} instead` : ''),
      hint: elsewhere.length
        ? `Every instance must use the same channel, and this run's is in process.env.CHAT_CHANNEL (${channel}): read it instead of writing a name in the code.`
        : 'Each server must SUBSCRIBE to process.env.CHAT_CHANNEL when it starts, on a connection of its own: subscriber.subscribe(channel), with a subscriber.on("message", …) listener that passes what arrives to its clients.',
    });
  }

  /**
   * After a server was replaced by another: waits until the channel has one subscriber per running
   * server again (the stopped one's subscription ends with its connection), and no more.
   */
  async expectSubscribersAgain(): Promise<void> {
    const deadline = Date.now() + this.v.timeouts.stepMs;
    let subscribers = await this.subscribers();
    while (subscribers.count !== SERVERS && Date.now() < deadline) {
      await this.traffic.nextCommand(Math.min(50, deadline - Date.now()));
      subscribers = await this.subscribers();
    }
    this.traffic.show();
    // Server C subscribes as server A did at the start; one missing now is B's, if B unsubscribed.
    this.expectNoneLost(subscribers, 'after the new server started');
    if (subscribers.count < SERVERS) {
      throw this.v.fail({
        code: Codes.NOT_SUBSCRIBED,
        expected: `${SERVERS} subscribers on ${this.traffic.channel} again, server B's and the new server's, within ${this.v.timeouts.stepMs} ms`,
        actual: String(subscribers.count),
        hint: 'Each server must SUBSCRIBE to process.env.CHAT_CHANNEL when it starts, whoever started before it.',
      });
    }
    this.expectOneEach(subscribers, 'after the new server started');
  }

  /**
   * Fails when fewer connections subscribe than there are servers and one of them sent UNSUBSCRIBE: a
   * server stopped listening when a client left. Redis may receive that UNSUBSCRIBE a while after the
   * client's close, so whichever check sees it first names it.
   */
  expectNoneLost(subscribers: Awaited<ReturnType<Broker['subscribers']>>, when: string): void {
    if (subscribers.count >= SERVERS || subscribers.unsubscribed.length === 0) return;
    throw this.v.fail({
      code: Codes.SUBSCRIPTION_PER_CLIENT,
      expected: `${SERVERS} connections subscribed to ${this.traffic.channel} ${when}: one per server`,
      actual: `${subscribers.count}: ${subscribers.unsubscribed.join(', ')} sent UNSUBSCRIBE (see the lines above)`,
      hint: `A subscription belongs to the server, not to a client: a server that unsubscribes when a client leaves stops hearing every other instance. ${SUBSCRIBE_ONCE_HINT}`,
    });
  }

  /** Fails unless each server holds exactly one subscription, made once. `when` says at what point of the story. */
  expectOneEach(subscribers: Awaited<ReturnType<Broker['subscribers']>>, when: string): void {
    const { channel } = this.traffic;
    this.expectNoneLost(subscribers, when);
    if (subscribers.count > SERVERS) {
      throw this.v.fail({
        code: Codes.SUBSCRIPTION_PER_CLIENT,
        expected: `${SERVERS} connections subscribed to ${channel} ${when}: one per server`,
        actual: `${subscribers.count}: your servers open a subscriber connection per client (or more than one each)`,
        hint:
          'Every subscribed connection gets its own copy of every message, and each copy is passed on: with a subscriber per client, each client hears everything as many times as there are clients. ' +
          SUBSCRIBE_ONCE_HINT,
      });
    }
    const [again] = subscribers.repeated;
    if (again) {
      const times = this.traffic.commands.filter((c) => c.from === again && /^P?SUBSCRIBE$/.test(c.name)).length;
      throw this.v.fail({
        code: Codes.SUBSCRIPTION_PER_CLIENT,
        expected: `each server to SUBSCRIBE to ${channel} once, when it starts`,
        actual: `the connection ${again} sent SUBSCRIBE ${times} times: once more for every client that connected`,
        hint: `Redis keeps one subscription per connection, so the repeats do nothing but cost a round trip each; the listener that usually comes with them is worse: every message is then handled once per client. ${SUBSCRIBE_ONCE_HINT}`,
      });
    }
  }
}

/** True when the learner's file imports a Redis client (a line of code, not a comment). */
function importsRedisClient(v: Verification): boolean {
  return /^\s*(import\b[^\n]*\bfrom\s+|[^/\n]*\brequire\()['"](ioredis|redis)['"]/m.test(learnerSource(v));
}

function learnerSource(v: Verification): string {
  try {
    return fs.readFileSync(v.file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Signs that the program talks to some other Redis than REDIS_URL: a connection error naming the
 * default port in its output, or an address written in its code. Returns what was found, or nothing.
 */
function hardCodedRedis(v: Verification): string | undefined {
  const output = programOutput(v);
  const refused = /\b(ECONNREFUSED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH)\s+(\S+)/.exec(output);
  if (refused && /6379|redis/i.test(output)) return `they tried ${refused[2]} instead, and got ${refused[1]}`;
  const literal = /['"`](rediss?:\/\/[^'"`]*)['"`]|new\s+(?:IO)?Redis\(\s*\)|\b6379\b/.exec(learnerSource(v));
  if (!literal) return undefined;
  return literal[1] ? `your code connects to ${literal[1]}` : 'your code connects to a Redis of its choosing';
}

// ── What the room is told: chats, and input that is not one ─────────────────────────────────────────

/** One chat message a client sends, and the relay every other client must get for it. */
interface Chat {
  /** The text, distinct from every other said in the story. */
  message: string;
  /** What the client sends, as JSON; by default `{"type":"chat","username":…,"message":…}`. */
  sends?: Record<string, unknown>;
  /** The relay's sender; by default the client's username. */
  sender?: string;
  /** A text that must not appear in anything published for this chat (a client's extra field). */
  mustNotPublish?: string;
  /** When the server answers this chat with an error instead of passing it on: the slip that names. */
  refused?: { code: string; hint: string };
}

/** A message that is not a chat message, and the nudge a server that mishandles it needs. */
interface BadInput {
  text: string;
  what: string;
  hint: string;
}

const NOT_JSON_HINT =
  'JSON.parse throws on text that is not JSON, and an exception in a \'message\' handler ends the whole process. Catch it, answer {"type":"error","message":"…"} on that socket, and publish nothing.';
const NOT_OBJECT_HINT =
  'JSON.parse also accepts null, numbers, strings and arrays. Check that you have an object (typeof value === "object", not null, not an array) before reading its fields, and answer anything else with {"type":"error","message":"…"}.';
const SHAPE_HINT =
  'Valid JSON is not yet a chat message: type must be "chat" and message a string. Answer anything else with {"type":"error","message":"…"}, and neither relay nor publish it.';
const USERNAME_HINT =
  'username is optional, but when it is there it must be a string: 42, null or an array is an error, not a name. Check typeof username === "string" when it is not undefined.';

/** Everything bob sends that is not a chat message. Each must get an error back; none may go further. */
const BAD_INPUTS: BadInput[] = [
  { text: 'hello? {this is not json', what: 'text that is not JSON', hint: NOT_JSON_HINT },
  { text: '', what: 'an empty message', hint: NOT_JSON_HINT },
  { text: '{"type":"chat","username":"bob","message":"cut short"', what: 'JSON cut short', hint: NOT_JSON_HINT },
  { text: 'null', what: 'null', hint: NOT_OBJECT_HINT },
  { text: '42', what: 'a number', hint: NOT_OBJECT_HINT },
  { text: '"chat"', what: 'a JSON string', hint: NOT_OBJECT_HINT },
  { text: '[{"type":"chat","username":"bob","message":"in an array"}]', what: 'an array holding a chat message', hint: NOT_OBJECT_HINT },
  { text: `${'['.repeat(10000)}${']'.repeat(10000)}`, what: '10,000 nested arrays', hint: NOT_OBJECT_HINT },
  { text: '{}', what: 'an object without a type', hint: SHAPE_HINT },
  { text: '{"type":"shout","username":"bob","message":"HEY"}', what: 'a type other than "chat"', hint: SHAPE_HINT },
  { text: '{"type":"Chat","username":"bob","message":"a capital C"}', what: '"Chat", which is not "chat"', hint: SHAPE_HINT },
  { text: '{"__proto__":{"type":"chat","message":"through the prototype"}}', what: 'a "__proto__" field holding a chat message', hint: SHAPE_HINT },
  { text: '{"type":{"toString":null},"username":"bob","message":"print my type"}', what: 'a type that is an object String() cannot print', hint: SHAPE_HINT },
  { text: '{"type":"chat","username":"bob"}', what: 'a chat without a message', hint: SHAPE_HINT },
  { text: '{"type":"chat","username":"bob","message":42}', what: 'a message that is a number', hint: SHAPE_HINT },
  { text: '{"type":"chat","username":"bob","message":null}', what: 'a message that is null', hint: SHAPE_HINT },
  { text: '{"type":"chat","username":"bob","message":["a","b"]}', what: 'a message that is an array', hint: SHAPE_HINT },
  { text: '{"type":"chat","username":"bob","message":{"text":"hi"}}', what: 'a message that is an object', hint: SHAPE_HINT },
  { text: '{"type":"chat","username":42,"message":"a number for a name"}', what: 'a username that is a number', hint: USERNAME_HINT },
  { text: '{"type":"chat","username":null,"message":"null for a name"}', what: 'a username that is null', hint: USERNAME_HINT },
  { text: '{"type":"chat","username":["bob"],"message":"an array for a name"}', what: 'a username that is an array', hint: USERNAME_HINT },
];

// ── The chat room, spread over two servers ───────────────────────────────────────────────────────────

/** A relay as every client must receive it. */
interface Relay {
  sender: string;
  message: string;
}

/** A client of the room: its connection, the username it chats under, and its server. */
interface Member {
  client: TestClient;
  username: string;
  server: RunningServer;
  /** Set once the client has left, or its server has stopped: it expects nothing more. */
  gone: boolean;
  /** One of the crowd that comes and goes: its frames are not written into the transcript. */
  visitor: boolean;
}

/** What a server published for one chat message. */
interface Publication {
  server: string;
  sender: string;
  message: string;
  payload: string;
}

/**
 * The room as the verifier sees it: who is on which server, who said what, what each server
 * published, and what each client has received, so that anything arriving where it should not (a
 * second copy, an echo, a bad message) can be named.
 */
class TwoServerRoom {
  private readonly members: Member[] = [];
  /** Each chat message said (all distinct) → who said it. */
  private readonly said = new Map<string, Member>();
  /** The relays each client has received, as `sender\0message`. */
  private readonly received = new Map<Member, string[]>();
  /** What each server published, in order. */
  private readonly publications: Publication[] = [];
  /** The connections each server published on, as Redis saw them. */
  private readonly publishers = new Map<string, Set<string>>();
  /** Chat messages the servers published, as the story counts them. */
  private expectedPublishes = 0;
  /** Clients that ever connected to each server: what a handler added per connection multiplies by. */
  private readonly connectionsEver = new Map<string, number>();
  private fanOutExplained = false;
  /** The bad message whose answer is awaited: if a server dies now, this is what killed it. */
  private pendingBad?: BadInput;
  /** What the verifier published on the channel last: if a server dies now, this is what killed it. */
  private pendingJunk: string[] = [];

  constructor(
    private readonly v: Verification,
    private readonly traffic: RedisTraffic,
    private readonly broker: Broker,
  ) {}

  /** Connects a client to a server. Frames are written when read, so the transcript is the same every run. */
  async join(name: string, server: RunningServer, username = name): Promise<Member> {
    const client = await this.v.client(name, { server, log: 'read' });
    return this.add({ client, username, server, gone: false, visitor: false });
  }

  /** Connects a crowd at once, quietly; they join the room in the order given, however they connect. */
  async joinCrowd(names: string[], servers: RunningServer[]): Promise<Member[]> {
    const clients = await Promise.all(names.map((name, i) => this.v.client(name, { server: servers[i % servers.length]!, log: 'silent' })));
    return clients.map((client, i) => this.add({ client, username: names[i]!, server: servers[i % servers.length]!, gone: false, visitor: true }));
  }

  private add(member: Member): Member {
    this.members.push(member);
    this.received.set(member, []);
    const server = member.server.program.name;
    this.connectionsEver.set(server, (this.connectionsEver.get(server) ?? 0) + 1);
    return member;
  }

  private get active(): Member[] {
    return this.members.filter((m) => !m.gone);
  }

  private serverOf(member: Member): string {
    return member.server.program.name;
  }

  private sameServer(a: Member, b: Member): boolean {
    return a.server === b.server;
  }

  /** "bob (on server A)". */
  private where(member: Member): string {
    return `${member.client.name} (on ${this.serverOf(member)})`;
  }

  /** PUBLISH commands on the chat channel that the learner's servers made. */
  private learnerPublishes(): number {
    return this.traffic.publishes - this.broker.ownPublishes;
  }

  /**
   * `from` sends each chat; its server must PUBLISH each one (on its one publisher connection, built
   * by itself), and every other open client, on either server, must receive each relay in order.
   */
  async say(from: Member, items: Array<string | Chat>): Promise<void> {
    const chats = items.map((item) => (typeof item === 'string' ? { message: item } : item));
    const server = this.serverOf(from);
    const mark = this.traffic.commands.length;
    const before = this.learnerPublishes();
    for (const chat of chats) {
      this.said.set(chat.message, from);
      from.client.sendJson(chat.sends ?? { type: 'chat', username: from.username, message: chat.message });
    }
    this.expectedPublishes += chats.length;
    const published = await this.traffic.until(() => this.learnerPublishes() >= before + chats.length, this.v.timeouts.stepMs);
    const fresh = this.traffic.commands.slice(mark).filter((c) => c.name === 'PUBLISH' && c.channel === this.traffic.channel).slice(0, chats.length);
    // What the speaker's server published first is its own: name its connections so the lines say so.
    for (const command of fresh) if (command.from && !this.traffic.nameOf(command.from)) this.traffic.name(command.from, server);
    this.traffic.show();
    if (!published) {
      // An error back instead: the server took a chat message for bad input.
      const refusal = from.client.pending.find((f) => asObject(parseJson(f.data.toString('utf8')))?.type === 'error');
      const refused = chats.find((c) => c.refused)?.refused;
      if (refusal) from.client.releaseUnread();
      throw refusal
        ? this.v.fail({
            code: refused?.code ?? Codes.NOT_PUBLISHED,
            expected: `${server} to relay and publish ${from.client.name}'s chat message`,
            actual: `${describeFrame(refusal)} for ${from.client.name}: ${server} took the chat message for bad input`,
            hint: refused?.hint ?? 'It is a chat message: type "chat", a string message, and a username that is a string or not there at all. Relay it and publish it.',
          })
        : this.notPublished(from, chats, this.learnerPublishes() - before, mark);
    }
    this.expectOnePublisher(from, fresh);
    chats.forEach((chat, i) => {
      const payload = fresh[i]?.payload ?? '';
      if (chat.mustNotPublish && payload.includes(chat.mustNotPublish)) throw this.publishedAsSent(from, payload);
      this.publications.push({ server, sender: chat.sender ?? from.username, message: chat.message, payload });
    });
    if (!this.fanOutExplained) {
      this.fanOutExplained = true;
      this.v.note(`Redis hands each PUBLISH to every subscriber of ${this.traffic.channel}: to the other server, and back to ${server} as well`);
    }
    for (const listener of this.active) {
      if (listener === from) continue;
      for (const chat of chats) await this.expectRelay(from, listener, { sender: chat.sender ?? from.username, message: chat.message }, chats);
    }
  }

  /** R4: one server publishes every message on one connection, not a connection per message. */
  private expectOnePublisher(from: Member, fresh: RedisCommand[]): void {
    const server = this.serverOf(from);
    const seen = this.publishers.get(server) ?? new Set<string>();
    this.publishers.set(server, seen);
    for (const command of fresh) if (command.from) seen.add(command.from);
    if (seen.size <= 1) return;
    throw this.v.fail({
      code: Codes.PUBLISHER_PER_MESSAGE,
      expected: `${server} to publish every message on one connection, opened when it starts`,
      actual: `PUBLISH from ${seen.size} different connections of ${server} (${[...seen].join(', ')}): a new connection per message`,
      hint:
        'Opening a connection costs a TCP handshake (and TLS and AUTH in production) for each message, and Redis then keeps one client per message until each quits; ' +
        'worse, messages sent on different connections can reach Redis in any order. Create the publisher once, at the top of the file, and publish every message on it.',
    });
  }

  private publishedAsSent(from: Member, payload: string): VerifyFailure {
    return this.v.fail({
      code: Codes.PUBLISHED_AS_SENT,
      expected: `${this.serverOf(from)} to publish what it built: the sender, the message and its instance id`,
      actual: `${previewText(payload)}, which carries fields of ${from.client.name}'s own text (${JSON.stringify(EXTRA_FIELD_MARK)})`,
      hint:
        'A client can put any field in its JSON: an "origin" that makes another instance drop the message, a "sender" that speaks for someone else. ' +
        'What you publish, the other instances trust: publish an object you build field by field, JSON.stringify({ origin: instanceId, sender, message }), never the parsed object spread or the text as it came.',
    });
  }

  /** `from` sends, one at a time, messages that are not chat messages: each must get an error back. */
  async sendAllBad(from: Member, inputs: BadInput[]): Promise<void> {
    const mark = this.traffic.commands.length;
    for (const input of inputs) await this.sendBad(from, input, mark);
    await delay(SILENCE_MS);
    this.traffic.show();
    this.expectBadInputContained(from, inputs, mark);
    // Several errors for one message are still its own error replies: read them, they break nothing.
    for (const _ of from.client.pending) await from.client.nextFrame('an extra error reply');
    this.v.note(`✓ ${inputs.length} messages that are not chat messages: each answered with an error, to bob alone; none relayed, none published`);
  }

  private async sendBad(from: Member, input: BadInput, mark: number): Promise<void> {
    this.pendingBad = input;
    from.client.sendText(input.text);
    const expected = `${from.client.name} to receive {"type":"error","message":"…"} in answer to ${input.what}`;
    let got: Frame;
    try {
      got = await from.client.nextFrame(expected, { timeoutCode: Codes.NO_ERROR_REPLY, timeoutHint: input.hint });
    } catch (error) {
      // No answer: did it go elsewhere instead?
      if (error instanceof VerifyFailure && error.code === Codes.NO_ERROR_REPLY) this.expectBadInputContained(from, [input], mark);
      throw error;
    }
    const reply = asObject(parseJson(got.data.toString('utf8')));
    if (got.kind !== 'text' || reply?.type !== 'error' || typeof reply.message !== 'string' || reply.message === '') {
      throw this.v.fail({
        code: reply?.type === 'chat' ? Codes.BAD_INPUT_RELAYED : Codes.NO_ERROR_REPLY,
        expected,
        actual: describeFrame(got),
        hint:
          reply?.type === 'chat'
            ? `${input.what} is not a chat message: ${input.hint}`
            : 'Errors are JSON text, so a client can tell them from chat: send JSON.stringify({ type: "error", message: "what was wrong" }) to the sender, with a message that is not empty.',
      });
    }
    this.pendingBad = undefined;
  }

  /** After bad input: nothing reached Redis, and nothing reached anyone but its sender (their error replies). */
  private expectBadInputContained(from: Member, inputs: BadInput[], mark: number): void {
    const publish = this.traffic.commands.slice(mark).find((c) => c.name === 'PUBLISH');
    if (publish) {
      this.traffic.show();
      const input = inputs.find((i) => i.text !== '' && publish.payload?.includes(JSON.stringify(i.text).slice(1, -1))) ?? inputs.find((i) => i.text !== '' && publish.payload?.includes(i.text));
      throw this.v.fail({
        code: Codes.BAD_INPUT_PUBLISHED,
        expected: `nothing published while ${from.client.name} sent what is not a chat message`,
        actual: `PUBLISH ${publish.channel} ${previewText(publish.payload ?? '')}${input ? `: ${input.what}` : ''}`,
        hint:
          'Validate first, publish after: whatever you publish, every instance receives and must handle. A message that gets an error goes nowhere else, not even to Redis, however well the other side would check it.',
      });
    }
    for (const member of this.active) {
      if (member === from) continue;
      const [frame] = member.client.pending;
      if (!frame) continue;
      member.client.releaseUnread();
      throw this.v.fail({
        code: Codes.BAD_INPUT_RELAYED,
        expected: `nothing for ${this.where(member)} while ${from.client.name} sent what is not a chat message`,
        actual: describeFrame(frame),
        hint: `An error, and the message that caused it, concern their sender alone: answer on that socket (socket.send), not through the loop over your clients, and never publish it. ${SHAPE_HINT}`,
      });
    }
    const extra = from.client.pending.find((f) => asObject(parseJson(f.data.toString('utf8')))?.type !== 'error');
    if (extra) {
      from.client.releaseUnread();
      throw this.v.fail({
        code: Codes.UNEXPECTED_FRAME,
        expected: `only error replies for ${from.client.name}, who sent nothing else`,
        actual: describeFrame(extra),
        hint: 'A client gets chat relays of what the others say, and its own error replies: nothing of what it sent itself comes back.',
      });
    }
  }

  /** R11: a server that dies on bad input is reported as such, with the input that killed it. */
  async survivesBadInput(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      const input = this.pendingBad;
      const dead = await this.deadServer(error);
      if (!input || !dead) throw error;
      const crash = dead.program.exitFailure(`when it received ${input.what}: ${previewText(input.text)}`);
      const failure = this.v.fail({ code: Codes.CRASHED_ON_BAD_INPUT, message: crash.message, details: crash.details, hint: input.hint });
      failure.step = (error as VerifyFailure).step;
      throw failure;
    }
  }

  /** R12: a server that dies on what arrives through Redis is reported as such. */
  async survivesChannelJunk(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (error) {
      const dead = await this.deadServer(error);
      if (this.pendingJunk.length === 0 || !dead) throw error;
      const crash = dead.program.exitFailure('when the verifier published on the chat channel what no server of yours publishes');
      const failure = this.v.fail({
        code: Codes.CRASHED_ON_CHANNEL_JUNK,
        message: crash.message,
        details: [...crash.details, `Published on ${this.traffic.channel}: ${this.pendingJunk.map((p) => previewText(p)).join(', ')}`],
        hint: JUNK_HINT,
      });
      failure.step = (error as VerifyFailure).step;
      throw failure;
    }
  }

  /** The server that exited, if the failure is (or is a symptom of) a death. */
  private async deadServer(error: unknown): Promise<RunningServer | undefined> {
    if (!(error instanceof VerifyFailure)) return undefined;
    for (const server of this.v.servers) {
      const exited = await Promise.race([server.program.exited.then(() => true), delay(300).then(() => false)]);
      if (exited) return server;
    }
    return undefined;
  }

  /**
   * R3: the verifier publishes copies of the servers' own messages on channels next to this one, as
   * another class on the same Redis would. No client may receive anything.
   */
  async expectOtherChannelsIgnored(): Promise<void> {
    const { channel } = this.traffic;
    const subscribers = await this.broker.subscribers();
    const neighbours = neighbourChannels(channel, subscribers.patterns, this.broker.shared);
    this.v.note(`Another room's chat, on ${neighbours.map((n) => JSON.stringify(n)).join(' and ')}: copies of what A and B published, with other words in them`);
    for (const neighbour of neighbours) {
      for (const publication of this.firstPublications()) {
        await this.broker.publish(neighbour, reworded(publication, '(in another room)').payload);
      }
    }
    await delay(SILENCE_MS);
    this.traffic.show();
    const heard = this.active.find((m) => m.client.pending.length > 0);
    if (heard) {
      heard.client.releaseUnread();
      const pattern = subscribers.patterns[0];
      throw this.v.fail({
        code: Codes.OTHER_CHANNEL_RELAYED,
        expected: `nothing for ${this.where(heard)}: nothing was published on ${channel}`,
        actual: `${describeFrame(heard.client.pending[0]!)}, published on another channel`,
        hint: pattern
          ? `Your servers PSUBSCRIBE to ${JSON.stringify(pattern)}, a pattern that matches other channels too: another class's chat reaches your clients. Subscribe to the channel itself: subscriber.subscribe(process.env.CHAT_CHANNEL).`
          : 'Your servers hear more than CHAT_CHANNEL: subscribe to that one channel only, and in the "message" handler pass on only what arrives on it.',
      });
    }
    this.v.note(`✓ nothing arrived anywhere in ${SILENCE_MS} ms: what is published on other channels is not this room's`);
  }

  /** The first message each server published: what the verifier copies when it plays someone else. */
  private firstPublications(): Publication[] {
    const byServer = new Map<string, Publication>();
    for (const p of this.publications) if (!byServer.has(p.server)) byServer.set(p.server, p);
    return [...byServer.values()];
  }

  /**
   * R12: the verifier publishes on the chat channel what none of the learner's servers would: text
   * that is not JSON, JSON that is not an object, and their own shape with a sender or a message that
   * is not a string. Nothing may reach a client, and both servers must stay up.
   */
  async expectJunkIgnored(): Promise<void> {
    const junk = ['not json at all', '', 'null', '42', '"a string"', '[]', '{}', ...this.firstPublications().flatMap((p) => mistyped(p))];
    this.v.note(`The verifier publishes on ${this.traffic.channel} what no server of yours would: not JSON, not an object, and your own shape with a sender or a message that is not a string`);
    this.pendingJunk = junk;
    for (const payload of junk) await this.broker.publish(this.traffic.channel, payload);
    await delay(SILENCE_MS);
    this.traffic.show();
    const heard = this.active.find((m) => m.client.pending.length > 0);
    if (heard) {
      heard.client.releaseUnread();
      throw this.v.fail({
        code: Codes.CHANNEL_JUNK_RELAYED,
        expected: `nothing for ${this.where(heard)}: nothing on ${this.traffic.channel} was a chat message of yours`,
        actual: describeFrame(heard.client.pending[0]!),
        hint: JUNK_HINT,
      });
    }
    this.pendingJunk = [];
    this.v.note(`✓ nothing arrived anywhere in ${SILENCE_MS} ms, and both servers are still up`);
  }

  /**
   * R4 and R6 over time: a crowd connects, hears one message and leaves, and two clients stay halfway
   * through closing. A server that ties its subscription or its listener to clients shows it here.
   */
  async crowdComesAndGoes(first: Member, other: Member): Promise<void> {
    const servers = [first.server, other.server];
    const visitors = await this.joinCrowd(
      Array.from({ length: 2 * VISITORS_PER_SERVER }, (_, i) => `visitor ${i + 1}`),
      servers,
    );
    this.v.note(`${visitors.length} visitors connected, ${VISITORS_PER_SERVER} to each server (their frames are not shown)`);
    await leaveHalfClosed(this.v, 'frank', first.server);
    await leaveHalfClosed(this.v, 'grace', other.server);
    this.v.note(`frank (on ${this.serverOf(first)}) and grace (on ${this.serverOf(other)}) keep their TCP connections open after the closing handshake: their sockets stay CLOSING, in wss.clients`);
    await this.say(first, ['welcome, crowd']);
    await this.expectNothingMore();
    // Most leave with a close frame; some just drop, as a phone going into a tunnel does.
    for (const [i, visitor] of visitors.entries()) {
      visitor.gone = true;
      if (i % 5 === 4) visitor.client.terminate();
      else visitor.client.close();
    }
    await Promise.all(visitors.map((visitor) => (visitor.client.closed ? undefined : visitor.client.expectClose('the server to close').catch(() => undefined))));
    this.v.note('the visitors have left');
    await this.say(other, ['the crowd has gone']);
    await this.expectNothingMore();
    this.broker.expectOneEach(await this.broker.subscribers(), 'after the crowd left');
  }

  /**
   * R13: server A stops, and server C starts on the port A had. The verifier then publishes a copy of
   * what A published, as A would from another host with the same port (every pod listens on 8080):
   * C must pass it on. An id made of the port takes it for C's own.
   */
  async restartElsewhere(serverA: RunningServer, env: Record<string, string>): Promise<Member> {
    const original = this.publications.find((p) => p.server === serverA.program.name);
    await this.v.stopServer(serverA);
    for (const member of this.members) if (member.server === serverA) member.gone = true;
    const serverC = await this.v.start({ name: 'server C', env, port: serverA.port });
    const erin = await this.join('erin', serverC);
    await this.broker.expectSubscribersAgain();
    if (!original) return erin;
    const { payload, message } = reworded(original, '(again, from another host)');
    const want: Relay = { sender: original.sender, message };
    this.v.note('The verifier publishes what server A published once more, reworded, as server A on another host with the same port would');
    await this.broker.publish(this.traffic.channel, payload);
    this.traffic.show();
    const idHint =
      'It skipped a message that server A published: it took it for its own. Its id is made of something another instance can share: ' +
      'the port (every pod of a deployment listens on the same one), the host name of a container, a constant. Use process.env.INSTANCE_ID, or crypto.randomUUID() when the server starts.';
    // Server B hears it too, as it should: A is another instance for B as well.
    for (const member of [erin, ...this.active.filter((m) => m !== erin)]) {
      const expected = `${this.where(member)} to receive ${previewText(relayText(want))}`;
      const got = await member.client.nextFrame(expected, {
        timeoutCode: member === erin ? Codes.ID_NOT_UNIQUE : Codes.NOT_ACROSS,
        timeoutHint: member === erin ? `${capital(this.serverOf(erin))} is a new instance, on the port A had. ${idHint}` : 'Server B passed A\'s messages on before: nothing about this one is different.',
      });
      if (!isExactRelay(asObject(parseJson(got.data.toString('utf8'))), want)) {
        throw this.v.fail({
          code: Codes.UNEXPECTED_FRAME,
          expected,
          actual: describeFrame(got),
          hint: "Server C is a new instance: the message from server A is another instance's, and its relay is like every other.",
        });
      }
    }
    this.v.note(`✓ ${erin.client.name}, on server C, got what server A published: C knows that A's messages are not its own`);
    return erin;
  }

  /**
   * After every relay expected has arrived, listens a little longer on every client: nothing more may
   * come, and nothing more may have been published. A second copy or an echo arrives within
   * milliseconds on loopback.
   */
  async expectNothingMore(): Promise<void> {
    await delay(SILENCE_MS);
    this.traffic.show();
    const extras = this.active.flatMap((member) => member.client.pending.map((frame) => ({ member, frame })));
    if (this.learnerPublishes() > this.expectedPublishes) {
      for (const { member } of extras) member.client.releaseUnread();
      throw this.publishedTwice();
    }
    // Judged in this order: a copy through Redis is the first mistake of a server that also echoes.
    const duplicates = extras.filter(({ member, frame }) => this.received.get(member)!.includes(relayKey(asObject(parseJson(frame.data.toString('utf8'))))));
    const duplicate = duplicates.find(({ member }) => !this.isLocal(member, duplicates)) ?? duplicates[0];
    if (duplicate) {
      duplicate.member.client.releaseUnread();
      throw await this.duplicateFailure(duplicate.member, duplicate.frame, `${this.where(duplicate.member)} to receive each relay once`);
    }
    const echo = extras.find(({ member, frame }) => this.saidBy(frame) === member);
    if (echo) {
      echo.member.client.releaseUnread();
      throw this.echoFailure(echo.member, echo.frame, `no copy of ${echo.member.client.name}'s message for ${this.where(echo.member)}, who sent it`);
    }
    const [extra] = extras;
    if (extra) {
      extra.member.client.releaseUnread();
      throw this.v.fail({
        code: Codes.UNEXPECTED_FRAME,
        expected: `nothing more for ${this.where(extra.member)} within ${SILENCE_MS} ms: every relay due has arrived`,
        actual: describeFrame(extra.frame),
        hint: 'Clients get chat relays, and their own error replies, and nothing else. An error or a bad message concerns its sender alone: answer it on that socket, and never publish it.',
      });
    }
    this.expectNoSendOnClosingSockets();
    this.v.note(`✓ nothing more arrived anywhere in ${SILENCE_MS} ms, and nothing more was published: each relay came once, and never back to its sender`);
  }

  /** True when the duplicate at `member` is of a message said on its own server. */
  private isLocal(member: Member, duplicates: Array<{ member: Member; frame: Frame }>): boolean {
    const found = duplicates.find((d) => d.member === member);
    const author = found ? this.saidBy(found.frame) : undefined;
    return author !== undefined && this.sameServer(author, member);
  }

  /** R6: ws drops a send on a socket that is not OPEN without a word; the preload reports each one. */
  private expectNoSendOnClosingSockets(): void {
    for (const server of this.v.servers) {
      const [first] = server.program.sendsNotOpen;
      if (!first) continue;
      throw this.v.fail({
        code: Codes.SENT_TO_CLOSING_SOCKET,
        expected: `no send() on a socket that is not OPEN`,
        actual: `${server.program.sendsNotOpen.length} send() on sockets of ${server.program.name} whose readyState was ${first.readyState} (${first.readyState === 2 ? 'CLOSING' : 'CLOSED'})`,
        hint:
          'A client stays in wss.clients while it closes, up to 30 s when the other side is slow: send only to a client whose readyState === WebSocket.OPEN, in the loop for your own clients and in the one for what comes from Redis. ' +
          'ws 8 drops a send on a closing socket silently, so nothing else tells you.',
      });
    }
  }

  private async expectRelay(from: Member, listener: Member, want: Relay, burst: Chat[]): Promise<void> {
    const expected = `${this.where(listener)} to receive ${previewText(relayText(want))}`;
    const local = this.sameServer(listener, from);
    let got: Frame;
    try {
      got = await listener.client.nextFrame(expected, { timeoutCode: local ? Codes.LOCAL_MISSED : Codes.NOT_ACROSS });
    } catch (error) {
      if (error instanceof VerifyFailure && (error.code === Codes.LOCAL_MISSED || error.code === Codes.NOT_ACROSS)) throw await this.missed(error, from, listener, want);
      throw error;
    }
    const failure = await this.diagnose(listener, got, want, burst, expected);
    if (failure) throw failure;
    this.received.get(listener)!.push(relayKey(want));
  }

  /** Names the slip behind a relay that never came. */
  private async missed(error: VerifyFailure, from: Member, listener: Member, want: Relay): Promise<VerifyFailure> {
    const failure = (code: string, hint: string) => new VerifyFailure({ code, expected: error.expected, actual: error.actual, hint });
    if (want.message === '' || want.message === LARGE_MESSAGE) return failure(Codes.TEXT_CHANGED, want.message === '' ? EMPTY_HINT : LARGE_HINT);
    const server = this.serverOf(listener);
    const subscribers = await this.broker.subscribers();
    if (subscribers.count < SERVERS) {
      return failure(
        Codes.SUBSCRIPTION_PER_CLIENT,
        `Only ${subscribers.count} connection${subscribers.count === 1 ? '' : 's'} still subscribe${subscribers.count === 1 ? 's' : ''} to ${this.traffic.channel}` +
          (subscribers.unsubscribed.length ? ' (see the UNSUBSCRIBE lines above)' : '') +
          `: a server stopped listening when a client left. ${SUBSCRIBE_ONCE_HINT}`,
      );
    }
    if (listener.username === from.username) {
      return failure(
        this.sameServer(from, listener) ? Codes.LOCAL_MISSED : Codes.NOT_ACROSS,
        `${listener.client.name} chats under the same username as ${from.client.name}, but is another client, on another connection. Skip the sender by its connection (the socket, or an id of it you publish), never by its name: two tabs of one user are two clients.`,
      );
    }
    if (this.sameServer(from, listener)) {
      const elsewhere = this.active.filter((m) => !this.sameServer(m, from) && m.client.pending.some((f) => isExactRelay(asObject(parseJson(f.data.toString('utf8'))), want)));
      if (elsewhere.length) {
        return failure(
          Codes.LOCAL_MISSED,
          `${elsewhere.map((m) => m.client.name).join(' and ')}, on the other server, did get it, through Redis; ${listener.client.name}, on ${server} with ${from.client.name}, did not. ` +
            `Skipping your own instance's messages when Redis hands them back is right, but then ${server} must send to its own clients directly: the loop of lesson 03, the sender excepted.`,
        );
      }
      return failure(
        Codes.LOCAL_MISSED,
        `${listener.client.name} is on ${server}, like ${from.client.name}: only ${server} can reach them. Send the relay to its own open clients (the loop of lesson 03, the sender excepted), as well as publishing it for the other servers.`,
      );
    }
    if (await this.sameIdOnBothServers(from, listener)) {
      return failure(
        Codes.ID_NOT_UNIQUE,
        `${capital(this.serverOf(from))} and ${server} publish messages that differ only in what was said: the same id on both, so ${server} takes ${this.serverOf(from)}'s messages for its own and skips them. ` +
          'Use process.env.INSTANCE_ID (A on one, B on the other here), or crypto.randomUUID() when the server starts: never a constant.',
      );
    }
    return failure(
      Codes.NOT_ACROSS,
      `${capital(this.serverOf(from))} published it and ${server} is subscribed, so Redis handed it to ${server}, which passed nothing to ${listener.client.name}. ` +
        "In the subscriber's 'message' handler, send the relay to every open client of the instance, unless the message carries the instance's own id.",
    );
  }

  /**
   * True when what the two servers publish differs only in the sender and the message: nothing in it
   * tells the instances apart. Asks the listener's server to publish once if it has not yet.
   */
  private async sameIdOnBothServers(from: Member, listener: Member): Promise<boolean> {
    const mine = this.publications.find((p) => p.server === this.serverOf(from));
    let theirs = this.publications.find((p) => p.server === this.serverOf(listener));
    if (!mine) return false;
    if (!theirs) {
      const message = `(${listener.client.name} speaks, to see what ${this.serverOf(listener)} publishes)`;
      const mark = this.traffic.commands.length;
      listener.client.sendJson({ type: 'chat', username: listener.username, message });
      await this.traffic.until(() => this.traffic.commands.slice(mark).some((c) => c.name === 'PUBLISH' && c.channel === this.traffic.channel), this.v.timeouts.stepMs);
      const command = this.traffic.commands.slice(mark).find((c) => c.name === 'PUBLISH' && c.channel === this.traffic.channel);
      this.traffic.show(this.serverOf(listener));
      if (!command?.payload) return false;
      theirs = { server: this.serverOf(listener), sender: listener.username, message, payload: command.payload };
    }
    return residue(mine) === residue(theirs);
  }

  /** Says what is wrong with a frame that arrived where `want` was due, or nothing if it is right. */
  private async diagnose(listener: Member, got: Frame, want: Relay, burst: Chat[], expected: string): Promise<VerifyFailure | undefined> {
    const text = got.data.toString('utf8');
    const relay = asObject(parseJson(text));
    if (got.kind === 'text' && isExactRelay(relay, want)) return undefined;
    if (this.received.get(listener)!.includes(relayKey(relay))) return this.duplicateFailure(listener, got, `${expected} next`);
    if (this.saidBy(got) === listener) return this.echoFailure(listener, got, `${expected} next`);
    const actual = describeFrame(got);
    const failure = (code: string, hint: string, detail = '') => new VerifyFailure({ code, expected, actual: actual + detail, hint });
    if (got.kind === 'binary' && isExactRelay(relay, want)) {
      return failure(Codes.WRONG_SHAPE, 'The relay is JSON text: send a string (JSON.stringify(…)), not a Buffer. A Buffer goes out as a binary frame, which a browser hands to the page as a Blob.');
    }
    if (relay?.type === 'chat' && relay.sender === want.sender && relay.message !== want.message && burst.some((c) => c.message === relay.message)) {
      return failure(
        Codes.OUT_OF_ORDER,
        'Messages published on one connection reach every subscriber in the order they were published. Publish each message as it arrives, on one publisher connection, without awaiting anything else first, and relay what the subscriber receives in the order it comes.',
        ` (${want.sender} sent them in the order ${burst.map((c) => JSON.stringify(c.message)).join(', ')})`,
      );
    }
    if (this.traffic.published.some((p) => p.payload === text)) {
      return failure(
        Codes.WRONG_SHAPE,
        'That is what was published to Redis, passed on to the client as it came. What travels between servers is your business; what clients get is the protocol: build {"type":"chat","sender":…,"message":…} from it, without the instance id.',
        ': the message exactly as it was published to Redis',
      );
    }
    if (relay && relay.message === want.message) {
      const extra = Object.keys(relay).filter((k) => !['type', 'sender', 'message'].includes(k));
      if (extra.length > 0 || relay.type !== 'chat') {
        return failure(
          Codes.WRONG_SHAPE,
          'Every client, on whichever server, gets exactly the relay of lesson 03: {"type":"chat","sender":…,"message":…}, and no other field. Build it field by field from what you know, never by spreading the object that came through Redis or from the client.',
          extra.length ? ` (fields it should not have: ${extra.join(', ')})` : '',
        );
      }
      return failure(
        Codes.WRONG_SENDER,
        want.sender === 'Anonymous'
          ? 'Without a username, or with an empty one, the sender is "Anonymous": chat.username || "Anonymous". Work it out once, before you relay and before you publish, and publish the result: then both servers agree.'
          : 'The sender is the username the client sent, exactly: not another field of its message, not a name you keep for the socket.',
        ` (sender should be ${JSON.stringify(want.sender)})`,
      );
    }
    if (relay && typeof relay.message === 'string' && !this.said.has(relay.message)) {
      return failure(
        Codes.TEXT_CHANGED,
        'Pass the message on as it came: no trim(), no limit, no change of case or encoding. Spaces, accents, emoji and new lines are the sender\'s; JSON.stringify and JSON.parse keep every one of them.',
        ` (sent: ${previewText(JSON.stringify(want.message))}, ${Buffer.byteLength(want.message)} bytes; got ${Buffer.byteLength(relay.message)} bytes)`,
      );
    }
    return failure(
      Codes.UNEXPECTED_FRAME,
      'Each client must get every relay, in the order its sender spoke. Something else arrived first: read the transcript above to see where it came from.',
    );
  }

  /** Names the slip behind a relay that arrived twice. */
  private async duplicateFailure(listener: Member, got: Frame, expected: string): Promise<VerifyFailure> {
    if (this.learnerPublishes() > this.expectedPublishes) return this.publishedTwice();
    const author = this.saidBy(got);
    const key = relayKey(asObject(parseJson(got.data.toString('utf8'))));
    const copies = 1 + listener.client.pending.filter((f) => relayKey(asObject(parseJson(f.data.toString('utf8')))) === key).length;
    const actual = `${describeFrame(got)} ${copies > 2 ? `${copies} times` : 'a second time'}`;
    const subscribers = await this.broker.subscribers();
    if (subscribers.count > SERVERS) {
      return new VerifyFailure({
        code: Codes.SUBSCRIPTION_PER_CLIENT,
        expected,
        actual: `${actual}; ${subscribers.count} connections subscribe to ${this.traffic.channel}, for ${SERVERS} servers`,
        hint: `Each subscribed connection gets its own copy of every message, and passes it on. ${SUBSCRIBE_ONCE_HINT}`,
      });
    }
    const local = author !== undefined && this.sameServer(author, listener);
    const server = this.serverOf(listener);
    if (!local || copies > 2) {
      const warned = /MaxListenersExceeded/.test(programOutput(this.v, server)) ? ' (Node warned about it: MaxListenersExceededWarning, in its output above)' : '';
      return new VerifyFailure({
        code: Codes.HANDLER_PER_CLIENT,
        expected,
        actual,
        hint:
          `Redis handed ${server} the message once, and it passed it on ${copies > 2 ? `${copies} times` : 'twice'}; ${this.connectionsEver.get(server) ?? 0} clients have connected to ${server} so far${warned}. ` +
          `Does it add its subscriber.on('message', …) listener inside wss.on('connection')? Each client adds one more, and each one sends to every client. Add it once, when the server starts.`,
      });
    }
    return new VerifyFailure({
      code: Codes.DUPLICATE,
      expected,
      actual,
      hint:
        `${listener.client.name} shares ${server} with ${author!.client.name}: that server sent the relay itself, then again when Redis handed it back its own PUBLISH (Redis delivers to every subscriber, the publisher's instance included). ` +
        'Put the instance id in what you publish and, in the subscriber, skip messages that carry your own; or deliver only what comes from Redis, never directly.',
    });
  }

  private publishedTwice(): VerifyFailure {
    const published = this.learnerPublishes();
    return new VerifyFailure({
      code: Codes.PUBLISHED_TWICE,
      expected: `${this.expectedPublishes} PUBLISH on ${this.traffic.channel} so far: one per chat message`,
      actual: `${published}: see the PUBLISH lines above`,
      hint:
        'Publish each chat message once, from the server its sender is connected to, and never publish again what arrives from Redis: every instance would hear it once more, and pass it on once more.',
    });
  }

  private echoFailure(sender: Member, got: Frame, expected: string): VerifyFailure {
    const server = this.serverOf(sender);
    return new VerifyFailure({
      code: Codes.ECHOED_TO_SENDER,
      expected,
      actual: describeFrame(got),
      hint:
        `Redis handed ${sender.client.name}'s message back to ${server}, which is subscribed like every instance, and ${server} passed it to all its clients, ${sender.client.name} included. ` +
        "Across instances a socket cannot be compared with ===: deliver to your own clients directly (skipping the sender's socket) and ignore what comes back from your own instance, " +
        'or publish an id of the sender\'s connection with the message and skip the client it names.',
    });
  }

  private notPublished(from: Member, chats: Chat[], seen: number, mark: number): VerifyFailure {
    const server = this.serverOf(from);
    const { channel } = this.traffic;
    const astray = this.traffic.commands.slice(mark).find((c) => c.name === 'PUBLISH' && c.channel !== channel);
    const what = chats.length === 1 ? `${from.client.name}'s message` : `each of ${from.client.name}'s ${chats.length} messages`;
    return new VerifyFailure({
      code: Codes.NOT_PUBLISHED,
      expected: `${server} to PUBLISH ${what} on ${channel} within ${this.v.timeouts.stepMs} ms`,
      actual: astray
        ? `a PUBLISH on ${JSON.stringify(astray.channel)}, a channel no server listens to`
        : seen === 0
          ? 'no PUBLISH at all'
          : `${seen} PUBLISH of ${chats.length}`,
      hint: astray
        ? `Publish on the channel the servers subscribe to: process.env.CHAT_CHANNEL (${channel}) for both.`
        : `Subscribing is half of it: the other server learns what ${from.client.name} said only if ${server} publishes it. In the 'message' handler, publisher.publish(process.env.CHAT_CHANNEL, JSON.stringify(…)) for every chat message, on a connection that is not the subscriber.`,
    });
  }

  /** The member that said the chat message this frame relays, if it relays one. */
  private saidBy(frame: Frame): Member | undefined {
    const message = asObject(parseJson(frame.data.toString('utf8')))?.message;
    return typeof message === 'string' ? this.said.get(message) : undefined;
  }
}

const JUNK_HINT =
  'Anyone can PUBLISH on a channel: redis-cli, another program, an older version of your server halfway through a deploy. ' +
  'In the subscriber\'s "message" handler, parse inside try { … } catch, and pass on only what has your own shape: an object whose sender and message are strings. Ignore everything else.';

// ── Helpers on what was published ────────────────────────────────────────────────────────────────────

/**
 * A publication with `words` added to its message (`hello from A` → `hello from A (again)`), so that
 * the copy is a new message to every client. Unchanged when the text cannot be found in it.
 */
function reworded(publication: Publication, words: string): { payload: string; message: string } {
  const { payload, message } = publication;
  const inJson = JSON.stringify(message).slice(1, -1);
  if (message === '' || !payload.includes(inJson)) return { payload, message };
  return { payload: payload.split(inJson).join(`${inJson} ${words}`), message: `${message} ${words}` };
}

/**
 * The learner's own shape, broken: for a JSON object whose fields hold the sender and the message,
 * copies with each of those a number, null, an array or an object instead of a string.
 */
function mistyped(publication: Publication): string[] {
  const value = asObject(parseJson(publication.payload));
  if (!value) return [];
  const senderKey = Object.keys(value).find((k) => value[k] === publication.sender);
  const messageKey = Object.keys(value).find((k) => value[k] === publication.message && k !== senderKey);
  const copies: string[] = [];
  if (senderKey) for (const wrong of [42, null, ['x']]) copies.push(JSON.stringify({ ...value, [senderKey]: wrong }));
  if (messageKey) for (const wrong of [42, null, { text: 'x' }]) copies.push(JSON.stringify({ ...value, [messageKey]: wrong }));
  return copies;
}

/** What is left of a payload without its sender and message: what tells its instance apart, if anything. */
function residue(publication: Publication): string {
  const cut = (text: string, part: string, mark: string) => (part ? text.split(part).join(mark) : text);
  return cut(cut(publication.payload, publication.message, '\u0000message\u0000'), publication.sender, '\u0000sender\u0000');
}

/**
 * Channels next to `channel`, where another room's chat would be: with a suffix, with a prefix, and
 * one matching each wildcard pattern seen (on a Redis of this run's own only: on a shared one, a
 * channel that is not this run's may be someone else's).
 */
function neighbourChannels(channel: string, patterns: string[], shared: boolean): string[] {
  const neighbours = [`${channel}:other`, `other:${channel}`];
  if (!shared) {
    for (const pattern of patterns) {
      if (neighbours.some((n) => globMatch(pattern, n))) continue;
      const example = exampleOf(pattern, channel);
      if (example) neighbours.push(example);
    }
  }
  return neighbours;
}

/** A channel other than `avoid` that `pattern` matches, if one is easily made. */
function exampleOf(pattern: string, avoid: string): string | undefined {
  for (const fill of ['other', '', 'x']) {
    let out = '';
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (c === '\\') out += pattern[++i] ?? '';
      else if (c === '*') out += fill;
      else if (c === '?') out += fill.charAt(0) || 'y';
      else if (c === '[') {
        const end = pattern.indexOf(']', i + 2);
        const set = pattern.slice(i + 1, end < 0 ? undefined : end);
        out += set.startsWith('^') ? '\u0001' : (set[0] ?? '');
        i = end < 0 ? pattern.length : end;
      } else out += c;
    }
    if (out !== avoid && globMatch(pattern, out)) return out;
  }
  return undefined;
}

/** True when a Redis pattern has a wildcard: `*`, `?` or `[`, not escaped. */
function hasWildcard(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if ('*?['.includes(pattern[i]!)) return true;
  }
  return false;
}

/**
 * Redis's glob-style matching, as PSUBSCRIBE uses it: `*` any run, `?` any one character, `[abc]`,
 * `[^a-z]` sets, and `\` to take the next character as it is.
 */
export function globMatch(pattern: string, text: string): boolean {
  const match = (p: number, t: number): boolean => {
    while (p < pattern.length) {
      const c = pattern[p]!;
      if (c === '*') {
        while (pattern[p + 1] === '*') p++;
        if (p + 1 === pattern.length) return true;
        for (let i = t; i <= text.length; i++) if (match(p + 1, i)) return true;
        return false;
      }
      if (t >= text.length) return false;
      if (c === '?') {
        p++;
        t++;
        continue;
      }
      if (c === '[') {
        let q = p + 1;
        const negated = pattern[q] === '^';
        if (negated) q++;
        let found = false;
        while (q < pattern.length && pattern[q] !== ']') {
          if (pattern[q] === '\\' && q + 1 < pattern.length) {
            q++;
            if (pattern[q] === text[t]) found = true;
          } else if (pattern[q + 1] === '-' && q + 2 < pattern.length && pattern[q + 2] !== ']') {
            const [low, high] = [pattern[q]!, pattern[q + 2]!].sort();
            if (text[t]! >= low! && text[t]! <= high!) found = true;
            q += 2;
          } else if (pattern[q] === text[t]) found = true;
          q++;
        }
        if (negated) found = !found;
        if (!found) return false;
        p = q + 1;
        t++;
        continue;
      }
      if (c === '\\' && p + 1 < pattern.length) p++;
      if (pattern[p] !== text[t]) return false;
      p++;
      t++;
    }
    return t === text.length;
  };
  return match(0, 0);
}

// ── Failures that a program's own output explains better ─────────────────────────────────────────────

const SUBSCRIBER_MODE = /subscriber mode/i;

/**
 * The line where ioredis refused a PUBLISH on a subscribed connection, in one server's output: the
 * refusal itself or the few lines after it name publish. (ioredis refuses its own ready check the same
 * way when a program subscribes early, which is harmless: that one names _readyCheck.)
 */
function refusedPublish(output: string, notPublishing: boolean): string | undefined {
  const lines = output.split('\n');
  for (const [i, line] of lines.entries()) {
    if (!SUBSCRIBER_MODE.test(line)) continue;
    const around = lines.slice(i, i + 4).join('\n');
    if (/_readyCheck|\.info \(/.test(around)) continue;
    if (/publish/i.test(around) || notPublishing) return (lines.slice(i).find((l) => /Error:.*subscriber mode/i.test(l)) ?? line).trim();
  }
  return undefined;
}

/**
 * Runs the story, then writes whatever Redis saw that was not shown yet. A server that published on
 * its subscriber connection is reported as such, whatever symptom it caused first: a crash (an
 * unhandled rejection of publish()), or a message that never went out because the error was logged.
 */
async function explained(v: Verification, traffic: RedisTraffic, story: () => Promise<void>): Promise<void> {
  try {
    await story();
  } catch (error) {
    if (!(error instanceof VerifyFailure)) throw error;
    const notPublishing = error.code === Codes.NOT_PUBLISHED;
    const culprit = v.servers.find((s) => refusedPublish(programOutput(v, s.program.name), notPublishing));
    if (!culprit) throw error;
    const refusal = refusedPublish(programOutput(v, culprit.program.name), notPublishing);
    const crashed = culprit.program.exitInfo !== undefined;
    const failure = new VerifyFailure({
      code: Codes.PUBLISH_ON_SUBSCRIBER,
      message: `${capital(culprit.program.name)} ${crashed ? 'crashed' : 'could not publish'}: ioredis refused PUBLISH on a connection in subscriber mode.`,
      details: refusal ? [refusal] : [],
      hint:
        'Once a connection has subscribed, Redis may push a message down it at any moment, and accepts nothing on it but SUBSCRIBE, UNSUBSCRIBE and PING. ' +
        'Open two connections: new Redis(process.env.REDIS_URL) to publish, and another (or publisher.duplicate()) to subscribe.',
    });
    failure.step = error.step;
    throw failure;
  } finally {
    traffic.show();
  }
}

/** Everything the learner's servers printed so far (or one server's, by name). */
function programOutput(v: Verification, name?: string): string {
  return v.transcript.entries
    .filter((e) => e.source.kind === 'program' && (name === undefined || e.source.name === name))
    .map((e) => e.text)
    .join('\n');
}

// ── Small helpers ────────────────────────────────────────────────────────────────────────────────────

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function relayText(relay: Relay): string {
  return JSON.stringify({ type: 'chat', sender: relay.sender, message: relay.message });
}

/** True when a parsed frame is exactly this relay: compared by value, whatever the key order or spacing. */
function isExactRelay(value: Record<string, unknown> | undefined, want: Relay): boolean {
  return (
    value !== undefined &&
    Object.keys(value).length === 3 &&
    value.type === 'chat' &&
    value.sender === want.sender &&
    value.message === want.message
  );
}

/** `sender\0message` of a relay, to recognise a second copy; empty for what is not one. */
function relayKey(value: Record<string, unknown> | Relay | undefined): string {
  return value && typeof value.message === 'string' ? `${String(value.sender)}\u0000${value.message}` : '';
}
