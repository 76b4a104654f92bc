/**
 * Lesson 14 — A reconnecting client. The learner writes a client, not a server: the verifier runs the
 * server. The story: the client connects to SERVER_URL as given and subscribes; lines typed go out at
 * once; the server closes with 1012 and refuses the next attempts with 503, then accepts; later it
 * goes down (ECONNREFUSED) and comes back; later still it accepts connections and drops each at once.
 * Each attempt's delay is measured against the bound problem.md gives, and the transcript shows it.
 * Lines typed while offline must come after the next subscribe, in order, once. Only one connection at
 * a time. On SIGTERM, connected or waiting to retry, the client closes with 1000 and exits with 0.
 */
import { isDeepStrictEqual } from 'node:util';
import { EventLoopPauses } from './harness/event-loop-pauses.ts';
import {
  defineRules,
  describeFrame,
  HarnessCodes,
  previewText,
  VerifyFailure,
  type Attempt,
  type ControlledServer,
  type Frame,
  type LessonVerifier,
  type RunningClient,
  type ServerConnection,
  type Verification,
} from './harness/index.ts';
import { asObject, delay, parseJson } from './harness/json.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  WRONG_URL: 'RECONNECT_WRONG_URL',
  SUBSCRIBE_MISSING: 'RECONNECT_SUBSCRIBE_MISSING',
  SUBSCRIBE_WRONG: 'RECONNECT_SUBSCRIBE_WRONG',
  SUBSCRIBE_NOT_FIRST: 'RECONNECT_SUBSCRIBE_NOT_FIRST',
  SAY_MISSING: 'RECONNECT_SAY_MISSING',
  SAY_WRONG: 'RECONNECT_SAY_WRONG',
  QUEUE_LOST: 'RECONNECT_QUEUE_LOST',
  QUEUE_OUT_OF_ORDER: 'RECONNECT_QUEUE_OUT_OF_ORDER',
  QUEUE_SENT_TWICE: 'RECONNECT_QUEUE_SENT_TWICE',
  NEVER_RETRIED: 'RECONNECT_NEVER_RETRIED',
  CRASHED_ON_FAILURE: 'RECONNECT_CRASHED_ON_FAILURE',
  DELAY_TOO_LONG: 'RECONNECT_DELAY_TOO_LONG',
  DELAY_NOT_CAPPED: 'RECONNECT_DELAY_NOT_CAPPED',
  DELAY_NOT_GROWING: 'RECONNECT_DELAY_NOT_GROWING',
  NO_JITTER: 'RECONNECT_NO_JITTER',
  BACKOFF_NOT_RESET: 'RECONNECT_BACKOFF_NOT_RESET',
  BACKOFF_RESET_TOO_SOON: 'RECONNECT_BACKOFF_RESET_TOO_SOON',
  TWO_CONNECTIONS: 'RECONNECT_TWO_CONNECTIONS',
  SIGTERM_NOT_HANDLED: 'RECONNECT_SIGTERM_NOT_HANDLED',
  SIGTERM_NO_CLOSE_FRAME: 'RECONNECT_SIGTERM_NO_CLOSE_FRAME',
  SIGTERM_RETRIED: 'RECONNECT_SIGTERM_RETRIED',
  SIGTERM_KEPT_RUNNING: 'RECONNECT_SIGTERM_KEPT_RUNNING',
  SIGTERM_EXIT_CODE: 'RECONNECT_SIGTERM_EXIT_CODE',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Connect to `process.env.SERVER_URL`, exactly as it is given: its path and query too.', codes: [HarnessCodes.NEVER_CONNECTED, Codes.WRONG_URL] },
  R2: {
    text: 'Every time a connection opens, send `{"type":"subscribe","topics":[…]}` first, with the topics of `process.env.TOPICS` split on commas, in order.',
    codes: [Codes.SUBSCRIBE_MISSING, Codes.SUBSCRIBE_WRONG, Codes.SUBSCRIBE_NOT_FIRST],
  },
  R3: { text: 'Send each line of standard input as `{"type":"say","text":…}`, the line exactly as it came, at once while connected.', codes: [Codes.SAY_MISSING, Codes.SAY_WRONG] },
  R4: {
    text: 'A line that comes while not connected waits in a queue; after the next subscribe the queue goes out, in the order the lines came, each line exactly once.',
    codes: [Codes.QUEUE_LOST, Codes.QUEUE_OUT_OF_ORDER, Codes.QUEUE_SENT_TWICE],
  },
  R5: {
    text: 'After every close and every failed attempt, try again: a close frame, a dropped connection, a refused handshake, a server that is down.',
    codes: [Codes.NEVER_RETRIED, Codes.CRASHED_ON_FAILURE],
  },
  R6: {
    text: 'Before each new attempt, wait a random delay between 0 and `min(BACKOFF_CAP_MS, BACKOFF_BASE_MS × 2ⁿ)`, where n counts the attempts since the last stable connection.',
    codes: [Codes.DELAY_TOO_LONG, Codes.DELAY_NOT_CAPPED, Codes.DELAY_NOT_GROWING, Codes.NO_JITTER],
  },
  R7: { text: 'A connection that stayed open for `STABLE_AFTER_MS` is stable, and sets n back to 0; one that closed sooner does not.', codes: [Codes.BACKOFF_NOT_RESET, Codes.BACKOFF_RESET_TOO_SOON] },
  R8: { text: 'Never hold two connections at once: start an attempt only once the one before has closed.', codes: [Codes.TWO_CONNECTIONS] },
  R9: {
    text: 'On `SIGTERM`, close an open connection with code 1000, cancel a pending retry, and exit with code 0, without another attempt.',
    codes: [Codes.SIGTERM_NOT_HANDLED, Codes.SIGTERM_NO_CLOSE_FRAME, Codes.SIGTERM_RETRIED, Codes.SIGTERM_KEPT_RUNNING, Codes.SIGTERM_EXIT_CODE],
  },
});

