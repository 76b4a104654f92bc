/**
 * Lesson 12 — backpressure. The story: zoe, alice and bob connect and read the feed, the same
 * updates for all, one a tick. zoe, first of the clients, stops reading at the TCP level and does not
 * read again until long past the grace: alice and bob must go on getting every update at once, the
 * memory the server holds for zoe must stay bounded, and what she reads at last must end with a close
 * frame, 1013, with none of the updates made while she was behind. mia, in the middle, stops reading
 * and comes back within the grace: her first update must be the latest, never the backlog, and she
 * stays; she falls behind a second time, long after the first, and gets a whole grace again.
 *
 * Clients read at the TCP level (StallingClient). On loopback the kernel takes some megabytes before
 * a server's bufferedAmount moves, and how many depends on the connection's history, so the verifier
 * asks the kernel what it holds (Linux) to know when a correct server would find a client behind; the
 * lesson makes updates big and frequent, so that a stalled client is behind within half a second.
 * Every judgement of time is made so that a busy machine can only delay a verdict, not turn it.
 */
import { kernelQueues, LoopbackTwin, StallingClient, type StalledMessage } from './harness/stalling-client.ts';
import { CannotJudge, defineRules, HarnessCodes, type LessonVerifier, type PrepareRun, type RunningServer, type Verification, type VerifyFailure } from './harness/index.ts';
import { delay } from './harness/json.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  NO_UPDATE: 'BACKPRESSURE_NO_UPDATE',
  WRONG_SHAPE: 'BACKPRESSURE_WRONG_SHAPE',
  WRONG_RATE: 'BACKPRESSURE_WRONG_RATE',
  SEQ_NOT_COUNTING: 'BACKPRESSURE_SEQ_NOT_COUNTING',
  NOT_SHARED: 'BACKPRESSURE_FEED_NOT_SHARED',
  FAST_CLIENT_SKIPPED: 'BACKPRESSURE_FAST_CLIENT_SKIPPED',
  FAST_CLIENT_SLOWED: 'BACKPRESSURE_FAST_CLIENT_SLOWED',
  NEVER_SKIPPED: 'BACKPRESSURE_NEVER_SKIPPED',
  MEMORY_GREW: 'BACKPRESSURE_MEMORY_GREW',
  SKIPPED_UNDER_MARK: 'BACKPRESSURE_SKIPPED_UNDER_MARK',
  SENT_WHILE_BEHIND: 'BACKPRESSURE_SENT_WHILE_BEHIND',
  NOT_RESUMED: 'BACKPRESSURE_NOT_RESUMED',
  STALE_ON_CATCH_UP: 'BACKPRESSURE_STALE_ON_CATCH_UP',
  NEVER_CLOSED: 'BACKPRESSURE_NEVER_CLOSED',
  CLOSED_WITHOUT_FRAME: 'BACKPRESSURE_CLOSED_WITHOUT_FRAME',
  WRONG_CLOSE_CODE: 'BACKPRESSURE_WRONG_CLOSE_CODE',
  SENT_AFTER_CLOSE: 'BACKPRESSURE_SENT_AFTER_CLOSE',
  CLOSED_TOO_SOON: 'BACKPRESSURE_CLOSED_TOO_SOON',
  CLOSED_AFTER_CATCH_UP: 'BACKPRESSURE_CLOSED_AFTER_CATCH_UP',
  GRACE_NOT_RESET: 'BACKPRESSURE_GRACE_NOT_RESET',
  CRASHED_ON_BAD_FRAME: 'BACKPRESSURE_CRASHED_ON_BAD_FRAME',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: {
    text: 'Every `TICK_MS` milliseconds, make one update for the whole server, `{"seq":n,"at":t,"book":"…"}`: `seq` counts 1, 2, 3…, `at` is `Date.now()` when it was made, `book` is a string of `STATE_BYTES` characters.',
    codes: [Codes.NO_UPDATE, Codes.WRONG_SHAPE, Codes.WRONG_RATE, Codes.SEQ_NOT_COUNTING, Codes.NOT_SHARED],
  },
  R3: {
    text: 'Send each update, as a JSON text message, at once to every open client that is not behind: a client that keeps up gets every `seq`, in order, however slow another client is.',
    codes: [Codes.FAST_CLIENT_SKIPPED, Codes.FAST_CLIENT_SLOWED],
  },
  R4: {
    text: 'A client is behind while its `bufferedAmount` is above `HIGH_WATER_BYTES`: send it no update then.',
    codes: [Codes.NEVER_SKIPPED, Codes.MEMORY_GREW, Codes.SKIPPED_UNDER_MARK, Codes.SENT_WHILE_BEHIND],
  },
  R5: {
    text: 'Once a client that was behind has caught up, send it the latest update at once: never the ones it missed.',
    codes: [Codes.NOT_RESUMED, Codes.STALE_ON_CATCH_UP],
  },
  R6: {
    text: 'A client that has been behind for `SLOW_GRACE_MS` milliseconds on end is closed with code `1013` (try again later), and sent nothing more.',
    codes: [Codes.NEVER_CLOSED, Codes.CLOSED_WITHOUT_FRAME, Codes.WRONG_CLOSE_CODE, Codes.SENT_AFTER_CLOSE],
  },
  R7: {
    text: 'A client that catches up within the grace stays connected, and each new fall behind starts a whole new grace.',
    codes: [Codes.CLOSED_TOO_SOON, Codes.CLOSED_AFTER_CATCH_UP, Codes.GRACE_NOT_RESET],
  },
  R8: {
    text: "A broken frame from one client must not bring the feed down: listen for `'error'` on every socket, as in lesson 04.",
    codes: [Codes.CRASHED_ON_BAD_FRAME],
  },
});

/** The close code R7 asks for. */
const TRY_AGAIN_LATER = 1013;
/** Updates each client must have read before the story goes on: enough to tell the pace. */
const WARM_UPDATES = 40;
/**
 * What the memory of a server may grow by while one client is stalled, on top of HIGH_WATER_BYTES
 * (and the update that crosses it): room for what a feed has in hand at any moment, never for a
 * backlog. The program collects its garbage before it answers, so garbage is not counted.
 */
