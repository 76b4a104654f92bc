/**
 * Lesson 17 — socket.io across nodes. The story: a real Redis runs; the learner's socket.io server
 * starts twice, as node A and node B, with one REDIS_URL and ADAPTER_KEY; both must join the cluster
 * through the Redis adapter. Five clients connect straight to the nodes, alice, carol and erin to A,
 * bob and dave to B; they join two rooms, a member of each on each node; whoever says something, first,
 * middle or last, on A or on B, a member or not, reaches every member of the room on both nodes, once;
 * counts and a roll call span both nodes; bad input is refused and changes nothing. Then a load balancer
 * of the verifier's own goes in front: round robin breaks a client that starts on HTTP long-polling
 * ("Session ID unknown"), a balancer that sticks on the server's `io` cookie carries it, and a
 * WebSocket-only client needs no stickiness at all.
 */
import http from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import type { Redis } from 'ioredis';
import { defineRules, HarnessCodes, VerifyFailure, type LessonVerifier, type PrepareRun, type RunningServer, type Verification } from './harness/index.ts';
import { delay } from './harness/json.ts';
import { cookieValue, LoadBalancer, type Backend } from './harness/load-balancer.ts';
import { provideRedis } from './harness/redis-server.ts';
import { describeArgs, socketIoClient, type SocketIoTestClient } from './harness/socketio-client.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  NO_ADAPTER: 'CLUSTER_NO_ADAPTER',
  KEY_IGNORED: 'CLUSTER_KEY_IGNORED',
  JOIN_NOT_ACKED: 'CLUSTER_JOIN_NOT_ACKED',
  BAD_JOIN_ACK: 'CLUSTER_BAD_JOIN_ACK',
  WRONG_NODE: 'CLUSTER_WRONG_NODE',
  SAY_NOT_ACKED: 'CLUSTER_SAY_NOT_ACKED',
  BAD_SAY_ACK: 'CLUSTER_BAD_SAY_ACK',
  NOT_DELIVERED: 'CLUSTER_NOT_DELIVERED',
  NOT_ACROSS: 'CLUSTER_NOT_ACROSS',
  SENDER_LEFT_OUT: 'CLUSTER_SENDER_LEFT_OUT',
  WRONG_SAID: 'CLUSTER_WRONG_SAID',
  TEXT_CHANGED: 'CLUSTER_TEXT_CHANGED',
  LEAKED: 'CLUSTER_LEAKED_TO_OTHER_ROOM',
  DUPLICATE: 'CLUSTER_DUPLICATE',
  COUNT_NOT_ACKED: 'CLUSTER_COUNT_NOT_ACKED',
  BAD_COUNT: 'CLUSTER_BAD_COUNT',
  COUNT_LOCAL_ONLY: 'CLUSTER_COUNT_LOCAL_ONLY',
  ROLL_CALL_NOT_ACKED: 'CLUSTER_ROLL_CALL_NOT_ACKED',
  ROLL_CALL_LOCAL_ONLY: 'CLUSTER_ROLL_CALL_LOCAL_ONLY',
  ROLL_CALL_GAVE_UP: 'CLUSTER_ROLL_CALL_GAVE_UP',
  ROLL_CALL_WAITED_TOO_LONG: 'CLUSTER_ROLL_CALL_WAITED_TOO_LONG',
  BAD_ROLL_CALL: 'CLUSTER_BAD_ROLL_CALL',
  INVALID_NOT_REFUSED: 'CLUSTER_INVALID_NOT_REFUSED',
  INVALID_DELIVERED: 'CLUSTER_INVALID_DELIVERED',
  REFUSED_TEXT: 'CLUSTER_REFUSED_TEXT',
  INVALID_CRASHED: 'CLUSTER_INVALID_CRASHED',
  NO_COOKIE: 'CLUSTER_NO_COOKIE',
  COOKIE_NAME: 'CLUSTER_COOKIE_NAME',
  POLLING_FAILED: 'CLUSTER_POLLING_FAILED',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: {
    text: 'A socket.io 4 server on `process.env.PORT`.',
    codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED, HarnessCodes.CONNECT_FAILED],
  },
  R2: {
    text: "Give it socket.io's Redis adapter, `createAdapter(pub, sub, { key: process.env.ADAPTER_KEY })`, over two connections to `process.env.REDIS_URL`.",
    codes: [Codes.NO_ADAPTER, Codes.KEY_IGNORED],
  },
  R3: {
    text: '**Join**: `join` with a room puts the socket in that room and acknowledges exactly `{ ok: true, room, node }`, where `node` is `process.env.NODE_ID`.',
    codes: [Codes.JOIN_NOT_ACKED, Codes.BAD_JOIN_ACK, Codes.WRONG_NODE],
  },
  R4: {
    text: "**Say**: `say` with `{ room, text }` sends the event `said`, exactly `{ room, text, node }` (the sender's node), to every socket in that room on every node, once each, the sender too when it is a member; then it acknowledges exactly `{ ok: true }`.",
    codes: [Codes.SAY_NOT_ACKED, Codes.BAD_SAY_ACK, Codes.NOT_DELIVERED, Codes.NOT_ACROSS, Codes.SENDER_LEFT_OUT, Codes.WRONG_SAID, Codes.TEXT_CHANGED, Codes.LEAKED, Codes.DUPLICATE],
  },
  R5: {
    text: '**Count**: `count` with a room acknowledges exactly `{ ok: true, room, count }`: how many sockets are in that room, on all nodes together.',
    codes: [Codes.COUNT_NOT_ACKED, Codes.BAD_COUNT, Codes.COUNT_LOCAL_ONLY],
  },
  R6: {
    text: '**Roll call**: `roll-call` emits `roll-call` to every client on every node with an acknowledgement, waiting `ROLL_CALL_MS` milliseconds at most, and acknowledges the caller exactly `{ ok: true, answers }`, every answer that came in time.',
    codes: [Codes.ROLL_CALL_NOT_ACKED, Codes.ROLL_CALL_LOCAL_ONLY, Codes.ROLL_CALL_GAVE_UP, Codes.ROLL_CALL_WAITED_TOO_LONG, Codes.BAD_ROLL_CALL],
  },
  R7: {
    text: '**Refuse what is not valid**, exactly `{ ok: false, error }`, and do nothing else: a room that is not a non-empty string, a `say` payload that is not an object or whose `text` is not a string. Any string is a text.',
    codes: [Codes.INVALID_NOT_REFUSED, Codes.INVALID_DELIVERED, Codes.REFUSED_TEXT, Codes.INVALID_CRASHED],
  },
  R8: {
    text: "**Stickiness**: set socket.io's `cookie` option with the name `io`, so that a load balancer can stick each session to its node and a client that starts on HTTP long-polling works behind it.",
    codes: [Codes.NO_COOKIE, Codes.COOKIE_NAME, Codes.POLLING_FAILED],
  },
});

