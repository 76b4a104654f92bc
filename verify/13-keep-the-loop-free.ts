/**
 * Lesson 13 — Keep the event loop free. The story: echoes come back at once, with their ids; primes
 * come back right, with their ids, more of them than the limit allows at once; POOL_SIZE requests at
 * once warm the pool; while every worker computes, another client's echoes come back at once, and the
 * program's event loop, watched from inside, never stands still; the program started POOL_SIZE
 * workers, once; short jobs pass a long one, because an idle worker takes them; three clients using
 * the same id each get their own answer; the pool and its queue filled, one more request is answered
 * busy at once, and invalid ones an error at once; every job accepted is answered; and on SIGTERM the
 * workers end with the server, and the process with them.
 */
import { isDeepStrictEqual } from 'node:util';
import { EventLoopPauses } from './harness/event-loop-pauses.ts';
import {
  defineRules,
  describeFrame,
  HarnessCodes,
  previewText,
  VerifyFailure,
  type Frame,
  type LessonVerifier,
  type RunningServer,
  type TestClient,
  type Verification,
} from './harness/index.ts';
import { asObject, delay, parseJson } from './harness/json.ts';
import type { ResourcesReport } from './harness/program.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  ECHO_NO_ANSWER: 'LOOP_ECHO_NO_ANSWER',
  ECHO_WRONG: 'LOOP_ECHO_WRONG',
  ECHO_QUEUED: 'LOOP_ECHO_QUEUED',
  PRIME_NO_ANSWER: 'LOOP_PRIME_NO_ANSWER',
  PRIME_WRONG: 'LOOP_PRIME_WRONG',
  ID_NOT_KEPT: 'LOOP_ID_NOT_KEPT',
  ANSWER_TO_WRONG_CLIENT: 'LOOP_ANSWER_TO_WRONG_CLIENT',
  BLOCKED: 'LOOP_BLOCKED',
  NO_WORKERS: 'LOOP_NO_WORKERS',
  COMPUTED_ON_MAIN: 'LOOP_COMPUTED_ON_MAIN',
  POOL_WRONG_SIZE: 'LOOP_POOL_WRONG_SIZE',
  WORKER_PER_REQUEST: 'LOOP_WORKER_PER_REQUEST',
  WORK_SERIALIZED: 'LOOP_WORK_SERIALIZED',
  GIVEN_TO_BUSY_WORKER: 'LOOP_GIVEN_TO_BUSY_WORKER',
  QUEUE_NOT_DRAINED: 'LOOP_QUEUE_NOT_DRAINED',
  QUEUE_UNLIMITED: 'LOOP_QUEUE_UNLIMITED',
  BUSY_TOO_SOON: 'LOOP_BUSY_TOO_SOON',
  BUSY_NOT_SENT: 'LOOP_BUSY_NOT_SENT',
  BUSY_WRONG_SHAPE: 'LOOP_BUSY_WRONG_SHAPE',
  BUSY_BUT_COMPUTED: 'LOOP_BUSY_BUT_COMPUTED',
  LIMIT_NEVER_FREED: 'LOOP_LIMIT_NEVER_FREED',
  INVALID_ACCEPTED: 'LOOP_INVALID_ACCEPTED',
  INVALID_QUEUED: 'LOOP_INVALID_QUEUED',
  ERROR_WRONG_SHAPE: 'LOOP_ERROR_WRONG_SHAPE',
  CLOSED_ON_BAD_INPUT: 'LOOP_CLOSED_ON_BAD_INPUT',
  CRASHED_ON_BAD_INPUT: 'LOOP_CRASHED_ON_BAD_INPUT',
  SIGTERM_NOT_HANDLED: 'LOOP_SIGTERM_NOT_HANDLED',
  WORKERS_LEFT_RUNNING: 'LOOP_WORKERS_LEFT_RUNNING',
  SERVER_NOT_CLOSED: 'LOOP_SERVER_NOT_CLOSED',
} as const;

/** The longest the event loop may stand still while the workers compute, as problem.md says. */
const LOOP_BOUND_MS = 50;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: {
    text: 'Answer `{"type":"echo","id":…,"text":…}` at once with `{"type":"echo","id":…,"text":…}`: the same id, the same text.',
    codes: [Codes.ECHO_NO_ANSWER, Codes.ECHO_WRONG, Codes.ECHO_QUEUED],
  },
  R3: {
    text: 'Answer `{"type":"prime","id":…,"n":…}` with `{"type":"prime","id":…,"prime":…}`, where `prime` is `nthPrime(n)`.',
    codes: [Codes.PRIME_NO_ANSWER, Codes.PRIME_WRONG],
  },
  R4: {
    text: 'Every answer carries the `id` of its request, exactly as it came, and goes to the client that sent it, and to no other.',
    codes: [Codes.ID_NOT_KEPT, Codes.ANSWER_TO_WRONG_CLIENT],
  },
  R5: {
    text: `Compute primes in worker threads, never on the main thread: while they compute, its event loop never stands still for more than ${LOOP_BOUND_MS} ms.`,
    codes: [Codes.BLOCKED, Codes.NO_WORKERS, Codes.COMPUTED_ON_MAIN],
  },
  R6: { text: 'Start `POOL_SIZE` workers, once, for the whole server, and reuse them: never a worker per request, nor a pool per client.', codes: [Codes.POOL_WRONG_SIZE, Codes.WORKER_PER_REQUEST] },
  R7: {
    text: 'A job goes to an idle worker; when no worker is idle, it waits in a queue until one is.',
    codes: [Codes.WORK_SERIALIZED, Codes.GIVEN_TO_BUSY_WORKER, Codes.QUEUE_NOT_DRAINED],
  },
  R8: {
    text: 'At most `POOL_SIZE + QUEUE_LIMIT` prime requests are in flight (computing or waiting); one more is answered at once with `{"type":"busy","id":…}`, and never computed.',
    codes: [Codes.QUEUE_UNLIMITED, Codes.BUSY_TOO_SOON, Codes.BUSY_NOT_SENT, Codes.BUSY_WRONG_SHAPE, Codes.BUSY_BUT_COMPUTED, Codes.LIMIT_NEVER_FREED],
  },
  R9: {
    text: 'An invalid request is answered at once with `{"type":"error","id":…,"message":…}`, takes no place, and never closes the connection or stops the server.',
    codes: [Codes.INVALID_ACCEPTED, Codes.INVALID_QUEUED, Codes.ERROR_WRONG_SHAPE, Codes.CLOSED_ON_BAD_INPUT, Codes.CRASHED_ON_BAD_INPUT],
  },
  R10: {
    text: 'On `SIGTERM`, close the server and terminate every worker: once its clients have gone, the process ends by itself, with exit code 0.',
    codes: [Codes.SIGTERM_NOT_HANDLED, Codes.WORKERS_LEFT_RUNNING, Codes.SERVER_NOT_CLOSED],
  },
});