const MEMORY_ALLOWANCE_BYTES = 2 * 1024 * 1024;
/** A fast client's typical latency (the median) may be this much; on loopback it is a millisecond, on a busy machine more. */
const FAST_LATENCY_MS = 2000;
/**
 * A client that read an update this long after it was made was behind itself, on a machine too busy
 * for the verifier to read fast enough: a gap after it is the backpressure the lesson asks for.
 * (A correct server skips a client only once megabytes wait for it: a good part of a second.)
 */
const SELF_BEHIND_MS = 200;
/** Room, in updates, for the kernel's account of what waited when a client was first skipped. */
const MARK_SLACK_UPDATES = 4;
/** How long after the grace a client that never reads again is looked at: room for a busy machine. */
const PAST_GRACE_MS = 400;
/** How often the kernel is asked what it holds for a stalled client. */
const KERNEL_ASK_MS = 5;
/** A client that comes back must have been behind this long for the story to count. */
const MIN_BEHIND_MS = 60;
/** How many times a client that was hardly behind stalls again, and how much longer each time. */
const STALL_TRIES = 3;
const RETRY_EXTRA_MS = 100;
/** The longest a client is kept stalled, whatever its twin says. */
const MAX_STALL_MS = 5000;
/** How long a client that read on is watched for the latest update, or for a close. */
const SETTLE_MS = 150;
/**
 * How far from the mark what waited in the server may be, on either side, before it is judged: a
 * ping or a few bytes of another frame, never as much as an update.
 */
const HELD_SLACK_BYTES = 1024;
/** Room in the judgement of the grace, each way, for a tick and a busy machine. */
const GRACE_SLACK_MS = 80;

/** The feed's settings, as the lesson gives them to the server. */
interface FeedEnv {
  tickMs: number;
  stateBytes: number;
  highWater: number;
  graceMs: number;
}

export default (async (v) => {
  const env = feedEnv(v);
  // Its memory, asked from inside it, after a full garbage collection: what it really holds.
  const server = await v.start({ collectGarbage: true });
  const feed = new Feed(v, server, env);

  // A few ticks apart, so that a feed counted per client shows: its counters never line up.
  const zoe = await feed.subscribe('zoe', true);
  await feed.ticks(zoe, 3);
  const alice = await feed.subscribe('alice');
  await feed.ticks(alice, 3);
  const bob = await feed.subscribe('bob');
  let baseline!: number;

  await v.step('sends every client the feed: one update a tick, seq counting up, the same update to everyone', ['R2', 'R3'], async () => {
    const pace = await feed.warmUp([zoe, alice, bob]);
    baseline = await feed.memory();
    v.note(`zoe, alice and bob each get the same updates, one every ${Math.round(pace.tickMs)} ms, each a book of ${env.stateBytes} characters`);
  });

  await v.step('skips a client that stopped reading, and only it; closes it with 1013 once the grace is over', ['R3', 'R4', 'R6'], async () => {
    v.note("zoe stops reading at the TCP level, as a frozen tab does: what your server sends her waits in the kernel, then in her socket's bufferedAmount");
    const stall = await feed.stall(zoe, (twin) => twin.behindFor() >= env.graceMs + PAST_GRACE_MS, [alice, bob], true);
    v.note(`your server's memory (heap and buffers): ${mb(baseline)} before zoe stalled, ${mb(stall.memory)} at the end of her stall`);
    // NaN when the program did not answer in time (a busy machine): then memory is not judged.
    const grew = stall.memory - baseline;
    v.note(stall.kept);
    const got = await feed.readOn(zoe, stall);
    if (got.kind === 'everything') {
      throw v.fail({
        code: Codes.NEVER_SKIPPED,
        expected: `zoe to be skipped once more than HIGH_WATER_BYTES (${env.highWater} bytes) waited for her`,
        actual: `every update, none skipped: when she read again, ${mb(got.backlogBytes)} had waited for her, in your server and in the kernel`,
        hint: NEVER_SKIPPED_HINT,
      });
    }
    const bound = env.highWater + feed.messageBytes + MEMORY_ALLOWANCE_BYTES;
    if (grew > bound) {
      throw v.fail({
        code: Codes.MEMORY_GREW,
        expected: `your server's memory to grow by at most ${mb(bound)} while zoe was stalled (HIGH_WATER_BYTES, one update, and some room)`,
        actual: `${mb(grew)} more than before she stalled`,
        hint:
          'A skipped update must not be kept for later: an array of what a client missed grows by an update a tick for as long as it stays behind. ' +
          'Keep nothing per client but what you need to decide (when it fell behind); the latest update is made every tick anyway.',
      });
    }
    if (!feed.checkHeldByServer(zoe, stall, got)) feed.checkSkippedAtMark(zoe, got);
    feed.checkClose(zoe, got);
    await feed.checkNothingAfterClose(zoe);
    v.note(`zoe was behind for about ${Math.round(got.behindMs)} ms; what she read ended with your server's close frame, 1013`);
  });

  let mia = await feed.subscribe('mia', true);
  const carol = await feed.subscribe('carol');
  /** On a machine too busy to judge the grace, a new client takes the place of one closed when it may have been right. */
  const again = async (name: string) => {
    mia = await feed.subscribe(name, true);
    await feed.warmUp([mia], false);
  };

  await v.step('gives a client that catches up within the grace the latest update at once, and keeps it', ['R3', 'R4', 'R5', 'R7'], async () => {
    await feed.warmUp([mia, carol], false);
    v.note('mia, in the middle of the clients, stops reading, and reads again before the grace is over');
    if (await feed.comeBack(mia, [alice, bob, carol], Codes.CLOSED_TOO_SOON)) return;
    await again('mia2');
    if (!(await feed.comeBack(mia, [alice, bob, carol], Codes.CLOSED_TOO_SOON))) throw busy(v);
  });

  await v.step('gives a client that falls behind again a whole new grace', ['R3', 'R4', 'R5', 'R7'], async () => {
    v.note(`${mia.name} stops reading again, longer after her first fall behind than the grace, and again reads on within it`);
    if (await feed.comeBack(mia, [alice, bob, carol], Codes.GRACE_NOT_RESET)) return;
    await again('mia3');
    if (!(await feed.comeBack(mia, [alice, bob, carol], Codes.CLOSED_TOO_SOON))) throw busy(v);
    v.note(`${mia.name} stops reading again, longer after her first fall behind than the grace, and again reads on within it`);
    if (!(await feed.comeBack(mia, [alice, bob, carol], Codes.GRACE_NOT_RESET))) throw busy(v);
  });

  await crashMeans(
    v,
    v.step('survives a broken frame: ws closes that socket, and the feed goes on', ['R3', 'R8'], async () => {
      v.note('mallory connects and sends a text frame whose bytes are not UTF-8 (her own frames are not shown: the feed would drown them)');
      const mallory = await v.client('mallory', { log: 'silent' });
      const marks = [alice, bob, carol].map((c) => c.updates.length);
      // ws cannot send such a frame: it is written past it, on the TCP connection.
      mallory.writeRaw(maskedFrame(0x81, Buffer.from([0xc3, 0x28])), 'text <c3 28> (these bytes are not valid UTF-8)');
      await mallory.expectClose('ws on your server to close the socket that sent a broken frame').catch(() => undefined);
      // A crash takes a moment to show; updates to the others prove the feed goes on.
      await delay(EXIT_SETTLE_MS);
      for (const [i, c] of [alice, bob, carol].entries()) {
        await c.client.until(() => c.updates.length >= marks[i]! + 10, v.timeouts.stepMs);
        checkCounting(v, c, Codes.FAST_CLIENT_SKIPPED, undefined, marks[i]! - 1);
      }
      v.note("your server is still up, and the feed goes on: ws closed mallory's socket itself, and emitted 'error' on it");
    }),
  );
}) satisfies LessonVerifier;

