/**
 * Lesson 07 — two servers, one chat. The story: a real Redis runs; two instances of the learner's chat
 * server start with the same REDIS_URL; alice and bob connect to server A, carol and dave to server B.
 * Both servers subscribe to the chat channel; alice's message reaches bob on A and carol and dave on B,
 * once each, and never comes back to her; carol's crosses the other way; bad input is answered, to its
 * sender alone; dave's burst arrives everywhere in order, and nothing arrives twice. Beside what the
 * clients see, the transcript shows what went through Redis: `[redis] server A → PUBLISH …`.
 */
import fs from 'node:fs';
import type { Redis } from 'ioredis';
import { provideRedis, VERIFIER_CONNECTION_NAME, type RedisForVerification } from './harness/redis-server.ts';
import { RedisTraffic } from './harness/redis-traffic.ts';
import {
  describeFrame,
  VerifyFailure,
  type Frame,
  type LessonVerifier,
  type PrepareRun,
  type RunningServer,
  type TestClient,
  type Verification,
} from './harness/index.ts';
import { asObject, parseJson } from './harness/json.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  REDIS_NOT_USED: 'SCALING_REDIS_NOT_USED',
  REDIS_URL_IGNORED: 'SCALING_REDIS_URL_IGNORED',
  NOT_SUBSCRIBED: 'SCALING_NOT_SUBSCRIBED',
  NOT_PUBLISHED: 'SCALING_NOT_PUBLISHED',
  PUBLISH_ON_SUBSCRIBER: 'SCALING_PUBLISH_ON_SUBSCRIBER',
  NOT_ACROSS: 'SCALING_NOT_ACROSS',
  LOCAL_MISSED: 'SCALING_LOCAL_MISSED',
  DUPLICATE: 'SCALING_DUPLICATE',
  ECHOED_TO_SENDER: 'SCALING_ECHOED_TO_SENDER',
  OUT_OF_ORDER: 'SCALING_OUT_OF_ORDER',
  WRONG_SHAPE: 'SCALING_WRONG_SHAPE',
  UNEXPECTED_FRAME: 'SCALING_UNEXPECTED_FRAME',
  NO_ERROR_REPLY: 'SCALING_NO_ERROR_REPLY',
} as const;

/** After the last relay expected, how long to listen for one that should not come (a duplicate, an echo). */
const SILENCE_MS = 150;
/** Subscribers the chat channel needs: one per server. */
const SERVERS = 2;

export default (async (v) => {
  const { redis, traffic, env } = await shareRedis(v);
  const serverA = await v.start({ name: 'server A', env: { ...env, INSTANCE_ID: 'A' } });
  const serverB = await v.start({ name: 'server B', env: { ...env, INSTANCE_ID: 'B' } });
  const room = new TwoServerRoom(v, traffic);
  const alice = await room.join('alice', serverA);
  const bob = await room.join('bob', serverA);
  const carol = await room.join('carol', serverB);
  const dave = await room.join('dave', serverB);

  await explained(v, traffic, async () => {
    await v.step('both servers subscribe to the chat channel, on the Redis at REDIS_URL', [], async () => {
      await expectSubscribers(v, redis, traffic);
    });

    await v.step('alice, on server A, reaches bob on A and carol and dave on B: once each, and not herself', [], async () => {
      await room.say(alice, ['hello from A']);
      await room.expectNothingMore();
    });

    await v.step('carol, on server B, reaches alice and bob on A and dave on B', [], async () => {
      await room.say(carol, ['hi from B']);
    });

    await v.step('answers text that is not JSON with an error, to bob alone', [], async () => {
      await room.sendBad(bob, 'hello? {this is not json');
    });

    await v.step("dave's burst arrives everywhere in order, and nothing arrives twice", [], async () => {
      await room.say(dave, ['one', 'two', 'three', 'four', 'five']);
      await room.expectNothingMore();
    });
  });
}) satisfies LessonVerifier;