/** nthPrime(n) for every n the verifier asks about, worked out once (the verifier computes nothing). */
const PRIMES: Readonly<Record<number, number>> = {
  1: 2,
  2: 3,
  6: 13,
  10: 29,
  20: 71,
  100: 541,
  200: 1223,
  300: 1987,
  1000: 7919,
  10000: 104729,
  30000: 350377,
  40000: 479909,
  50000: 611953,
  95000: 1229269,
  96000: 1243709,
  97000: 1257517,
  98000: 1271293,
  99000: 1285517,
  100000: 1299709,
};

/** When the process is killed after SIGTERM if it has not ended: time for the clients to leave, and for EXIT_MS. */
const SIGTERM_KILL_MS = 3000;
/** How long the process may take to end once its last client has left. */
const EXIT_MS = 1000;

const WORKER_HINT =
  "Move the work to worker threads: new Worker(new URL(import.meta.url)) runs this same file again in a thread of its own, where isMainThread is false. " +
  "There, parentPort.on('message', (n) => parentPort.postMessage(nthPrime(n))); in the main thread, worker.postMessage(n), and the answer comes as the worker's 'message' event.";

const BLOCKED_HINT =
  'JavaScript runs one thing at a time on the main thread: a loop that computes for 200 ms holds every connection for 200 ms. ' +
  'async, await and Promises do not change that: they only choose when the code runs, never where. ' +
  WORKER_HINT;

