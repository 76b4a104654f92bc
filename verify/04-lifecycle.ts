/**
 * Lesson 04 — lifecycle. The story: alice is welcomed; bob and carol join and the others hear of it;
 * carol asks who is online; bob quits and is closed with 1000 and a reason; carol closes her own
 * connection; dave drops without a close frame; eve sends a broken frame, which must not bring the
 * server down; and after 50 clients have come and gone every way there is, the count is still exact.
 */
import {
  VerifyFailure,
  describeCloseCode,
  type LessonVerifier,
  type TestClient,
  type Verification,
} from './harness/index.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  NO_WELCOME: 'LIFECYCLE_NO_WELCOME',
  NO_JOIN: 'LIFECYCLE_NO_JOIN',
  JOIN_TO_NEWCOMER: 'LIFECYCLE_JOIN_TO_NEWCOMER',
  UNEXPECTED_MESSAGE: 'LIFECYCLE_UNEXPECTED_MESSAGE',
  WRONG_ID: 'LIFECYCLE_WRONG_ID',
  WRONG_COUNT: 'LIFECYCLE_WRONG_COUNT',
  NO_PRESENCE: 'LIFECYCLE_NO_PRESENCE',
  QUIT_IGNORED: 'LIFECYCLE_QUIT_IGNORED',
  QUIT_TERMINATED: 'LIFECYCLE_QUIT_TERMINATED',
  QUIT_WRONG_CODE: 'LIFECYCLE_QUIT_WRONG_CODE',
  QUIT_NO_REASON: 'LIFECYCLE_QUIT_NO_REASON',
  NO_LEAVE: 'LIFECYCLE_NO_LEAVE',
  NO_LEAVE_ON_DROP: 'LIFECYCLE_NO_LEAVE_ON_DROP',
  WRONG_LEAVE_CODE: 'LIFECYCLE_WRONG_LEAVE_CODE',
  PRESENCE_LEAK: 'LIFECYCLE_PRESENCE_LEAK',
  CRASHED_ON_ERROR: 'LIFECYCLE_CRASHED_ON_ERROR',
  PRESENCE_DRIFT: 'LIFECYCLE_PRESENCE_DRIFT',
} as const;

/** How many clients come and go in the last step, and how many at a time. */
const CYCLES = 50;
const BATCH = 10;

export default (async (v) => {
  await v.start();
  const room = new Room(v);
  let alice!: TestClient;
  let bob!: TestClient;
  let carol!: TestClient;

  await v.step('welcomes a newcomer with its id and the count', [], async () => {
    alice = await room.arrive('alice');
  });

  await v.step('tells the others about a newcomer, and only the others', [], async () => {
    bob = await room.arrive('bob');
    carol = await room.arrive('carol');
  });

  await v.step('answers who with the count, to the asker only', [], async () => {
    carol.sendJson({ type: 'who' });
    await room.expectPresence(carol);
  });

  await v.step('closes a client that quits with 1000 and a reason', [], async () => {
    bob.sendJson({ type: 'quit' });
    await expectClosedForQuit(v, bob);
    await room.departed(bob, { code: 1000, way: 'quit' });
  });

  await v.step('announces a client that closes its own connection', [], async () => {
    // What a browser sends when its tab is closed.
    carol.close(1001, 'tab closed');
    await carol.expectClose();
    await room.departed(carol, { code: 1001, way: 'closed' });
  });

  await v.step('notices a client that drops without a close frame (1006)', [], async () => {
    const dave = await room.arrive('dave');
    dave.terminate();
    await dave.expectClose();
    await room.departed(dave, { code: 1006, way: 'dropped' });
  });

  // Here a crash is the lesson's own failure: it is what a missing 'error' listener does.
  await crashMeans(
    v,
    Codes.CRASHED_ON_ERROR,
    'when eve sent a broken frame',
    v.step("survives a broken frame: the socket's 'error' is handled", [], async () => {
      const eve = await room.arrive('eve');
      sendInvalidText(v, eve);
      await eve.expectClose();
      // ws stops reading a socket after a broken frame, so the server's 'close' handler gets 1006 even
      // though it sent 1007: the leave's code is not checked here.
      await room.departed(eve, { way: 'broken' });
      v.note("your server is still up: ws closed eve's socket with 1007 and emitted 'error' on it");
    }),
  );

  await v.step(`keeps the count exact while ${CYCLES} clients come and go`, [], async () => {
    v.note('a watcher joins, a client that prints nothing and counts notices; alice leaves');
    const watcher = await room.arrive('watcher', { quiet: true });
    alice.close(1000, 'done');
    await alice.expectClose();
    await room.departed(alice, { code: 1000, way: 'closed' });

    v.note(describeComingAndGoing(CYCLES));
    await comeAndGo(v, CYCLES);
    const tally = await countNotices(watcher, CYCLES, v.timeouts.stepMs);
    v.note(`the watcher saw ${tally.joins} joins and ${tally.leaves} leaves`);

    room.churned = `after ${CYCLES} clients came and went`;
    const zoe = await room.arrive('zoe');
    zoe.sendJson({ type: 'who' });
    await room.expectPresence(zoe);
    if (tally.leaves < tally.joins) {
      throw v.fail({
        code: Codes.NO_LEAVE,
        expected: `a leave notice for each of the ${tally.joins} clients the watcher saw join`,
        actual: `${tally.leaves} leave notices`,
        hint: LEAVE_HINT,
      });
    }
  });
}) satisfies LessonVerifier;