const LOBBY = 'lobby';
/** A room name is any string: this one is not ASCII. */
const KITCHEN = 'kitchen 🍳';
/** How long, once, everyone must stay quiet to show that nothing else went anywhere, across Redis too. */
const QUIET_MS = 100;
/** 100 KiB of text, and more than 65,536 characters: a limit on the length or on the bytes shows here. */
const LARGE_TEXT = `${'ß'.repeat(512)}${'a'.repeat(99 * 1024 - 18)} (100 KiB of text)`;
/** sleepy answers a roll call this many times ROLL_CALL_MS late: well after the roll call is over. */
const SLEEPY_LATE_FACTOR = 3;
/** What each client answers to a roll call. */
const ROLL_CALL_ANSWER = 'here';

const ADAPTER_HINT =
  'Without an adapter, each node knows only its own sockets: io.to(room).emit stops at the process. ' +
  'const pub = new Redis(process.env.REDIS_URL); const sub = pub.duplicate(); then new Server(port, { adapter: createAdapter(pub, sub, { key: process.env.ADAPTER_KEY }) }).';
const ACROSS_HINT =
  'Send with io.to(room).emit(…): with the Redis adapter it reaches the room on every node. io.local, socket.rooms or a loop over io.sockets.sockets stop at this process.';

export default (async (v) => {
  const { redis, env, key } = await shareRedis(v);
  const nodeA = await v.start({ name: 'node A', env: { ...env, NODE_ID: 'A' } });
  const nodeB = await v.start({ name: 'node B', env: { ...env, NODE_ID: 'B' } });
  const backends: Backend[] = [
    { name: 'node A', server: nodeA },
    { name: 'node B', server: nodeB },
  ];
  const cluster = new Cluster(v, { A: nodeA, B: nodeB });

  await v.step('both nodes join the cluster: each subscribes to the Redis adapter\'s channels under ADAPTER_KEY', ['R2'], async () => {
    await adapterReady(v, redis, key);
  });

  let alice!: Member, bob!: Member, carol!: Member, dave!: Member, erin!: Member;
  await v.step('five clients connect straight to the nodes: alice, carol and erin to node A, bob and dave to node B', ['R1'], async () => {
    alice = await cluster.connect('alice', 'A');
    bob = await cluster.connect('bob', 'B');
    carol = await cluster.connect('carol', 'A');
    dave = await cluster.connect('dave', 'B');
    erin = await cluster.connect('erin', 'A');
  });

  await v.step(`alice (A), bob (B) and carol (A) join the lobby; dave (B) and erin (A) the "${KITCHEN}": each ack names the node`, ['R3'], async () => {
    for (const m of [alice, bob, carol]) await cluster.join(m, LOBBY);
    for (const m of [dave, erin]) await cluster.join(m, KITCHEN);
  });

  await v.step('alice, first in the lobby, on node A, says something: it reaches the lobby on both nodes, her too', ['R4'], async () => {
    await cluster.say(alice, LOBBY, 'hello from A');
    await cluster.quiet();
    v.note('✓ nothing else arrived anywhere: not in the kitchen, and no second copy');
  });

  await v.step('bob (the middle one, on B), carol (the last, on A), and dave in the kitchen (B): each reaches exactly its room', ['R4'], async () => {
    await cluster.say(bob, LOBBY, 'hello from B');
    await cluster.say(carol, LOBBY, 'carol, last in, on A');
    await cluster.say(dave, KITCHEN, 'the kitchen, from B');
    await cluster.quiet();
  });

  await v.step('erin, in the kitchen, says something to the lobby: the lobby hears it, erin does not', ['R4'], async () => {
    await cluster.say(erin, LOBBY, 'a word from the kitchen');
    await cluster.quiet();
  });

  await v.step('any text goes through unchanged: empty, blank, spaces at the ends, accents and emoji, 100 KiB; other fields stay behind', ['R4', 'R7'], async () => {
    for (const text of ['', '   ', '  café — naïve, 漢字, 🎉  ', LARGE_TEXT]) await cluster.say(bob, LOBBY, text, { anyText: true });
    await cluster.say(dave, KITCHEN, 'only room and text travel', { extra: { node: 'Z', from: 'mallory', id: 7 } });
    await cluster.quiet();
  });

  await v.step('count: each node answers for the whole cluster', ['R5'], async () => {
    await cluster.count(dave, LOBBY, 3);
    await cluster.count(alice, KITCHEN, 2);
    await cluster.count(bob, KITCHEN, 2);
    await cluster.count(erin, 'nobody here', 0);
  });

  await v.step('roll call: carol asks; every client on both nodes is asked, sleepy (on B) answers too late, and the others\' answers come back', ['R6'], async () => {
    const sleepy = await cluster.connect('sleepy', 'B', { lateByMs: SLEEPY_LATE_FACTOR * Number(v.lessonEnv.ROLL_CALL_MS) });
    await cluster.rollCall(carol, sleepy);
  });

  await survives(v, () =>
    v.step('what is not valid is refused, in its ack, and changes nothing', ['R7'], async () => {
      for (const room of ['', null, 42, [LOBBY, KITCHEN], { room: LOBBY }]) await cluster.refused(alice, 'join', room);
      const payloads: unknown[] = [
        null,
        'hello',
        42,
        [LOBBY, 'hi'],
        { room: LOBBY },
        { room: LOBBY, text: 42 },
        { room: LOBBY, text: null },
        { room: LOBBY, text: ['hi'] },
        { room: LOBBY, text: Buffer.from('hi') },
        { room: '', text: 'hi' },
        { room: 42, text: 'hi' },
        { text: 'hi' },
      ];
      for (const payload of payloads) await cluster.refused(bob, 'say', payload);
      for (const room of [null, '', 7]) await cluster.refused(dave, 'count', room);
      await cluster.quiet(Codes.INVALID_DELIVERED);
      await cluster.count(alice, LOBBY, 3);
      v.note('✓ each was refused, nobody received anything, and alice is in no room she did not ask for');
    }),
  );

  await v.step('the handshake\'s answer sets the cookie io, which a load balancer can stick on', ['R8'], async () => {
    await cookieSet(v, nodeA);
  });

  await v.step('a round-robin load balancer, no stickiness: the second request of a polling session reaches the other node (a demonstration)', ['R8'], async () => {
    const balancer = await LoadBalancer.open(backends);
    v.defer(() => balancer.close());
    await roundRobinDemo(v, balancer);
  });

  await v.step('a load balancer that sticks on the io cookie: a client that starts on HTTP long-polling gets through, and upgrades', ['R4', 'R8'], async () => {
    const balancer = await LoadBalancer.open(backends, { stickyCookie: 'io' });
    v.defer(() => balancer.close());
    v.note('the balancer routes a request without the cookie round robin, and remembers which node set io=… in its answer');
    const polly = await cluster.connectThrough('polly', balancer, { transports: ['polling', 'websocket'], withCredentials: true });
    const first = balancer.routes[0];
    const node = first?.backend === backends[0] ? 'A' : 'B';
    polly.node = node;
    const strays = balancer.routes.slice(1).filter((r) => r.by !== 'cookie' || r.backend !== first?.backend);
    v.note(
      strays.length === 0
        ? `polly's handshake went to ${first?.backend.name}; every later request of her session carried io=… and went there too`
        : `polly's handshake went to ${first?.backend.name}; ${strays.length} later requests did not carry io=… and went round robin`,
    );
    await cluster.join(polly, LOBBY);
    await cluster.say(polly, LOBBY, 'hello through the balancer');
    await cluster.quiet();
    const upgraded = balancer.routes.some((r) => r.upgrade && r.by === 'cookie');
    v.note(upgraded ? '✓ the WebSocket upgrade carried the cookie as well, and went to the same node' : 'polly stayed on HTTP long-polling');
  });

  await v.step('WebSocket only: through the round-robin balancer, one request is one connection, and no stickiness is needed', ['R1', 'R5'], async () => {
    const balancer = await LoadBalancer.open(backends);
    v.defer(() => balancer.close());
    const wendy = await cluster.connectThrough('wendy', balancer, { transports: ['websocket'] });
    wendy.node = balancer.routes[0]?.backend === backends[0] ? 'A' : 'B';
    await cluster.join(wendy, LOBBY);
    await cluster.count(wendy, LOBBY, 5);
    v.note("the cost: a client where WebSockets are blocked (a proxy, an old network) has no fallback, and nothing starts on HTTP long-polling");
  });
}) satisfies LessonVerifier;