/** The path and query of SERVER_URL: a client that builds its URL from parts loses them. */
const PATH = '/live?v=1&room=caf%C3%A9';
/** Attempts refused (or failed) in each phase before the server lets the client in again. */
const FAILURES_PER_PHASE = 8;
/**
 * How late a delay may be and still count as within its bound: a timer fires late on a busy machine,
 * and noticing the close and opening TCP take time too. Never early: the verifier starts counting when
 * it ends a connection, before the client can know.
 */
const LATE_MS = 150;
/** How long to wait, past a delay's bound and LATE_MS, before deciding no attempt comes. */
const NO_ATTEMPT_MS = 1000;
/**
 * A phase's delays with bounds of 8 × BASE or more must reach 2 × BASE at least once. For a client
 * that draws them at random (whatever its source), six draws all under that happen once in 10⁵ runs.
 */
const GROWN_FROM_BOUND = 8;
/**
 * Full jitter spreads delays over the whole bound. Among the 18 delays with the largest bounds, at
 * least one must be under 42 % of its bound, and one over 58 %: for random draws, each fails once in
 * some 20 000 runs (0.58¹⁸). A delay always near its bound, or never under half of it, fails.
 */
const LOW_SHARE = 0.42;
const HIGH_SHARE = 0.58;
/** How long to keep a connection so that it is surely stable: well past STABLE_AFTER_MS. */
const STABLE_HOLD_FACTOR = 2.5;
/** After SIGTERM: how long the client may take to exit, and after which it is killed. */
const EXIT_MS = 1000;
/** An attempt arriving this soon after SIGTERM may have begun before it: not judged. */
const SIGNAL_IN_FLIGHT_MS = 5;
/** With BACKOFF_BASE_MS this large, a client refused once is surely waiting when SIGTERM comes. */
const LONG_WAIT_MS = 2000;
/** How long a client refused once is watched before SIGTERM, to be sure it is waiting. */
const WAITING_FOR_MS = 30;

/** Lines typed while connected: each must go out at once, exactly as typed. */
const ONLINE_LINES = ['hello', '  spaces at both ends stay  ', 'café — naïve, 漢字 and 🎉', '', '{"type":"subscribe","topics":["not me"]}', 'quotes " and a \\ backslash'];
/** Lines typed while the server refuses: they wait for the next connection. */
const REFUSED_LINES = ['typed while offline (1)', '', '  é 🎉 kept as typed  ', 'typed while offline (4)'];
/** Lines typed while the server is down: a long one among them. */
const DOWN_LINES = [`a long line: ${'é'.repeat(10_000)}`, '{"type":"say","text":"I only look like JSON"}', 'last line typed while down'];