export default (async (v) => {
  const env = lessonNumbers(v);
  const server = await v.start({ watchEventLoop: true });
  const desk = new Desk(v, env);
  const alice = await desk.join('alice');

  await v.step('answers an echo at once, with its id and its text', ['R2', 'R4'], async () => {
    for (const [id, text] of [
      [1, 'hello'],
      ['é-🎉', '  café — naïve, 漢字 and 🎉, spaces kept  '],
      [null, ''],
      [{ tab: 2, seq: [1, 'two'] }, 'an id can be any JSON value'],
    ] as Array<[unknown, string]>) {
      await desk.expectEcho(alice, id, text);
    }
  });

  await v.step(`answers prime requests with the n-th prime and their id, more than ${env.limit} of them one after the other`, ['R3', 'R4', 'R8'], async () => {
    const asks: Array<[unknown, number]> = [
      ['first', 1],
      [7, 10],
      [0, 1000],
      ['', 6],
      [[3, 'x'], 2],
      [false, 100],
      [{ job: 'é' }, 20],
    ];
    for (const [id, n] of asks) {
      desk.sendPrime(alice, id, n);
      await desk.expectPrime(alice, id, n);
    }
  });

  await v.step(`answers ${env.poolSize} prime requests sent at once, one for each worker`, ['R3', 'R4', 'R8'], async () => {
    // Each takes some milliseconds: long enough that a pool started on demand needs every worker.
    const asks: Array<[string, number]> = (['warm-1', 'warm-2', 'warm-3'] as const).slice(0, env.poolSize).map((id) => [id, 10000]);
    for (const [id, n] of asks) desk.sendPrime(alice, id, n);
    await desk.expectPrimes(alice, asks);
  });

  await v.step(`started at most ${env.poolSize} workers (POOL_SIZE), once, and gave them every prime`, ['R5', 'R6'], async () => {
    const report = await server.program.resources(v.timeouts.stepMs);
    const workers = report?.workers;
    if (!workers) return;
    v.note(`your program has started ${plural(workers.started, 'worker thread')}; ${workers.alive} still running`);
    // None at all: the work is on the main thread, which the next step shows.
    if (workers.started === 0) return;
    // A pool started on demand may not be full yet: too few is judged once every worker has had work.
    checkPool(v, env, workers, { tooFew: false, after: `alice's first ${desk.primesAsked} prime requests` });
    // Every prime request leaves the main thread, small ones too. None yet at all: the next step shows where they went.
    if (workers.posted) checkHandedOver(v, workers.posted, desk.primesAsked, "alice's");
  });

  const bob = await desk.join('bob');
  const carol = await desk.join('carol');
  let poolAfterHeavy: { started: number; alive: number; posted?: number } | undefined;

  await v.step('keeps the event loop free while every worker computes: carol is answered at once', ['R2', 'R4', 'R5'], async () => {
    const loopWatch = new EventLoopPauses();
    v.defer(() => loopWatch.stop());
    await desk.resources(server); // opens the window
    const from = Date.now();
    const sentAt = performance.now();
    const asks: Array<[string, number]> = ([
      ['heavy-1', 100000],
      ['heavy-2', 99000],
      ['heavy-3', 98000],
    ] as Array<[string, number]>).slice(0, env.poolSize);
    for (const [id, n] of asks) desk.sendPrime(bob, id, n);
    v.note(`bob asked for ${asks.length} large primes at once: enough to keep every worker busy`);
    const blocked = (paused: number) =>
      v.fail({
        code: Codes.BLOCKED,
        expected: `your event loop never to stand still for more than ${LOOP_BOUND_MS} ms while bob's primes were computed`,
        actual: `it stood still for ${Math.round(paused)} ms: while it did, no other client could be answered, and nothing else ran`,
        hint: BLOCKED_HINT,
      });
    let firstEcho = 0;
    for (let i = 1; i <= 5; i++) {
      const echoed = await desk.timedEcho(carol, `ping-${i}`, `are you there? (${i})`).catch(async (error: unknown) => {
        if (!(error instanceof VerifyFailure) || error.code !== Codes.ECHO_NO_ANSWER) throw error;
        // No echo for so long: the loop may still be held. Its pause, once it turns again, says so.
        const paused = (await desk.resources(server))?.loopMaxMs;
        throw paused !== undefined && paused > LOOP_BOUND_MS ? blocked(paused) : error;
      });
      firstEcho ||= echoed.at;
      v.note(`carol's echo came back in ${Math.round(echoed.ms)} ms`);
    }
    const { firstAt, firstArrival } = await desk.expectPrimes(bob, asks);
    const report = await desk.resources(server);
    poolAfterHeavy = report?.workers;
    const paused = report?.loopMaxMs;
    const ownPause = loopWatch.longestWithin(from);
    if (paused === undefined) return;
    v.note(`your event loop's longest pause meanwhile: ${Math.round(paused)} ms`);
    // Computing on the main thread stops the loop for a whole prime at least, however fast the machine.
    // A busy machine stops every program now and then, for less than that, and the verifier with it:
    // only a pause as long as half the wait for bob's first prime, and not the verifier's, is the program's.
    const waited = firstAt - sentAt;
    if (paused > LOOP_BOUND_MS && paused >= waited / 2 && ownPause < paused / 2) throw blocked(paused);
    if (report?.workers?.started === 0) {
      throw v.fail({
        code: Codes.NO_WORKERS,
        expected: `${env.poolSize} worker threads computing the primes`,
        actual: 'no worker thread: every prime was computed on the main thread, or elsewhere',
        hint: WORKER_HINT,
      });
    }
    if (report?.workers?.posted !== undefined) checkHandedOver(v, report.workers.posted, desk.primesAsked, 'the');
    // An echo takes a round trip, a prime of this size far longer: the first echo comes first.
    if (firstEcho > firstArrival) {
      throw v.fail({
        code: Codes.ECHO_QUEUED,
        expected: "carol's first echo to come back at once, before any of bob's primes was done",
        actual: "it came only after bob's first prime: it waited for a worker",
        hint: 'An echo costs nothing: answer it in the message handler itself. Only prime requests go to the pool, and wait in its queue.',
      });
    }
  });

  await v.step(`runs ${env.poolSize} workers (POOL_SIZE) for every client together`, ['R6'], async () => {
    // Three large primes at once: a pool started on demand is full now. More clients came: still the same pool.
    if (!poolAfterHeavy || poolAfterHeavy.started === 0) return;
    v.note(`bob and carol have connected: your program has started ${plural(poolAfterHeavy.started, 'worker thread')}; ${poolAfterHeavy.alive} still running`);
    checkPool(v, env, poolAfterHeavy, { tooFew: true, after: 'bob and carol connected, and bob asked for three large primes at once' });
  });

  await v.step('gives each job to an idle worker: three short jobs pass a long one', ['R3', 'R4', 'R7'], async () => {
    const long: [string, number] = ['long', 100000];
    const shorts: Array<[string, number]> = [
      ['short-1', 2],
      ['short-2', 20],
      ['short-3', 200],
    ];
    desk.sendPrime(alice, ...long);
    for (const [id, n] of shorts) desk.sendPrime(alice, id, n);
    // The first time a job may have to wait: with three workers, one of the four is queued.
    const { order } = await desk.queueMoves(alice, [...shorts, long], () => desk.expectPrimes(alice, [...shorts, long]));
    const passed = order.indexOf('long');
    if (passed === shorts.length) return;
    const expected = `the three short jobs answered first: ${Math.max(0, env.poolSize - 1)} workers were idle while one computed the long job`;
    if (passed === 0) {
      throw v.fail({
        code: Codes.WORK_SERIALIZED,
        expected,
        actual: 'the long job was answered first, and every short one waited for it: one worker did all the work',
        hint:
          'A pool is only as wide as the workers it uses. Keep a list of the idle ones: a job goes to any idle worker, and a worker that ' +
          "finishes goes back to the list (or takes the next job waiting). Always workers[0] is one worker, however many you started.",
      });
    }
    throw v.fail({
      code: Codes.GIVEN_TO_BUSY_WORKER,
      expected,
      actual: `${order.slice(passed + 1).join(', ')} came after the long job: ${order.length - passed - 1 === 1 ? 'it was' : 'they were'} given to the busy worker while another was idle`,
      hint:
        'Taking the workers in turn (workers[next++ % size]) gives a job to a worker that may still be busy: it then waits in that worker, ' +
        "while another sits idle. Give a job to a worker only when it is idle; when none is, keep the job in a queue of your own, and give it to the next worker that finishes.",
    });
  });

  await v.step('keeps answers apart when clients use the same ids', ['R3', 'R4'], async () => {
    const rounds: Array<Array<[TestClient, unknown, number]>> = [
      [
        [alice, 1, 50000],
        [bob, 1, 30000],
        [carol, 1, 40000],
      ],
      [
        [carol, 'mine', 10000],
        [alice, 'mine', 300],
        [bob, 'mine', 1000],
      ],
    ];
    for (const round of rounds) {
      for (const [client, id, n] of round) desk.sendPrime(client, id, n);
      for (const [client, id, n] of round) await desk.expectPrime(client, id, n, round);
    }
  });

  await crashMeans(
    v,
    desk,
    v.step('answers every kind of invalid request with an error at once, and stays open', ['R9'], async () => {
      const others = [carol, alice, bob];
      for (const [i, bad] of INVALID.entries()) await desk.expectError(others[i % others.length]!, bad);
      // Still open, and still answering.
      for (const client of others) await desk.expectEcho(client, 'after the bad ones', 'still here');
    }),
  );

  // Long jobs, so that none is done before the server has been asked everything below.
  const fill: Array<[TestClient, string, number]> = ([100000, 99000, 98000, 97000, 96000, 95000] as const)
    .slice(0, env.limit)
    .map((n, i) => [i === env.limit - 1 ? bob : alice, `fill-${i + 1}`, n]);

  await v.step(`takes ${env.limit} jobs (POOL_SIZE + QUEUE_LIMIT), then answers busy at once`, ['R2', 'R8'], async () => {
    // alice takes every place but one, and bob the last; an echo after each says the server has read them.
    for (const [client, id, n] of fill.slice(0, -1)) desk.sendPrime(client, id, n);
    await desk.expectEcho(alice, 'after-alice', 'alice has asked');
    const [, lastId, lastN] = fill.at(-1)!;
    desk.sendPrime(bob, lastId, lastN);
    await desk.expectEcho(bob, 'after-bob', 'bob has asked');
    v.note(`${env.limit} jobs in flight: ${env.poolSize} computing, ${env.limit - env.poolSize} waiting`);
    await desk.expectBusy(carol, 'one-too-many', 10, fill);
    await desk.expectBusy(alice, 'and-another', 1, fill);
    await desk.expectEcho(carol, 'still-answered', 'an echo is never busy');
  });

  await crashMeans(
    v,
    desk,
    v.step('refuses invalid requests at once, even with every place taken', ['R9'], async () => {
      const refused: Array<[TestClient, BadRequest]> = [
        [carol, { raw: JSON.stringify({ type: 'prime', id: 'too-large', n: env.primeLimit + 1 }), what: `n one over PRIME_LIMIT (${env.primeLimit + 1})`, id: 'too-large' }],
        [alice, { raw: '{"type":"prime","id":"zero","n":0}', what: 'n = 0', id: 'zero' }],
        [bob, { raw: '{"type":"prime","id":"text","n":"10"}', what: 'n as a string, "10"', id: 'text' }],
        [carol, { raw: 'prime 10, please', what: 'text that is not JSON' }],
      ];
      for (const [client, bad] of refused) await desk.expectError(client, bad, fill);
      v.note('each was refused before any of the jobs in flight finished');
    }),
  );

  await v.step(`answers every job it took, with its id, and then has places again`, ['R3', 'R4', 'R6', 'R7', 'R8'], async () => {
    for (const client of [alice, bob]) {
      const mine = fill.filter(([c]) => c === client).map(([, id, n]) => [id, n] as [string, number]);
      await desk.queueMoves(client, mine, () => desk.expectPrimes(client, mine));
    }
    desk.sendPrime(carol, 'again', 30000);
    await desk.expectPrime(carol, 'again', 30000);
    const workers = (await desk.resources(server))?.workers;
    if (workers && workers.started > 0) checkPool(v, env, workers, { tooFew: false, after: `${desk.primesAsked} prime requests from three clients` });
  });

  await v.step('ends on SIGTERM: the server closes, the workers end, and the process with them', ['R10'], async () => {
    await expectCleanExit(v, server, [alice, bob, carol]);
  });
}) satisfies LessonVerifier;