/**
 * `wsw run`: a Redis started the same way, server A and server B on it, and the interactive client on
 * server A. What goes through Redis is shown as it happens.
 */
export const prepareRun: PrepareRun = async (v) => {
  const { env } = await shareRedis(v, { live: true });
  await v.start({ name: 'server A', env: { ...env, INSTANCE_ID: 'A' } });
  v.note('You will be connected to server A. To watch a message cross, connect a second client to server B, on the port it listens on.');
  return { start: { name: 'server B', env: { ...env, INSTANCE_ID: 'B' } } };
};

// ── Redis: one per verification, and the environment that points the servers at it ─────────────────

interface SharedRedis {
  redis: RedisForVerification;
  traffic: RedisTraffic;
  /** What both servers get on top of the lesson's env: REDIS_URL, and CHAT_CHANNEL when the Redis is shared. */
  env: Record<string, string>;
}

async function shareRedis(v: Verification, options: { live?: boolean } = {}): Promise<SharedRedis> {
  const redis = await provideRedis(v);
  // On a Redis shared by a class, each run gets a channel of its own, so no one hears another's chat.
  const channel = `${v.lessonEnv.CHAT_CHANNEL ?? 'chat'}${redis.isolation}`;
  const traffic = await RedisTraffic.watch(v, redis, channel, options);
  const env: Record<string, string> = { REDIS_URL: redis.url };
  if (redis.isolation) env.CHAT_CHANNEL = channel;
  return { redis, traffic, env };
}

// ── Step 1: both servers subscribe ───────────────────────────────────────────────────────────────────

const BROKER_HINT =
  "Server A knows only its own sockets: carol and dave are connected to server B, another process, which no loop on A can reach. " +
  'Connect to Redis with new Redis(process.env.REDIS_URL), SUBSCRIBE one connection to process.env.CHAT_CHANNEL, and PUBLISH every chat message there with another.';

/**
 * Waits until the chat channel has a subscriber per server (a readiness wait too: a message published
 * before a server has subscribed is lost to it). When it never does, says why: no Redis at all,
 * another Redis than REDIS_URL, or another channel.
 */
async function expectSubscribers(v: Verification, redis: RedisForVerification, traffic: RedisTraffic): Promise<void> {
  const admin = redis.connect();
  const { channel } = traffic;
  const count = async () => Number((await admin.pubsub('NUMSUB', channel))[1] ?? 0) - traffic.ownSubscribers;
  const deadline = Date.now() + v.timeouts.stepMs;
  let subscribers = await count();
  while (subscribers < SERVERS && Date.now() < deadline) {
    // Woken by each SUBSCRIBE the watch sees; the short bound covers a watch that cannot see them.
    await traffic.nextCommand(Math.min(50, deadline - Date.now()));
    subscribers = await count();
  }
  // NUMSUB can answer before the MONITOR lines of those SUBSCRIBEs have reached us: wait for them too.
  if (traffic.ownSubscribers === 0) await traffic.until(() => traffic.onChannel('SUBSCRIBE').length >= subscribers, 500);
  traffic.show();
  if (subscribers >= SERVERS) {
    v.note(`✓ ${subscribers} connections subscribe to ${channel}: each server listens there for what the other publishes`);
    return;
  }

  const expected = `${SERVERS} subscribers on ${channel} (CHAT_CHANNEL), one per server, within ${v.timeouts.stepMs} ms`;
  const elsewhere = [...new Set(traffic.commands.filter((c) => c.name.endsWith('SUBSCRIBE') && c.channel !== channel).map((c) => c.channel))];
  // On a Redis of our own, any other connection is the learner's; on a shared one, only the code can tell.
  const connected = redis.source === 'started' ? (await connectionsOtherThanOurs(admin)) > 0 : importsRedisClient(v);
  if (subscribers === 0 && elsewhere.length === 0) {
    // Connected to our own Redis, a program cannot be using another one.
    const evidence = redis.source === 'started' && connected ? undefined : hardCodedRedis(v);
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
      `${subscribers === 0 ? 'none' : String(subscribers)}` +
      (elsewhere.length ? `; your servers subscribed to ${elsewhere.map((c) => JSON.stringify(c)).join(', ')} instead` : ''),
    hint: elsewhere.length
      ? `Every instance must use the same channel, and this run's is in process.env.CHAT_CHANNEL (${channel}): read it instead of writing a name in the code.`
      : 'Each server must SUBSCRIBE to process.env.CHAT_CHANNEL when it starts, on a connection of its own: subscriber.subscribe(channel), with a subscriber.on("message", …) listener that passes what arrives to its clients.',
  });
}