/** The kinds of phase the story goes through: each sees its own delays. */
type PhaseKind = 'refused' | 'down' | 'flapping';

interface Measured {
  attempt: Attempt;
  /** Attempts since the last stable connection, before this one: its bound is BASE·2ⁿ, capped. */
  n: number;
  bound: number;
  delayMs: number;
  phase: PhaseKind;
}

export default (async (v) => {
  const env = lessonNumbers(v);
  const loopWatch = new EventLoopPauses();
  v.defer(() => loopWatch.stop());
  const server = await v.serve();
  const story = new Story(v, server, env, loopWatch);
  const client = await v.startClient(server, { path: PATH, explainExit: (program, when) => story.explainExit(program, when) });

  let conn!: ServerConnection;
  await v.step('connects to SERVER_URL as given, and subscribes first', ['R1', 'R2'], async () => {
    const attempt = (await server.nextAttempt(v.timeouts.stepMs))!;
    v.note(`attempt ${attempt.number}: ${attempt.outcome}, to ${attempt.path}`);
    if (attempt.path !== PATH) {
      throw v.fail({
        code: Codes.WRONG_URL,
        expected: `a connection to ${client.url}, path and query as given`,
        actual: `a request for ${JSON.stringify(attempt.path)}`,
        hint: 'Pass process.env.SERVER_URL to new WebSocket() as it is: building the URL from a host and a port loses the path and the query the server needs.',
      });
    }
    conn = attempt.connection!;
    await story.expectSubscribe(conn, []);
  });

  await v.step('sends each line typed at once, exactly as typed', ['R3'], async () => {
    await story.typeAndExpect(client, conn, ONLINE_LINES);
  });

  await v.step('tries again after a close frame, while the server refuses with 503, waiting a random delay that grows up to the cap', ['R5', 'R6', 'R8'], async () => {
    await story.holdUntilStable(conn);
    server.meet({ kind: 'refuse', status: 503 }, FAILURES_PER_PHASE);
    conn.close(1012, 'service restart');
    await conn.closed;
    conn = await story.phase('refused', conn.endedAt!, 'a close frame 1012 (service restart)', () => {
      for (const line of REFUSED_LINES) client.writeLine(line);
    });
  });

  await v.step('subscribes again, then sends the lines typed while offline, in order, once', ['R2', 'R3', 'R4'], async () => {
    await story.expectSubscribe(conn, REFUSED_LINES);
    await story.expectQueue(conn, REFUSED_LINES, ONLINE_LINES);
    await story.typeAndExpect(client, conn, ['typed once connected again'], REFUSED_LINES);
  });

  await v.step('holds one connection at a time', ['R8'], async () => {
    await story.holdUntilStable(conn);
  });

  await v.step('tries again while the server is down, and starts the backoff again after a stable connection', ['R5', 'R6', 'R7', 'R8'], async () => {
    const dropped = conn;
    await server.goDown();
    conn = await story.phase('down', dropped.endedAt!, 'a dropped connection (no close frame)', () => {
      for (const line of DOWN_LINES) client.writeLine(line);
    });
  });

  await v.step('subscribes, then sends only the lines typed while the server was down', ['R2', 'R3', 'R4'], async () => {
    await story.expectSubscribe(conn, DOWN_LINES);
    await story.expectQueue(conn, DOWN_LINES, [...ONLINE_LINES, ...REFUSED_LINES]);
    await story.typeAndExpect(client, conn, ['typed once the server was back'], [...REFUSED_LINES, ...DOWN_LINES]);
    await story.holdUntilStable(conn);
  });

  await v.step('connections dropped as soon as they open are not stable: the backoff keeps growing', ['R2', 'R5', 'R7', 'R8'], async () => {
    server.meet({ kind: 'drop-after-first-frame' }, FAILURES_PER_PHASE);
    conn.terminate();
    conn = await story.phase('flapping', conn.endedAt!, 'a dropped connection (no close frame)');
    await story.expectSubscribe(conn, []);
  });

  await v.step('waits random delays, spread over each bound, that grow until a stable connection', ['R6', 'R7'], async () => {
    story.judgeGrowth();
    story.judgeJitter();
  });

  await v.step('on SIGTERM while connected: closes with 1000, and exits with 0 without trying again', ['R9'], async () => {
    await story.holdUntilStable(conn);
    await story.stop(client, conn);
  });

  await v.step('on SIGTERM while waiting to retry: cancels the retry, and exits with 0', ['R9'], async () => {
    server.meet({ kind: 'refuse', status: 503 });
    const again = await v.startClient(server, { path: PATH, env: { BACKOFF_BASE_MS: String(LONG_WAIT_MS), BACKOFF_CAP_MS: String(LONG_WAIT_MS) } });
    // Its first attempt was refused: from then on it waits up to LONG_WAIT_MS. Make sure it is waiting.
    for (;;) {
      const attempt = await server.nextAttempt(v.timeouts.stepMs);
      if (!attempt) break;
      v.note(`attempt ${attempt.number}: ${attempt.outcome}`);
      if (!(await server.nextAttempt(WAITING_FOR_MS))) break;
    }
    v.note(`your client has been waiting to retry for ${WAITING_FOR_MS} ms at least`);
    await story.stop(again);
  });
}) satisfies LessonVerifier;