// ─── Hints ────────────────────────────────────────────────────────────────────────────────────────

const WELCOME_HINT =
  "In 'connection', give the socket an id, add it to your collection of clients, and send it " +
  '{"type":"welcome","id":…,"online":N} at once, N counting it too.';
const JOIN_HINT =
  'After the welcome, send {"type":"join","id":…,"online":N} to every other open client: loop over your ' +
  'collection and skip the newcomer.';
const LEAVE_HINT =
  "Announce the leave in the socket's 'close' handler: it runs once for every connection, however it ends " +
  '(a quit, the client closing, a dropped connection). Send {"type":"leave","id":…,"online":N,"code":code} to everyone still there.';
const LEAK_HINT =
  "Remove the socket from your collection in its 'close' handler, before you count and announce. An empty " +
  "(or missing) 'close' handler keeps every departed client: the count only grows, and so does memory.";
const DRIFT_HINT =
  "Every connection that is added must be removed exactly once, however early it leaves. Attach 'close' " +
  "synchronously inside 'connection', before any await: a client that leaves during the await fires 'close' " +
  'before anyone listens, and is never removed.';
const ERROR_HINT =
  "Add socket.on('error', …) in 'connection'. ws emits 'error' on a socket that receives a broken frame, and an " +
  "'error' event nobody listens to is thrown: it crashes the whole server, every other client with it. " +
  "Logging it is enough: ws closes that socket, and 'close' still runs.";

// ─── The room, as the verifier knows it ───────────────────────────────────────────────────────────

/** A notice from the server, as far as this lesson reads it. */
interface Notice {
  type?: unknown;
  id?: unknown;
  online?: unknown;
  code?: unknown;
}

interface Member {
  client: TestClient;
  id: string | number;
}

/**
 * Who the verifier has connected, the id the server gave each, and so the count the server must report.
 * Every expectation about welcome, join, presence and leave notices lives here.
 */
class Room {
  private readonly members: Member[] = [];
  private readonly idsGiven = new Map<string | number, string>();
  private departures = 0;
  /** Set once the crowd has come and gone: a wrong count from then on is drift. */
  churned?: string;

  constructor(private readonly v: Verification) {}