/** How many connections to Redis are not the verifier's: the learner's servers'. */
async function connectionsOtherThanOurs(admin: Redis): Promise<number> {
  const list = String(await admin.client('LIST'));
  return list.split('\n').filter((line) => line.trim() && !line.includes(` name=${VERIFIER_CONNECTION_NAME} `)).length;
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

// ── The chat room, spread over two servers ───────────────────────────────────────────────────────────

/** A relay as every client must receive it. */
interface Relay {
  sender: string;
  message: string;
}

/**
 * The room as the verifier sees it: who is on which server, who said what, and what each client has
 * received, so that anything arriving where it should not (a second copy, an echo) can be named.
 */
class TwoServerRoom {
  private readonly clients: TestClient[] = [];
  private readonly serverNames = new Map<TestClient, string>();
  /** Each chat message said (all distinct) → who said it. */
  private readonly said = new Map<string, TestClient>();
  /** What each client has received, as text. */
  private readonly received = new Map<TestClient, string[]>();
  private fanOutExplained = false;

  constructor(
    private readonly v: Verification,
    private readonly traffic: RedisTraffic,
  ) {}

  /** Connects a client to a server. Frames are written when read, so the transcript is the same every run. */
  async join(name: string, server: RunningServer): Promise<TestClient> {
    const client = await this.v.client(name, { server, log: 'read' });
    this.clients.push(client);
    this.serverNames.set(client, server.program.name);
    this.received.set(client, []);
    return client;
  }

  private serverOf(client: TestClient): string {
    return this.serverNames.get(client)!;
  }

  /** "bob (on server A)". */
  private where(client: TestClient): string {
    return `${client.name} (on ${this.serverOf(client)})`;
  }

  /**
   * `from` sends each message; its server must PUBLISH each one, and every other client, on either
   * server, must receive each relay in order.
   */
  async say(from: TestClient, messages: string[]): Promise<void> {
    const server = this.serverOf(from);
    const mark = this.traffic.commands.length;
    const before = this.traffic.publishes;
    for (const message of messages) {
      this.said.set(message, from);
      from.sendJson({ type: 'chat', username: from.name, message });
    }
    const published = await this.traffic.until(() => this.traffic.publishes >= before + messages.length, this.v.timeouts.stepMs);
    this.traffic.show(server);
    if (!published) throw this.notPublished(from, messages, this.traffic.publishes - before, mark);
    if (!this.fanOutExplained) {
      this.fanOutExplained = true;
      this.v.note(`Redis hands each PUBLISH to every subscriber of ${this.traffic.channel}: to the other server, and back to ${server} as well`);
    }
    for (const listener of this.clients) {
      if (listener === from) continue;
      for (const message of messages) await this.expectRelay(from, listener, { sender: from.name, message }, messages);
    }
  }

  /** `from` sends something that is not a chat message: it must get an error back. */
  async sendBad(from: TestClient, text: string): Promise<void> {
    from.sendText(text);
    const expected = `${from.name} to receive {"type":"error","message":"…"} in answer to text that is not JSON`;
    const got = await from.nextFrame(expected, {
      timeoutCode: Codes.NO_ERROR_REPLY,
      timeoutHint:
        'As in lesson 03: JSON.parse throws on text that is not JSON. Catch it, answer {"type":"error","message":"…"} on that socket, and publish nothing.',
    });
    const reply = asObject(parseJson(got.data.toString('utf8')));
    if (got.kind !== 'text' || reply?.type !== 'error' || typeof reply.message !== 'string' || reply.message === '') {
      throw this.v.fail({
        code: Codes.NO_ERROR_REPLY,
        expected,
        actual: describeFrame(got),
        hint: 'Errors are JSON, so a client can tell them from chat: send JSON.stringify({ type: "error", message: "what was wrong" }) to the sender, and nothing to anyone else.',
      });
    }
    this.received.get(from)!.push(got.data.toString('utf8'));
  }

  /**
   * After every relay expected has arrived, listens a little longer on every client: nothing more may
   * come. A second copy or an echo to the sender arrives within milliseconds on loopback.
   */
  async expectNothingMore(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, SILENCE_MS));
    const extras = this.clients.flatMap((client) => client.pending.map((frame) => ({ client, frame })));
    // Judged in this order: a server that delivers twice also echoes, and the copy is its first mistake.
    const duplicate = extras.find(({ client, frame }) => this.received.get(client)!.includes(frame.data.toString('utf8')));
    if (duplicate) throw this.duplicateFailure(duplicate.client, duplicate.frame, `${this.where(duplicate.client)} to receive each relay once`);
    const echo = extras.find(({ client, frame }) => this.saidBy(frame) === client);
    if (echo) throw this.echoFailure(echo.client, echo.frame, `no copy of ${echo.client.name}'s message for ${this.where(echo.client)}, who sent it`);
    const [extra] = extras;
    if (extra) {
      throw this.v.fail({
        code: Codes.UNEXPECTED_FRAME,
        expected: `nothing more for ${this.where(extra.client)} within ${SILENCE_MS} ms: every relay due has arrived`,
        actual: describeFrame(extra.frame),
        hint: 'Clients get chat relays, and their own error replies, and nothing else. An error or a bad message concerns its sender alone: answer it on that socket, and never publish it.',
      });
    }
    this.v.note(`✓ nothing more arrived anywhere in ${SILENCE_MS} ms: each relay came once, and never back to its sender`);
  }

  private async expectRelay(from: TestClient, listener: TestClient, want: Relay, burst: string[]): Promise<void> {
    const expected = `${this.where(listener)} to receive ${relayText(want)}`;
    const local = this.serverOf(listener) === this.serverOf(from);
    let got: Frame;
    try {
      got = await listener.nextFrame(expected, {
        timeoutCode: local ? Codes.LOCAL_MISSED : Codes.NOT_ACROSS,
        timeoutHint: local ? this.localMissedHint(from, listener, want) : this.notAcrossHint(from, listener),
      });
    } catch (error) {
      if (error instanceof VerifyFailure && error.code === Codes.LOCAL_MISSED) error.hint = this.localMissedHint(from, listener, want);
      throw error;
    }
    const failure = this.diagnose(listener, got, want, burst, expected);
    if (failure) throw failure;
    this.received.get(listener)!.push(got.data.toString('utf8'));
  }

  /** Says what is wrong with a frame that arrived where `want` was due, or nothing if it is right. */
  private diagnose(listener: TestClient, got: Frame, want: Relay, burst: string[], expected: string): VerifyFailure | undefined {
    const text = got.data.toString('utf8');
    if (got.kind === 'text' && text === relayText(want)) return undefined;
    if (this.received.get(listener)!.includes(text)) return this.duplicateFailure(listener, got, `${expected} next`);
    if (this.saidBy(got) === listener) return this.echoFailure(listener, got, `${expected} next`);
    const relay = asObject(parseJson(text));
    const actual = describeFrame(got);
    const failure = (code: string, hint: string, detail = '') => new VerifyFailure({ code, expected, actual: actual + detail, hint });
    if (relay?.type === 'chat' && relay.sender === want.sender && relay.message !== want.message && burst.includes(relay.message as string)) {
      return failure(
        Codes.OUT_OF_ORDER,
        'Messages published on one connection reach every subscriber in the order they were published. Publish each message as it arrives, on one publisher connection, without awaiting anything else first, and relay what the subscriber receives in the order it comes.',
        ` (${want.sender} sent them in the order ${burst.map((m) => JSON.stringify(m)).join(', ')})`,
      );
    }
    if (this.traffic.published.some((p) => p.payload === text)) {
      return failure(
        Codes.WRONG_SHAPE,
        'That is what was published to Redis, passed on to the client as it came. What travels between servers is your business; what clients get is the protocol: build {"type":"chat","sender":…,"message":…} from it, without the instance id.',
        ': the message exactly as it was published to Redis',
      );
    }
    if (relay?.message === want.message) {
      return failure(
        Codes.WRONG_SHAPE,
        'Every client, on whichever server, gets exactly the relay of lesson 03: {"type":"chat","sender":…,"message":…}, and no other field.',
      );
    }
    return failure(
      Codes.UNEXPECTED_FRAME,
      'Each client must get every relay, in the order its sender spoke. Something else arrived first: read the transcript above to see where it came from.',
    );
  }

  private duplicateFailure(listener: TestClient, got: Frame, expected: string): VerifyFailure {
    const author = this.saidBy(got);
    const local = author !== undefined && this.serverOf(author) === this.serverOf(listener);
    const message = asObject(parseJson(got.data.toString('utf8')))?.message;
    const publishes = this.traffic.published.filter((p) => typeof message === 'string' && p.payload?.includes(message)).length;
    const hint = local
      ? `${listener.name} shares ${this.serverOf(listener)} with ${author!.name}: that server sent him the relay itself, then again when Redis handed it back its own PUBLISH (Redis delivers to every subscriber, the publisher's instance included). ` +
        'Put the instance id in what you publish and, in the subscriber, skip messages that carry your own; or deliver only what comes from Redis, never directly.'
      : publishes > 1
        ? `The message was published ${publishes} times (see the PUBLISH lines above): publish each chat message once, from the server its sender is connected to.`
        : `Redis handed ${this.serverOf(listener)} the message once, and it passed it on twice: does it subscribe twice, or add its subscriber.on('message', …) listener more than once (inside wss.on('connection'), say)? Set it up once, when the server starts.`;
    return new VerifyFailure({
      code: Codes.DUPLICATE,
      expected,
      actual: `${describeFrame(got)} a second time`,
      hint,
    });
  }

  private echoFailure(sender: TestClient, got: Frame, expected: string): VerifyFailure {
    const server = this.serverOf(sender);
    return new VerifyFailure({
      code: Codes.ECHOED_TO_SENDER,
      expected,
      actual: describeFrame(got),
      hint:
        `Redis handed ${sender.name}'s message back to ${server}, which is subscribed like every instance, and ${server} passed it to all its clients, ${sender.name} included. ` +
        'Across instances a socket cannot be compared with ===: deliver to your own clients directly (skipping the sender\'s socket) and ignore what comes back from your own instance, ' +
        'or publish an id of the sender with the message and skip the client it names.',
    });
  }

  private localMissedHint(from: TestClient, listener: TestClient, want: Relay): string {
    const server = this.serverOf(from);
    const elsewhere = this.clients.filter((c) => this.serverOf(c) !== server && c.pending.some((f) => f.data.toString('utf8') === relayText(want)));
    if (elsewhere.length) {
      return (
        `${elsewhere.map((c) => c.name).join(' and ')}, on the other server, did get it, through Redis; ${listener.name}, on ${server} with ${from.name}, did not. ` +
        `Skipping your own instance's messages when Redis hands them back is right, but then ${server} must send to its own clients directly: the loop of lesson 03, the sender excepted.`
      );
    }
    return `${listener.name} is on ${server}, like ${from.name}: only ${server} can reach him. Send the relay to its own open clients (the loop of lesson 03, the sender excepted), as well as publishing it for the other servers.`;
  }

  private notAcrossHint(from: TestClient, listener: TestClient): string {
    const there = this.serverOf(listener);
    return (
      `${capital(this.serverOf(from))} published it and ${there} is subscribed, so Redis handed it to ${there}, which passed nothing to ${listener.name}. ` +
      `In the subscriber's 'message' handler, send the relay to every open client of the instance. If you skip messages from your own instance, each instance needs an id no other has: ` +
      `here INSTANCE_ID is A on one and B on the other, but a constant in the code makes ${there} take every message for its own.`
    );
  }

  private notPublished(from: TestClient, messages: string[], seen: number, mark: number): VerifyFailure {
    const server = this.serverOf(from);
    const { channel } = this.traffic;
    const astray = this.traffic.commands.slice(mark).find((c) => c.name === 'PUBLISH' && c.channel !== channel);
    const what = messages.length === 1 ? `${from.name}'s message` : `each of ${from.name}'s ${messages.length} messages`;
    return new VerifyFailure({
      code: Codes.NOT_PUBLISHED,
      expected: `${server} to PUBLISH ${what} on ${channel} within ${this.v.timeouts.stepMs} ms`,
      actual: astray
        ? `a PUBLISH on ${JSON.stringify(astray.channel)}, a channel no server listens to`
        : seen === 0
          ? 'no PUBLISH at all'
          : `${seen} PUBLISH of ${messages.length}`,
      hint: astray
        ? `Publish on the channel the servers subscribe to: process.env.CHAT_CHANNEL (${channel}) for both.`
        : `Subscribing is half of it: the other server learns what ${from.name} said only if ${server} publishes it. In the 'message' handler, publisher.publish(process.env.CHAT_CHANNEL, JSON.stringify(…)) for every chat message, on a connection that is not the subscriber.`,
    });
  }

  /** The client that said the chat message this frame relays, if it relays one. */
  private saidBy(frame: Frame): TestClient | undefined {
    const message = asObject(parseJson(frame.data.toString('utf8')))?.message;
    return typeof message === 'string' ? this.said.get(message) : undefined;
  }
}