/** The lesson's numbers, as the manifest gives them to the program. */
interface LessonNumbers {
  topics: string[];
  baseMs: number;
  capMs: number;
  stableMs: number;
}

function lessonNumbers(v: Verification): LessonNumbers {
  const env = v.lessonEnv;
  return {
    topics: (env.TOPICS ?? '').split(','),
    baseMs: Number(env.BACKOFF_BASE_MS),
    capMs: Number(env.BACKOFF_CAP_MS),
    stableMs: Number(env.STABLE_AFTER_MS),
  };
}

/** The story's memory: every delay measured, and the helpers each step reads with. */
class Story {
  readonly measured: Measured[] = [];
  /** Attempts since the last stable connection, as a correct client counts them. */
  private n = 0;

  constructor(
    private readonly v: Verification,
    private readonly server: ControlledServer,
    private readonly env: LessonNumbers,
    private readonly loopWatch: EventLoopPauses,
  ) {}

  /** A crash while reconnecting is the mistake of R5; any other exit is the harness's to explain. */
  explainExit(program: RunningClient['program'], when: string): VerifyFailure | undefined {
    const failure = program.exitFailure(when);
    if (failure.code !== HarnessCodes.PROGRAM_CRASHED || !this.reconnecting) return undefined;
    return new VerifyFailure({
      code: Codes.CRASHED_ON_FAILURE,
      message: failure.message,
      details: failure.details,
      hint: "ws reports a refused handshake and a refused connection as an 'error' event, and an 'error' nobody listens for ends the process. Add ws.on('error', …), even one that only logs, and reconnect from 'close', which always follows. Awaiting once(ws, 'open') or once(ws, 'close') from node:events? once() rejects when 'error' comes first: catch that rejection.",
    });
  }

  /** True while a step in which connections fail is running. */
  private reconnecting = false;

  bound(n: number): number {
    return Math.min(this.env.capMs, this.env.baseMs * 2 ** n);
  }

  /** Keeps the connection open until it has surely been stable, failing if another attempt comes meanwhile. */
  async holdUntilStable(conn: ServerConnection): Promise<void> {
    const hold = STABLE_HOLD_FACTOR * this.env.stableMs - (Date.now() - conn.openedAt);
    if (hold > 0) await delay(hold);
    this.checkOneAtATime();
    // A connection that stayed up this long is stable: the next attempt's bound is the base again.
    this.n = 0;
  }