  /** Connects a client: it must be welcomed, and everyone already here must hear it joined. */
  async arrive(name: string, options: { quiet?: boolean } = {}): Promise<TestClient> {
    // Received lines are written as the verifier reads them, so the transcript has one order every run.
    const client = await this.v.client(name, { log: options.quiet ? 'silent' : 'read' });
    const online = this.members.length + 1;
    const welcome = await this.expectNotice(client, 'welcome', online, {
      timeoutCode: Codes.NO_WELCOME,
      timeoutHint: WELCOME_HINT,
    });
    const id = this.newId(name, welcome.id);
    const others = [...this.members];
    this.members.push({ client, id });
    for (const other of others) {
      const join = await this.expectNotice(other.client, 'join', online, {
        id,
        timeoutCode: Codes.NO_JOIN,
        timeoutHint: JOIN_HINT,
      });
      this.checkId(join, id, `the join notice about ${name}`);
    }
    return client;
  }

  /** The client has asked who: it must hear the exact count, and nothing else first. */
  async expectPresence(client: TestClient): Promise<void> {
    await this.expectNotice(client, 'presence', this.members.length, {
      timeoutCode: Codes.NO_PRESENCE,
      timeoutHint: 'Answer {"type":"who"} with {"type":"presence","online":N}, on the socket that asked.',
    });
  }

  /**
   * The client has gone: everyone still here must get its leave notice with the new count and, when
   * given, the close code the server saw. When no notice comes, the count tells a leak from silence.
   */
  async departed(client: TestClient, ending: { code?: number; way: 'quit' | 'closed' | 'dropped' | 'broken' }): Promise<void> {
    const index = this.members.findIndex((m) => m.client === client);
    const { id } = this.members[index]!;
    this.members.splice(index, 1);
    this.departures++;
    const online = this.members.length;
    for (const { client: other } of this.members) {
      const leave = await this.expectNotice(other, 'leave', online, { id, code: ending.code, diagnose: { leaver: client, way: ending.way } });
      this.checkId(leave, id, `the leave notice about ${client.name}`);
      if (ending.code !== undefined && leave.code !== ending.code) {
        throw this.v.fail({
          code: Codes.WRONG_LEAVE_CODE,
          expected: `"code":${ending.code} in the leave notice about ${client.name}, whose connection ended with ${describeCloseCode(ending.code)}`,
          actual: leave.code === undefined ? 'no code' : `"code":${JSON.stringify(leave.code)}`,
          hint: "The 'close' handler receives (code, reason): put that code in the leave notice, so everyone can tell a goodbye (1000, 1001) from a dropped connection (1006).",
        });
      }
    }
  }

  /** Reads the next notice on `client` and checks its type and count. */
  private async expectNotice(
    client: TestClient,
    type: 'welcome' | 'join' | 'presence' | 'leave',
    online: number,
    options: {
      id?: string | number;
      code?: number;
      timeoutCode?: string;
      timeoutHint?: string;
      diagnose?: { leaver: TestClient; way: string };
    },
  ): Promise<Notice> {
    const shape = noticeShape(type, online, options.id, options.code);
    let notice: Notice;
    try {
      notice = await client.expectJson<Notice>(shape, {
        code: Codes.UNEXPECTED_MESSAGE,
        hint: 'Every message your server sends is one JSON object with a "type".',
        timeoutCode: options.diagnose ? NOTHING_CAME : options.timeoutCode,
        timeoutHint: options.timeoutHint,
      });
    } catch (error) {
      if (options.diagnose && error instanceof VerifyFailure && error.code === NOTHING_CAME) {
        throw await this.whyNoLeave(client, options.diagnose.leaver, options.diagnose.way, error);
      }
      throw error;
    }
    if (notice === null || typeof notice !== 'object' || notice.type !== type || this.isOwnJoin(client, notice)) {
      throw this.wrongType(client, type, shape, notice);
    }
    if (notice.online !== online) throw this.wrongCount(client, type, online, notice.online);
    return notice;
  }

  /** True for a join notice about the very client that received it. */
  private isOwnJoin(client: TestClient, notice: Notice): boolean {
    const self = this.members.find((m) => m.client === client);
    return notice?.type === 'join' && self !== undefined && notice.id === self.id;
  }