/** `wsw run`: a Redis, node A and node B on it; the interactive client on node A (run says how to open one on B). */
export const prepareRun: PrepareRun = async (v) => {
  const { env } = await shareRedis(v, { live: true });
  await v.start({ name: 'node A', env: { ...env, NODE_ID: 'A' } });
  return { start: { name: 'node B', env: { ...env, NODE_ID: 'B' } }, protocol: 'socket.io' };
};

// ── Redis and the adapter ─────────────────────────────────────────────────────────────────────────

async function shareRedis(v: Verification, options: { live?: boolean } = {}): Promise<{ redis: Redis; env: Record<string, string>; key: string }> {
  const provided = await provideRedis(v);
  const base = v.lessonEnv.ADAPTER_KEY ?? 'socket.io';
  // A key of this run's own: on a Redis a class shares, no two runs hear each other; and a program that
  // writes the key in its code instead of reading ADAPTER_KEY works by hand, and shows here.
  const key = `${base}${provided.isolation || (options.live ? '' : ':verify')}`;
  return { redis: provided.connect(), env: { REDIS_URL: provided.url, ADAPTER_KEY: key }, key };
}

/** Waits until both nodes subscribe to the adapter's request channel under `key`: readiness, probed. */
async function adapterReady(v: Verification, redis: Redis, key: string): Promise<void> {
  const channel = `${key}-request#/#`;
  const deadline = Date.now() + v.timeouts.stepMs;
  let subscribers = 0;
  while (Date.now() < deadline) {
    subscribers = await numsub(redis, channel);
    if (subscribers >= 2) break;
    await delay(20);
  }
  if (subscribers >= 2) {
    v.note(`✓ 2 connections subscribe to ${channel}, one per node: that is how a node asks the others (fetchSockets, acks)`);
    return;
  }
  const others = ((await redis.pubsub('CHANNELS', '*-request#/#')) as string[]).filter((c) => c !== channel);
  if (others.length > 0) {
    throw v.fail({
      code: Codes.KEY_IGNORED,
      expected: `both nodes to subscribe to ${channel}, the adapter's channel under ADAPTER_KEY=${key}`,
      actual: `${subscribers} on it, and subscriptions to ${others.join(', ')} instead`,
      hint:
        'Pass the key to the adapter: createAdapter(pub, sub, { key: process.env.ADAPTER_KEY }). Its channels belong to the whole Redis: ' +
        'two apps (or two classes) on the default key socket.io hear each other\'s rooms.',
    });
  }
  throw v.fail({
    code: Codes.NO_ADAPTER,
    expected: `both nodes to subscribe to ${channel} on the Redis at REDIS_URL within ${v.timeouts.stepMs} ms`,
    actual: `${subscribers} subscriber${subscribers === 1 ? '' : 's'}: ${subscribers === 0 ? 'no node uses the Redis adapter there' : 'one node does not'}`,
    hint: ADAPTER_HINT,
  });
}