  /** Fails when an attempt arrived while the last connection was still open. */
  private checkOneAtATime(): void {
    const extra = this.server.untaken[0] ?? this.server.attempts.find((a) => a.overlapped);
    if (!extra) return;
    throw this.v.fail({
      code: Codes.TWO_CONNECTIONS,
      expected: 'no new attempt while a connection is open',
      actual: `attempt ${extra.number} arrived while ${extra.overlapped ? `attempt ${extra.overlapped.number}` : 'the connection before'} was still open: two connections at once`,
      hint: "Start an attempt from one place only: the 'close' handler, which runs once for every connection and every failed attempt. Reconnecting from 'error' too makes two attempts of every failure, and they multiply.",
    });
  }

  /**
   * One phase of failures: takes FAILURES_PER_PHASE failed attempts and then the one let in (the
   * server was told how to meet them), measuring each delay against its bound as it comes. `typed`
   * runs once the client has surely noticed it is offline (its first attempt has come).
   * Returns the connection it was let in on.
   */
  async phase(kind: PhaseKind, endedAt: number, ending: string, typed?: () => void): Promise<ServerConnection> {
    this.reconnecting = true;
    let previousEnd = endedAt;
    let what = ending;
    for (let i = 0; ; i++) {
      if (kind === 'down' && i === FAILURES_PER_PHASE) await this.server.comeBack();
      const attempt = await this.nextAttempt(previousEnd, what, kind);
      if (i === 0) typed?.();
      if (attempt.connection && kind === 'flapping' && i < FAILURES_PER_PHASE) {
        // Let in and dropped after its first frame, which must be the subscribe.
        await this.expectSubscribe(attempt.connection, []);
        await attempt.connection.closed;
      }
      if (attempt.connection && (kind !== 'flapping' || i >= FAILURES_PER_PHASE) && attempt.outcome === 'accepted') {
        this.reconnecting = false;
        return attempt.connection;
      }
      if (i > FAILURES_PER_PHASE + 100) throw new Error('the server never let the client in');
      previousEnd = attempt.endedAt ?? attempt.at;
      what = attempt.outcome!;
    }
  }

  /** Waits for the next attempt after an ending at `previousEnd`, and judges its delay. */
  private async nextAttempt(previousEnd: number, ending: string, phase: PhaseKind): Promise<Attempt> {
    const n = this.n++;
    const bound = this.bound(n);
    const attempt = await this.server.nextAttempt(previousEnd + bound + LATE_MS + NO_ATTEMPT_MS - Date.now());
    if (!attempt) {
      throw this.v.fail({
        code: Codes.NEVER_RETRIED,
        expected: `a new attempt to connect within ${bound} ms after ${ending}`,
        actual: `none in ${bound + LATE_MS + NO_ATTEMPT_MS} ms`,
        hint:
          'ws never reconnects by itself. When the connection closes (the close event fires for every ending, and for every failed attempt), schedule connect() again with setTimeout.',
      });
    }
    const delayMs = attempt.at - previousEnd;
    this.v.note(`attempt ${attempt.number} after ${Math.max(0, delayMs)} ms (bound ${bound} ms): ${attempt.outcome}`);
    if (attempt.overlapped) this.checkOneAtATime();
    const late = LATE_MS + this.loopWatch.longestWithin(previousEnd, attempt.at);
    if (delayMs > bound + late) throw this.tooLong(n, bound, delayMs, phase, attempt.number, late);
    this.measured.push({ attempt, n, bound, delayMs, phase });
    return attempt;
  }

  private tooLong(n: number, bound: number, delayMs: number, phase: PhaseKind, number: number, late: number): VerifyFailure {
    const afterStable = phase !== 'refused' && bound < this.env.capMs;
    // The attempt as the transcript numbers it, and the lateness a busy machine is allowed.
    const actual = `${delayMs} ms before attempt ${number}, over the bound and the ${late} ms a busy machine may add`;
    if (afterStable) {
      return this.v.fail({
        code: Codes.BACKOFF_NOT_RESET,
        expected: `a delay of at most ${bound} ms: retry n = ${n} since the last stable connection`,
        actual,
        hint: `A connection that stayed open STABLE_AFTER_MS resets n to 0: after it, the bound starts again at BACKOFF_BASE_MS. Start a timer of STABLE_AFTER_MS in 'open' that sets n = 0, and clear it in 'close'.`,
      });
    }
    if (bound === this.env.capMs) {
      return this.v.fail({
        code: Codes.DELAY_NOT_CAPPED,
        expected: `a delay of at most ${bound} ms (BACKOFF_CAP_MS): retry n = ${n} since the last stable connection`,
        actual,
        hint: 'The bound doubles until it reaches the cap, then stays there: Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** n). Without the cap, a long outage leaves a client waiting for hours.',
      });
    }
    return this.v.fail({
      code: Codes.DELAY_TOO_LONG,
      expected: `a delay of at most ${bound} ms (BACKOFF_BASE_MS × 2^${n}): retry n = ${n} since the last stable connection`,
      actual,
      hint: 'The bound starts at BACKOFF_BASE_MS and doubles with each attempt: Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** n), with n = 0 for the first retry. The delay is Math.random() * bound.',
    });
  }