// ── Failures that a program's own output explains better ─────────────────────────────────────────────

const SUBSCRIBER_MODE = /subscriber mode/i;

/**
 * Runs the story, then writes whatever Redis saw that was not shown yet. A server that published on
 * its subscriber connection is reported as such, whatever symptom it caused first: a crash (an
 * unhandled rejection of publish()), or a message that never went out because the error was logged.
 */
async function explained(v: Verification, traffic: RedisTraffic, story: () => Promise<void>): Promise<void> {
  try {
    await story();
  } catch (error) {
    if (!(error instanceof VerifyFailure) || !SUBSCRIBER_MODE.test(programOutput(v))) throw error;
    const culprit = v.servers.find((s) => SUBSCRIBER_MODE.test(programOutput(v, s.program.name)));
    const crashed = culprit?.program.exitInfo !== undefined;
    // The error's own line (a crash prints the source line above it), or the line the program logged.
    const lines = programOutput(v).split('\n');
    const refusal = (lines.find((line) => /Error:.*subscriber mode/i.test(line)) ?? lines.find((line) => SUBSCRIBER_MODE.test(line)))?.trim();
    const failure = new VerifyFailure({
      code: Codes.PUBLISH_ON_SUBSCRIBER,
      message: `${capital(culprit?.program.name ?? 'your server')} ${crashed ? 'crashed' : 'could not publish'}: ioredis refused PUBLISH on a connection in subscriber mode.`,
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