/** What the lesson's environment says: POOL_SIZE, QUEUE_LIMIT, PRIME_LIMIT, and the places they make. */
interface LessonNumbers {
  poolSize: number;
  queueLimit: number;
  primeLimit: number;
  /** POOL_SIZE + QUEUE_LIMIT: how many prime requests may be in flight at once. */
  limit: number;
}

function lessonNumbers(v: Verification): LessonNumbers {
  const poolSize = Number(v.lessonEnv.POOL_SIZE);
  const queueLimit = Number(v.lessonEnv.QUEUE_LIMIT);
  const primeLimit = Number(v.lessonEnv.PRIME_LIMIT);
  // The story is written for these: three long jobs fill the pool, six the places.
  if (poolSize !== 3 || queueLimit < 1 || poolSize + queueLimit > 6 || primeLimit !== 100000) {
    throw new Error('lesson 13 needs POOL_SIZE=3, QUEUE_LIMIT from 1 to 3 and PRIME_LIMIT=100000 in its manifest env');
  }
  return { poolSize, queueLimit, primeLimit, limit: poolSize + queueLimit };
}

/** A request the server must refuse with an error. */
interface BadRequest {
  raw: string;
  binary?: boolean;
  what: string;
  /** The id the error must carry, when the request had one. */
  id?: unknown;
}

/** Requests that are not requests, or ask for what may not be computed: each gets an error. */
const INVALID: BadRequest[] = [
  { raw: '{"type":"prime","id":"too-large","n":100001}', what: 'n one over PRIME_LIMIT (100001)', id: 'too-large' },
  { raw: '', what: 'an empty message' },
  { raw: '{"type":"prime","id":1,"n":10', what: 'JSON cut off halfway' },
  { raw: '{"type":"prime","id":1,"n":10}', binary: true, what: 'a request sent as a binary frame' },
  { raw: 'null', what: 'null' },
  { raw: '42', what: 'a number' },
  { raw: '[{"type":"prime","id":1,"n":10}]', what: 'an array' },
  { raw: '{"type":"prime","n":10}', what: 'a request without an id' },
  { raw: '{"type":"echo","text":"no id"}', what: 'an echo without an id' },
  { raw: '{"id":"no-type","n":10}', what: 'a request without a type', id: 'no-type' },
  { raw: '{"type":"Prime","id":"case","n":10}', what: 'the type "Prime", with a capital P', id: 'case' },
  { raw: '{"type":"sqrt","id":"sqrt","n":16}', what: 'a type the server does not know', id: 'sqrt' },
  { raw: '{"type":{"toString":null},"id":"print-me","n":16}', what: 'a type that is an object String() cannot print', id: 'print-me' },
  { raw: '{"type":"prime","id":"none"}', what: 'a prime request without n', id: 'none' },
  { raw: '{"type":"prime","id":"neg","n":-5}', what: 'n = -5', id: 'neg' },
  { raw: '{"type":"prime","id":"half","n":1.5}', what: 'n = 1.5', id: 'half' },
  { raw: '{"type":"prime","id":"null-n","n":null}', what: 'n = null', id: 'null-n' },
  { raw: '{"type":"prime","id":"array-n","n":[10]}', what: 'n = [10]', id: 'array-n' },
  { raw: '{"type":"prime","id":"true-n","n":true}', what: 'n = true', id: 'true-n' },
  { raw: '{"type":"prime","id":"huge","n":1e15}', what: 'n = 1e15, which would take years', id: 'huge' },
  { raw: '{"type":"prime","id":"inf","n":1e400}', what: 'n = 1e400, which JSON.parse turns into Infinity', id: 'inf' },
  { raw: '{"type":"echo","id":"no-text"}', what: 'an echo without a text', id: 'no-text' },
  { raw: '{"type":"echo","id":"number-text","text":42}', what: 'an echo whose text is a number', id: 'number-text' },
];

/**
 * The verifier's side of the counter: sends requests, reads answers, and notes when each frame arrived
 * (in one order across every client), so that "at once" is judged by what came first, never by a clock.
 */
class Desk {
  private arrived = 0;
  private readonly arrival = new WeakMap<Buffer, number>();
  /** When each frame arrived (performance.now()). */
  private readonly arrivedAt = new WeakMap<Buffer, number>();
  /** The bad request being sent, for a crash to be named after. */
  pendingBad?: BadRequest;
  /** The prime requests answered busy: never to be answered again. */
  private readonly refused: Array<[TestClient, unknown, number]> = [];
  /** How many prime requests have been sent so far. */
  primesAsked = 0;
  readonly clients: TestClient[] = [];

  constructor(
    private readonly v: Verification,
    private readonly env: LessonNumbers,
  ) {}

  async join(name: string): Promise<TestClient> {
    const client = await this.v.client(name, { log: 'read' });
    client.ws.on('message', (data: Buffer) => {
      this.arrival.set(data, ++this.arrived);
      this.arrivedAt.set(data, performance.now());
    });
    this.clients.push(client);
    return client;
  }

  sendPrime(client: TestClient, id: unknown, n: number): void {
    this.primesAsked++;
    client.sendText(JSON.stringify({ type: 'prime', id, n }));
  }

  /** Sends an echo and expects it back; returns how long it took, in ms. */
  async expectEcho(client: TestClient, id: unknown, text: string): Promise<number> {
    return (await this.timedEcho(client, id, text)).ms;
  }