  /** Each phase's delays with large bounds must have grown past 2 × BASE at least once. */
  judgeGrowth(): void {
    for (const phase of ['refused', 'down', 'flapping'] as const) {
      const large = this.measured.filter((m) => m.phase === phase && m.bound >= GROWN_FROM_BOUND * this.env.baseMs);
      const longest = Math.max(...large.map((m) => m.delayMs));
      this.v.note(`${phase}: the longest of ${large.length} delays with bounds of ${GROWN_FROM_BOUND * this.env.baseMs} ms or more was ${longest} ms`);
      if (longest >= 2 * this.env.baseMs) continue;
      if (phase === 'flapping') {
        throw this.v.fail({
          code: Codes.BACKOFF_RESET_TOO_SOON,
          expected: `delays that grow while every connection is dropped as soon as it opens (bounds up to ${this.env.capMs} ms)`,
          actual: `none longer than ${longest} ms: the backoff started again at each open`,
          hint: "Resetting n in 'open' is the classic flapping bug: a server that accepts and drops at once then gets an attempt every few milliseconds, forever. Reset n only once a connection has stayed open STABLE_AFTER_MS.",
        });
      }
      throw this.v.fail({
        code: Codes.DELAY_NOT_GROWING,
        expected: `delays that grow with each failed attempt, up to ${this.env.capMs} ms`,
        actual: `none longer than ${longest} ms after ${large.length + 3} failures in a row`,
        hint: 'Wait Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** n) before each attempt, and add 1 to n after each: a client that retries at once, or always after the same short delay, hammers a server that is struggling.',
      });
    }
  }

  /** The delays with large bounds must spread over their bounds: some well under half, some well over. */
  judgeJitter(): void {
    const large = this.measured.filter((m) => m.bound >= GROWN_FROM_BOUND * this.env.baseMs);
    const shares = large.map((m) => m.delayMs / m.bound);
    const lowest = Math.min(...shares);
    const highest = Math.max(...shares);
    const shortest = large[shares.indexOf(lowest)]!;
    const longest = large[shares.indexOf(highest)]!;
    // In milliseconds, not shares, so that the golden transcripts (timings normalised) stay the same.
    this.v.note(`of the ${large.length} delays with the largest bounds, the shortest for its bound was ${shortest.delayMs} ms (bound ${shortest.bound} ms), the longest ${longest.delayMs} ms (bound ${longest.bound} ms)`);
    if (lowest < LOW_SHARE && highest > HIGH_SHARE) return;
    throw this.v.fail({
      code: Codes.NO_JITTER,
      expected: `random delays anywhere from 0 to the bound: some under ${Math.round(100 * LOW_SHARE)} % of it, some over ${Math.round(100 * HIGH_SHARE)} %`,
      actual: `delays from ${Math.round(100 * lowest)} % to ${Math.round(100 * highest)} % of their bounds, in ${large.length} attempts`,
      hint:
        'Full jitter: the delay is Math.random() * bound, anywhere from 0 to the bound. Waiting the bound itself, or half of it plus a random half, makes every client dropped at the same moment come back at the same moment.',
    });
  }

