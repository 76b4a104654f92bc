/**
 * Lesson 05 — heartbeat. The story: alice, whose client answers every ping, connects and gets pinged;
 * mallory, whose client never answers, connects and is terminated within a few rounds; alice is still
 * there ten rounds later, pinged at the pace asked for; she leaves, and the server stops on SIGTERM.
 */
import { EventLoopPauses, afterPendingIo } from './harness/event-loop-pauses.ts';
import {
  describeCloseCode,
  TestClient,
  type CloseEvent,
  type LessonVerifier,
  type Verification,
  type VerifyFailure,
} from './harness/index.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  NO_PING: 'HEARTBEAT_NO_PING',
  WRONG_RATE: 'HEARTBEAT_WRONG_RATE',
  DROPPED_HEALTHY: 'HEARTBEAT_DROPPED_HEALTHY',
  PONG_IGNORED: 'HEARTBEAT_PONG_IGNORED',
  NEVER_TERMINATED: 'HEARTBEAT_NEVER_TERMINATED',
  TERMINATED_WITHOUT_PING: 'HEARTBEAT_TERMINATED_WITHOUT_PING',
  CLOSED_NOT_TERMINATED: 'HEARTBEAT_CLOSED_NOT_TERMINATED',
  INTERVAL_NOT_CLEARED: 'HEARTBEAT_INTERVAL_NOT_CLEARED',
} as const;

/**
 * Room for a busy machine on top of every deadline counted in intervals. It never makes a correct
 * server fail; it only delays the verdict on a wrong one a little.
 */
const LOAD_ALLOWANCE_MS = 250;
/** Rounds alice must stay through: each ping after her first proves the server accepted a pong. */
const HEALTHY_ROUNDS = 10;
/** How long the server has to exit by itself after SIGTERM before it is killed. */
const SIGTERM_GRACE_MS = 1000;

export default (async (v) => {
  const every = intervalOf(v);
  await v.start();
  const alice = new HealthyClient(v, 'alice', every);

  await v.step('pings alice soon after she connects', [], async () => {
    v.note('alice answers every ping with a pong, as ws clients and browsers do on their own');
    await alice.connect();
    const pinged = await alice.during((client) => pingsReceived(client, 1, rounds(every, 3)));
    if (!pinged) {
      throw v.fail({
        code: Codes.NO_PING,
        expected: `a ping within ${rounds(every, 3)} ms (HEARTBEAT_INTERVAL_MS is ${every})`,
        actual: 'nothing: alice was connected and waiting',
        hint:
          'Start one setInterval when the server starts, with the delay Number(process.env.HEARTBEAT_INTERVAL_MS), ' +
          'and call ping() on every socket in wss.clients each round. A hard-coded 30 s would be fine in production, ' +
          'but here the verifier asks for a short interval.',
      });
    }
  });

  await v.step('terminates mallory, who never answers a ping', [], async () => {
    v.note('mallory answers nothing, not even a ping: a laptop that went to sleep, as the server sees it');
    // Connecting just after alice's ping puts mallory a whole round away from the next one.
    const mallory = await v.client('mallory', { ws: { autoPong: false } });
    const within = rounds(every, 3);
    const closed = await alice.during(() => closeWithin(mallory, within));
    if (!closed) {
      throw v.fail({
        code: Codes.NEVER_TERMINATED,
        expected: `mallory, who never answers a ping, to be terminated within ${within} ms`,
        actual: `nothing: she was still connected, with ${plural(mallory.pings.length, 'ping')} unanswered`,
        hint:
          'Each round, first terminate every socket that has not answered since the previous ping, then mark the ' +
          'others as not alive and ping them. Keep that flag per socket: one variable for the whole server lets ' +
          "alice's pong vouch for mallory.",
      });
    }
    if (closed.clean) {
      throw v.fail({
        code: Codes.CLOSED_NOT_TERMINATED,
        expected: 'mallory to be terminated: the connection dropped, with no close frame (1006)',
        actual: `a close frame ${describeCloseCode(closed.code)}, a handshake only a living client can complete`,
        hint:
          'A dead peer cannot take part in a close handshake: close() would wait up to 30 s for its answer, and ' +
          'keep the connection meanwhile. Use socket.terminate(), which destroys the connection at once.',
      });
    }
    if (mallory.pings.length === 0) {
      throw v.fail({
        code: Codes.TERMINATED_WITHOUT_PING,
        expected: 'mallory to be pinged, and terminated a round later for not answering',
        actual: 'a termination before any ping had reached her',
        hint:
          'A client may only be terminated for missing a ping it was sent. Give each socket its own flag, set when it ' +
          'connects and on each pong: a single variable for every client lets one decide the fate of the others.',
      });
    }
  });

  await v.step(`keeps alice, who answers every ping, through ${HEALTHY_ROUNDS} rounds of about ${every} ms`, [], async () => {
    const want = HEALTHY_ROUNDS + 1;
    const reached = await alice.during((client) => pingsReceived(client, want, rounds(every, 2 * HEALTHY_ROUNDS)));
    const { pings } = alice.client;
    const pace = meanGap(pings);
    if (!reached || pace > 2 * every) {
      throw v.fail({
        code: Codes.WRONG_RATE,
        expected: `a ping about every ${every} ms (HEARTBEAT_INTERVAL_MS)`,
        actual: reached
          ? `one every ${Math.round(pace)} ms on average`
          : `${plural(pings.length, 'ping')} in the ${pings.at(-1) ?? 0} ms after alice connected`,
        hint: 'Ping from a setInterval (not a setTimeout, which runs once), with the delay HEARTBEAT_INTERVAL_MS milliseconds as given.',
      });
    }
    if (pace < every / 2) throw tooFast(v, every, pace);
  });

  await v.step('stops promptly on SIGTERM once the last client has left', [], async () => {
    alice.release();
    alice.client.close(1000, 'bye');
    await alice.client.expectClose("the server to answer alice's close frame");
    const stopped = await v.stopServer(v.servers[0]!, SIGTERM_GRACE_MS);
    if (stopped.neededKill) {
      throw v.fail({
        code: Codes.INTERVAL_NOT_CLEARED,
        expected: `your server to exit by itself within ${SIGTERM_GRACE_MS} ms of SIGTERM, with no client left`,
        actual: 'a process still running, which had to be killed',
        hint:
          'A running setInterval keeps Node alive, and so does a listening server. On SIGTERM call wss.close(), and ' +
          "clear the interval when the server closes: wss.on('close', () => clearInterval(timer)).",
      });
    }
  });
}) satisfies LessonVerifier;