  /** Sends an echo and expects it back; returns how long it took, in ms, and when it arrived. */
  async timedEcho(client: TestClient, id: unknown, text: string): Promise<{ ms: number; at: number }> {
    const sent = performance.now();
    client.sendText(JSON.stringify({ type: 'echo', id, text }));
    const want = JSON.stringify({ type: 'echo', id, text });
    const { value, frame, at } = await this.answer(client, `${client.name} to receive ${previewText(want)}`, {
      timeoutCode: Codes.ECHO_NO_ANSWER,
      timeoutHint: 'Answer an echo in the message handler itself, at once: socket.send(JSON.stringify({ type: "echo", id, text })). It needs no worker.',
    });
    const ms = performance.now() - sent;
    const fail = (code: string, hint: string) => this.v.fail({ code, expected: `${client.name} to receive ${previewText(want)}`, actual: describeFrame(frame), hint });
    if (value?.type === 'busy' && !sameId(value, id)) throw fail(Codes.BUSY_TOO_SOON, BUSY_TOO_SOON_HINT(this.env));
    if (value?.type === 'busy') throw fail(Codes.ECHO_WRONG, 'An echo costs nothing: answer it always, however busy the workers are. Only prime requests take a place.');
    if (value?.type !== 'echo' || value.text !== text) {
      throw fail(Codes.ECHO_WRONG, 'An echo answers {"type":"echo","id":…,"text":…} with the same three fields: the type "echo", the id and the text exactly as they came.');
    }
    if (!sameId(value, id)) throw fail(Codes.ID_NOT_KEPT, ID_HINT);
    return { ms, at };
  }

  /**
   * Runs `expect`, which waits for the answers to `asks`. When one never comes, `client` asks for one
   * more prime: if a missing answer comes then, it had waited in a queue that only a new request moves.
   */
  async queueMoves<T>(client: TestClient, asks: Array<[unknown, number]>, expect: () => Promise<T>): Promise<T> {
    try {
      return await expect();
    } catch (error) {
      if (!(error instanceof VerifyFailure) || error.code !== Codes.PRIME_NO_ANSWER || !client.isOpen) throw error;
      this.v.note(`${client.name} asks for one more prime, to see whether the jobs waiting move`);
      this.sendPrime(client, 'nudge', 1);
      const deadline = Date.now() + this.v.timeouts.stepMs;
      while (Date.now() < deadline) {
        const frame = await client.nextFrame('an answer', { timeoutMs: Math.max(1, deadline - Date.now()) }).catch(() => undefined);
        if (!frame) break;
        const value = frame.kind === 'text' ? asObject(parseJson(frame.data.toString('utf8'))) : undefined;
        if (!asks.some(([id]) => sameId(value, id))) continue;
        throw this.v.fail({
          code: Codes.QUEUE_NOT_DRAINED,
          expected: error.expected,
          actual: `${error.actual}; it came only once ${client.name} had sent another request: ${describeFrame(frame)}. It waited in your queue while workers sat idle`,
          hint:
            "A job in the queue waits for the next worker that finishes, not for the next request: in the worker's 'message' handler, once the answer has gone, " +
            'that worker takes the oldest job waiting (queue.shift()), or goes back to the idle list when there is none.',
        });
      }
      throw error;
    }
  }

  /** Expects the answer to one prime request, the next thing `client` receives. */
  async expectPrime(client: TestClient, id: unknown, n: number, sentTogether: Array<[TestClient, unknown, number]> = []): Promise<void> {
    const want = JSON.stringify({ type: 'prime', id, prime: PRIMES[n] });
    const expected = `${client.name} to receive ${previewText(want)}`;
    let got: { value?: Record<string, unknown>; frame: Frame };
    try {
      got = await this.answer(client, expected, { timeoutCode: Codes.PRIME_NO_ANSWER, timeoutHint: PRIME_NO_ANSWER_HINT });
    } catch (error) {
      throw this.elsewhere(error, client, n, sentTogether) ?? error;
    }
    const { value, frame } = got;
    const fail = (code: string, hint: string) => this.v.fail({ code, expected, actual: describeFrame(frame), hint });
    this.checkNotRefused(fail, client, value);
    if (value?.type === 'busy') throw fail(Codes.LIMIT_NEVER_FREED, FREED_HINT);
    const other = sentTogether.find(([c, , m]) => c !== client && value?.prime === PRIMES[m] && m !== n);
    if (other) {
      throw fail(
        Codes.ANSWER_TO_WRONG_CLIENT,
        `That is the answer to ${other[0].name}'s request, which used the same id. ${SAME_ID_HINT}`,
      );
    }
    this.checkPrime(fail, value, id, n);
  }

  /**
   * Expects the answers to `asks`, sent together by `client`, in any order; returns their ids in the
   * order they came.
   */
  async expectPrimes(client: TestClient, asks: Array<[unknown, number]>): Promise<{ order: unknown[]; firstAt: number; firstArrival: number }> {
    // One wait for them all: however they come, the last must be there within the step's time.
    const deadline = Date.now() + this.v.timeouts.stepMs;
    await this.showInRequestOrder(client, asks, deadline);
    const left = [...asks];
    const order: unknown[] = [];
    let firstAt = Infinity;
    let firstArrival = Infinity;
    while (left.length > 0) {
      const expected = `${client.name} to receive the answers to ${left.map(([id]) => JSON.stringify(id)).join(', ')}, in any order`;
      let got: { value?: Record<string, unknown>; frame: Frame };
      try {
        got = await this.answer(client, expected, {
          timeoutCode: Codes.PRIME_NO_ANSWER,
          timeoutHint: PRIME_NO_ANSWER_HINT,
          timeoutMs: Math.max(0, deadline - Date.now()),
        });
      } catch (error) {
        if (!(error instanceof VerifyFailure) || error.code !== Codes.PRIME_NO_ANSWER) throw error;
        throw this.deliveredElsewhere(client, left, `${expected} within ${this.v.timeouts.stepMs} ms`) ??
          this.v.fail({ code: Codes.PRIME_NO_ANSWER, expected: `${expected} within ${this.v.timeouts.stepMs} ms`, actual: error.actual, hint: PRIME_NO_ANSWER_HINT });
      }
      const { value, frame } = got;
      const fail = (code: string, hint: string) => this.v.fail({ code, expected, actual: describeFrame(frame), hint });
      if (value?.type === 'busy') throw fail(Codes.BUSY_TOO_SOON, BUSY_TOO_SOON_HINT(this.env));
      this.checkNotRefused(fail, client, value);
      const index = left.findIndex(([id]) => sameId(value, id));
      if (index === -1) {
        const byValue = left.findIndex(([, n]) => value?.prime === PRIMES[n]);
        if (value?.type === 'prime' && byValue !== -1) throw fail(Codes.ID_NOT_KEPT, ID_HINT);
        throw fail(value?.type === 'prime' && 'id' in value ? Codes.ID_NOT_KEPT : Codes.PRIME_WRONG, PRIME_SHAPE_HINT);
      }
      const [id, n] = left.splice(index, 1)[0]!;
      this.checkPrime(fail, value, id, n, asks.map(([, m]) => m));
      order.push(id);
      firstAt = Math.min(firstAt, this.arrivedAt.get(frame.data) ?? performance.now());
      firstArrival = Math.min(firstArrival, this.arrival.get(frame.data) ?? this.arrived);
    }
    return { order, firstAt, firstArrival };
  }