  /** A leave that never came: either the server still counts the client (a leak) or it said nothing. */
  private async whyNoLeave(observer: TestClient, leaver: TestClient, way: string, waited: VerifyFailure): Promise<VerifyFailure> {
    observer.sendJson({ type: 'who' });
    const presence = await observer.expectJson<Notice>('the answer to who', { code: Codes.UNEXPECTED_MESSAGE });
    const online = this.members.length;
    if (typeof presence?.online === 'number' && presence.online > online) {
      return this.v.fail({
        code: Codes.PRESENCE_LEAK,
        expected: `"online":${online} after ${leaver.name} left (${this.names()})`,
        actual: `"online":${presence.online}: ${leaver.name} is still counted`,
        hint: LEAK_HINT,
      });
    }
    const dropped = way === 'dropped';
    return this.v.fail({
      code: dropped ? Codes.NO_LEAVE_ON_DROP : Codes.NO_LEAVE,
      expected: waited.expected,
      actual: waited.actual,
      hint: dropped
        ? "A dropped connection sends no close frame, yet 'close' still fires on the server, with code 1006. Announce the leave there whatever the code: a client that vanished has left too."
        : LEAVE_HINT,
    });
  }

  private wrongType(client: TestClient, type: string, shape: string, notice: Notice): VerifyFailure {
    const actual = JSON.stringify(notice);
    // Before its welcome a client knows nobody, so any join it gets first is about itself.
    if (notice?.type === 'join' && (type === 'welcome' || this.isOwnJoin(client, notice))) {
      return this.v.fail({
        code: Codes.JOIN_TO_NEWCOMER,
        expected: shape,
        actual: `${actual}, a join notice about ${client.name} itself`,
        hint: 'The newcomer gets the welcome; the join notice is for everyone else. When you loop over your clients, skip the socket that just connected.',
      });
    }
    return this.v.fail({
      code: Codes.UNEXPECTED_MESSAGE,
      expected: shape,
      actual,
      hint:
        notice?.type === 'presence'
          ? 'A presence message answers {"type":"who"}: send it on the socket that asked, not to everyone.'
          : 'Send each notice to exactly the clients that should get it, in the shape the lesson gives.',
    });
  }

  private wrongCount(client: TestClient, type: string, online: number, got: unknown): VerifyFailure {
    const actual = `"online":${JSON.stringify(got)} in ${client.name}'s ${type} message`;
    const expected = `"online":${online} (${this.names(type === 'welcome' ? client : undefined)})`;
    if (this.churned) {
      return this.v.fail({ code: Codes.PRESENCE_DRIFT, expected: `${expected} ${this.churned}`, actual, hint: DRIFT_HINT });
    }
    if (typeof got === 'number' && got > online && this.departures > 0) {
      return this.v.fail({ code: Codes.PRESENCE_LEAK, expected, actual, hint: LEAK_HINT });
    }
    return this.v.fail({
      code: Codes.WRONG_COUNT,
      expected,
      actual,
      hint: 'Count the open connections at the moment you send: add the newcomer before the welcome, remove a client before its leave. The size of your Map or Set is the count.',
    });
  }

  /** Records a newcomer's id, which must be a string or a number no one else was given. */
  private newId(name: string, id: unknown): string | number {
    if ((typeof id !== 'string' && typeof id !== 'number') || id === '') {
      throw this.v.fail({
        code: Codes.WRONG_ID,
        expected: `an "id" (a number or a string) in ${name}'s welcome`,
        actual: id === undefined ? 'no id' : `"id":${JSON.stringify(id)}`,
        hint: "Give each connection its own id in 'connection' (a counter will do) and send it in the welcome.",
      });
    }
    const owner = this.idsGiven.get(id);
    if (owner !== undefined) {
      throw this.v.fail({
        code: Codes.WRONG_ID,
        expected: `a new id for ${name}`,
        actual: `"id":${JSON.stringify(id)}, which ${owner} was given before`,
        hint: 'An id must belong to one connection only, even after it left: count up from a counter, never from the number of clients online.',
      });
    }
    this.idsGiven.set(id, name);
    return id;
  }