// ——— helpers ———

/** HEARTBEAT_INTERVAL_MS as the lesson gives it to the server. */
function intervalOf(v: Verification): number {
  const every = Number(v.lessonEnv.HEARTBEAT_INTERVAL_MS);
  if (!(every > 0)) throw new Error('lesson 05 needs HEARTBEAT_INTERVAL_MS in its manifest env');
  return every;
}

/** A deadline of `n` heartbeat rounds, plus room for a busy machine. */
function rounds(every: number, n: number): number {
  return n * every + LOAD_ALLOWANCE_MS;
}

/** The average time between consecutive pings, or NaN with fewer than two. */
function meanGap(pings: readonly number[]): number {
  return pings.length < 2 ? NaN : (pings.at(-1)! - pings[0]!) / (pings.length - 1);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function tooFast(v: Verification, every: number, pace: number): VerifyFailure {
  return v.fail({
    code: Codes.WRONG_RATE,
    expected: `a ping about every ${every} ms (HEARTBEAT_INTERVAL_MS)`,
    actual: `one every ${Math.round(pace)} ms on average`,
    hint:
      'Ping once per round, and run one round every HEARTBEAT_INTERVAL_MS milliseconds, as given (no conversion to ' +
      'seconds). Each ping is a frame to every client: pinging more often only costs traffic.',
  });
}

/**
 * Resolves true once `client` has received `count` pings, false when `timeoutMs` passes first. Once the
 * connection closes it never settles: the HealthyClient watching it explains the close instead.
 */
function pingsReceived(client: TestClient, count: number, timeoutMs: number): Promise<boolean> {
  if (client.pings.length >= count) return Promise.resolve(true);
  return new Promise((resolve) => {
    const stop = () => {
      clearTimeout(timer);
      client.ws.off('ping', onPing);
      client.ws.off('close', stop);
    };
    // Registered after the client's own listener, so client.pings already counts this ping.
    const onPing = () => {
      if (client.pings.length < count) return;
      stop();
      resolve(true);
    };
    const timer = setTimeout(async () => {
      await afterPendingIo();
      if (client.pings.length >= count) return;
      stop();
      resolve(false);
    }, timeoutMs);
    client.ws.on('ping', onPing);
    client.ws.on('close', stop);
  });
}

/** How the connection closed, or undefined if it is still open after `timeoutMs`. */
function closeWithin(client: TestClient, timeoutMs: number): Promise<CloseEvent | undefined> {
  if (client.closed) return Promise.resolve(client.closed);
  return new Promise((resolve) => {
    // Registered after the client's own listener, so client.closed is already set when this runs.
    const onClose = () => {
      clearTimeout(timer);
      resolve(client.closed);
    };
    const timer = setTimeout(async () => {
      await afterPendingIo();
      client.ws.off('close', onClose);
      resolve(client.closed);
    }, timeoutMs);
    client.ws.once('close', onClose);
  });
}

/** How long a dropped connection waits for news of a crash, which would explain it better. */
const CRASH_SETTLE_MS = 200;
/** How many times a healthy client dropped while the verifier stood still may connect again. */
const PAUSE_RETRIES = 2;

/**
 * A client that answers every ping, under watch: any wait run `during` it fails as soon as the server
 * drops the client, with the mistake the timing points to. One exception keeps verdicts fair on a
 * busy machine: if the verifier itself stood still long enough to delay the pong, the drop proves
 * nothing; the client connects again and the wait starts over.
 */
class HealthyClient {
  client!: TestClient;
  private dropped!: Promise<never>;
  private droppedAt?: number;
  private released = false;
  private retriesLeft = PAUSE_RETRIES;
  private readonly pauses = new EventLoopPauses();

  constructor(
    private readonly v: Verification,
    private readonly name: string,
    private readonly every: number,
  ) {
    v.defer(() => this.pauses.stop());
  }

  async connect(): Promise<void> {
    const client = await this.v.client(this.name);
    // client.pings counts from the moment the connection opened, which is just now.
    const connectedAt = Date.now();
    this.client = client;
    this.droppedAt = undefined;
    this.dropped = new Promise<never>((_, reject) => {
      client.ws.once('close', () => {
        if (this.released) return;
        const droppedAt = (this.droppedAt = Date.now());
        void programDied(this.v, CRASH_SETTLE_MS).then((died) => {
          // A crash drops every connection; the harness reports it better, as the step fails with it.
          if (!died) reject(this.explainDrop(client, droppedAt, droppedAt - connectedAt));
        });
      });
    });
    this.dropped.catch(() => {});
  }

  /** Runs `work` on the current client; a drop of the client is explained instead of what `work` came to. */
  async during<T>(work: (client: TestClient) => Promise<T>): Promise<T> {
    for (;;) {
      try {
        try {
          return await Promise.race([work(this.client), this.dropped]);
        } finally {
          // Whatever the work came to, a drop of the healthy client is the first thing to explain.
          if (this.droppedAt !== undefined) await this.dropped;
        }
      } catch (error) {
        if (!(error instanceof VerifierPaused)) throw error;
        if (this.retriesLeft-- === 0) throw error.failure;
        this.v.note(
          `${this.name} was dropped just after the verifier itself stood still for ${error.pauseMs} ms (a busy ` +
            `machine), so a pong may have left too late: that proves nothing about your server. ${this.name} connects again.`,
        );
        await this.connect();
      }
    }
  }

  /** Stops watching, before the client leaves on purpose. */
  release(): void {
    this.released = true;
  }

  private explainDrop(client: TestClient, droppedAt: number, droppedAfter: number): Error {
    const failure = diagnoseDrop(this.v, client, this.every, droppedAfter);
    // A pong answers a ping one round trip later; a verifier that stood still for half a round near the
    // drop may have sent it too late.
    const pauseMs = this.pauses.longestWithin(droppedAt - 2 * this.every, droppedAt);
    if (pauseMs < this.every / 2) return failure;
    failure.details.push(
      `The verifier itself stood still for ${pauseMs} ms just before: this machine may be too busy to judge a ${this.every} ms heartbeat.`,
    );
    return new VerifierPaused(pauseMs, failure);
  }
}

/** A healthy client's drop that the verifier's own pause may explain. */
class VerifierPaused extends Error {
  constructor(
    readonly pauseMs: number,
    readonly failure: VerifyFailure,
  ) {
    super(failure.message);
  }
}

/** Names the mistake behind a healthy client's drop, `droppedAfter` ms after it connected. */
function diagnoseDrop(v: Verification, client: TestClient, every: number, droppedAfter: number): VerifyFailure {
  const { pings, name } = client;
  const expected = `${name}, who answers every ping with a pong, to stay connected`;
  const how = client.closed?.clean ? `closed with a close frame ${client.closed.code}` : 'terminated';
  const whose = `${name}'s connection`;
  const pace = meanGap(pings);
  if (pace < every / 2) return tooFast(v, every, pace);
  const sinceLastPing = pings.length ? droppedAfter - pings.at(-1)! : Infinity;
  if (pings.length === 0 || sinceLastPing < every / 2) {
    return v.fail({
      code: Codes.DROPPED_HEALTHY,
      expected,
      actual:
        pings.length === 0
          ? `${whose} ${how} before ${name} was even pinged`
          : `${whose} ${how} ${sinceLastPing} ms after a ping, too soon for any pong to come back`,
      hint:
        'A pong needs a round trip: judge a client at the start of the next round, not right after pinging it. ' +
        'A client that has just connected counts as alive, so set its flag to true in the connection handler.',
    });
  }
  return v.fail({
    code: Codes.PONG_IGNORED,
    expected,
    actual: `${whose} ${how} a round after ping ${pings.length}, which ${name} had answered with a pong`,
    hint: "Listen for 'pong' on each socket and mark it alive again there. Without that, every client looks dead one round after its first ping.",
  });
}

/** True if the learner's program exits within `ms`. */
function programDied(v: Verification, ms: number): Promise<boolean> {
  const child = v.servers[0]?.program.child;
  if (!child) return Promise.resolve(false);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    child.once('exit', onExit);
  });
}