  /**
   * Answers computed at once come in whatever order the workers finish. Once all of them are there,
   * their lines are written in the order of `asks`, so that the story reads the same every time; the
   * answers are still read, and judged, in the order they came.
   */
  private async showInRequestOrder(client: TestClient, asks: Array<[unknown, number]>, deadline: number): Promise<void> {
    while (client.pending.length < asks.length && client.isOpen && Date.now() < deadline) await delay(5);
    if (client.pending.length !== asks.length) return;
    const rank = (frame: Frame) => {
      const index = asks.findIndex(([id]) => sameId(asObject(parseJson(frame.data.toString('utf8'))), id));
      return index === -1 ? asks.length : index;
    };
    const lines = client.takeUnread().map((line, i) => ({ line, rank: rank(client.pending[i]!) }));
    for (const { line } of lines.sort((a, b) => a.rank - b.rank)) this.v.transcript.add({ kind: 'client', name: line.name }, line.text);
  }

  /** An answer to a request that was answered busy: the server took it after all. */
  private checkNotRefused(fail: (code: string, hint: string) => VerifyFailure, client: TestClient, value: Record<string, unknown> | undefined): void {
    if (value?.type !== 'prime') return;
    const refused = this.refused.find(([c, id, n]) => c === client && sameId(value, id) && value.prime === PRIMES[n]);
    if (!refused) return;
    throw fail(
      Codes.BUSY_BUT_COMPUTED,
      `Your server answered ${JSON.stringify(refused[1])} busy, then computed it all the same: it took the place it had refused, and the client, told to try again, gets an answer it no longer waits for. ` +
        'Once busy is sent, drop the request: return from the handler before the job is queued.',
    );
  }

  /** `together`: the n of every request asked at the same time, whose answers may have been swapped. */
  private checkPrime(fail: (code: string, hint: string) => VerifyFailure, value: Record<string, unknown> | undefined, id: unknown, n: number, together: number[] = []): void {
    if (value?.type !== 'prime' || typeof value.prime !== 'number') throw fail(Codes.PRIME_WRONG, PRIME_SHAPE_HINT);
    if (!sameId(value, id)) throw fail(Codes.ID_NOT_KEPT, ID_HINT);
    // The right id with the prime of another request asked at the same time: the answers were swapped.
    if (value.prime !== PRIMES[n] && together.some((m) => m !== n && PRIMES[m] === value.prime)) throw fail(Codes.ID_NOT_KEPT, SWAPPED_HINT);
    if (value.prime !== PRIMES[n]) {
      throw fail(Codes.PRIME_WRONG, `nthPrime(${n}) is ${PRIMES[n]}. Call the nthPrime of the starter with n as it came, unchanged, and send back what it returns.`);
    }
  }

  /** Answers that never came to `client`: did another client receive one of them, with its id and its prime? */
  private deliveredElsewhere(client: TestClient, left: Array<[unknown, number]>, expected: string): VerifyFailure | undefined {
    for (const other of this.clients.filter((c) => c !== client)) {
      const frame = other.pending.find((f) => {
        const value = asObject(parseJson(f.data.toString('utf8')));
        return value?.type === 'prime' && left.some(([id, n]) => sameId(value, id) && value.prime === PRIMES[n]);
      });
      if (frame) {
        return this.v.fail({
          code: Codes.ANSWER_TO_WRONG_CLIENT,
          expected,
          actual: `nothing for ${client.name}, but ${other.name} received ${describeFrame(frame)}`,
          hint:
            `${client.name} asked, so the answer goes on ${client.name}'s socket, whoever has sent a message since. Keep the socket (or its reply function) ` +
            'with each job, in the closure or beside the worker, and answer on it: never on a socket kept in one variable for everyone, nor one looked up by id.',
        });
      }
    }
    return undefined;
  }

  /** A prime that never came: was it delivered to another client of the same round? */
  private elsewhere(error: unknown, client: TestClient, n: number, round: Array<[TestClient, unknown, number]>): VerifyFailure | undefined {
    if (!(error instanceof VerifyFailure) || error.code !== Codes.PRIME_NO_ANSWER) return undefined;
    for (const other of this.clients.filter((c) => c !== client)) {
      const frame = other.pending.find((f) => asObject(parseJson(f.data.toString('utf8')))?.prime === PRIMES[n]);
      if (frame && round.some(([c]) => c === client)) {
        return this.v.fail({
          code: Codes.ANSWER_TO_WRONG_CLIENT,
          expected: error.expected,
          actual: `nothing for ${client.name}, but ${other.name} received ${describeFrame(frame)}`,
          hint: SAME_ID_HINT,
        });
      }
    }
    // Not delivered anywhere we can see, while others asked with the same id at the same time: the
    // answers were matched by id alone, and one of theirs took this one's place.
    const own = round.find(([c]) => c === client);
    const sameId = own ? round.filter(([c, id]) => c !== client && JSON.stringify(id) === JSON.stringify(own[1])).map(([c]) => c.name) : [];
    if (own && sameId.length > 0) {
      return this.v.fail({
        code: Codes.ANSWER_TO_WRONG_CLIENT,
        expected: error.expected,
        actual: `nothing, while ${sameId.join(' and ')} asked with the same id (${JSON.stringify(own[1])}) at the same time: ${client.name}'s answer was lost among theirs`,
        hint: SAME_ID_HINT,
      });
    }
    return undefined;
  }

  /** One more prime request, with every place taken: the answer must be busy, before any job in flight is done. */
  async expectBusy(client: TestClient, id: string, n: number, fill: Array<[TestClient, string, number]>): Promise<void> {
    const sentAt = this.arrived;
    this.sendPrime(client, id, n);
    const want = JSON.stringify({ type: 'busy', id });
    const expected = `${client.name} to receive ${want} at once: ${this.env.limit} jobs are in flight already`;
    const { value, frame } = await this.answer(client, expected, {
      timeoutCode: Codes.BUSY_NOT_SENT,
      timeoutHint:
        'A request over the limit must still be answered, or the client waits for ever: send {"type":"busy","id":…} at once, and drop the request.',
    });
    const fail = (code: string, hint: string) => this.v.fail({ code, expected, actual: describeFrame(frame), hint });
    if (value?.type === 'busy') {
      if (!sameId(value, id)) throw fail(Codes.ID_NOT_KEPT, ID_HINT);
      this.refused.push([client, id, n]);
      return;
    }
    if (value?.type === 'prime' && value.prime === PRIMES[n]) {
      // Computed after all. Unless a job in flight had finished before this request was sent (a
      // machine that stalled for the length of a job), there was no place for it.
      const freedBefore = this.firstAnswerAmong(fill);
      if (freedBefore !== undefined && freedBefore <= sentAt) return;
      throw fail(
        Codes.QUEUE_UNLIMITED,
        `Your server took this request with ${this.env.limit} already in flight: its queue has no limit, so under load it grows without end, and every client waits longer. ` +
          `Count the jobs in flight (computing plus waiting); at POOL_SIZE + QUEUE_LIMIT, answer {"type":"busy","id":…} at once instead of queueing.`,
      );
    }
    throw fail(Codes.BUSY_WRONG_SHAPE, 'Over the limit, answer exactly {"type":"busy","id":…}, with the id of the request: the client then knows which request to send again later.');
  }