  private checkId(notice: Notice, id: string | number, what: string): void {
    if (notice.id !== id) {
      throw this.v.fail({
        code: Codes.WRONG_ID,
        expected: `"id":${JSON.stringify(id)} in ${what}`,
        actual: notice.id === undefined ? 'no id' : `"id":${JSON.stringify(notice.id)}`,
        hint: 'Use the id the client got in its welcome for every notice about it: keep it with the socket (a Map, or a variable in the connection handler).',
      });
    }
  }

  /** "alice, bob and carol are connected", counting a newcomer not yet welcomed when given. */
  private names(newcomer?: TestClient): string {
    const names = this.members.map((m) => m.client.name);
    if (newcomer) names.push(newcomer.name);
    if (names.length === 0) return 'nobody is connected';
    const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
    return `${list} ${names.length === 1 ? 'is' : 'are'} connected`;
  }
}

/** A failure code used inside this file only, while waiting for a leave that may never come. */
const NOTHING_CAME = 'LIFECYCLE_INTERNAL_NOTHING_CAME';

/** `{"type":"join","id":2,"online":2}`, as the expected half of a failure. */
function noticeShape(type: string, online: number, id?: string | number, code?: number): string {
  const idPart = type === 'presence' ? '' : `,"id":${id === undefined ? '<a new id>' : JSON.stringify(id)}`;
  const codePart = type === 'leave' && code !== undefined ? `,"code":${code}` : '';
  return `{"type":"${type}"${idPart},"online":${online}${codePart}}`;
}

// ─── Closing ──────────────────────────────────────────────────────────────────────────────────────

/** After a quit, the server must close the connection properly: a close frame, 1000, and a reason. */
async function expectClosedForQuit(v: Verification, client: TestClient): Promise<void> {
  const wanted = 'a close frame 1000 (normal closure) with a reason';
  const closed = await client.expectClose(wanted, {
    timeoutCode: Codes.QUIT_IGNORED,
    timeoutHint: 'On {"type":"quit"}, call socket.close(1000, "a reason"): the server starts the closing handshake.',
  });
  if (!closed.clean) {
    throw v.fail({
      code: Codes.QUIT_TERMINATED,
      expected: wanted,
      actual: 'the connection dropped without a close frame (1006)',
      hint: 'terminate() destroys the connection at once: the client never learns why. Use socket.close(1000, "a reason"), which sends a close frame and waits for the answer.',
    });
  }
  if (closed.code !== 1000) {
    throw v.fail({
      code: Codes.QUIT_WRONG_CODE,
      expected: wanted,
      actual: `a close frame ${describeCloseCode(closed.code)}`,
      hint:
        closed.code === 1005
          ? 'socket.close() with no arguments sends a close frame without a code, which the client reads as 1005. Pass the code and a reason: socket.close(1000, "goodbye").'
          : 'A client that asked to leave is a normal closure: close with code 1000, socket.close(1000, "goodbye").',
    });
  }
  if (closed.reason === '') {
    throw v.fail({
      code: Codes.QUIT_NO_REASON,
      expected: wanted,
      actual: 'a close frame 1000 (normal closure) with no reason',
      hint: 'Pass a short reason as the second argument: socket.close(1000, "goodbye"). The client reads it in its close event (at most 123 bytes).',
    });
  }
}

/**
 * Sends a text frame whose bytes are not UTF-8. ws on the server rejects it, closes the socket with
 * 1007 and emits 'error' on it: the one error a verifier can cause on purpose.
 */
function sendInvalidText(v: Verification, client: TestClient): void {
  v.transcript.add({ kind: 'client', name: client.name }, '→ text <c3 28> (these bytes are not valid UTF-8)');
  client.ws.send(Buffer.from([0xc3, 0x28]), { binary: false });
}

/** How long a failure may wait to see whether the program is exiting: a crash takes a moment to show. */
const EXIT_SETTLE_MS = 300;