/** `wsw run`: a feed slow and small enough to watch, unless the variables are set in your shell. */
export const prepareRun: PrepareRun = async () => ({
  start: { env: { TICK_MS: process.env.TICK_MS ?? '1000', STATE_BYTES: process.env.STATE_BYTES ?? '16' } },
});

const UNDER_MARK_HINT =
  'Compare bufferedAmount with HIGH_WATER_BYTES, not with 0 or a mark of your own, nor with what it would be after this update: some kilobytes on ' +
  'their way are normal on any real network, and a client with no more than the mark waiting is not behind. Skip it only above the mark.';
const NEVER_SKIPPED_HINT =
  'send() never refuses: what the client does not read waits in your process, and grows by an update a tick for as long as the client stalls. ' +
  'Before each send, look at socket.bufferedAmount: above Number(process.env.HIGH_WATER_BYTES), skip that client this tick (continue), and send to the next.';

// ————————————————————————————————————————— the feed, as the clients read it

/** One update as a client read it. */
interface Update {
  seq: number;
  at: number;
  readAt: number;
  bytes: number;
  /** Where its frame ended in the client's stream of bytes (StalledMessage.endsAt). */
  endsAt: number;
}

/** The feed's pace, measured in the first step. */
interface Pace {
  /** Typical time between two updates. */
  tickMs: number;
  /** Typical size of an update on the wire. */
  messageBytes: number;
}

/** What a client read after it had stopped reading, and started again. */
type ReadOn = (
  | { kind: 'everything'; last: number; backlogBytes: number }
  | { kind: 'jump'; last: number; next: number; nextUpdate: Update }
  | { kind: 'nothing more'; last: number }
) & {
  /** How long it had been behind when it read again: since the first update it did not get was made. */
  behindMs: number;
  /** When that first update it did not get was made. */
  behindAt: number;
};

/** A stall as it happened. */
interface Stall {
  /** The last seq the client had read when it stopped. */
  before: number;
  resumedAt: number;
  /** The newest seq the other clients had read when it read again. */
  latestAtResume: number;
  /** The server's memory at the end of the stall, when it was watched (Infinity otherwise). */
  memory: number;
  /** What the other clients got meanwhile, said in a line. */
  kept: string;
  /** The client's bytesRead when it read again. */
  readAtResume: number;
  /**
   * What the kernel held for the client when it read again (both ends of the connection, and the
   * client socket's own buffer): undefined where the kernel cannot be asked.
   */
  heldAtResume?: number;
}

/** A client of the feed: every update it reads, checked as it comes. */
class Subscriber {
  readonly updates: Update[] = [];
  /** The first thing wrong with an update, said once. */
  wrong?: string;

  constructor(
    readonly client: StallingClient,
    private readonly env: FeedEnv,
    /** For a client that will stall: what a correct server would hold for it. */
    public twin?: Estimate,
  ) {
    client.onMessage = (message) => this.read(message);
    // An update of the usual shape is judged by its head, its length and its tail: the book is not copied.
    client.keep = (head, length) => usualHead(head, length, env.stateBytes) === undefined;
  }

  get name(): string {
    return this.client.name;
  }

  get last(): Update | undefined {
    return this.updates.at(-1);
  }

  private read(message: StalledMessage): void {
    const update = parseUpdate(message, this.env.stateBytes);
    if (typeof update === 'string') {
      this.wrong ??= update;
      return;
    }
    this.updates.push(update);
  }
}

/** The verifier's view of the feed: its clients, and what the server holds. */
class Feed {
  private readonly subscribers: Subscriber[] = [];
  private pace?: Pace;

  constructor(
    private readonly v: Verification,
    private readonly server: RunningServer,
    private readonly env: FeedEnv,
  ) {}

  /** Connects a client of the feed; one that will stall gets a twin, fed from its first update on. */
  async subscribe(name: string, willStall = false): Promise<Subscriber> {
    // Where the kernel can be asked (Linux), it says what it holds; elsewhere a twin connection tells.
    const twin = willStall && process.platform !== 'linux' ? new Twin(await LoopbackTwin.open(this.v), this.env.highWater) : undefined;
    const client = await StallingClient.connect(this.v, name, this.server);
    const subscriber = new Subscriber(client, this.env, twin);
    if (twin) client.onBytes = (bytes) => twin.consume(bytes);
    else if (willStall) subscriber.twin = new Backlog(client, this.server.port, this.env.highWater);
    this.subscribers.push(subscriber);
    // The twins are fed as the server feeds its clients: at each update the first client that never stalls reads.
    if (!willStall && !this.reference) {
      this.reference = subscriber;
      const read = subscriber.client.onMessage;
      subscriber.client.onMessage = (message) => {
        read(message);
        const update = subscriber.last;
        if (update) for (const s of this.subscribers) s.twin?.tick(frameBytes(update.bytes), update.seq);
      };
    }
    return subscriber;
  }

  /** The client whose reads drive the twins. */
  private reference?: Subscriber;

