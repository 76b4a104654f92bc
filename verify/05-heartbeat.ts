/**
 * Lesson 05 — heartbeat. The story: alice, whose client answers every ping, connects alone and is
 * pinged once a round, at the pace asked for; she leaves, and the server has nobody for a moment.
 * Then a client that answers nothing connects three times over: first in the round (before bob and
 * carol), in the middle (between them and dave) and last. Each time it must be pinged once, then
 * terminated the next round, without a close frame, while every other client gets its ping in that
 * same round. eve sends what a client may send, a broken frame last, and the rounds go on. bob, carol
 * and dave, who answer everything, stay through every round, one ping each per round, all in the same
 * round. Last, SIGTERM: the server stops listening, and once its clients have left, the process ends.
 */
import { EventLoopPauses, afterPendingIo } from './harness/event-loop-pauses.ts';
import { canConnect } from './harness/ports.ts';
import {
  HarnessCodes,
  VerifyFailure,
  defineRules,
  describeCloseCode,
  type CloseEvent,
  type LessonVerifier,
  type TestClient,
  type Verification,
} from './harness/index.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  NO_PING: 'HEARTBEAT_NO_PING',
  WRONG_RATE: 'HEARTBEAT_WRONG_RATE',
  CLIENT_SKIPPED: 'HEARTBEAT_CLIENT_SKIPPED',
  NEVER_TERMINATED: 'HEARTBEAT_NEVER_TERMINATED',
  TERMINATED_LATE: 'HEARTBEAT_TERMINATED_LATE',
  CLOSED_NOT_TERMINATED: 'HEARTBEAT_CLOSED_NOT_TERMINATED',
  TERMINATED_WITHOUT_PING: 'HEARTBEAT_TERMINATED_WITHOUT_PING',
  DROPPED_HEALTHY: 'HEARTBEAT_DROPPED_HEALTHY',
  PONG_IGNORED: 'HEARTBEAT_PONG_IGNORED',
  INTERVAL_PER_CONNECTION: 'HEARTBEAT_INTERVAL_PER_CONNECTION',
  INTERVAL_NOT_CLEARED: 'HEARTBEAT_INTERVAL_NOT_CLEARED',
  SIGTERM_NOT_HANDLED: 'HEARTBEAT_SIGTERM_NOT_HANDLED',
  SERVER_NOT_CLOSED: 'HEARTBEAT_SERVER_NOT_CLOSED',
  CRASHED_ON_BAD_INPUT: 'HEARTBEAT_CRASHED_ON_BAD_INPUT',
  ROUNDS_STOPPED: 'HEARTBEAT_ROUNDS_STOPPED',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: {
    text: 'Every `HEARTBEAT_INTERVAL_MS` milliseconds, run one round over `wss.clients`: each client not terminated in it is marked as not alive and sent `ping()`, one ping per round, no more, no fewer.',
    codes: [Codes.NO_PING, Codes.WRONG_RATE, Codes.CLIENT_SKIPPED],
  },
  R3: { text: "A client that has not answered the previous round's ping is terminated in this round.", codes: [Codes.NEVER_TERMINATED, Codes.TERMINATED_LATE] },
  R4: { text: 'It is ended with `terminate()`, not `close()`.', codes: [Codes.CLOSED_NOT_TERMINATED] },
  R5: {
    text: 'No client is terminated before it has had a whole round to answer a ping: one that has just connected counts as alive.',
    codes: [Codes.TERMINATED_WITHOUT_PING, Codes.DROPPED_HEALTHY],
  },
  R6: { text: 'A client that answers every ping with a pong is never dropped, however long it stays.', codes: [Codes.PONG_IGNORED] },
  R7: { text: 'Use **one** interval for the whole server: every client is pinged in the same round.', codes: [Codes.INTERVAL_PER_CONNECTION] },
  R8: { text: "Clear the interval when the server closes (`wss.on('close', ...)`).", codes: [Codes.INTERVAL_NOT_CLEARED] },
  R9: {
    text: 'On `SIGTERM`, close the server (`wss.close()`): once no client is left, the process ends by itself, with exit code 0.',
    codes: [Codes.SIGTERM_NOT_HANDLED, Codes.SERVER_NOT_CLOSED],
  },
  R10: { text: 'Nothing a client sends, not even a broken frame, brings the server down or stops the rounds.', codes: [Codes.CRASHED_ON_BAD_INPUT, Codes.ROUNDS_STOPPED] },
});