  /**
   * Expects the subscribe as the connection's first frame. `queued` are the lines that may come, wrongly,
   * before it: a client that sends them first, or never subscribes.
   */
  async expectSubscribe(conn: ServerConnection, queued: string[]): Promise<void> {
    const want = JSON.stringify({ type: 'subscribe', topics: this.env.topics });
    const frame = await conn.nextFrame(want, {
      timeoutCode: Codes.SUBSCRIBE_MISSING,
      closedCode: Codes.SUBSCRIBE_MISSING,
      hint: "Send the subscribe in the 'open' handler, for every connection: the server forgets a connection's subscriptions when it ends.",
    });
    const message = asObject(parseJson(frameText(frame)));
    if (message?.type === 'subscribe' && isDeepStrictEqual(message.topics, this.env.topics)) return;
    if (message?.type === 'say') {
      // The queue came first: did a subscribe follow it, or never?
      await delay(100);
      const later = conn.pending.some((f) => asObject(parseJson(frameText(f)))?.type === 'subscribe');
      throw this.v.fail({
        code: later ? Codes.SUBSCRIBE_NOT_FIRST : Codes.SUBSCRIBE_MISSING,
        expected: `${want} first on the new connection`,
        actual: `${describeFrame(frame)}${later ? ', and the subscribe only after it' : queued.length ? ', and no subscribe' : ''}`,
        hint: later
          ? "In 'open', send the subscribe first, then the queue: a line sent before it reaches a connection that has not subscribed yet."
          : "Send the subscribe in the 'open' handler, for every connection, not once at the start: the server forgets a connection's subscriptions when it ends.",
      });
    }
    throw this.v.fail({
      code: Codes.SUBSCRIBE_WRONG,
      expected: want,
      actual: describeFrame(frame),
      hint: "JSON.stringify({ type: 'subscribe', topics: process.env.TOPICS.split(',') }): every topic as it is written, in order, as text.",
    });
  }

  /** Types lines while connected, each expected at once as a say. `earlier` are lines that must not come again. */
  async typeAndExpect(client: RunningClient, conn: ServerConnection, lines: string[], earlier: string[] = []): Promise<void> {
    for (const line of lines) {
      client.writeLine(line);
      const frame = await conn.nextFrame(sayOf(line), {
        timeoutCode: Codes.SAY_MISSING,
        hint: "Read stdin with readline: rl.on('line', …) gives every line, empty ones too, without its newline. Send each while connected, at once.",
      });
      const text = sayText(frame);
      if (text === line) continue;
      if (text !== undefined && earlier.includes(text)) throw this.queueSentTwice(line, frame);
      throw this.v.fail({
        code: Codes.SAY_WRONG,
        expected: sayOf(line),
        actual: describeFrame(frame),
        hint: "Send JSON.stringify({ type: 'say', text: line }) with the line exactly as readline gives it: not trimmed, not parsed, empty or not.",
      });
    }
  }

  /** Expects the queued lines, in order, each once. `earlier` are lines sent before, on another connection. */
  async expectQueue(conn: ServerConnection, lines: string[], earlier: string[]): Promise<void> {
    for (const [i, line] of lines.entries()) {
      const frame = await conn.nextFrame(sayOf(line), {
        timeoutCode: Codes.QUEUE_LOST,
        closedCode: Codes.QUEUE_LOST,
        hint: 'A line that comes while the socket is not OPEN cannot be sent: push it onto a queue, and send the queue, oldest first, once the next connection has subscribed.',
      });
      const text = sayText(frame);
      if (text === line) continue;
      if (text !== undefined && lines.slice(i + 1).includes(text)) {
        throw this.v.fail({
          code: Codes.QUEUE_OUT_OF_ORDER,
          expected: `the lines typed while offline in the order they came: next ${sayOf(line)}`,
          actual: describeFrame(frame),
          hint: 'A queue is first in, first out: push() each line, and send them with shift() from the front (never pop() from the back).',
        });
      }
      if (text !== undefined && (earlier.includes(text) || lines.slice(0, i).includes(text))) throw this.queueSentTwice(line, frame);
      if (text !== undefined && !lines.includes(text)) {
        throw this.v.fail({
          code: Codes.SAY_WRONG,
          expected: sayOf(line),
          actual: describeFrame(frame),
          hint: "Send JSON.stringify({ type: 'say', text: line }) with the line exactly as readline gives it, queued or not.",
        });
      }
      throw this.v.fail({ code: Codes.QUEUE_LOST, expected: sayOf(line), actual: describeFrame(frame), hint: 'Keep every line that comes while offline, and send each once connected again.' });
    }
  }