  /** Typical size of an update on the wire. */
  get messageBytes(): number {
    return this.pace!.messageBytes;
  }

  /** Waits until `s` has read `n` updates more (or the step's time is up: the checks that follow say why). */
  async ticks(s: Subscriber, n: number): Promise<void> {
    const target = s.updates.length + n;
    await s.client.until(() => s.updates.length >= target || s.client.end !== undefined, this.v.timeouts.stepMs);
  }

  /** When the update `seq` was made, as any client read it. */
  atOf(seq: number): number | undefined {
    for (const s of this.subscribers) {
      const found = s.updates.find((u) => u.seq === seq);
      if (found) return found.at;
    }
    return undefined;
  }

  /**
   * Waits until every client given has read WARM_UPDATES updates, and checks them: the shape, seq
   * counting up by one, the same update to everyone, the pace. Returns the pace, measured.
   */
  async warmUp(clients: Subscriber[], first = true): Promise<Pace> {
    const { v, env } = this;
    const enough = env.tickMs * WARM_UPDATES + v.timeouts.stepMs;
    for (const s of clients) {
      await s.client.until(() => s.updates.length >= WARM_UPDATES || s.wrong !== undefined || s.client.end !== undefined, enough);
      this.checkShape(s);
      if (s.updates.length === 0) {
        throw v.fail({
          code: s.client.end ? HarnessCodes.CONNECTION_CLOSED : Codes.NO_UPDATE,
          expected: `updates for ${s.name}, one every ${env.tickMs} ms`,
          actual: s.client.end ? `the connection closed (${s.client.end.code}) before any update` : `nothing within ${enough} ms`,
          hint: 'Start one setInterval when the server starts, with the delay Number(process.env.TICK_MS), and send each update to every client in wss.clients.',
        });
      }
      if (s.updates.length < WARM_UPDATES) {
        throw v.fail({
          code: Codes.WRONG_RATE,
          expected: `an update every ${env.tickMs} ms (TICK_MS): ${WARM_UPDATES} within ${enough} ms`,
          actual: `${s.updates.length}`,
          hint: 'Take the period from Number(process.env.TICK_MS), never a number of your own, and make one update per tick.',
        });
      }
      checkCounting(v, s, first ? Codes.SEQ_NOT_COUNTING : Codes.FAST_CLIENT_SKIPPED);
    }
    const [reference, ...others] = clients;
    for (const s of first ? others : clients) this.checkShared(first ? reference! : this.subscribers[1]!, s);
    if (!first) return this.pace!;
    // The mean period, from the first update to the last: a program that catches up after a late tick
    // (a chained setTimeout aimed at the next due time) sends some ticks close together, and keeps the pace.
    const updates = reference!.updates;
    const tickMs = (updates.at(-1)!.at - updates[0]!.at) / (updates.length - 1);
    if (!(tickMs >= env.tickMs * 0.6 && tickMs <= env.tickMs * 2 + 2)) {
      throw v.fail({
        code: Codes.WRONG_RATE,
        expected: `an update every ${env.tickMs} ms (TICK_MS)`,
        actual: `one every ${Math.round(tickMs)} ms on average, by their at`,
        hint: 'Take the period from Number(process.env.TICK_MS), never a number of your own, and make one update per tick.',
      });
    }
    this.pace = { tickMs, messageBytes: median(reference!.updates.map((u) => u.bytes)) };
    return this.pace;
  }

  private checkShape(s: Subscriber): void {
    if (s.wrong === undefined) return;
    throw this.v.fail({
      code: Codes.WRONG_SHAPE,
      expected: `every update as a JSON text message {"seq":n,"at":t,"book":"…"}, its book ${this.env.stateBytes} characters`,
      actual: `${s.name} got ${s.wrong}`,
      hint:
        'Build each update with JSON.stringify({ seq, at: Date.now(), book }), those three fields and no others, where book is a string of ' +
        'Number(process.env.STATE_BYTES) characters, made once: the same book can go out every tick.',
    });
  }

  /** `other` must have read the same updates as `reference` for each seq both read, and some in common. */
  private checkShared(reference: Subscriber, other: Subscriber): void {
    const at = new Map(reference.updates.map((u) => [u.seq, u.at]));
    const common = other.updates.filter((u) => at.has(u.seq));
    const differs = common.find((u) => at.get(u.seq) !== u.at);
    if (common.length > 0 && !differs) return;
    throw this.v.fail({
      code: Codes.NOT_SHARED,
      expected: `the same update for everyone: each seq made once, with one at, for ${reference.name} and ${other.name} alike`,
      actual: differs
        ? `seq ${differs.seq} made at ${at.get(differs.seq)} for ${reference.name}, at ${differs.at} for ${other.name}`
        : `no seq in common: ${reference.name} read ${reference.updates[0]!.seq} to ${reference.last!.seq}, ${other.name} ${other.updates[0]?.seq} to ${other.last?.seq}`,
      hint: 'One feed for the whole server: one setInterval started with the server (not in \'connection\'), one seq counter outside every handler, one update per tick sent to all.',
    });
  }

  /** The server's memory now, heap and buffers: the lowest of a few probes in a row. */
  async memory(): Promise<number> {
    const report = await this.server.program.resources(this.v.timeouts.stepMs);
    return report ? report.memory.heapUsed + report.memory.arrayBuffers : NaN;
  }

  /**
   * `s` stops reading for `ms`, while the others must keep getting every update, at once. `during` is
   * run at the end of the stall, while it still lasts (a memory measurement, say).
   */
  async stall(s: Subscriber, until: (twin: Estimate) => boolean, others: Subscriber[], watchMemory = false): Promise<Stall> {
    const twin = s.twin!;
    const before = s.last!.seq;
    const marks = others.map((o) => o.updates.length);
    s.client.stall();
    twin.start();
    const stalledAt = Date.now();
    // The twin says when a correct server would find this client behind, and for how long it has been.
    while (!until(twin) && Date.now() - stalledAt < MAX_STALL_MS) await delay(this.pace!.tickMs);
    // At the end of the stall, while it lasts: what a backlog would have grown to by then.
    const memory = watchMemory ? await this.memory() : Infinity;
    const latestAtResume = Math.max(...others.map((o) => o.last?.seq ?? 0));
    const windowMs = Date.now() - stalledAt;
    const latencies: number[] = [];
    others.forEach((o, i) => latencies.push(...this.checkKeptUp(o, marks[i]!, s.name, windowMs)));
    // What the client reads from here on, less what the kernel holds now, is what waited in the server.
    const queues = kernelQueues(s.client.localPort, this.server.port);
    const heldAtResume = queues && queues.clientUnread + queues.serverUnsent + s.client.unreadInProcess;
    const readAtResume = s.client.bytesRead;
    s.client.resume();
    twin.stop();
    const resumedAt = Date.now();
    const kept = `${listOf(others.map((o) => o.name))} got every update while ${s.name} was stalled, typically ${Math.round(median(latencies))} ms after it was made`;
    return { before, resumedAt, latestAtResume, memory, kept, readAtResume, heldAtResume };
  }