/**
 * Room for a busy machine on top of every deadline counted in intervals. It never makes a correct
 * server fail; it only delays the verdict on a wrong one a little.
 */
const LOAD_ALLOWANCE_MS = 250;
/** The typical gap between two pings may be this many intervals at least, and at most SLOWEST. */
const FASTEST = 0.75;
const SLOWEST = 2;
/** Pings alice gets while she is alone: enough to tell the pace. */
const SOLO_PINGS = 5;
/** Rounds bob must stay through, from the moment he connects: far longer than the one round a client is judged on. */
const HEALTHY_ROUNDS = 10;
/** Rounds alice, peggy and quentin are watched together, for the pace and for all being pinged in one round. */
const TOGETHER_ROUNDS = 4;
/** How long the process may take to end by itself once its last client has left. */
const EXIT_MS = 1000;
/** When the process is killed after SIGTERM if it has not ended: time for the clients to leave, and for EXIT_MS. */
const SIGTERM_KILL_MS = 3000;

export default (async (v) => {
  const every = intervalOf(v);
  // The probe tells an interval left running from anything else that keeps the process alive (R8, R9).
  const server = await v.start({ probeResources: true });
  const healthy = new HealthyClients(v, every);

  await v.step('pings a client soon after it connects, then once a round, at the pace asked for', ['R2', 'R5', 'R6'], async () => {
    v.note('alice answers every ping with a pong, as ws clients and browsers do on their own');
    await healthy.add('alice');
    await healthy.during(async () => {
      const alice = healthy.named('alice');
      if (!(await pingsReceived(alice.client, 1, rounds(every, 3)))) {
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
      const reached = await pingsReceived(alice.client, SOLO_PINGS, rounds(every, 2 * SOLO_PINGS));
      checkPace(v, alice, every, reached, 'alone');
      healthy.paceAloneRight = true;
    });
    const alice = healthy.named('alice');
    const solo = alice.pings.slice(0, SOLO_PINGS);
    v.note(`alice got ${plural(solo.length, 'ping')}, typically ${Math.round(typicalGap(solo))} ms apart, and answered each`);
  });

  await v.step('pings every client in the same round, once a round, however many are connected', ['R2', 'R5', 'R6', 'R7'], async () => {
    // Off alice's beat: one interval pings them with her all the same, a timer per connection does not.
    v.note(`peggy connects half a round after one of alice's pings, quentin a quarter of a round after one`);
    await healthy.during(async () => {
      await joinOffBeat(healthy, 'peggy', every / 2);
      await joinOffBeat(healthy, 'quentin', every / 4);
    });
    await healthy.during(async () => {
      const from = Date.now();
      await together(v, healthy, every, from, TOGETHER_ROUNDS);
      checkSameRound(v, healthy.clients, every, from);
    });
    v.note('alice, peggy and quentin were pinged together, once a round, and answered every ping; they leave');
    for (const client of [...healthy.clients]) await healthy.leave(client);
  });

  await v.step('terminates a client that answers nothing, first in the round, and pings the others in that round', ['R2', 'R3', 'R4', 'R5', 'R6'], async () => {
    v.note('nobody is connected now. mallory answers nothing, not even a ping: a laptop that went to sleep, as the server sees it');
    v.note('mallory connects first, then bob and carol, who answer every ping');
    const mallory = await connectSilent(v, 'mallory');
    await healthy.add('bob');
    await healthy.add('carol');
    await healthy.during(() => expectTerminated(v, healthy, mallory, every));
  });

  await v.step('terminates a client that answers nothing, in the middle of the round', ['R2', 'R3', 'R4', 'R5', 'R6'], async () => {
    v.note('oscar answers nothing; he connects after bob and carol, and dave after him');
    const oscar = await connectSilent(v, 'oscar');
    await healthy.add('dave');
    await healthy.during(() => expectTerminated(v, healthy, oscar, every));
  });

  await v.step('terminates a client that answers nothing, last in the round', ['R2', 'R3', 'R4', 'R5', 'R6'], async () => {
    v.note('trudy answers nothing; she connects after everyone else');
    const trudy = await connectSilent(v, 'trudy');
    await healthy.during(() => expectTerminated(v, healthy, trudy, every));
  });

  await crashMeans(
    v,
    v.step('keeps its rounds going whatever a client sends, a broken frame included', ['R2', 'R5', 'R6', 'R10'], async () => {
      const eve = await v.client('eve', { log: 'read', quietPings: true });
      eve.sendText('hello');
      eve.sendJson({ type: 'chat', message: 'café 🎉' });
      eve.sendBinary(Buffer.from([0x00, 0xff]));
      // A client may ping too (the server's ws answers by itself), and send a pong unasked, as a one-way heartbeat.
      v.note('eve pings the server, and sends it a pong nobody asked for');
      eve.ws.ping();
      eve.ws.pong();
      eve.writeRaw(maskedFrame(0x81, Buffer.from([0xc3, 0x28])), 'text <c3 28> (these bytes are not valid UTF-8)');
      await eve.expectClose('ws on your server to close the socket that sent a broken frame');
      await healthy.during(async () => {
        const [bob] = healthy.clients;
        const since = bob!.pings.length;
        if (!(await pingsReceived(bob!.client, since + 1, rounds(every, 2)))) {
          throw v.fail({
            code: Codes.ROUNDS_STOPPED,
            expected: `the rounds to go on: a ping for ${bob!.name} within ${rounds(every, 2)} ms`,
            actual: `${plural(bob!.pings.length - since, 'ping')} since eve's broken frame`,
            hint: "Whatever one socket does, the interval's round goes on for the others: keep each round free of anything that can throw.",
          });
        }
      });
      v.note("your server is still up, and still pinging: ws closed eve's socket itself, and emitted 'error' on it");
    }),
  );

  await v.step(`keeps every client that answers, ${HEALTHY_ROUNDS} rounds and more: one ping each a round, all in the same round`, ['R2', 'R5', 'R6', 'R7'], async () => {
    await healthy.during(async () => {
      const [bob] = healthy.clients;
      const stayed = await pingsReceived(bob!.client, HEALTHY_ROUNDS, rounds(every, HEALTHY_ROUNDS));
      checkPace(v, bob!, every, stayed, 'together');
      for (const client of healthy.clients) checkPace(v, client, every, true, 'together', bob!.connectedAt);
      checkSameRound(v, healthy.clients, every, bob!.connectedAt);
    });
    const names = healthy.clients.map((c) => c.name);
    v.note(
      `${names.slice(0, -1).join(', ')} and ${names.at(-1)} were pinged together, once a round, and answered every ping; ` +
        `${names[0]} has stayed ${HEALTHY_ROUNDS} rounds and more`,
    );
  });

  await v.step('stops on SIGTERM: closes the server, and ends by itself once the last client has left', ['R8', 'R9'], async () => {
    const clients = healthy.release();
    const { program } = server;
    const stopping = v.stopServer(server, SIGTERM_KILL_MS);
    // Said as it happens: a server that ignores SIGTERM answers connections on its port as before.
    if (!(await refusesConnections(server.host, server.port, program))) {
      // Judged already: no need to wait out the grace before the kill.
      await program.stop(100);
      await stopping;
      throw v.fail({
        code: Codes.SERVER_NOT_CLOSED,
        expected: `your server to stop listening on port ${server.port} once it got SIGTERM`,
        actual: 'it still accepted connections a second later',
        hint:
          "On SIGTERM, close every server that listens: process.on('SIGTERM', () => wss.close()). A WebSocketServer given " +
          'a server of yours ({ server } or noServer) does not close that one: call its close() too.',
      });
    }
    v.note(`your server no longer accepts connections; ${clients.map((c) => c.name).join(', ')} say goodbye`);
    for (const client of clients) if (client.client.isOpen) client.client.close(1000, 'bye');
    for (const client of clients) await client.client.expectClose(`the server to answer ${client.name}'s close frame`).catch(() => undefined);
    const ended = await endsWithin(program, EXIT_MS);
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
          "With no listener, SIGTERM kills Node at once, in the middle of whatever it was doing. Listen for it, process.on('SIGTERM', () => wss.close()), " +
          'and let the process end on its own once nothing is left running.',
      });
    }
    if (resources && resources.timers > 0) {
      throw v.fail({
        code: Codes.INTERVAL_NOT_CLEARED,
        expected: `your server to end by itself within ${EXIT_MS} ms of its last client leaving, the server closed`,
        actual: `a process still running, with ${plural(resources.timers, 'timer')} left (${stopped.neededKill ? 'it had to be killed' : 'it ended later'})`,
        hint:
          "A running setInterval keeps Node alive after the server has closed. Clear it when the server closes: wss.on('close', () => clearInterval(timer)).",
      });
    }
    throw v.fail({
      code: Codes.SERVER_NOT_CLOSED,
      expected: `your server to end by itself within ${EXIT_MS} ms of its last client leaving`,
      actual: `a process still running${resources ? `, held by ${resources.resources.join(', ') || 'nothing it would name'}` : ''}, which had to be killed`,
      hint: 'Once the server is closed and no client is left, nothing may keep Node alive: close every server, and clear every timer.',
    });
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

/**
 * The typical time between consecutive pings (the median gap), or NaN with fewer than two. A moment
 * when the verifier itself stood still makes one gap short and the next long: the median does not move.
 */
function typicalGap(pings: readonly number[]): number {
  const gaps = pings.slice(1).map((at, i) => at - pings[i]!).sort((a, b) => a - b);
  if (gaps.length === 0) return NaN;
  const middle = gaps.length / 2;
  return Number.isInteger(middle) ? (gaps[middle - 1]! + gaps[middle]!) / 2 : gaps[Math.floor(middle)]!;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The pace of the pings one client received since `from`: about one a round, judged by the typical
 * gap between two of them. Too fast while alone is the interval's delay (R2); too fast only together,
 * when alone it was right, is an interval per connection (R7).
 */
function checkPace(v: Verification, client: Watched, every: number, reached: boolean, when: 'alone' | 'together', from = 0): void {
  const pings = client.pings.filter((at) => at >= from);
  const pace = typicalGap(pings);
  const expected =
    `a ping about every ${every} ms (HEARTBEAT_INTERVAL_MS), typically ${FASTEST * every} to ${SLOWEST * every} ms apart` +
    (when === 'together' ? `, for ${client.name} with others connected` : '');
  const got = () => `${plural(pings.length, 'ping')} in ${pings.at(-1)! - pings[0]!} ms, typically ${Math.round(pace)} ms apart`;
  if (!reached || pace > SLOWEST * every) {
    throw v.fail({
      code: Codes.WRONG_RATE,
      expected,
      actual: reached ? got() : `${plural(pings.length, 'ping')} in ${Date.now() - (pings[0] ?? client.connectedAt)} ms`,
      hint: 'Ping from a setInterval (not a setTimeout, which runs once), with the delay HEARTBEAT_INTERVAL_MS milliseconds as given.',
    });
  }
  if (pace >= FASTEST * every) return;
  if (when === 'together') {
    throw v.fail({
      code: Codes.INTERVAL_PER_CONNECTION,
      expected,
      actual: `${got()}, though alice, alone, got one a round`,
      hint:
        "Start the interval once, when the server starts, not in 'connection': each connection that starts one adds another round, " +
        'and every client is pinged once per connection.',
    });
  }
  throw v.fail({
    code: Codes.WRONG_RATE,
    expected,
    actual: got(),
    hint:
      'Ping once per round, and run one round every HEARTBEAT_INTERVAL_MS milliseconds, as given (no conversion to ' +
      'seconds, no halving "to be safe"). Each ping is a frame to every client: pinging more often only costs traffic.',
  });
}

/**
 * One interval pings everyone in the same round: each ping of the others comes within a few
 * milliseconds of one of the first client's. An interval per connection pings each at its own moment.
 */
function checkSameRound(v: Verification, clients: readonly Watched[], every: number, from: number): void {
  const [first, ...others] = clients;
  for (const other of others) {
    const offsets = other.pings.filter((at) => at >= from).map((at) => Math.min(...first!.pings.map((p) => Math.abs(p - at))));
    if (offsets.length === 0) continue;
    const typical = [...offsets].sort((a, b) => a - b)[Math.floor(offsets.length / 2)]!;
    if (typical <= every / 4) continue;
    throw v.fail({
      code: Codes.INTERVAL_PER_CONNECTION,
      expected: `${other.name} pinged in the same round as ${first!.name}, within ${every / 4} ms of each other`,
      actual: `${other.name}'s pings come ${Math.round(typical)} ms from ${first!.name}'s: each is pinged at a moment of its own`,
      hint:
        "Use one setInterval for the whole server, started once, not one per connection: each round visits every socket in wss.clients. " +
        'A timer per connection costs a timer per client, and their rounds never line up.',
    });
  }
}

/** Connects a healthy client `offset` ms after the next ping of the first one. */
async function joinOffBeat(healthy: HealthyClients, name: string, offset: number): Promise<void> {
  const [first] = healthy.clients;
  await pingsReceived(first!.client, first!.pings.length + 1, 4 * offset + LOAD_ALLOWANCE_MS);
  await sleep(offset);
  await healthy.add(name);
}

/** Every healthy client must get `count` pings from `from` on, at about one a round. */
async function together(v: Verification, healthy: HealthyClients, every: number, from: number, count: number): Promise<void> {
  const deadline = from + rounds(every, 2 * count);
  for (const client of healthy.clients) {
    const start = client.pings.filter((at) => at < from).length;
    const reached = await pingsReceived(client.client, start + count, deadline - Date.now());
    checkPace(v, client, every, reached, 'together', from);
  }
}

/**
 * Resolves true once `client` has received `count` pings, false when `timeoutMs` passes first. Once the
 * connection closes it never settles: the watch on the client explains the close instead.
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ——— the clients the story follows ———

/** A client the story follows: when it connected, when each ping reached it, when it closed (wall clock). */
class Watched {
  readonly pings: number[] = [];
  readonly connectedAt = Date.now();
  closedAt?: number;
  /** Set once the close has been read, and so written in the transcript. */
  closeRead = false;

  constructor(
    readonly client: TestClient,
    readonly name: string,
  ) {
    client.ws.on('ping', () => this.pings.push(Date.now()));
    client.ws.once('close', () => (this.closedAt = Date.now()));
  }
}

/** A client that answers nothing: automatic pongs turned off, as a peer that vanished would be. */
async function connectSilent(v: Verification, name: string): Promise<Watched> {
  return new Watched(await v.client(name, { ws: { autoPong: false }, log: 'read', quietPings: true }), name);
}

/**
 * The silent client must get one ping, and be terminated, without a close frame, in the round after
 * it: within three rounds of connecting. Every healthy client connected well before must get its ping
 * in that very round: a round that stops at the terminated one skips the clients after it.
 */
async function expectTerminated(v: Verification, healthy: HealthyClients, silent: Watched, every: number): Promise<void> {
  const within = rounds(every, 3);
  const closed = await closeWithin(silent.client, within - (Date.now() - silent.connectedAt));
  const pinged = silent.pings.length;
  if (!closed) {
    const others = healthy.clients.filter((c) => c.pings.some((at) => at >= silent.connectedAt));
    if (others.length === 0 && healthy.clients.length > 0) {
      throw v.fail({
        code: Codes.NO_PING,
        expected: `a round every ${every} ms: ${silent.name} pinged, then terminated, within ${within} ms`,
        actual: `no ping at all, to anyone, since ${silent.name} connected: the rounds have stopped`,
        hint:
          'Run the rounds from one setInterval started with the server, for as long as the server runs: whoever comes and goes, ' +
          'an empty wss.clients is no reason to stop them.',
      });
    }
    if (pinged === 0) {
      throw v.fail({
        code: Codes.CLIENT_SKIPPED,
        expected: `${silent.name} to be pinged, like every client, each round`,
        actual: `no ping for ${silent.name} in ${within} ms, while ${others.map((c) => c.name).join(' and ')} got theirs`,
        hint: 'Each round visits every socket in wss.clients: a return or a break in the loop ends the round for all the others.',
      });
    }
    throw v.fail({
      code: Codes.NEVER_TERMINATED,
      expected: `${silent.name}, who never answers a ping, to be terminated within ${within} ms`,
      actual: `nothing: she was still connected, with ${plural(pinged, 'ping')} unanswered`,
      hint:
        'Each round, first terminate every socket that has not answered since the previous ping, then mark the ' +
        'others as not alive and ping them. Keep that flag per socket: one variable for the whole server lets ' +
        "one client's pong vouch for another.",
    });
  }
  if (closed.clean) {
    throw v.fail({
      code: Codes.CLOSED_NOT_TERMINATED,
      expected: `${silent.name} to be terminated: the connection dropped, with no close frame (1006)`,
      actual: `a close frame ${describeCloseCode(closed.code)}, a handshake only a living client can complete`,
      hint:
        'A dead peer cannot take part in a close handshake: close() would wait up to 30 s for its answer, and ' +
        'keep the connection meanwhile. Use socket.terminate(), which destroys the connection at once.',
    });
  }
  if (pinged === 0) {
    throw v.fail({
      code: Codes.TERMINATED_WITHOUT_PING,
      expected: `${silent.name} to be pinged, and terminated a round later for not answering`,
      actual: 'a termination before any ping had reached her',
      hint:
        'A client may only be terminated for missing a ping it was sent. Give each socket its own flag, true when it ' +
        'connects and on each pong: a single variable for every client lets one decide the fate of the others.',
    });
  }
  if (pinged > 1) {
    throw v.fail({
      code: Codes.TERMINATED_LATE,
      expected: `${silent.name} terminated in the round after her first unanswered ping`,
      actual: `a termination after ${pinged} unanswered pings: ${pinged - 1} rounds late`,
      hint: 'A pong has a whole round to come back. A client that has not answered by the next round is gone: terminate it then, with no second chance.',
    });
  }
  const at = silent.closedAt!;
  if (!silent.closeRead) {
    silent.closeRead = true;
    v.note(`${silent.name} was pinged once, did not answer, and was terminated ${at - silent.pings[0]!} ms later:`);
    await silent.client.expectClose();
  }
  // Every client that was there well before the round must be pinged in it.
  await sleep(Math.max(0, at + every / 2 - Date.now()));
  await afterPendingIo();
  for (const client of healthy.clients) {
    if (client.connectedAt > at - every / 2) continue;
    if (client.pings.some((p) => Math.abs(p - at) <= every / 2)) continue;
    throw v.fail({
      code: Codes.CLIENT_SKIPPED,
      expected: `${client.name} to be pinged in the round that terminated ${silent.name}, like every client each round`,
      actual: `no ping for ${client.name} within ${every / 2} ms of that round: the round stopped at ${silent.name}`,
      hint:
        'Terminating a socket must not end the round: in a for…of loop, continue to the next socket (return socket.terminate() ' +
        'is the forEach habit, and in for…of it leaves the loop, skipping every client after it).',
    });
  }
}

/** How long a dropped connection waits for news of a crash, which would explain it better. */
const CRASH_SETTLE_MS = 200;
/** What `during` races its work with: a drop was excused and the client is back, so the work starts over. */
const RESTART = Symbol('restart');
/** How many times a healthy client dropped while the verifier stood still may connect again. */
const PAUSE_RETRIES = 2;

/** A healthy client, under watch. */
class Healthy extends Watched {
  released = false;
}

/**
 * Clients that answer every ping, under watch: any wait run `during` them fails as soon as the server
 * drops one, with the mistake the timing points to. One exception keeps verdicts fair on a busy machine:
 * if the verifier itself stood still long enough to delay a pong, the drop proves nothing; that client
 * connects again and the story goes on.
 */
class HealthyClients {
  /** Connected now, in the order they connected. */
  readonly clients: Healthy[] = [];
  private readonly failed: Promise<never>;
  private fail!: (failure: Error) => void;
  /** Drops being explained: a wait is not over until each is. */
  private readonly settling = new Set<Promise<void>>();
  private retriesLeft = PAUSE_RETRIES;
  /** How many drops a pause excused so far: the work under way then starts over. */
  private retried = 0;
  private readonly restarts = new Set<() => void>();
  private readonly pauses = new EventLoopPauses();
  /** Set once one client alone was pinged at the right pace: more pings later come from more rounds. */
  paceAloneRight = false;

  constructor(
    private readonly v: Verification,
    private readonly every: number,
  ) {
    v.defer(() => this.pauses.stop());
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    this.failed.catch(() => {});
  }

  /** Connects a healthy client and watches it. */
  async add(name: string, index = this.clients.length): Promise<Healthy> {
    // Read logging: the close frames of several clients leaving at once are written in the story's order.
    const watched = new Healthy(await this.v.client(name, { log: 'read', quietPings: true }), name);
    this.clients.splice(index, 0, watched);
    watched.client.ws.once('close', () => {
      if (watched.released) return;
      const settled: Promise<void> = this.explain(watched, Date.now()).finally(() => this.settling.delete(settled));
      this.settling.add(settled);
    });
    return watched;
  }

  /** The healthy client of that name connected now (a new one, if it had to connect again). */
  named(name: string): Healthy {
    return this.clients.find((c) => c.name === name)!;
  }

  /** The client leaves on purpose, with a close frame. */
  async leave(watched: Healthy): Promise<void> {
    watched.released = true;
    this.clients.splice(this.clients.indexOf(watched), 1);
    watched.client.close(1000, 'bye');
    await watched.client.expectClose(`the server to answer ${watched.name}'s close frame`);
  }

  /**
   * Runs `work`; a drop of a healthy client is explained instead of what `work` came to. When a drop
   * proves nothing (the verifier stood still), the client connects again and `work` starts over.
   */
  async during<T>(work: () => Promise<T>): Promise<T> {
    for (;;) {
      const retriedBefore = this.retried;
      let restart!: () => void;
      const restarted = new Promise<typeof RESTART>((resolve) => (restart = () => resolve(RESTART)));
      this.restarts.add(restart);
      let outcome: { ok: true; value: T | typeof RESTART } | { ok: false; error: unknown };
      try {
        outcome = { ok: true, value: await Promise.race([work(), this.failed, restarted]) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      this.restarts.delete(restart);
      // Whatever the work came to, a drop of a healthy client is the first thing to explain.
      while (this.settling.size > 0) await Promise.race([Promise.all([...this.settling]), this.failed]);
      if (this.retried !== retriedBefore || (outcome.ok && outcome.value === RESTART)) continue;
      if (!outcome.ok) throw outcome.error;
      return outcome.value as T;
    }
  }

  /** Stops watching, before the clients leave on purpose; returns them. */
  release(): Healthy[] {
    for (const client of this.clients) client.released = true;
    return [...this.clients];
  }

  private async explain(watched: Healthy, droppedAt: number): Promise<void> {
    try {
      // A crash drops every connection; the harness reports it better, as the step fails with it.
      if (await programDied(this.v, CRASH_SETTLE_MS)) return;
      const failure = diagnoseDrop(this.v, watched, this.every, droppedAt, this.paceAloneRight);
      // A pong answers a ping one round trip later; a verifier that stood still for half a round near the
      // drop may have sent it too late.
      const pauseMs = this.pauses.longestWithin(droppedAt - 2 * this.every, droppedAt);
      if (pauseMs < this.every / 2) return this.fail(failure);
      failure.details.push(`The verifier itself stood still for ${pauseMs} ms just before: this machine may be too busy to judge a ${this.every} ms heartbeat.`);
      if (this.retriesLeft-- === 0) return this.fail(failure);
      this.v.note(
        `${watched.name} was dropped just after the verifier itself stood still for ${pauseMs} ms (a busy machine), so a pong ` +
          `may have left too late: that proves nothing about your server. ${watched.name} connects again.`,
      );
      const index = this.clients.indexOf(watched);
      this.clients.splice(index, 1);
      await this.add(watched.name, index);
      this.retried++;
      for (const restart of this.restarts) restart();
    } catch (error) {
      this.fail(error as Error);
    }
  }
}

/**
 * Names the mistake behind a healthy client's drop. Pings coming faster than one a round are named
 * first: a round that comes too soon after another judges a client before its pong could come back.
 */
function diagnoseDrop(v: Verification, watched: Watched, every: number, droppedAt: number, paceAloneRight: boolean): VerifyFailure {
  const { name, pings, client } = watched;
  const expected = `${name}, who answers every ping with a pong, to stay connected`;
  const how = client.closed?.clean ? `closed with a close frame ${client.closed.code}` : 'terminated';
  const whose = `${name}'s connection`;
  const lastGap = pings.length >= 2 ? pings.at(-1)! - pings.at(-2)! : Infinity;
  if (lastGap < FASTEST * every) {
    const actual = `${whose} ${how}, its last two pings ${lastGap} ms apart: rounds come faster than one every ${every} ms`;
    return paceAloneRight
      ? v.fail({
          code: Codes.INTERVAL_PER_CONNECTION,
          expected,
          actual: `${actual}, though alice, alone, got one a round`,
          hint:
            "Start the interval once, when the server starts, not in 'connection': each connection that starts one adds another round, " +
            'and a round that comes right after another judges a client before its pong is back.',
        })
      : v.fail({
          code: Codes.WRONG_RATE,
          expected,
          actual,
          hint: 'Run one round every HEARTBEAT_INTERVAL_MS milliseconds, as given: a round that comes sooner judges a client before its pong is back.',
        });
  }
  if (pings.length === 0) {
    return v.fail({
      code: Codes.TERMINATED_WITHOUT_PING,
      expected,
      actual: `${whose} ${how} ${droppedAt - watched.connectedAt} ms after it connected, before ${name} was even pinged`,
      hint:
        'A client that has just connected is alive: set its flag to true in the connection handler, so the next round pings it ' +
        'instead of terminating it.',
    });
  }
  const sinceLastPing = droppedAt - pings.at(-1)!;
  if (sinceLastPing < every / 2) {
    return v.fail({
      code: Codes.DROPPED_HEALTHY,
      expected,
      actual: `${whose} ${how} ${sinceLastPing} ms after a ping, too soon for any pong to come back`,
      hint: 'A pong needs a round trip: judge a client at the start of the next round, not right after pinging it.',
    });
  }
  return v.fail({
    code: Codes.PONG_IGNORED,
    expected,
    actual: `${whose} ${how} a round after ping ${pings.length}, which ${name} had answered with a pong`,
    hint: "Listen for 'pong' on each socket and mark that socket alive again there. Without that, every client looks dead one round after its first ping.",
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

// ——— bad input ———

/** A final frame of the given first byte, masked as a client's must be. */
function maskedFrame(firstByte: number, payload: Buffer): Buffer {
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([firstByte, 0x80 | payload.length]), mask, masked]);
}


/** Turns a crash of the learner's program during `step` into this lesson's own failure. */
async function crashMeans(v: Verification, step: Promise<void>): Promise<void> {
  await v.blameDeath(() => step, () => ({
    code: Codes.CRASHED_ON_BAD_INPUT,
    when: 'when eve sent what a client may send, and a broken frame',
    hint: "Add socket.on('error', …) in 'connection', even if it only logs (lesson 04): ws emits 'error' on a socket that sends " +
        'a broken frame, and an error nobody listens to ends the whole process.',
  }));
}

// ——— SIGTERM ———

/** True once `port` refuses connections, within a second; false if it still accepts them (or the program is gone). */
async function refusesConnections(host: string, port: number, program: { exitInfo?: unknown }): Promise<boolean> {
  const deadline = Date.now() + 1000;
  for (;;) {
    if (program.exitInfo) return true;
    if (!(await canConnect(host, port, 200))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
}

/** True if the program exits within `ms`. */
async function endsWithin(program: { exited: Promise<unknown> }, ms: number): Promise<boolean> {
  return Promise.race([program.exited.then(() => true), sleep(ms).then(() => false)]);
}