async function numsub(redis: Redis, channel: string): Promise<number> {
  const reply = (await redis.pubsub('NUMSUB', channel)) as Array<string | number>;
  return Number(reply[1] ?? 0);
}

// ── The cookie and the load balancer ─────────────────────────────────────────────────────────────

interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(url: string, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** The session id in engine.io's open packet `0{"sid":…}`. */
function sidOf(body: string): string | undefined {
  try {
    const open = JSON.parse(body.slice(body.indexOf('{'))) as { sid?: unknown };
    return typeof open.sid === 'string' ? open.sid : undefined;
  } catch {
    return undefined;
  }
}

const HANDSHAKE_PATH = '/socket.io/?EIO=4&transport=polling';
const COOKIE_HINT =
  "socket.io sets no cookie unless asked: new Server(port, { adapter, cookie: { name: 'io', httpOnly: true, path: '/' } }) (or cookie: true). " +
  'Its value is the session id: a load balancer that remembers which node set it (nginx\'s sticky learn, HAProxy\'s cookie) sends every later request of that session there.';

async function cookieSet(v: Verification, node: RunningServer): Promise<void> {
  v.transcript.add({ kind: 'client', name: 'http' }, `→ GET ${HANDSHAKE_PATH} (straight to node A)`);
  const answer = await get(`${node.httpUrl}${HANDSHAKE_PATH}`, v.timeouts.stepMs);
  const cookies = answer.headers['set-cookie'] ?? [];
  const sid = sidOf(answer.body);
  v.transcript.add({ kind: 'client', name: 'http' }, `← HTTP ${answer.status}, Set-Cookie: ${cookies.length ? cookies.map((c) => c.replace(sid ?? '\0', '…')).join(' | ') : '(none)'}`);
  if (answer.status !== 200) {
    throw v.fail({
      code: Codes.POLLING_FAILED,
      expected: 'HTTP 200 and engine.io\'s open packet: a session that starts on HTTP long-polling',
      actual: `HTTP ${answer.status} ${answer.body.slice(0, 120)}`,
      hint:
        "Keep HTTP long-polling among the server's transports (the default, ['polling', 'websocket']): a browser behind a proxy that blocks WebSockets has nothing else, " +
        'and WebSocket-only is a choice for the clients to make, io(url, { transports: ["websocket"] }), not one to force on all of them.',
    });
  }
  const value = cookies.map((c) => cookieValue(c.split(';')[0], 'io')).find((x) => x !== undefined);
  if (value === undefined) {
    const other = cookies.map((c) => c.split(';')[0]!).find((c) => sid !== undefined && c.endsWith(`=${sid}`));
    throw v.fail(
      other
        ? { code: Codes.COOKIE_NAME, expected: 'a cookie named io holding the session id', actual: `Set-Cookie: ${other.replace(sid!, '…')}`, hint: "The load balancer sticks on a cookie called io: cookie: { name: 'io' }. A balancer is configured with one name; the servers behind it must all use it." }
        : { code: Codes.NO_COOKIE, expected: 'the handshake\'s answer to set the cookie io (the session id)', actual: cookies.length ? `only ${cookies.join(', ')}` : 'no Set-Cookie header', hint: COOKIE_HINT },
    );
  }
  v.note('✓ io=… is the session id: the balancer will remember which node set it');
}

async function roundRobinDemo(v: Verification, balancer: LoadBalancer): Promise<void> {
  const say = (text: string) => v.transcript.add({ kind: 'client', name: 'http' }, text);
  say(`→ GET ${HANDSHAKE_PATH} (through the balancer)`);
  const open = await get(`${balancer.httpUrl}${HANDSHAKE_PATH}`, v.timeouts.stepMs);
  const sid = sidOf(open.body);
  say(`← HTTP ${open.status} ${open.body.replace(sid ?? '\0', '…')} (from ${balancer.routes[0]?.backend.name})`);
  if (!sid) return;
  say(`→ GET ${HANDSHAKE_PATH}&sid=… (the first poll of that session, through the balancer)`);
  const poll = await get(`${balancer.httpUrl}${HANDSHAKE_PATH}&sid=${encodeURIComponent(sid)}`, v.timeouts.stepMs);
  say(`← HTTP ${poll.status} ${poll.body} (from ${balancer.routes[1]?.backend.name})`);
  v.note(
    `the session lives in ${balancer.routes[0]?.backend.name}'s memory; ${balancer.routes[1]?.backend.name} has never heard of it. ` +
      'socket.io-client would give up on this connection: every polling request of a session must reach the node that holds it',
  );
}

// ── The clients and what they must hear ──────────────────────────────────────────────────────────

type NodeId = 'A' | 'B';

interface Member {
  name: string;
  client: SocketIoTestClient;
  node: NodeId;
  rooms: Set<string>;
  /** Texts this member has received, to name a second copy. */
  heard: Set<string>;
}

interface SayOptions {
  /** The text is one of the unusual strings: a refusal of it is R7's slip. */
  anyText?: boolean;
  /** Fields the payload carries besides room and text. */
  extra?: Record<string, unknown>;
}

class Cluster {
  readonly members: Member[] = [];
  /** Answers still to be given late; cleared at the end. */
  private readonly late: NodeJS.Timeout[] = [];

  constructor(
    private readonly v: Verification,
    private readonly nodes: Record<NodeId, RunningServer>,
  ) {
    v.defer(() => this.late.forEach((timer) => clearTimeout(timer)));
  }

  async connect(name: string, node: NodeId, options: { lateByMs?: number } = {}): Promise<Member> {
    const client = await socketIoClient(this.v, name, { server: this.nodes[node], log: 'read' });
    return this.add(name, client, node, options.lateByMs);
  }

  async connectThrough(name: string, balancer: LoadBalancer, io: Record<string, unknown>): Promise<Member> {
    const client = await socketIoClient(this.v, name, { url: balancer.httpUrl, log: 'read', io }).catch((error: unknown) => {
      if (error instanceof VerifyFailure && error.code === HarnessCodes.CONNECT_FAILED) {
        throw this.v.fail({
          code: Codes.POLLING_FAILED,
          expected: `${name} to connect through the load balancer, starting on HTTP long-polling`,
          actual: error.actual ?? error.message,
          hint: `Every polling request of a session must reach its node. ${COOKIE_HINT} And keep polling among the server's transports (the default).`,
        });
      }
      throw error;
    });
    return this.add(name, client, 'A');
  }

  private add(name: string, client: SocketIoTestClient, node: NodeId, lateByMs = 0): Member {
    // A roll call asks each client for an answer: each answers "here" (the same word from all, so that
    // the answers read the same whatever order they arrive in), at once, or `lateByMs` later.
    client.socket.on('roll-call', (ack: unknown) => {
      if (typeof ack !== 'function') return;
      const answer = () => (ack as (a: string) => void)(ROLL_CALL_ANSWER);
      if (lateByMs > 0) this.late.push(setTimeout(answer, lateByMs));
      else answer();
    });
    const member: Member = { name, client, node, rooms: new Set(), heard: new Set() };
    this.members.push(member);
    return member;
  }

  async join(m: Member, room: string): Promise<void> {
    const reply = await m.client.emitWithAck('join', [room], `an ack for ${m.name}'s join`, {
      timeoutCode: Codes.JOIN_NOT_ACKED,
      timeoutHint: "Answer every join through its callback: socket.on('join', (room, ack) => { socket.join(room); ack({ ok: true, room, node }); }).",
    });
    const want = { ok: true, room, node: m.node };
    if (!(reply.length === 1 && isDeepStrictEqual(reply[0], want))) {
      const [first] = reply;
      const wrongNode = isObject(first) && first.ok === true && first.room === room && 'node' in first && first.node !== m.node;
      throw this.v.fail({
        code: wrongNode ? Codes.WRONG_NODE : Codes.BAD_JOIN_ACK,
        expected: `the ack ${JSON.stringify(want)} (${m.name} is on node ${m.node})`,
        actual: describeArgs(reply) || 'a call with no argument',
        hint: wrongNode
          ? 'node is the NODE_ID this process was started with: process.env.NODE_ID, read at start-up. Not the port, not a name of your own: each node of a cluster runs the same file.'
          : 'Acknowledge with one object, exactly { ok: true, room, node }: the room as it came, and node = process.env.NODE_ID.',
      });
    }
    m.rooms.add(room);
  }

  async say(from: Member, room: string, text: string, options: SayOptions = {}): Promise<void> {
    const payload = { ...options.extra, room, text };
    const reply = await from.client.emitWithAck('say', [payload], `an ack for ${from.name}'s say`, {
      timeoutCode: Codes.SAY_NOT_ACKED,
      timeoutHint: "Answer every say through its callback, once it is sent: io.to(room).emit('said', { room, text, node }); ack({ ok: true }).",
    });
    if (!(reply.length === 1 && isDeepStrictEqual(reply[0], { ok: true }))) {
      const refused = isObject(reply[0]) && reply[0].ok === false;
      throw this.v.fail({
        code: refused ? Codes.REFUSED_TEXT : Codes.BAD_SAY_ACK,
        expected: `the ack {"ok":true} for a say with text ${JSON.stringify(preview(text))}`,
        actual: describeArgs(reply) || 'a call with no argument',
        hint: refused
          ? 'Any string is a text: "", blanks, spaces at the ends, any script, 100 KiB. Check typeof text === "string", nothing more (no trim, no length limit).'
          : 'Acknowledge a say with exactly { ok: true }, one object, after sending it.',
      });
    }
    const want = { room, text, node: from.node };
    // Same-node members first, then the other node, the sender last: a slip is named by who missed it.
    const listeners = this.members.filter((m) => m.rooms.has(room));
    const order = [...listeners.filter((m) => m !== from && m.node === from.node), ...listeners.filter((m) => m.node !== from.node), ...listeners.filter((m) => m === from)];
    for (const m of order) await this.hear(m, from, want);
  }

  private async hear(m: Member, from: Member, want: { room: string; text: string; node: NodeId }): Promise<void> {
    const code = m === from ? Codes.SENDER_LEFT_OUT : m.node === from.node ? Codes.NOT_DELIVERED : Codes.NOT_ACROSS;
    const hint =
      code === Codes.SENDER_LEFT_OUT
        ? `${m.name} is in the ${want.room} too: socket.to(room) leaves the sender out, io.to(room) does not. Send with io.to(room).emit('said', …).`
        : code === Codes.NOT_ACROSS
          ? `${m.name} is on node ${m.node}, ${from.name} on node ${from.node}. ${ACROSS_HINT}`
          : `${m.name} is in the ${want.room}, on ${from.name}'s own node: send to the room with io.to(room).emit('said', { room, text, node }).`;
    const got = await m.client.nextEvent(`${m.name} (node ${m.node}) to receive said ${JSON.stringify({ ...want, text: preview(want.text) })}`, { timeoutCode: code, timeoutHint: hint });
    if (got.event === 'said' && got.args.length === 1 && isDeepStrictEqual(got.args[0], want)) {
      m.heard.add(want.text);
      return;
    }
    const [said] = got.args;
    const textChanged = got.event === 'said' && isObject(said) && typeof said.text === 'string' && said.text !== want.text;
    throw this.v.fail({
      code: textChanged ? Codes.TEXT_CHANGED : Codes.WRONG_SAID,
      expected: `a said event ${JSON.stringify({ ...want, text: preview(want.text) })}`,
      actual: `a ${got.event} event ${describeArgs(got.args)}`,
      hint: textChanged
        ? 'Pass the text on as it came: no trim(), no cut, whatever its length or script.'
        : "The event is called said, with one object built from three fields: { room, text, node }, node being the sender's NODE_ID. Other fields of the payload stay behind.",
    });
  }

  /** Waits a moment, reads every client to the end, and names whatever arrived that should not have. */
  async quiet(code?: string): Promise<void> {
    await delay(QUIET_MS);
    await Promise.all(this.members.map((m) => m.client.flush()));
    for (const m of this.members) {
      const [got] = m.client.pending;
      if (!got) continue;
      m.client.releaseUnread();
      const [said] = got.args;
      const text = isObject(said) && typeof said.text === 'string' ? said.text : undefined;
      const room = isObject(said) && typeof said.room === 'string' ? said.room : undefined;
      const actual = `a ${got.event} event ${describeArgs(got.args)}`;
      if (code) throw this.v.fail({ code, expected: `nothing for ${m.name}: everything sent in this step was refused`, actual, hint: 'Check the input first, and return after refusing it: a refused say sends nothing.' });
      if (room !== undefined && !m.rooms.has(room)) {
        throw this.v.fail({ code: Codes.LEAKED, expected: `nothing for ${m.name}, who is not in the ${room}`, actual, hint: "io.emit reaches every client, whatever its rooms: send to the room only, io.to(room).emit('said', …)." });
      }
      throw this.v.fail({
        code: Codes.DUPLICATE,
        expected: `nothing more for ${m.name}`,
        actual: `${text !== undefined && m.heard.has(text) ? 'a second copy: ' : ''}${actual}`,
        hint: 'One io.to(room).emit per say: the adapter already delivers it on every node. Sending it again to the local room as well, or publishing it yourself, delivers it twice.',
      });
    }
  }

  async count(m: Member, room: string, expected: number): Promise<void> {
    const reply = await m.client.emitWithAck('count', [room], `an ack for ${m.name}'s count`, {
      timeoutCode: Codes.COUNT_NOT_ACKED,
      timeoutHint: "Answer the count through its callback: const sockets = await io.in(room).fetchSockets(); ack({ ok: true, room, count: sockets.length }).",
    });
    const want = { ok: true, room, count: expected };
    if (reply.length === 1 && isDeepStrictEqual(reply[0], want)) return;
    const [first] = reply;
    const local = isObject(first) && first.ok === true && first.room === room && typeof first.count === 'number' && first.count === this.members.filter((x) => x.rooms.has(room) && x.node === m.node).length && first.count !== expected;
    throw this.v.fail({
      code: local ? Codes.COUNT_LOCAL_ONLY : Codes.BAD_COUNT,
      expected: `the ack ${JSON.stringify(want)}: ${expected} socket${expected === 1 ? '' : 's'} in the ${room}, on both nodes`,
      actual: describeArgs(reply) || 'a call with no argument',
      hint: local
        ? `That is node ${m.node}'s own members only. io.of('/').adapter.rooms and io.local stop at the process; io.in(room).fetchSockets() asks every node through Redis.`
        : 'Acknowledge with exactly { ok: true, room, count }, count being how many sockets are in the room on all nodes: (await io.in(room).fetchSockets()).length.',
    });
  }

  async rollCall(caller: Member, sleepy: Member): Promise<void> {
    const rollCallMs = Number(this.v.lessonEnv.ROLL_CALL_MS);
    const started = Date.now();
    const reply = await caller.client.emitWithAck('roll-call', [], `an ack for ${caller.name}'s roll call, ROLL_CALL_MS=${rollCallMs} ms after the question`, {
      timeoutMs: rollCallMs + this.v.timeouts.stepMs,
      timeoutCode: Codes.ROLL_CALL_NOT_ACKED,
      timeoutHint:
        'Ask with a timeout from the environment, io.timeout(Number(process.env.ROLL_CALL_MS)).emit("roll-call", (err, answers) => ack({ ok: true, answers })): ' +
        'a client that never answers (sleepy) must not hold the caller forever, nor for a time of your own.',
    });
    const tookMs = Date.now() - started;
    const answering = this.members.filter((m) => m !== sleepy);
    const want = answering.map(() => ROLL_CALL_ANSWER);
    const [first] = reply;
    const answers = isObject(first) && Array.isArray(first.answers) ? [...(first.answers as unknown[])].map(String).sort() : undefined;
    if (!(reply.length === 1 && isObject(first) && first.ok === true && Object.keys(first).length === 2 && answers && isDeepStrictEqual(answers, want))) {
      const actual = describeArgs(reply) || 'a call with no argument';
      const names = answering.map((m) => m.name).join(', ');
      const local = answering.filter((m) => m.node === caller.node).length;
      if (answers && answers.length === local && answers.every((a) => a === ROLL_CALL_ANSWER)) {
        throw this.v.fail({ code: Codes.ROLL_CALL_LOCAL_ONLY, expected: `${want.length} answers, from ${names}, on both nodes`, actual, hint: `Only node ${caller.node}'s clients answered. ${ACROSS_HINT} The adapter carries the acknowledgements back: io.timeout(ms).emit(…, (err, answers) => …).` });
      }
      if (answers && answers.length === want.length + 1) {
        throw this.v.fail({
          code: Codes.ROLL_CALL_WAITED_TOO_LONG,
          expected: `${want.length} answers: sleepy answers ${SLEEPY_LATE_FACTOR} × ROLL_CALL_MS (${SLEEPY_LATE_FACTOR * rollCallMs} ms) late, after the roll call is over`,
          actual: `${actual}, sleepy's late answer too (after ${tookMs} ms)`,
          hint: 'The roll call waited longer than ROLL_CALL_MS: take the timeout from the environment, io.timeout(Number(process.env.ROLL_CALL_MS)), not a number of your own.',
        });
      }
      if (isObject(first) && first.ok === false) {
        throw this.v.fail({
          code: Codes.ROLL_CALL_GAVE_UP,
          expected: `{ ok: true, answers } with the ${want.length} answers that came in time`,
          actual,
          hint: 'A client that does not answer in time gives err ("operation has timed out"), but answers still holds every answer that came: acknowledge { ok: true, answers } whatever err says.',
        });
      }
      throw this.v.fail({
        code: Codes.BAD_ROLL_CALL,
        expected: `exactly { ok: true, answers } with ${want.length} answers "${ROLL_CALL_ANSWER}", from ${names}`,
        actual,
        hint: 'Acknowledge the caller with one object, { ok: true, answers }: answers as the emit with a timeout gave them, one per client that answered.',
      });
    }
    this.v.note(`✓ ${want.length} answers from both nodes, after ${tookMs} ms: the roll call waited for sleepy as long as ROLL_CALL_MS said, and not for his late answer`);
    for (const m of this.members) {
      const got = await m.client.nextEvent(`${m.name} to be asked roll-call`, { timeoutCode: Codes.ROLL_CALL_LOCAL_ONLY, timeoutHint: ACROSS_HINT });
      if (got.event !== 'roll-call') throw this.v.fail({ code: Codes.BAD_ROLL_CALL, expected: `${m.name} to be asked roll-call`, actual: `a ${got.event} event ${describeArgs(got.args)}`, hint: 'Emit the event roll-call to every client: io.timeout(ms).emit("roll-call", …).' });
    }
    await this.quiet();
  }

  async refused(m: Member, event: string, arg: unknown): Promise<void> {
    const reply = await m.client.emitWithAck(event, [arg], `a refusal of ${m.name}'s ${event}`, {
      timeoutCode: Codes.INVALID_NOT_REFUSED,
      timeoutHint: 'Answer what is not valid too: ack({ ok: false, error: "…" }). A client waiting for its callback waits forever otherwise.',
    });
    const [first] = reply;
    const ok = reply.length === 1 && isObject(first) && Object.keys(first).sort().join() === 'error,ok' && first.ok === false && typeof first.error === 'string' && first.error.trim() !== '';
    if (!ok) {
      throw this.v.fail({
        code: Codes.INVALID_NOT_REFUSED,
        expected: `a refusal, exactly { ok: false, error: "…" }, of ${event} ${describeArgs([arg])}`,
        actual: describeArgs(reply) || 'a call with no argument',
        hint: event === 'say'
          ? 'A say needs an object payload, a room that is a non-empty string and a text that is a string: check all three before sending anything.'
          : 'A room is a string that is not empty: check typeof room === "string" && room !== "" first (socket.join would take an array as several rooms).',
      });
    }
  }
}

/** Runs a step that may crash a careless server; a death of either node meanwhile is reported as INVALID_CRASHED. */
async function survives(v: Verification, body: () => Promise<void>): Promise<void> {
  await v.blameDeath(
    body,
    () => ({
      code: Codes.INVALID_CRASHED,
      when: 'when it was sent something that is not valid',
      hint: 'Anything can arrive: null, a number, an array. Check the type before reading a field of it (payload?.text), and refuse what is not valid.',
    }),
    { cleanExits: true, servers: v.servers },
  );
}

/** A text as a failure quotes it: long ones cut. */
function preview(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