/**
 * Turns a crash of the learner's program during `step` into this lesson's own failure. A crash shows
 * either directly, or first as its symptoms (a connection dropped, a reply that never came).
 */
async function crashMeans(v: Verification, code: string, when: string, step: Promise<void>): Promise<void> {
  try {
    await step;
  } catch (error) {
    if (!(error instanceof VerifyFailure)) throw error;
    const { program } = v.servers[0]!;
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([
      program.exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), EXIT_SETTLE_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    if (!exited || (exited.code === 0 && !exited.signal)) throw error;
    const crash = program.exitFailure(when);
    const failure = new VerifyFailure({ code, message: crash.message, details: crash.details, hint: ERROR_HINT });
    failure.step = error.step;
    throw failure;
  }
}

// ─── The crowd ────────────────────────────────────────────────────────────────────────────────────

/** The ways a client of the crowd leaves, in turn: every fifth client leaves the same way. */
const DEPARTURES = [
  { closes: 'close', early: false },
  { closes: 'close', early: true },
  { closes: 'quit', early: false },
  { closes: 'drop', early: false },
  { closes: 'drop', early: true },
] as const;

/**
 * Connects `count` quiet clients, BATCH at a time, and makes each leave: some close, some quit, some
 * drop the connection; some wait for their welcome first, some leave the moment they are connected.
 * Resolves once every one of them has seen its connection end.
 */
async function comeAndGo(v: Verification, count: number): Promise<void> {
  for (let first = 0; first < count; first += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, count - first) }, (_, i) => first + i);
    await Promise.all(
      batch.map(async (n) => {
        const departure = DEPARTURES[n % DEPARTURES.length]!;
        const client = await v.client(`client-${n + 1}`, { log: 'silent' });
        if (!departure.early) await client.nextFrame('its welcome', { timeoutCode: Codes.NO_WELCOME, timeoutHint: WELCOME_HINT });
        if (departure.closes === 'close') client.close(1000, 'done');
        else if (departure.closes === 'quit') client.sendJson({ type: 'quit' });
        else client.terminate();
        await client.expectClose(`${client.name}'s connection to close`, {
          timeoutCode: Codes.QUIT_IGNORED,
          timeoutHint: 'On {"type":"quit"}, call socket.close(1000, "a reason").',
        });
      }),
    );
  }
}

/** "50 clients connect and leave, 10 at a time: 20 close the connection (10 before their welcome), …". */
function describeComingAndGoing(count: number): string {
  const ways = Array.from({ length: count }, (_, n) => DEPARTURES[n % DEPARTURES.length]!);
  const tell = (closes: string, what: string) => {
    const all = ways.filter((w) => w.closes === closes);
    const early = all.filter((w) => w.early).length;
    return `${all.length} ${what}${early ? ` (${early} before their welcome)` : ''}`;
  };
  return (
    `${count} clients connect and leave, ${BATCH} at a time: ${tell('close', 'close the connection')}, ` +
    `${tell('quit', 'send quit')}, ${tell('drop', 'drop it without a close frame')}`
  );
}

/**
 * Reads the watcher's notices until it has seen `leaves` leave notices, or until nothing more comes
 * for `quietMs`. The server announces each leave once it has noticed the close, so this is how the
 * verifier knows the server has caught up, without guessing a delay.
 */
async function countNotices(watcher: TestClient, leaves: number, quietMs: number): Promise<{ joins: number; leaves: number }> {
  const tally = { joins: 0, leaves: 0 };
  while (tally.leaves < leaves) {
    let notice: Notice;
    try {
      notice = await watcher.expectJson<Notice>('the next notice', { timeoutMs: quietMs, timeoutCode: NOTHING_CAME });
    } catch (error) {
      if (error instanceof VerifyFailure && error.code === NOTHING_CAME) break;
      throw error;
    }
    if (notice?.type === 'join') tally.joins++;
    if (notice?.type === 'leave') tally.leaves++;
  }
  return tally;
}