  /** `o` read every update since `mark`, in order, at about the pace of the feed, each soon after it was made. */
  private checkKeptUp(o: Subscriber, mark: number, slow: string, windowMs: number): number[] {
    const { v, env } = this;
    this.checkShape(o);
    checkCounting(v, o, Codes.FAST_CLIENT_SKIPPED, slow, mark - 1);
    const fresh = o.updates.slice(mark);
    const expected = windowMs / this.pace!.tickMs;
    const latencies = fresh.map((u) => u.readAt - u.at);
    const typical = fresh.length ? median(latencies) : Infinity;
    if (fresh.length < expected / 8 || typical > FAST_LATENCY_MS) {
      throw v.fail({
        code: Codes.FAST_CLIENT_SLOWED,
        expected: `${o.name} to get an update every ${env.tickMs} ms while ${slow} was stalled, each within ${FAST_LATENCY_MS} ms of being made`,
        actual:
          fresh.length < expected / 8
            ? `${fresh.length} updates in ${windowMs} ms`
            : `updates typically ${Math.round(typical)} ms old when they arrived`,
        hint:
          'A slow client must not hold up the others: never wait for one client (a send callback, a drain) before sending to the next. ' +
          'Decide for each client on its own bufferedAmount, skip the one that is behind, and send to the rest at once.',
      });
    }
    return latencies;
  }

  /** After a stall: reads on until the client has caught up with the feed, or closed, and says what came. */
  async readOn(s: Subscriber, stall: Stall): Promise<ReadOn> {
    const caughtUp = () => s.client.end !== undefined || (s.last?.seq ?? 0) > stall.latestAtResume;
    await s.client.until(caughtUp, this.v.timeouts.stepMs);
    // A little longer: a close, or the update after the backlog, comes a tick after the backlog is read.
    await s.client.until(() => s.client.end !== undefined, SETTLE_MS);
    this.checkShape(s);
    const from = s.updates.findIndex((u) => u.seq > stall.before);
    const after = from < 0 ? [] : s.updates.slice(from);
    let last = stall.before;
    let index = 0;
    while (index < after.length && after[index]!.seq === last + 1) last = after[index++]!.seq;
    const behindAt = this.atOf(last + 1) ?? stall.resumedAt;
    const behindMs = stall.resumedAt - behindAt;
    const next = after[index];
    if (next) return { kind: 'jump', last, next: next.seq, behindMs, behindAt, nextUpdate: next };
    if (last > stall.latestAtResume) {
      const backlogBytes = after.filter((u) => u.at < stall.resumedAt).reduce((n, u) => n + u.bytes, 0);
      return { kind: 'everything', last, backlogBytes, behindMs, behindAt };
    }
    return { kind: 'nothing more', last, behindMs, behindAt };
  }

  /**
   * The first update a stalled client did not get must have been skipped above the mark: the kernel
   * says what waited for it then (where it can be asked).
   */
  checkSkippedAtMark(s: Subscriber, got: ReadOn): void {
    // A connection destroyed without a close frame loses what waited in the server: nothing to judge by.
    if (got.kind === 'everything' || (s.client.end && !s.client.end.clean)) return;
    const waiting = s.twin?.waitingAt(got.last + 1);
    if (waiting === undefined || waiting >= this.env.highWater - MARK_SLACK_UPDATES * this.messageBytes) return;
    throw this.skippedUnderMark(s, `skipped from seq ${got.last + 1} on, when about ${mb(waiting)} waited for her in your server`);
  }

  /** SKIPPED_UNDER_MARK, with what the verifier saw waiting for `s`. */
  private skippedUnderMark(s: Subscriber, actual: string): VerifyFailure {
    return this.v.fail({
      code: Codes.SKIPPED_UNDER_MARK,
      expected: `${s.name} to be skipped only once more than HIGH_WATER_BYTES (${this.env.highWater} bytes) waited for her`,
      actual,
      hint: UNDER_MARK_HINT,
    });
  }

  /**
   * What waited for a stalled client in the server when she read again, to the byte, as its
   * `bufferedAmount` counts it: from the start of the frame the kernel holds the head of (a write
   * that has begun is counted whole until it ends) to the end of the last update before the jump.
   * A correct server stopped once that was above the mark, and sent nothing more: so it is above the
   * mark by at most the update that took it there. Returns false where the kernel cannot be asked.
   */
  checkHeldByServer(s: Subscriber, stall: Stall, got: ReadOn): boolean {
    if (stall.heldAtResume === undefined) return false;
    // A connection destroyed without a close frame loses what waited in the server: nothing to judge by.
    if (got.kind === 'everything' || (s.client.end && !s.client.end.clean)) return true;
    const last = s.updates.find((u) => u.seq === got.last);
    if (!last || got.last <= stall.before) return false;
    const kernelEnd = stall.readAtResume + stall.heldAtResume;
    const previous = s.updates.find((u) => u.seq === stall.before);
    let startsAt = previous?.endsAt ?? kernelEnd;
    for (const u of s.updates) {
      if (u.seq <= stall.before || u.seq > got.last) continue;
      if (u.endsAt > kernelEnd) break;
      startsAt = u.endsAt;
    }
    const buffered = last.endsAt - startsAt;
    const { highWater } = this.env;
    const frame = frameBytes(last.bytes);
    if (buffered <= highWater - HELD_SLACK_BYTES) {
      throw this.skippedUnderMark(
        s,
        `skipped from seq ${got.last + 1} on, when ${buffered} bytes waited for her in your server (its bufferedAmount), as the kernel tells: ${highWater - buffered} under the mark`,
      );
    }
    if (buffered > highWater + frame + HELD_SLACK_BYTES) {
      throw this.v.fail({
        code: Codes.SENT_WHILE_BEHIND,
        expected: `no more than one update over HIGH_WATER_BYTES (${highWater} bytes) waiting for ${s.name} in your server when she read again: a correct server stops sending once it is over`,
        actual: `${buffered} bytes, up to seq ${got.last} (its bufferedAmount, as the kernel tells): ${buffered - highWater} over the mark, where an update is ${frame} bytes. An update was sent to her while she was behind, or kept for her`,
        hint:
          'Above the mark, a client gets nothing: not an update sent anyway, nor one kept to send once it catches up (the first it missed, say). ' +
          "At the tick it is under the mark again, it gets that tick's update, the latest, and nothing older.",
      });
    }
    return true;
  }