  /** The arrival number of the first answer, already received, to one of the jobs in `fill`; undefined if none came yet. */
  private firstAnswerAmong(fill: Array<[TestClient, string, number]>): number | undefined {
    const stamps = fill.flatMap(([client, id]) =>
      client.pending.filter((f) => sameId(asObject(parseJson(f.data.toString('utf8'))), id)).map((f) => this.arrival.get(f.data) ?? Infinity),
    );
    return stamps.length ? Math.min(...stamps) : undefined;
  }

  /** Sends a bad request: it must get an error back, with its id when it had one; with `fill` in flight, before any of it is done. */
  async expectError(client: TestClient, bad: BadRequest, fill?: Array<[TestClient, string, number]>): Promise<void> {
    this.pendingBad = bad;
    if (bad.binary) client.sendBinary(Buffer.from(bad.raw));
    else client.sendText(bad.raw);
    const expected = `${client.name} to receive {"type":"error",${bad.id !== undefined ? `"id":${JSON.stringify(bad.id)},` : ''}"message":"…"} for ${bad.what}`;
    let got: { value?: Record<string, unknown>; frame: Frame; at: number };
    try {
      got = await this.answer(client, expected, {
        timeoutCode: Codes.INVALID_ACCEPTED,
        timeoutHint: `No answer came: ${INVALID_HINT(this.env)}`,
      });
    } catch (error) {
      if (error instanceof VerifyFailure && error.code === HarnessCodes.CONNECTION_CLOSED) {
        throw this.v.fail({
          code: Codes.CLOSED_ON_BAD_INPUT,
          expected,
          actual: `your server closed ${client.name}'s connection instead of answering`,
          hint: 'A bad request is no reason to hang up: the client may have a bug, and its other requests are still good. Answer with an error and keep the connection open.',
        });
      }
      throw error;
    }
    const { value, frame, at } = got;
    const fail = (code: string, hint: string) => this.v.fail({ code, expected, actual: describeFrame(frame), hint });
    if (value?.type === 'busy') {
      throw fail(
        Codes.INVALID_QUEUED,
        'An invalid request takes no place, so it is never busy: check the request first, then the limit. Answer what cannot be computed with an error, whatever the load.',
      );
    }
    this.checkNotRefused(fail, client, value);
    if (value?.type === 'prime') throw fail(Codes.INVALID_ACCEPTED, INVALID_HINT(this.env));
    if (value?.type !== 'error' || typeof value.message !== 'string' || value.message === '') {
      throw fail(Codes.ERROR_WRONG_SHAPE, 'An error is JSON too: {"type":"error","id":…,"message":"what was wrong"}, with a message that is not empty, as a text frame.');
    }
    if (bad.id !== undefined && !sameId(value, bad.id)) throw fail(Codes.ID_NOT_KEPT, `${ID_HINT} An error too: the client must know which request it refuses.`);
    const freed = fill ? this.firstAnswerAmong(fill) : undefined;
    if (freed !== undefined && freed < at) {
      throw fail(
        Codes.INVALID_QUEUED,
        'The error came only after a job in flight had finished: the request waited for a worker, to be refused there. Check every request in the main thread, ' +
          'before it takes a place: it costs nothing, and the client learns at once.',
      );
    }
    this.pendingBad = undefined;
  }

  /** The next frame `client` receives, parsed when it is JSON, with its arrival number. */
  private async answer(client: TestClient, awaiting: string, options: { timeoutCode: string; timeoutHint: string; timeoutMs?: number }) {
    const frame = await client.nextFrame(awaiting, options);
    const value = frame.kind === 'text' ? asObject(parseJson(frame.data.toString('utf8'))) : undefined;
    return { frame, value, at: this.arrival.get(frame.data) ?? this.arrived };
  }

  /** What the program says of itself: its longest event-loop pause since the last ask, and its workers. */
  resources(server: RunningServer): Promise<ResourcesReport | undefined> {
    return server.program.resources(this.v.timeouts.stepMs);
  }
}

const SWAPPED_HINT =
  "That prime is the answer to another request sent at the same time: answers were matched to the wrong requests. Workers finish in any order, so an answer belongs to the job its worker was given, never to the oldest job waiting. " +
  "Keep each worker's current job beside it (a Map from worker to job, or the job in the worker's own 'message' handler), and answer that job's client, with that job's id.";
const ID_HINT =
  'Send back the id exactly as it came, whatever it is: a number, a string, null, false, 0, "", an array or an object. ' +
  'Keep it with the job (in the closure, or in an object beside the socket) and put it in the answer; do not convert it, and do not test it with if (id).';
const SAME_ID_HINT =
  'Two clients may pick the same id: an id says which request, only together with the socket it came on. A Map from id to socket mixes them up. ' +
  'Keep the socket and the id together with each job, and answer on that socket.';
const PRIME_NO_ANSWER_HINT =
  'A prime request gets {"type":"prime","id":…,"prime":…} once it is computed. Is the worker\'s answer handled, in worker.on(\'message\', …), and sent on the socket that asked?';
const PRIME_SHAPE_HINT = 'Answer a prime request with {"type":"prime","id":…,"prime":…}: the type "prime", the request\'s id, and the number nthPrime(n) returned.';
const FREED_HINT =
  'Nothing was in flight, and yet your server answered busy. A place is taken when a job is accepted and must be given back when its answer has gone: ' +
  "count down in the worker's 'message' handler, or better, count what is really there (the jobs running plus the queue's length).";
const BUSY_TOO_SOON_HINT = (env: LessonNumbers): string =>
  `Up to POOL_SIZE + QUEUE_LIMIT = ${env.limit} prime requests may be in flight: ${env.poolSize} computing and ${env.queueLimit} waiting. ` +
  'Answer busy only when that many are in flight already, not at that many.';
const INVALID_HINT = (env: LessonNumbers): string =>
  `check every request before it reaches a worker: a JSON object, an id, a type "echo" with a string text, or "prime" with an n that is an integer from 1 to PRIME_LIMIT (${env.primeLimit}). ` +
  'Number.isInteger(n) is false for "10", 1.5, Infinity and null. Anything else gets {"type":"error","id":…,"message":…} at once.';