  private queueSentTwice(line: string, frame: Frame): VerifyFailure {
    return this.v.fail({
      code: Codes.QUEUE_SENT_TWICE,
      expected: sayOf(line),
      actual: `${describeFrame(frame)}, which was sent before`,
      hint: 'Take each line off the queue as you send it (queue.shift()): a queue that is only read, never emptied, goes out again at every reconnect.',
    });
  }

  /**
   * Sends SIGTERM and judges the ending: no attempt after it, an exit of its own with code 0 (not the
   * signal's), and, when it was connected, a close frame 1000 first.
   */
  async stop(client: RunningClient, conn?: ServerConnection): Promise<void> {
    const signalledAt = Date.now();
    const seen = this.server.attempts.length;
    await this.v.stopClient(client, EXIT_MS);
    const exit = client.program.exitInfo!;
    const close = conn ? await Promise.race([conn.closed, delay(this.v.timeouts.stepMs).then(() => undefined)]) : undefined;
    const after = this.server.attempts.slice(seen).find((a) => a.at > signalledAt + SIGNAL_IN_FLIGHT_MS);
    if (after) {
      throw this.v.fail({
        code: Codes.SIGTERM_RETRIED,
        expected: 'no attempt to connect after SIGTERM',
        actual: `attempt ${after.number}, ${after.at - signalledAt} ms after it`,
        hint: "The close that SIGTERM causes fires 'close' like any other: set a flag (stopping = true) before closing, and schedule nothing in 'close' once it is set.",
      });
    }
    if (exit.signal === 'SIGTERM') {
      throw this.v.fail({
        code: Codes.SIGTERM_NOT_HANDLED,
        expected: 'your client to stop by itself on SIGTERM, with exit code 0',
        actual: 'it was killed by the signal: it has no SIGTERM handler',
        hint: "process.on('SIGTERM', …): stop retrying, close the connection with socket.close(1000), and let the process end. Without a handler, Node dies on the spot, and the server sees a dropped connection.",
      });
    }
    if (conn && (!close || close.code !== 1000)) {
      throw this.v.fail({
        code: Codes.SIGTERM_NO_CLOSE_FRAME,
        expected: 'a close frame 1000 (normal closure) from your client before it exits',
        actual: close ? (close.clean ? `a close frame ${close.code}` : 'the connection dropped without a close frame') : 'the connection still open',
        hint: "Call socket.close(1000) and let the process end by itself once the close handshake is done: process.exit() cuts the connection before the close frame leaves.",
      });
    }
    if (client.program.neededKill) {
      throw this.v.fail({
        code: Codes.SIGTERM_KEPT_RUNNING,
        expected: `your client to exit within ${EXIT_MS} ms of SIGTERM`,
        actual: 'it kept running, and was killed',
        hint: 'A pending setTimeout keeps the process alive, as an open socket or stdin does: clearTimeout the retry timer, close the socket, and stop reading stdin (process.stdin.destroy()).',
      });
    }
    if (exit.code !== 0) {
      throw this.v.fail({
        code: Codes.SIGTERM_EXIT_CODE,
        expected: 'exit code 0 after SIGTERM: a stop that was asked for is no error',
        actual: `exit code ${exit.code}`,
        hint: 'Let the process end by itself once nothing is left to do, or call process.exit(0) after the close handshake.',
      });
    }
  }
}

function frameText(frame: Frame): string {
  return frame.kind === 'text' ? frame.data.toString('utf8') : '';
}

/** The say message a line makes, as a verdict shows it: a long line is cut, with its size. */
function sayOf(line: string): string {
  return previewText(JSON.stringify({ type: 'say', text: line }));
}

/** The text of a say frame, or undefined when the frame is something else. */
function sayText(frame: Frame): string | undefined {
  const message = asObject(parseJson(frameText(frame)));
  return message?.type === 'say' && typeof message.text === 'string' ? message.text : undefined;
}