  /** zoe, stalled past the grace, must have been closed with 1013, while she was still behind. */
  checkClose(s: Subscriber, got: ReadOn): void {
    const { v, env } = this;
    const end = s.client.end;
    if (got.kind === 'jump' || !end) {
      throw v.fail({
        code: Codes.NEVER_CLOSED,
        expected: `${s.name} to be closed with ${TRY_AGAIN_LATER} once she had been behind for SLOW_GRACE_MS (${env.graceMs} ms)`,
        actual:
          got.kind === 'jump'
            ? `she was behind for about ${Math.round(got.behindMs)} ms${end ? ', and was closed only after she had caught up' : ', and when she read again, she got updates again, open as ever'}`
            : `she was behind for about ${Math.round(got.behindMs)} ms, and her connection is still open`,
        hint:
          'Remember when each client fell behind (a Map from socket to Date.now(), set when it is first seen behind), and at each tick, ' +
          'for a client still behind, compare: once Date.now() - since >= Number(process.env.SLOW_GRACE_MS), socket.close(1013, …).',
      });
    }
    if (!end.clean) {
      throw v.fail({
        code: Codes.CLOSED_WITHOUT_FRAME,
        expected: `a close frame with code ${TRY_AGAIN_LATER} at the end of what ${s.name} read`,
        actual: 'the connection ended without a close frame (1006): terminate() or destroy()',
        hint:
          "Close with socket.close(1013, 'too slow'): the close frame waits behind what is queued, and tells a client that reads again why, and that it may " +
          'come back later. ws ends the connection itself if the client never answers.',
      });
    }
    if (end.code !== TRY_AGAIN_LATER) {
      throw v.fail({
        code: Codes.WRONG_CLOSE_CODE,
        expected: `close code ${TRY_AGAIN_LATER} (try again later)`,
        actual: `${end.code}${end.reason ? ` reason ${JSON.stringify(end.reason)}` : ''}`,
        hint:
          '1013 says the server is letting a client go for a condition of its own (here, load), and that it may try again later. 1008 (policy ' +
          'violation) would blame something the client sent; 1000 says all went well; 1001 that the server is going away.',
      });
    }
  }

  /** Once the close frame is read, the server must send nothing more: no send() on a socket that is closing. */
  async checkNothingAfterClose(s: Subscriber): Promise<void> {
    const { v } = this;
    const { program } = this.server;
    // Her socket is no longer behind once she has read everything: a feed that does not check readyState sends to it then.
    await delay(4 * this.pace!.tickMs + 20);
    if (program.sendsNotOpen.length === 0) return;
    throw v.fail({
      code: Codes.SENT_AFTER_CLOSE,
      expected: `no send() on ${s.name}'s socket once it was closing`,
      actual: `${program.sendsNotOpen.length} send() on a socket whose readyState was ${program.sendsNotOpen[0]!.readyState === 2 ? 'CLOSING' : 'CLOSED'}`,
      hint:
        "A socket you closed stays in wss.clients until the client answers, or ws gives up after 30 s. Skip every socket whose readyState is not WebSocket.OPEN, first thing in the loop.",
    });
  }