/** True when `value` has an id deeply equal to `id` (any JSON value, compared as JSON). */
function sameId(value: Record<string, unknown> | undefined, id: unknown): boolean {
  return value !== undefined && 'id' in value && isDeepStrictEqual(value.id, id);
}

/** Every prime request is handed to a worker: one message posted to the workers for each, at least. */
function checkHandedOver(v: Verification, posted: number, asked: number, whose: string): void {
  if (posted >= asked) return;
  throw v.fail({
    code: Codes.COMPUTED_ON_MAIN,
    expected: `each of ${whose} ${asked} prime requests so far handed to a worker (worker.postMessage)`,
    actual: `${plural(posted, 'message')} posted to your workers: ${plural(asked - posted, 'prime')} at least computed on the main thread`,
    hint:
      'Every prime goes to the pool, small ones too: a test like if (n < 1000) that computes in place still holds the event loop for as long as nthPrime(n) takes, ' +
      'and which n are cheap depends on the machine. Send every prime request to a worker; only echoes and errors are answered in the main thread.',
  });
}

/**
 * The pool as the program reports it: never more than POOL_SIZE workers, started once for the whole
 * server (not per request, nor per connection); with `tooFew`, once every worker has had work, exactly
 * POOL_SIZE. `after` says what had happened when it was counted.
 */
function checkPool(v: Verification, env: LessonNumbers, workers: { started: number; alive: number }, { tooFew, after }: { tooFew: boolean; after: string }): void {
  // More than the pool, some gone already, or many: workers that came for a request, or a client, and went.
  if (workers.started > env.poolSize && (workers.started > workers.alive || workers.started >= 2 * env.poolSize)) {
    throw v.fail({
      code: Codes.WORKER_PER_REQUEST,
      expected: `${env.poolSize} workers, started once and shared by every request and every client`,
      actual: `${plural(workers.started, 'worker')} started once ${after}${workers.alive > env.poolSize ? `, ${workers.alive} of them still running` : ''}`,
      hint:
        'Starting a worker costs far more than most requests: a new thread, a new JavaScript engine, your file loaded again. Start ' +
        'Number(process.env.POOL_SIZE) workers for the whole server, not per request nor per connection, keep them in an array, and give each new job to one that is idle.',
    });
  }
  if (workers.alive > env.poolSize || (tooFew && workers.alive < env.poolSize)) {
    throw v.fail({
      code: Codes.POOL_WRONG_SIZE,
      expected: `${env.poolSize} workers running (POOL_SIZE=${env.poolSize}) once ${after}`,
      actual: `${workers.alive} running`,
      hint:
        'The pool has exactly Number(process.env.POOL_SIZE) workers: not a number of your own, nor os.cpus().length (whoever runs the server knows how many cores ' +
        'it may use; the code does not). Start them all at once, or one whenever a job finds no idle worker, up to POOL_SIZE.',
    });
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Runs a step in which bad requests are sent. If the program dies meanwhile, the crash is told under
 * the lesson's code, named after the request that caused it, rather than as a dropped connection.
 */
async function crashMeans(v: Verification, desk: Desk, step: Promise<void>): Promise<void> {
  await v.blameDeath(() => step, () => {
    const bad = desk.pendingBad;
    return bad && {
      code: Codes.CRASHED_ON_BAD_INPUT,
      when: `when it received ${bad.what}: ${previewText(bad.raw)}`,
      hint:
        "JSON.parse throws on text that is not JSON, and reading a field of null throws too: an exception in a 'message' handler ends the whole process, " +
        'and every client with it. Put JSON.parse in try/catch, check that what it gave is an object before reading it, and answer an error.',
    };
  }, { cleanExits: true });
}

/** SIGTERM, then the clients leave: the process must end by itself, with code 0, and no worker may keep it alive. */
async function expectCleanExit(v: Verification, server: RunningServer, clients: TestClient[]): Promise<void> {
  const { program } = server;
  const stopping = v.stopServer(server, SIGTERM_KILL_MS);
  v.note(`${clients.map((c) => c.name).join(', ')} say goodbye`);
  for (const client of clients) if (client.isOpen) client.close(1000, 'bye');
  for (const client of clients) await client.expectClose(`the server to answer ${client.name}'s close frame`).catch(() => undefined);
  const ended = await Promise.race([program.exited.then(() => true), delay(EXIT_MS).then(() => false)]);
  const resources = ended ? undefined : await program.resources(v.timeouts.stepMs);
  if (!ended) await program.stop(100);
  const stopped = await stopping;
  const exit = program.exitInfo ?? { code: null, signal: null };
  if (ended && exit.code === 0 && !exit.signal) return;
  if (exit.signal === 'SIGTERM' || (ended && exit.code !== 0)) {
    throw v.fail({
      code: Codes.SIGTERM_NOT_HANDLED,
      expected: 'your server to close on SIGTERM and end by itself, with exit code 0',
      actual: exit.signal === 'SIGTERM' ? 'it was killed by SIGTERM: nothing listened for the signal' : `it exited with code ${exit.code}`,
      hint:
        exit.signal === 'SIGTERM'
          ? "With no listener, SIGTERM kills Node at once, in the middle of whatever it was doing. Listen for it: process.on('SIGTERM', () => { wss.close(); " +
            'for (const worker of workers) worker.terminate(); }), and let the process end on its own.'
          : 'Your server listened for SIGTERM and ended, but not with code 0: something called process.exit with another code, set process.exitCode, or threw. ' +
            "A terminated worker reports exit code 1 in its 'exit' event: that is the end you asked for, not a failure to pass on.",
    });
  }
  if (resources?.workers && resources.workers.alive > 0) {
    throw v.fail({
      code: Codes.WORKERS_LEFT_RUNNING,
      expected: `your server to end by itself within ${EXIT_MS} ms of its last client leaving`,
      actual: `a process still running, with ${plural(resources.workers.alive, 'worker')} alive (${stopped.neededKill ? 'it had to be killed' : 'it ended later'})`,
      hint:
        "A worker keeps the process alive as a server does, even with nothing to do: closing the server is not enough. On SIGTERM, call worker.terminate() on every worker of the pool.",
    });
  }
  throw v.fail({
    code: Codes.SERVER_NOT_CLOSED,
    expected: `your server to end by itself within ${EXIT_MS} ms of its last client leaving`,
    actual: `a process still running${resources ? `, held by ${resources.resources.join(', ') || 'nothing it would name'}` : ''}, which had to be killed`,
    hint: "On SIGTERM, close the server (wss.close()) as well as the workers: a server that still listens keeps Node alive.",
  });
}