  /**
   * `s` stops reading for `ms`, behind for less than the grace, then reads on: it must get the latest
   * update at once, never the backlog, stay open through the rest of the grace, and keep up again.
   */
  async comeBack(s: Subscriber, others: Subscriber[], tooSoonCode: string): Promise<boolean> {
    const { v, env } = this;
    let stall: Stall;
    let got: ReadOn;
    // The twin's kernel is not quite the client's: when a stall left the client hardly behind, or not at
    // all, it stalls again, longer (a server that never skips is told so on the last try).
    for (let attempt = 0; ; attempt++) {
      stall = await this.stall(s, (twin) => twin.behindFor() >= env.graceMs / 3 + attempt * RETRY_EXTRA_MS, others);
      got = await this.readOn(s, stall);
      const hardly = got.kind === 'everything' || (got.kind === 'jump' && got.behindMs < MIN_BEHIND_MS);
      if (s.client.end || !hardly || attempt === STALL_TRIES - 1) break;
      await s.client.until(() => s.client.end !== undefined, env.graceMs);
      if (s.client.end) break;
    }
    v.note(stall.kept);
    const end = s.client.end;
    // A close read before the grace was over was sent before it was over: too soon, for sure. One read
    // later may be right: on a busy machine, reading the backlog can take until the grace is over.
    if (end && got.kind !== 'jump' && end.readAt - got.behindAt >= env.graceMs - GRACE_SLACK_MS) {
      v.note(`${s.name} was still reading what had waited for her when the grace was over, on this busy machine: closing her was right. Another client takes her place`);
      return false;
    }
    if (end && got.kind !== 'jump') {
      throw v.fail({
        code: tooSoonCode,
        expected: `${s.name}, behind for less than SLOW_GRACE_MS (${env.graceMs} ms), to stay connected`,
        actual: `a close ${end.clean ? `frame ${end.code}` : 'without a close frame (1006)'}, right after the updates queued before she fell behind; she read it ${end.readAt - got.behindAt} ms after she fell behind`,
        hint:
          tooSoonCode === Codes.GRACE_NOT_RESET
            ? 'Each fall behind starts a new grace: when a client catches up, forget when it fell behind (behindSince.delete(socket)), so that the next ' +
              'time it is behind, the grace counts from then, not from the first time.'
            : 'Being behind is not a reason to close, yet: a phone in a tunnel catches up seconds later. Close only a client that has been behind for ' +
              'SLOW_GRACE_MS on end, and skip it until then.',
      });
    }
    if (got.kind === 'everything') {
      throw v.fail({
        code: Codes.NEVER_SKIPPED,
        expected: `${s.name} to be skipped while she was behind, then to get the latest update`,
        actual: `every update, none skipped: the backlog, replayed, ${mb(got.backlogBytes)} of updates that were stale when she read them`,
        hint: NEVER_SKIPPED_HINT,
      });
    }
    if (!this.checkHeldByServer(s, stall, got)) this.checkSkippedAtMark(s, got);
    if (got.kind === 'nothing more') {
      throw v.fail({
        code: Codes.NOT_RESUMED,
        expected: `${s.name}, who read everything queued for her, to get the latest update at the next tick`,
        actual: `nothing after seq ${got.last}, while the others got seq ${Math.max(...others.map((o) => o.last?.seq ?? 0))}`,
        hint:
          'A client is behind only while bufferedAmount is above the mark: look at it again at every tick, and send to a client that is under it ' +
          'again, with nothing of your own that keeps it skipped for good.',
      });
    }
    if (got.next < stall.latestAtResume) {
      throw v.fail({
        code: Codes.STALE_ON_CATCH_UP,
        expected: `the latest update first, once ${s.name} had caught up: seq ${stall.latestAtResume} or newer`,
        actual: `seq ${got.next}, one she had missed, made ${got.nextUpdate.readAt - got.nextUpdate.at} ms before she read it`,
        hint:
          'What a client missed while behind is stale: it wants the state as it is now. Keep nothing to replay; at the next tick it is under the mark, ' +
          'send it that tick\'s update, the latest, like everyone else.',
      });
    }
    // Through the rest of the grace and beyond: a timer set when she fell behind would close her now.
    const watchUntil = stall.resumedAt - got.behindMs + env.graceMs + GRACE_SLACK_MS * 2;
    await s.client.until(() => s.client.end !== undefined, Math.max(0, watchUntil - Date.now()));
    if (s.client.end) {
      throw v.fail({
        code: Codes.CLOSED_AFTER_CATCH_UP,
        expected: `${s.name}, who caught up, to stay connected`,
        actual: `a close ${s.client.end.clean ? `frame ${s.client.end.code}` : 'without a close frame (1006)'} ${s.client.end.readAt - stall.resumedAt} ms after she read again, when the grace from her fall behind was over`,
        hint:
          'A timer started when a client falls behind must be cleared when it catches up: clearTimeout in the branch that sends to it again. ' +
          'Or keep no timer: compare Date.now() with when it fell behind, at each tick, while it is behind.',
      });
    }
    v.note(`${s.name} was behind for about ${Math.round(got.behindMs)} ms; reading on, she got the latest update first, skipping the stale ones, and stayed`);
    return true;
  }
}

/** What a correct server would hold for a client that stalls, and since when it would find it behind. */
interface Estimate {
  /** An update of `bytes` on the wire was made: a correct server sends it, unless the client is behind. */
  tick(bytes: number, seq: number): void;
  /** What waited for the client when update `seq` was made, while it was stalled; undefined if not known. */
  waitingAt(seq: number): number | undefined;
  /** How long the client has been behind; 0 while it is not. */
  behindFor(): number;
  /** The client's bufferedAmount, as a correct server would have it. */
  readonly buffered: number;
  /** The client stops reading. */
  start(): void;
  /** The client reads again. */
  stop(): void;
}

/**
 * The kernel's own account (Linux): from the moment the client stops reading, a correct server sends
 * it every update until more than HIGH_WATER_BYTES wait in its process: what it sent less what the
 * kernel took (the client's unread bytes and the server's unsent ones) since then.
 */
class Backlog implements Estimate {
  private sent = 0;
  private heldAtStart = 0;
  private active = false;
  private behindSince?: number;

  constructor(
    private readonly client: StallingClient,
    private readonly serverPort: number,
    private readonly highWater: number,
  ) {}

  private heldNow = { bytes: 0, at: 0 };

  /** What the kernel holds, asked at most once a tick: the kernel lists every socket of the machine. */
  private held(): number {
    if (Date.now() - this.heldNow.at >= KERNEL_ASK_MS) {
      const queues = kernelQueues(this.client.localPort, this.serverPort);
      this.heldNow = { bytes: queues ? queues.clientUnread + queues.serverUnsent : this.heldNow.bytes, at: Date.now() };
    }
    return this.heldNow.bytes;
  }

  start(): void {
    this.heldNow.at = 0;
    this.waiting.clear();
    this.heldAtStart = this.held();
    this.sent = 0;
    this.behindSince = undefined;
    this.active = true;
  }

  stop(): void {
    this.active = false;
  }

  get buffered(): number {
    return Math.max(0, this.sent - (this.held() - this.heldAtStart));
  }

  private readonly waiting = new Map<number, number>();

  waitingAt(seq: number): number | undefined {
    return this.waiting.get(seq);
  }

  tick(bytes: number, seq: number): void {
    if (!this.active) return;
    const buffered = this.buffered;
    this.waiting.set(seq, buffered);
    if (buffered > this.highWater) {
      this.behindSince ??= Date.now();
      return;
    }
    this.behindSince = undefined;
    this.sent += bytes;
  }

  behindFor(): number {
    return this.behindSince === undefined ? 0 : Date.now() - this.behindSince;
  }
}

/**
 * A stalling client's twin connection (see LoopbackTwin), fed as a correct server feeds the client:
 * an update a tick, skipped while more than HIGH_WATER_BYTES wait. Where the kernel cannot be asked.
 */
class Twin implements Estimate {
  private behindSince?: number;

  constructor(
    private readonly link: LoopbackTwin,
    private readonly highWater: number,
  ) {}

  /** The client read `bytes`: its twin reads as many. */
  consume(bytes: number): void {
    this.link.consume(bytes);
  }

  start(): void {}

  stop(): void {}

  waitingAt(): undefined {
    return undefined;
  }

  tick(bytes: number): void {
    if (this.link.buffered > this.highWater) {
      this.behindSince ??= Date.now();
      return;
    }
    this.behindSince = undefined;
    this.link.send(bytes);
  }

  /** How long the client has been behind, by its twin; 0 while it is not. */
  behindFor(): number {
    return this.behindSince === undefined ? 0 : Date.now() - this.behindSince;
  }

  get buffered(): number {
    return this.link.buffered;
  }

}

/** Turns a crash of the learner's program during `step` into this lesson's own failure. */
async function crashMeans(v: Verification, step: Promise<void>): Promise<void> {
  await v.blameDeath(() => step, () => ({
    code: Codes.CRASHED_ON_BAD_FRAME,
    when: 'after a client sent a broken frame',
    hint: "ws reports a broken frame as an 'error' event on that socket, and an 'error' nobody listens for is thrown: one client takes the feed " +
        "down for everyone. In wss.on('connection', …), add socket.on('error', …), even if it only logs; ws closes that connection itself.",
  }));
}

/** A final frame of the given first byte, masked as a client's must be. */
function maskedFrame(firstByte: number, payload: Buffer): Buffer {
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([firstByte, 0x80 | payload.length]), mask, masked]);
}

/** How long a program that may be dying is given to exit: a crash takes a moment to show. */
const EXIT_SETTLE_MS = 300;

/** The verdict when the machine stays too busy to tell a grace from a moment. */
function busy(v: Verification): CannotJudge {
  void v;
  return new CannotJudge({
    code: HarnessCodes.TIMEOUT,
    message: 'This machine is too busy to judge a grace of SLOW_GRACE_MS: twice, a client was behind for about as long as the grace. Try again when it is quieter.',
    hint: 'Close what else runs on this machine (a build, a test suite), then run wsw verify again.',
  });
}

/** Fails if `s` read updates whose seq does not go up by one, from index `from` on. */
function checkCounting(v: Verification, s: Subscriber, code: string, slow?: string, from = 0): void {
  const updates = s.updates;
  for (let i = Math.max(from, 0) + 1; i < updates.length; i++) {
    const [prev, u] = [updates[i - 1]!, updates[i]!];
    if (u.seq === prev.seq + 1) continue;
    // A reader that fell that far behind was behind itself (a busy machine): skipping it was right.
    if (u.seq > prev.seq && code === Codes.FAST_CLIENT_SKIPPED && prev.readAt - prev.at >= SELF_BEHIND_MS) continue;
    const what = u.seq > prev.seq ? `seq ${u.seq} right after seq ${prev.seq}` : `seq ${u.seq} after seq ${prev.seq}`;
    if (code === Codes.SEQ_NOT_COUNTING) {
      throw v.fail({
        code,
        expected: `seq to count up by one, update after update, for ${s.name}`,
        actual: what,
        hint: 'One counter for the feed, ++seq once per tick, before the loop over the clients: not once per client, and not per connection.',
      });
    }
    throw v.fail({
      code,
      expected: `${s.name}, who reads everything at once, to get every update, in order${slow ? `, while ${slow} was stalled` : ''}`,
      actual: what,
      hint:
        'Only the client that is behind is skipped: decide for each socket on its own bufferedAmount, and go on to the next with continue, ' +
        'never break or return, and with nothing shared by every client (one flag for "someone is behind").',
    });
  }
}

/** An update as `{ seq, at, bytes }`, or what is wrong with it. */
function parseUpdate(message: StalledMessage, stateBytes: number): Update | string {
  const { data, readAt } = message;
  if (message.kind !== 'text') return `a binary message of ${message.length} bytes`;
  // The usual shape, read quickly; anything else is parsed whole.
  const usual = usualHead(data, message.length, stateBytes);
  if (usual) {
    if (message.tail.toString('latin1') !== '"}') return `text that starts as an update but does not end as one: …${JSON.stringify(message.tail.toString('latin1'))}`;
    return { ...usual, readAt, bytes: message.length, endsAt: message.endsAt };
  }
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return `text that is not JSON: ${JSON.stringify(data.toString('utf8', 0, 60))}…`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${JSON.stringify(value)?.slice(0, 60)}, which is not an object`;
  const update = value as Record<string, unknown>;
  const keys = Object.keys(update).sort();
  if (keys.join() !== 'at,book,seq') return `an object with the fields ${keys.join(', ') || '(none)'}`;
  if (!Number.isInteger(update.seq) || (update.seq as number) < 1) return `seq ${JSON.stringify(update.seq)}, not a whole number from 1 up`;
  if (typeof update.at !== 'number' || Math.abs((update.at as number) - Date.now()) > 60_000) {
    return `at ${JSON.stringify(update.at)}, which is not Date.now() when the update was made`;
  }
  if (typeof update.book !== 'string' || update.book.length !== stateBytes) {
    return `a book of ${typeof update.book === 'string' ? `${update.book.length} characters` : `type ${update.book === null ? 'null' : typeof update.book}`}`;
  }
  return { seq: update.seq as number, at: update.at, readAt, bytes: data.length, endsAt: message.endsAt };
}

/** An update's size on the wire: its payload, and a frame header of 2, 4 or 10 bytes. */
function frameBytes(payload: number): number {
  return payload + (payload < 126 ? 2 : payload < 65536 ? 4 : 10);
}

/** seq and at of an update written the usual way, `{"seq":…,"at":…,"book":"…"}` with a book of ASCII; undefined otherwise. */
function usualHead(head: Buffer, length: number, stateBytes: number): { seq: number; at: number } | undefined {
  const match = /^\{"seq":(\d+),"at":(\d+),"book":"[\x20-\x21\x23-\x5b\x5d-\x7e]/.exec(head.toString('latin1', 0, 64));
  if (!match || length !== match[0].length - 1 + stateBytes + 2) return undefined;
  return { seq: Number(match[1]), at: Number(match[2]) };
}

/** The lesson's variables, as numbers. */
function feedEnv(v: Verification): FeedEnv {
  const env = v.lessonEnv;
  const feed = { tickMs: Number(env.TICK_MS), stateBytes: Number(env.STATE_BYTES), highWater: Number(env.HIGH_WATER_BYTES), graceMs: Number(env.SLOW_GRACE_MS) };
  if (!Object.values(feed).every((n) => n > 0)) throw new Error('lesson 12 needs TICK_MS, STATE_BYTES, HIGH_WATER_BYTES and SLOW_GRACE_MS in its manifest env');
  return feed;
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** "alice and bob", "alice, bob and carol". */
function listOf(names: string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** Bytes as megabytes, one decimal: `12.3 MB`. */
function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
