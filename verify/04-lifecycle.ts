/**
 * Lesson 04 — lifecycle. The story: alice is welcomed; bob, carol and dave join and the others hear of
 * it; the first, the middle and the last ask who is online; carol sends everything the protocol does not
 * have, and nobody else hears of it. Then clients leave every way there is (a quit, a close frame with
 * its own code, a dropped connection, a broken frame), each time the first, the middle and the last of
 * those connected; three leave the moment they arrive; and after 50 more have come and gone, ten at a
 * time, the count is still exact and nothing they held is left in the server.
 */
import {
  HarnessCodes,
  VerifyFailure,
  defineRules,
  describeCloseCode,
  describeFrame,
  type CloseEvent,
  type ExpectOptions,
  type Frame,
  type LessonVerifier,
  type TestClient,
  type Verification,
} from './harness/index.ts';
import { liveTimers } from './harness/program.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  UNEXPECTED_MESSAGE: 'LIFECYCLE_UNEXPECTED_MESSAGE',
  NO_WELCOME: 'LIFECYCLE_NO_WELCOME',
  WELCOME_TO_OTHERS: 'LIFECYCLE_WELCOME_TO_OTHERS',
  NO_JOIN: 'LIFECYCLE_NO_JOIN',
  JOIN_TO_NEWCOMER: 'LIFECYCLE_JOIN_TO_NEWCOMER',
  JOIN_TWICE: 'LIFECYCLE_JOIN_TWICE',
  WRONG_ID: 'LIFECYCLE_WRONG_ID',
  WRONG_COUNT: 'LIFECYCLE_WRONG_COUNT',
  NO_PRESENCE: 'LIFECYCLE_NO_PRESENCE',
  PRESENCE_TO_OTHERS: 'LIFECYCLE_PRESENCE_TO_OTHERS',
  QUIT_IGNORED: 'LIFECYCLE_QUIT_IGNORED',
  QUIT_TERMINATED: 'LIFECYCLE_QUIT_TERMINATED',
  QUIT_WRONG_CODE: 'LIFECYCLE_QUIT_WRONG_CODE',
  QUIT_NO_REASON: 'LIFECYCLE_QUIT_NO_REASON',
  NO_LEAVE: 'LIFECYCLE_NO_LEAVE',
  NO_LEAVE_ON_DROP: 'LIFECYCLE_NO_LEAVE_ON_DROP',
  PRESENCE_LEAK: 'LIFECYCLE_PRESENCE_LEAK',
  LEAVE_TWICE: 'LIFECYCLE_LEAVE_TWICE',
  WRONG_LEAVE_CODE: 'LIFECYCLE_WRONG_LEAVE_CODE',
  PRESENCE_DRIFT: 'LIFECYCLE_PRESENCE_DRIFT',
  CRASHED_ON_ERROR: 'LIFECYCLE_CRASHED_ON_ERROR',
  CRASHED_ON_BAD_INPUT: 'LIFECYCLE_CRASHED_ON_BAD_INPUT',
  CLOSED_ON_BAD_INPUT: 'LIFECYCLE_CLOSED_ON_BAD_INPUT',
  BAD_INPUT_REACHED_OTHERS: 'LIFECYCLE_BAD_INPUT_REACHED_OTHERS',
  BAD_INPUT_NOT_IGNORED: 'LIFECYCLE_BAD_INPUT_NOT_IGNORED',
  LISTENER_LEAK: 'LIFECYCLE_LISTENER_LEAK',
  TIMER_LEAK: 'LIFECYCLE_TIMER_LEAK',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: {
    text: 'Every message your server sends is one JSON object in a text frame, with a `type`: one of the four above, or an `error` (R13).',
    codes: [Codes.UNEXPECTED_MESSAGE],
  },
  R3: { text: 'A newcomer gets its `welcome` first thing, and nobody else gets it.', codes: [Codes.NO_WELCOME, Codes.WELCOME_TO_OTHERS] },
  R4: {
    text: 'Everyone else gets one `join` about the newcomer; the newcomer never hears of its own join.',
    codes: [Codes.NO_JOIN, Codes.JOIN_TO_NEWCOMER, Codes.JOIN_TWICE],
  },
  R5: {
    text: 'Each connection gets an `id` of its own (a number or a non-empty string), carried by every notice about it: no two connections ever share one, even after one has left.',
    codes: [Codes.WRONG_ID],
  },
  R6: { text: '`online` is the number of open connections at the moment the message is sent, the newcomer included.', codes: [Codes.WRONG_COUNT] },
  R7: { text: '`{"type":"who"}` is answered with `presence`, to the asker only.', codes: [Codes.NO_PRESENCE, Codes.PRESENCE_TO_OTHERS] },
  R8: {
    text: "`{\"type\":\"quit\"}` is answered by closing that connection with code **1000** and a reason: a close frame (`socket.close(1000, 'goodbye')`), never `terminate()`.",
    codes: [Codes.QUIT_IGNORED, Codes.QUIT_TERMINATED, Codes.QUIT_WRONG_CODE, Codes.QUIT_NO_REASON],
  },
  R9: {
    text: 'When a connection ends, **however it ends** (a quit, the client closing, a dropped connection, a broken frame), it stops being counted, and everyone still connected gets one `leave` about it.',
    codes: [Codes.NO_LEAVE, Codes.NO_LEAVE_ON_DROP, Codes.PRESENCE_LEAK, Codes.LEAVE_TWICE],
  },
  R10: {
    text: "A `leave`'s `code` is the close code your `'close'` handler received: 1000, 1001, 4000, 1006, whatever it was.",
    codes: [Codes.WRONG_LEAVE_CODE],
  },
  R11: {
    text: 'A client may leave a moment after it arrives, before its welcome has even reached it: it is counted, announced and removed like any other.',
    codes: [Codes.PRESENCE_DRIFT],
  },
  R12: { text: 'A broken frame never brings the server down: listen for `error` on every socket.', codes: [Codes.CRASHED_ON_ERROR] },
  R13: {
    text: 'Anything else a client sends changes nothing and reaches no one, and the connection stays open.',
    codes: [Codes.CRASHED_ON_BAD_INPUT, Codes.CLOSED_ON_BAD_INPUT, Codes.BAD_INPUT_REACHED_OTHERS, Codes.BAD_INPUT_NOT_IGNORED],
  },
  R14: {
    text: 'Nothing outlives its connection: no listener or timer you added for a connection is left once it has ended.',
    codes: [Codes.LISTENER_LEAK, Codes.TIMER_LEAK],
  },
});

/** How many clients come and go in the last step, and how many at a time. */
const CYCLES = 50;
const BATCH = 10;
/** How many connected clients a departure is chosen among: enough for a first, a middle and a last. */
const ROOM_SIZE = 4;
/**
 * More timers than at the start by this many, once the crowd has gone, is one left per connection: a
 * correct server holds a timer or two at most for the two clients still connected.
 */
const TIMER_LEAK_MIN = BATCH;

/** Every rule a step checks when clients arrive: a welcome, joins, ids, counts. */
const ARRIVALS = ['R2', 'R3', 'R4', 'R5', 'R6'] as const;
/** Every rule a step checks when clients leave: the leave notice, its count, its code. */
const DEPARTURES = ['R9', 'R10'] as const;

/** The code a 'close' handler receives when the client's close frame carried none. */
const NO_STATUS_CODE = 1005;

export default (async (v) => {
  // The probe tells timers and listeners that outlive their connections (R14) from a count that is right.
  await v.start({ probeResources: true });
  const atStart = await v.servers[0]!.program.resources(v.timeouts.stepMs);
  const room = new Room(v);

  await v.step('welcomes a newcomer with its id and the count', ['R2', 'R3', 'R5', 'R6'], async () => {
    await room.arrive('alice');
  });

  await v.step('tells everyone else about a newcomer, once, and not the newcomer', [...ARRIVALS], async () => {
    await room.fill(ROOM_SIZE);
  });

  await v.step('answers who with the count, to the asker only: first, middle and last', [...ARRIVALS, 'R7'], async () => {
    // Extra fields, spaces around the JSON, other key order, more than 64 KiB: each is still a who.
    await room.ask(room.at('first'), '{"type":"who"}');
    await room.ask(room.at('middle'), '  {"from":"Zoë 🎉","type":"who"}\n');
    await room.ask(room.at('last'), JSON.stringify({ type: 'who', note: 'ü'.repeat(40 * 1024) }));
    // A presence sent to someone who did not ask would come before this join: nobody may get one.
    await room.fill(ROOM_SIZE + 1);
  });

  await crashMeans(
    v,
    Codes.CRASHED_ON_BAD_INPUT,
    'when a client sent something the protocol does not have',
    v.step('ignores what it cannot use, tells no one, and keeps the connection', [...ARRIVALS, 'R7', 'R13'], async () => {
      await room.sendBadInput(room.at('middle'));
    }),
  );

  await v.step('closes a client that quits with 1000 and a reason: middle, first and last', [...ARRIVALS, 'R8', ...DEPARTURES], async () => {
    const quits: Array<[Position, string]> = [
      ['middle', '{"type":"quit"}'],
      ['first', '{"type":"quit","reason":"heading home 🏠"}'],
      ['last', '  {"reason":null,"type":"quit"}\n'],
    ];
    for (const [position, text] of quits) {
      await room.fill(ROOM_SIZE);
      const member = room.at(position);
      member.sendText(text);
      await expectClosedForQuit(v, member);
      await room.departed(member, { code: 1000, way: 'quit' });
    }
  });

  await v.step('announces a client that closes its own connection, with its code: last, first and middle', [...ARRIVALS, ...DEPARTURES], async () => {
    // What a browser sends when its tab closes; a code of the application's own; a plain goodbye;
    // and a browser's close() with no arguments, which carries no code: the handler receives 1005.
    const closes: Array<[Position, number, string]> = [
      ['last', 1001, 'tab closed'],
      ['first', 4000, 'done for today 🎉'],
      ['middle', 1000, 'bye'],
      ['first', NO_STATUS_CODE, ''],
    ];
    for (const [position, code, reason] of closes) {
      await room.fill(ROOM_SIZE);
      const member = room.at(position);
      if (code === NO_STATUS_CODE) member.closeWithoutCode();
      else member.close(code, reason);
      await member.expectClose();
      await room.departed(member, { code, way: 'closed' });
    }
  });

  await v.step('notices a client that drops without a close frame (1006): first, middle and last', [...ARRIVALS, ...DEPARTURES], async () => {
    for (const position of ['first', 'middle', 'last'] as const) {
      await room.fill(ROOM_SIZE);
      const member = room.at(position);
      member.terminate();
      await member.expectClose();
      await room.departed(member, { code: 1006, way: 'dropped' });
    }
  });

  // Here a crash is the lesson's own failure: it is what a missing 'error' listener does.
  await crashMeans(
    v,
    Codes.CRASHED_ON_ERROR,
    'when a client sent a broken frame',
    v.step("survives broken frames: each socket's 'error' is handled", [...ARRIVALS, ...DEPARTURES, 'R12'], async () => {
      const broken: Array<[Position, BrokenFrame]> = [
        ['middle', INVALID_UTF8],
        ['last', UNMASKED],
        ['first', RESERVED_BIT],
      ];
      for (const [position, frame] of broken) {
        await room.fill(ROOM_SIZE);
        const member = room.at(position);
        frame.send(member);
        await member.expectClose();
        // ws stops reading a socket after a broken frame, so the server's 'close' handler gets 1006
        // though it sent 1007 or 1002: the leave's code is not checked here.
        await room.departed(member, { way: 'broken' });
      }
      v.note("your server is still up: ws closed each socket itself and emitted 'error' on it");
    }),
  );

  await v.step('counts, announces and removes a client that leaves the moment it arrives', [...ARRIVALS, ...DEPARTURES, 'R11'], async () => {
    await room.fill(ROOM_SIZE - 1);
    await room.arriveAndLeave('kate', 'closes');
    await room.arriveAndLeave('leo', 'drops');
    await room.arriveAndLeave('mia', 'quits');
  });

  await v.step(`keeps the count exact while ${CYCLES} clients come and go, and holds nothing of theirs`, ['R3', 'R5', 'R6', 'R8', ...DEPARTURES, 'R14'], async () => {
    v.note('a watcher joins, a client that prints nothing and checks every notice; everyone else leaves');
    const watcher = await room.arrive('watcher', { quiet: true });
    for (const member of room.clients().filter((c) => c !== watcher)) {
      member.close(1000, 'done');
      await member.expectClose();
      await room.departed(member, { code: 1000, way: 'closed' });
    }
    const connected = room.arrivals;
    // So far, a few clients at most were connected at once: a listener warning now is one left behind.
    checkListeners(v, atStart, await v.servers[0]!.program.resources(v.timeouts.stepMs), connected);

    v.note(describeComingAndGoing(CYCLES));
    const crowd = await comeAndGo(v, room, CYCLES);
    const tally = await watchCrowd(v, room, watcher, crowd);
    v.note(`the watcher saw ${tally.joins} joins and ${tally.leaves} leaves`);

    room.churned = `after ${CYCLES} clients came and went`;
    const zoe = await room.arrive('zoe');
    await room.ask(zoe, '{"type":"who"}');
    if (tally.leaves < tally.joins) {
      throw v.fail({
        code: Codes.NO_LEAVE,
        expected: `a leave notice for each of the ${tally.joins} clients the watcher saw join`,
        actual: `${tally.leaves} leave notices`,
        hint: LEAVE_HINT,
      });
    }
    checkTimers(v, atStart, await v.servers[0]!.program.resources(v.timeouts.stepMs), connected - 1 + CYCLES);
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
const TWICE_HINT =
  "Announce the leave in the 'close' handler and nowhere else: it runs once for every connection, a quit " +
  'included. A leave sent from the quit handler too reaches everyone twice.';
const DRIFT_HINT =
  "Every connection that is added must be removed exactly once, however early it leaves. Attach 'close' " +
  "synchronously inside 'connection', before any await: a client that leaves during the await fires 'close' " +
  'before anyone listens, and is never removed.';
const ERROR_HINT =
  "Add socket.on('error', …) in 'connection'. ws emits 'error' on a socket that receives a broken frame, and an " +
  "'error' event nobody listens to is thrown: it crashes the whole server, every other client with it. " +
  "Logging it is enough: ws closes that socket, and 'close' still runs.";
const BAD_INPUT_HINT =
  "Anything can arrive. Put JSON.parse in try/catch, and check that what it gives is an object with a type you know before " +
  "reading it (JSON.parse('null') is null). Ignore the rest, or answer {\"type\":\"error\",\"message\":…} on that socket alone.";
const COUNT_HINT =
  'Count the open connections at the moment you send: add the newcomer before the welcome, remove a client before its leave. ' +
  'The size of your Map or Set is the count.';

// ─── The room, as the verifier knows it ───────────────────────────────────────────────────────────

type Id = string | number;
type Position = 'first' | 'middle' | 'last';
type Way = 'quit' | 'closed' | 'dropped' | 'broken';

/** A notice from the server: a JSON object with a string `type`, whatever else it holds. */
interface Notice {
  type: string;
  id?: unknown;
  online?: unknown;
  code?: unknown;
  message?: unknown;
}

interface Member {
  client: TestClient;
  id: Id;
}

/** What one client may receive besides the notices the story expects. */
interface Allowance {
  /** Set once its welcome has been read. */
  welcomed: boolean;
  id?: Id;
  /** Who questions sent and not answered yet: a presence may arrive for each. */
  asked: number;
  /** True while it is sending what the protocol does not have: error replies may come then. */
  sendingBadInput: boolean;
}

/** What the verifier expects next on one client. */
type Want =
  | { type: 'welcome'; online: number }
  | { type: 'join'; about: Member & { name: string }; online: number }
  | { type: 'presence'; online: number }
  | { type: 'leave'; about: Member & { name: string }; online: number; code?: number };

/** The moment of the story a failure is judged in: the same mistake shows differently in each. */
type Context = 'plain' | 'bad input' | 'early';

/**
 * Who the verifier has connected, the id the server gave each, and so what every client must receive.
 * Every expectation about welcome, join, presence and leave notices lives here, and every message that
 * arrives where it should not is named for the slip it shows.
 */
class Room {
  private readonly members: Member[] = [];
  private readonly allowances = new Map<TestClient, Allowance>();
  /** Every id given so far, and to whom: an id belongs to one connection for ever. */
  readonly idsGiven = new Map<Id, string>();
  /** Ids whose leave has been announced: another leave about them is a repeat. */
  readonly left = new Set<Id>();
  private departures = 0;
  /** Connections the verifier opened so far, crowd excepted. */
  arrivals = 0;
  private context: Context = 'plain';
  private badInputFrom?: TestClient;
  private nextName = 0;
  /** Set once the crowd has come and gone: said in a wrong count from then on. */
  churned?: string;

  constructor(private readonly v: Verification) {}

  /** The clients connected now, in the order they connected. */
  clients(): TestClient[] {
    return this.members.map((m) => m.client);
  }

  /** The first, middle or last client connected now. */
  at(position: Position): TestClient {
    const index = position === 'first' ? 0 : position === 'last' ? this.members.length - 1 : Math.floor((this.members.length - 1) / 2);
    return this.members[index]!.client;
  }

  /** Brings newcomers until `size` clients are connected. */
  async fill(size: number): Promise<void> {
    while (this.members.length < size) await this.arrive(NAMES[this.nextName++ % NAMES.length]!);
  }

  /** Connects a client: it must be welcomed, and everyone already here must hear it joined. */
  async arrive(name: string, options: { quiet?: boolean } = {}): Promise<TestClient> {
    // Received lines are written as the verifier reads them, so the transcript has one order every run.
    const client = await this.v.client(name, { log: options.quiet ? 'silent' : 'read' });
    this.arrivals++;
    const allowance: Allowance = { welcomed: false, asked: 0, sendingBadInput: false };
    this.allowances.set(client, allowance);
    const online = this.members.length + 1;
    const welcome = await this.read(client, { type: 'welcome', online });
    const id = this.newId(name, welcome.id);
    allowance.welcomed = true;
    allowance.id = id;
    await this.checkCount(client, welcome, { type: 'welcome', online });
    const newcomer = { client, id, name };
    const others = [...this.members];
    this.members.push({ client, id });
    for (const other of others) await this.expectJoin(other.client, newcomer, online);
    return client;
  }

  /** The client asks who in `text`: it must hear the exact count, and nothing else first. */
  async ask(client: TestClient, text: string): Promise<void> {
    this.allowanceOf(client).asked++;
    client.sendText(text);
    const online = this.members.length;
    const presence = await this.read(client, { type: 'presence', online });
    await this.checkCount(client, presence, { type: 'presence', online });
  }

  /**
   * `sender` sends, group by group, everything the protocol does not have, and asks who after each
   * group: it may get error replies, then the count, unchanged. The others hear of none of it: the
   * next newcomer's join must be the first thing each of them gets.
   */
  async sendBadInput(sender: TestClient): Promise<void> {
    this.context = 'bad input';
    this.badInputFrom = sender;
    this.allowanceOf(sender).sendingBadInput = true;
    try {
      for (const group of BAD_INPUT) {
        this.v.note(`${sender.name} sends ${group.what}`);
        for (const input of group.inputs) {
          if (typeof input === 'string') sender.sendText(input);
          else sender.sendBinary(input);
        }
        await this.ask(sender, '{"type":"who"}');
      }
      await this.fill(this.members.length + 1);
    } catch (error) {
      if (error instanceof VerifyFailure && error.code === HarnessCodes.CONNECTION_CLOSED && !sender.isOpen) {
        throw this.v.fail({
          code: Codes.CLOSED_ON_BAD_INPUT,
          expected: `${sender.name}'s connection to stay open: what a server cannot use, it ignores or answers with an error`,
          actual: sender.closed?.clean
            ? `a close frame ${describeCloseCode(sender.closed.code)}${sender.closed.reason ? ` reason ${JSON.stringify(sender.closed.reason)}` : ''}`
            : 'the connection dropped without a close frame',
          hint: `${BAD_INPUT_HINT} Closing the connection over one odd message throws the client out with it.`,
        });
      }
      throw error;
    } finally {
      this.context = 'plain';
      this.badInputFrom = undefined;
      this.allowanceOf(sender).sendingBadInput = false;
    }
  }

  /**
   * The client has gone: everyone still here must get one leave notice about it, with the new count
   * and, when given, the close code the server saw. When no notice comes, the count tells a leak from
   * silence.
   */
  async departed(client: TestClient, ending: { code?: number; way: Way }): Promise<void> {
    const index = this.members.findIndex((m) => m.client === client);
    const { id } = this.members[index]!;
    this.members.splice(index, 1);
    this.departures++;
    const about = { client, id, name: client.name };
    const online = this.members.length;
    for (const { client: other } of this.members) {
      const want: Want = { type: 'leave', about, online, code: ending.code };
      const leave = await this.read(other, want, ending.way);
      this.checkId(leave, id, `the leave notice about ${client.name}`);
      await this.checkCount(other, leave, want);
      if (ending.code !== undefined && leave.code !== ending.code) {
        throw this.v.fail({
          code: Codes.WRONG_LEAVE_CODE,
          expected: `"code":${ending.code} in the leave notice about ${client.name}, whose connection ended with ${describeCloseCode(ending.code)}`,
          actual: leave.code === undefined ? 'no code' : `"code":${JSON.stringify(leave.code)}`,
          hint: "The 'close' handler receives (code, reason): put that code in the leave notice, so everyone can tell a goodbye (1000, 1001) from a dropped connection (1006).",
        });
      }
    }
    this.left.add(id);
  }

  /**
   * A client connects and leaves at once, without reading anything: by closing, by dropping the
   * connection, or by sending quit. Everyone here must hear it join and leave, and the count must come
   * back to what it was.
   */
  async arriveAndLeave(name: string, how: 'closes' | 'drops' | 'quits'): Promise<void> {
    this.context = 'early';
    try {
      this.v.note(
        how === 'closes'
          ? `${name} connects and closes at once with 4001 (application-defined) reason "changed my mind"`
          : how === 'drops'
            ? `${name} connects and drops the connection at once, without a close frame`
            : `${name} connects and sends {"type":"quit"} at once`,
      );
      // Silent: whether its welcome arrives before it leaves is up to timing, and the story is the same.
      const client = await this.v.client(name, { log: 'silent' });
      this.arrivals++;
      this.allowances.set(client, { welcomed: false, asked: 0, sendingBadInput: false });
      if (how === 'closes') client.close(4001, 'changed my mind');
      else if (how === 'drops') client.terminate();
      else client.sendJson({ type: 'quit' });
      const { frames, close } = await untilClosed(client, `${name}'s connection to close`, {
        timeoutCode: Codes.PRESENCE_DRIFT,
        timeoutHint: `${DRIFT_HINT} A quit that arrives during the await finds no 'message' listener, and is lost.`,
      });
      if (how === 'quits') this.checkEarlyQuit(client, close);
      const online = this.members.length + 1;
      const first = this.members[0]!;
      // The id comes from the join the others get: the newcomer may have left before its welcome came.
      const join = await this.read(first.client, { type: 'join', about: { client, id: '', name }, online });
      const id = this.newId(name, join.id);
      await this.checkCount(first.client, join, { type: 'join', about: { client, id, name }, online });
      if (frames[0]) checkFirstFrame(this.v, client, frames[0], id);
      const newcomer = { client, id, name };
      for (const other of this.members.slice(1)) await this.expectJoin(other.client, newcomer, online);
      this.members.push({ client, id });
      await this.departed(client, { code: how === 'closes' ? 4001 : how === 'drops' ? 1006 : 1000, way: how === 'quits' ? 'quit' : how === 'drops' ? 'dropped' : 'closed' });
    } finally {
      this.context = 'plain';
    }
  }

  private checkEarlyQuit(client: TestClient, closed: { clean: boolean; code: number }): void {
    if (closed.clean && closed.code === 1000) return;
    throw this.v.fail({
      code: closed.clean ? Codes.QUIT_WRONG_CODE : Codes.QUIT_TERMINATED,
      expected: `a close frame 1000 (normal closure) for ${client.name}, who sent quit the moment it was connected`,
      actual: closed.clean ? `a close frame ${describeCloseCode(closed.code)}` : 'the connection dropped without a close frame (1006)',
      hint: 'On {"type":"quit"}, call socket.close(1000, "goodbye"), however soon it comes.',
    });
  }

  private async expectJoin(client: TestClient, newcomer: Member & { name: string }, online: number): Promise<void> {
    const want: Want = { type: 'join', about: newcomer, online };
    const join = await this.read(client, want);
    this.checkId(join, newcomer.id, `the join notice about ${newcomer.name}`);
    await this.checkCount(client, join, want);
  }

  private allowanceOf(client: TestClient): Allowance {
    let allowance = this.allowances.get(client);
    if (!allowance) this.allowances.set(client, (allowance = { welcomed: true, asked: 0, sendingBadInput: false }));
    return allowance;
  }

  /**
   * Reads the next notice on `client` of the wanted type: error replies to bad input are passed over,
   * anything else that arrives first is named for the slip it shows.
   */
  private async read(client: TestClient, want: Want, way?: Way): Promise<Notice> {
    const allowance = this.allowanceOf(client);
    const shape = shapeOf(want);
    for (;;) {
      let frame: Frame;
      try {
        frame = await client.nextFrame(shape, {
          timeoutCode: NOTHING_CAME,
          hint: 'Keep each connection open until its client closes it or sends quit.',
        });
      } catch (error) {
        if (error instanceof VerifyFailure && error.code === NOTHING_CAME) throw await this.nothingCame(client, want, error, way);
        throw error;
      }
      const notice = this.parse(client, frame, shape);
      if (notice.type === 'error' && allowance.sendingBadInput) {
        this.checkErrorReply(client, notice);
        continue;
      }
      const slip = this.judge(client, notice, want, shape);
      if (slip) throw slip;
      if (notice.type === 'presence') allowance.asked--;
      return notice;
    }
  }

  /** A frame as a notice, or the failure that it is not one (R2). */
  private parse(client: TestClient, frame: Frame, shape: string): Notice {
    const fail = (why: string) =>
      this.context === 'bad input'
        ? this.badInputShown(client, shape, `${describeFrame(frame)}, ${why}`)
        : this.v.fail({
        code: Codes.UNEXPECTED_MESSAGE,
        expected: shape,
        actual: `${describeFrame(frame)}, ${why}`,
        hint: 'Send every message as socket.send(JSON.stringify({ type: …, … })): one object per message, as text. A Buffer is sent as a binary frame.',
      });
    if (frame.kind !== 'text') throw fail(`but ${client.name} expects JSON in a text frame`);
    let value: unknown;
    try {
      value = JSON.parse(frame.data.toString('utf8'));
    } catch {
      throw fail('which is not valid JSON');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail('which is not a JSON object');
    const notice = value as Notice;
    if (typeof notice.type !== 'string') throw fail('which has no "type"');
    if (!KNOWN_TYPES.has(notice.type)) throw fail(`a type this lesson does not have`);
    return notice;
  }

  /** Error replies must have the lesson's shape: `{"type":"error","message":"…"}`. */
  private checkErrorReply(client: TestClient, notice: Notice): void {
    if (typeof notice.message === 'string' && notice.message !== '') return;
    throw this.v.fail({
      code: Codes.BAD_INPUT_NOT_IGNORED,
      expected: `nothing, or {"type":"error","message":"…"} for ${client.name}, with a message saying what was wrong`,
      actual: JSON.stringify(notice),
      hint: 'An error reply says what was wrong in its "message": {"type":"error","message":"messages must be JSON"}.',
    });
  }

  /** Undefined when `notice` is what `want` asks for (its id and count still to check); else the slip it shows. */
  private judge(client: TestClient, notice: Notice, want: Want, shape: string): VerifyFailure | undefined {
    const allowance = this.allowanceOf(client);
    const about = want.type === 'join' || want.type === 'leave' ? want.about : undefined;
    const actual = JSON.stringify(notice);
    // A leave about someone whose leave came already is a repeat, whatever was expected.
    if (notice.type === 'leave' && notice.id !== about?.id && this.left.has(notice.id as Id)) {
      return this.v.fail({
        code: Codes.LEAVE_TWICE,
        expected: shape,
        actual: `${actual}, a second leave notice about ${this.idsGiven.get(notice.id as Id)}, who had left before`,
        hint: TWICE_HINT,
      });
    }
    // Before its welcome a client knows nobody, so any join it gets first is about itself.
    if (notice.type === 'join' && (!allowance.welcomed || notice.id === allowance.id)) {
      return this.v.fail({
        code: Codes.JOIN_TO_NEWCOMER,
        expected: shape,
        actual: `${actual}, a join notice about ${client.name} itself`,
        hint: 'The newcomer gets the welcome; the join notice is for everyone else. When you loop over your clients, skip the socket that just connected.',
      });
    }
    if (this.context === 'bad input' && (notice.type !== want.type || (about && notice.id !== about.id))) return this.badInputShown(client, shape, actual);
    if (notice.type === 'join' && about?.id !== '' && notice.id !== about?.id && this.idsGiven.has(notice.id as Id)) {
      return this.v.fail({
        code: Codes.JOIN_TWICE,
        expected: shape,
        actual: `${actual}, a second join notice about ${this.idsGiven.get(notice.id as Id)}`,
        hint: "Send the join once, in 'connection', right after the welcome: every other client hears of each newcomer once.",
      });
    }
    if (notice.type === want.type) return undefined;
    if (notice.type === 'welcome') {
      return this.v.fail({
        code: Codes.WELCOME_TO_OTHERS,
        expected: shape,
        actual: `${actual}, a welcome for ${client.name}, who was welcomed when it arrived`,
        hint: 'The welcome is for the newcomer alone: send it on the socket that just connected, and a join to the others.',
      });
    }
    if (!allowance.welcomed) {
      return this.v.fail({ code: Codes.NO_WELCOME, expected: `${shape} first`, actual, hint: WELCOME_HINT });
    }
    if (notice.type === 'presence' && allowance.asked === 0) {
      return this.v.fail({
        code: Codes.PRESENCE_TO_OTHERS,
        expected: shape,
        actual: `${actual}, though ${client.name} never asked who`,
        hint: 'A presence message answers {"type":"who"}: send it on the socket that asked, not to everyone.',
      });
    }
    const code = want.type === 'presence' ? Codes.NO_PRESENCE : want.type === 'join' ? Codes.NO_JOIN : want.type === 'leave' ? Codes.NO_LEAVE : Codes.UNEXPECTED_MESSAGE;
    return this.v.fail({
      code,
      expected: shape,
      actual,
      hint: want.type === 'presence' ? PRESENCE_HINT : 'Send each notice to exactly the clients that should get it, in the shape the lesson gives.',
    });
  }

  /** Something arrived while a client was sending bad input: the sender got more than errors, or others heard of it. */
  private badInputShown(client: TestClient, shape: string, actual: string): VerifyFailure {
    const sender = this.badInputFrom!;
    if (client === sender) {
      return this.v.fail({
        code: Codes.BAD_INPUT_NOT_IGNORED,
        expected: `${shape}, after nothing or error replies`,
        actual: `${actual}, in answer to something the protocol does not have`,
        hint: `Only {"type":"who"} and {"type":"quit"} mean something, exactly so spelled: ${BAD_INPUT_HINT}`,
      });
    }
    return this.v.fail({
      code: Codes.BAD_INPUT_REACHED_OTHERS,
      expected: `${shape}: ${sender.name}'s odd messages are nobody else's business`,
      actual,
      hint: `Never pass on what a client sent: a client can claim to be the server ({"type":"leave",…}). ${BAD_INPUT_HINT}`,
    });
  }

  /** Nothing came in time: for a leave, ask who to tell a client still counted from a missing notice. */
  private async nothingCame(client: TestClient, want: Want, waited: VerifyFailure, way?: Way): Promise<VerifyFailure> {
    if (this.context === 'early') {
      const diagnosis = want.type === 'leave' ? await this.stillCounted(client) : undefined;
      return this.v.fail({
        code: Codes.PRESENCE_DRIFT,
        expected: waited.expected,
        actual: `${waited.actual}${diagnosis === undefined ? '' : `; asked who, it says "online":${diagnosis}`}`,
        hint: DRIFT_HINT,
      });
    }
    const timeout = (code: string, hint: string) => this.v.fail({ code, expected: waited.expected, actual: waited.actual, hint });
    if (this.context === 'bad input' && want.type === 'presence') {
      return timeout(Codes.BAD_INPUT_NOT_IGNORED, `After something it cannot use, a server goes on as before: ${BAD_INPUT_HINT}`);
    }
    switch (want.type) {
      case 'welcome':
        return timeout(Codes.NO_WELCOME, WELCOME_HINT);
      case 'join':
        return timeout(Codes.NO_JOIN, JOIN_HINT);
      case 'presence':
        return timeout(Codes.NO_PRESENCE, PRESENCE_HINT);
      case 'leave': {
        const online = await this.stillCounted(client);
        if (typeof online === 'number' && online > want.online) {
          return this.v.fail({
            code: Codes.PRESENCE_LEAK,
            expected: `"online":${want.online} after ${want.about.name} left (${this.names()})`,
            actual: `no leave notice, and who says "online":${online}: ${want.about.name} is still counted`,
            hint: LEAK_HINT,
          });
        }
        return way === 'dropped'
          ? timeout(
              Codes.NO_LEAVE_ON_DROP,
              "A dropped connection sends no close frame, yet 'close' still fires on the server, with code 1006. Announce the leave there whatever the code: a client that vanished has left too.",
            )
          : timeout(Codes.NO_LEAVE, LEAVE_HINT);
      }
    }
  }

  /** Asks who on `client` and returns the count it says (passing over a repeated leave), or undefined. */
  private async stillCounted(client: TestClient): Promise<unknown> {
    this.allowanceOf(client).asked++;
    client.sendJson({ type: 'who' });
    for (;;) {
      const frame = await client.nextFrame('the answer to who', { timeoutCode: Codes.NO_PRESENCE, timeoutHint: PRESENCE_HINT });
      const notice = this.parse(client, frame, '{"type":"presence","online":…}');
      if (notice.type === 'presence') {
        this.allowanceOf(client).asked--;
        return notice.online;
      }
    }
  }

  /**
   * A leave counted one client too many: the leaver was still in the count. Asking who tells why: a
   * second leave on the way is a repeat; a count that stays too high, a leak; one that is right by now,
   * a leave sent before the socket was removed.
   */
  private async countedInOwnLeave(client: TestClient, want: Want & { type: 'leave' }, actual: string, expected: string): Promise<VerifyFailure> {
    const allowance = this.allowanceOf(client);
    let online: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      // The server may see the leaver's socket close a moment after the verifier does: give it that moment.
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      allowance.asked++;
      client.sendJson({ type: 'who' });
      for (;;) {
        const frame = await client.nextFrame('the answer to who', { timeoutCode: Codes.NO_PRESENCE, timeoutHint: PRESENCE_HINT });
        const notice = this.parse(client, frame, '{"type":"presence","online":…}');
        if (notice.type === 'leave' && notice.id === want.about.id) {
          return this.v.fail({
            code: Codes.LEAVE_TWICE,
            expected: `one leave notice about ${want.about.name}`,
            actual: `two: ${actual}, then ${JSON.stringify(notice)}`,
            hint: TWICE_HINT,
          });
        }
        if (notice.type !== 'presence') continue;
        allowance.asked--;
        online = notice.online;
        break;
      }
      if (online === want.online) {
        return this.v.fail({
          code: Codes.WRONG_COUNT,
          expected,
          actual: `${actual}: ${want.about.name} was still counted in its own leave`,
          hint: "In the 'close' handler, remove the socket first, then count and announce: the one that left is no longer online.",
        });
      }
    }
    return this.v.fail({
      code: Codes.PRESENCE_LEAK,
      expected,
      actual: `${actual}, and who still says "online":${JSON.stringify(online)}: ${want.about.name} is still counted`,
      hint: LEAK_HINT,
    });
  }

  /** Checks a notice's count, and names the slip when it is wrong. */
  private async checkCount(client: TestClient, notice: Notice, want: Want): Promise<void> {
    if (notice.online === want.online) return;
    const got = notice.online;
    const actual = `"online":${JSON.stringify(got)} in ${client.name}'s ${notice.type} notice`;
    const expected = `"online":${want.online} (${this.names(want.type === 'welcome' ? client : undefined)})${this.churned ? ` ${this.churned}` : ''}`;
    if (this.context === 'early') {
      throw this.v.fail({ code: Codes.PRESENCE_DRIFT, expected: `${expected}, counting the client that left at once exactly once`, actual, hint: DRIFT_HINT });
    }
    if (this.context === 'bad input') {
      throw this.v.fail({
        code: Codes.BAD_INPUT_NOT_IGNORED,
        expected: `${expected}: ${this.badInputFrom!.name}'s odd messages change nothing`,
        actual,
        hint: BAD_INPUT_HINT,
      });
    }
    if (want.type === 'leave' && typeof got === 'number' && got === want.online + 1) throw await this.countedInOwnLeave(client, want, actual, expected);
    if (typeof got === 'number' && got > want.online && this.departures > 0) {
      throw this.v.fail({ code: Codes.PRESENCE_LEAK, expected, actual, hint: LEAK_HINT });
    }
    throw this.v.fail({ code: Codes.WRONG_COUNT, expected, actual, hint: COUNT_HINT });
  }

  /** Records a newcomer's id, which must be a number or a string no one else was given. */
  newId(name: string, id: unknown): Id {
    if ((typeof id !== 'string' && typeof id !== 'number') || id === '') {
      throw this.v.fail({
        code: Codes.WRONG_ID,
        expected: `an "id" (a number or a non-empty string) in the notice about ${name}`,
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

  private checkId(notice: Notice, id: Id, what: string): void {
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
  names(newcomer?: TestClient): string {
    const names = this.members.map((m) => m.client.name);
    if (newcomer && !names.includes(newcomer.name)) names.push(newcomer.name);
    if (names.length === 0) return 'nobody is connected';
    const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
    return `${list} ${names.length === 1 ? 'is' : 'are'} connected`;
  }
}

const PRESENCE_HINT = 'Answer {"type":"who"} with {"type":"presence","online":N}, on the socket that asked, whatever other fields the message has.';

/** Newcomers' names, in the order they arrive. */
const NAMES = ['bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'nick', 'olga', 'pat', 'quinn', 'rosa', 'sam', 'tess', 'uri', 'vera', 'walt', 'xena', 'yuri'];

/** The types a server of this lesson sends. */
const KNOWN_TYPES = new Set(['welcome', 'join', 'presence', 'leave', 'error']);

/** A failure code used inside this file only, while waiting for a notice that may never come. */
const NOTHING_CAME = 'LIFECYCLE_INTERNAL_NOTHING_CAME';

/** `{"type":"join","id":2,"online":2}`, as the expected half of a failure. */
function shapeOf(want: Want): string {
  const id = want.type === 'join' || want.type === 'leave' ? `,"id":${want.about.id === '' ? '<a new id>' : JSON.stringify(want.about.id)}` : want.type === 'welcome' ? ',"id":<a new id>' : '';
  const code = want.type === 'leave' && want.code !== undefined ? `,"code":${want.code}` : '';
  return `{"type":"${want.type}"${id},"online":${want.online}${code}}`;
}

// ─── What a client may send that the protocol does not have ───────────────────────────────────────

/** Groups of messages no server may act on, each followed by a who. */
const BAD_INPUT: Array<{ what: string; inputs: Array<string | Buffer> }> = [
  { what: 'text that is not JSON', inputs: ['hello', '', '   ', '{"type":"who"', 'quit'] },
  { what: 'JSON that is not an object', inputs: ['null', '42', 'true', '"who"', '[]', '[{"type":"who"}]'] },
  {
    what: 'objects with no type, or one the lesson does not have',
    inputs: ['{}', '{"type":null}', '{"type":42}', '{"type":["who"]}', '{"type":""}', '{"type":"WHO"}', '{"type":"Quit"}', '{"type":{"toString":null}}', '{"type":"chat","message":"café 🎉 漢字"}'],
  },
  {
    what: "the server's own notices, as if it had sent them",
    inputs: ['{"type":"welcome","id":1,"online":1}', '{"type":"join","id":99,"online":99}', '{"type":"leave","id":1,"online":0,"code":1000}', '{"type":"presence","online":0}'],
  },
  {
    what: 'a message of 80 KiB and binary frames',
    inputs: [JSON.stringify({ type: 'note', text: 'ü'.repeat(40 * 1024) }), Buffer.from([0x00, 0xff, 0x10]), Buffer.from('hello')],
  },
];

// ─── Closing ──────────────────────────────────────────────────────────────────────────────────────

/** After a quit, the server must close the connection properly: a close frame, 1000, and a reason. */
async function expectClosedForQuit(v: Verification, client: TestClient): Promise<void> {
  const wanted = 'a close frame 1000 (normal closure) with a reason';
  const closed = await client.expectClose(wanted, {
    timeoutCode: Codes.QUIT_IGNORED,
    timeoutHint: 'On {"type":"quit"}, call socket.close(1000, "a reason"): the server starts the closing handshake. Extra fields and spaces around the JSON change nothing.',
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

/** A frame ws on the server rejects: it closes the socket and emits 'error' on it. */
interface BrokenFrame {
  send(client: TestClient): void;
}

/** A text frame whose bytes are not UTF-8: ws closes with 1007. */
const INVALID_UTF8: BrokenFrame = {
  send(client) {
    client.writeRaw(maskedFrame(0x81, Buffer.from([0xc3, 0x28])), 'text <c3 28> (these bytes are not valid UTF-8)');
  },
};

/** A frame without a mask, which a client must always send: ws closes with 1002. */
const UNMASKED: BrokenFrame = {
  send(client) {
    client.writeRaw(Buffer.from([0x81, 0x02, 0x68, 0x69]), 'text "hi" without a mask (a client must mask every frame: a protocol error)');
  },
};

/** A frame with a reserved bit set, with no extension agreed that would give it a meaning: ws closes with 1002. */
const RESERVED_BIT: BrokenFrame = {
  send(client) {
    client.writeRaw(maskedFrame(0xc1, Buffer.from('hi')), 'text "hi" with the reserved bit RSV1 set (no extension was agreed: a protocol error)');
  },
};

/** A final frame of the given first byte, masked as a client's must be. */
function maskedFrame(firstByte: number, payload: Buffer): Buffer {
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([firstByte, 0x80 | payload.length]), mask, masked]);
}


/**
 * Turns a crash of the learner's program during `step` into this lesson's own failure. A crash shows
 * either directly, or first as its symptoms (a connection dropped, a reply that never came).
 */
async function crashMeans(v: Verification, code: string, when: string, step: Promise<void>): Promise<void> {
  await v.blameDeath(() => step, () => ({ code, when, hint: code === Codes.CRASHED_ON_ERROR ? ERROR_HINT : BAD_INPUT_HINT }));
}

// ─── What a connection leaves behind ──────────────────────────────────────────────────────────────

type Resources = Awaited<ReturnType<Verification['servers'][number]['program']['resources']>>;

/** How many MaxListenersExceededWarning the program has raised. */
function listenerWarnings(report: Resources): number {
  return report?.warnings.filter((w) => w === 'MaxListenersExceededWarning').length ?? 0;
}

/**
 * Node warns once an emitter holds more than 10 listeners for one event. With a few clients at most
 * connected at once, only listeners that outlived their connections can add up to that.
 */
function checkListeners(v: Verification, before: Resources, now: Resources, connections: number): void {
  if (!before || !now) return v.note('your server did not answer the question of what it holds: its listeners are not judged');
  if (listenerWarnings(now) <= listenerWarnings(before)) return;
  throw v.fail({
    code: Codes.LISTENER_LEAK,
    expected: `no listener left behind by the ${connections - 1} connections that have ended, a few at most being open at once`,
    actual: 'a MaxListenersExceededWarning: more than 10 listeners piled up on one emitter (printed above by your server)',
    hint: "A listener you add in 'connection' to something that outlives the socket (the server, process, an emitter of your own) stays there after the socket has gone. Remove it in the socket's 'close' handler with off(), or listen on the socket itself.",
  });
}

/** Timers that outlived their connections: many more than at the start, with only two clients left. */
function checkTimers(v: Verification, before: Resources, now: Resources, connections: number): void {
  if (!before || !now) return v.note('your server did not answer the question of what it holds: its timers are not judged');
  const [then, timers] = [liveTimers(before), liveTimers(now)];
  const more = timers - then;
  v.note(`your server holds ${plural(timers, 'timer')} now, ${plural(then, 'timer')} at the start`);
  if (more < TIMER_LEAK_MIN) return;
  throw v.fail({
    code: Codes.TIMER_LEAK,
    expected: `about as many timers as at the start (${then}): ${connections} connections have ended, 2 are left`,
    actual: `${timers} timers still running, ${more} more than at the start`,
    hint: "A timer you start for a connection (setTimeout, setInterval) keeps running, and keeps its socket in memory, until it is cleared. Clear it in the socket's 'close' handler.",
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// ─── The crowd ────────────────────────────────────────────────────────────────────────────────────

/** The ways a client of the crowd leaves, in turn: every fifth client leaves the same way. */
const WAYS = [
  { closes: 'close', early: false },
  { closes: 'close', early: true },
  { closes: 'quit', early: false },
  { closes: 'drop', early: false },
  { closes: 'drop', early: true },
] as const;

/** The close code the server sees for each way of leaving. */
const CODE_OF = { close: 1000, quit: 1000, drop: 1006 } as const;

/** A client of the crowd, once gone: the id its welcome gave it (when it read one) and how it left. */
interface Departed {
  name: string;
  id?: Id;
  code: number;
}

/**
 * Connects `count` quiet clients, BATCH at a time, and makes each leave: some close, some quit, some
 * drop the connection; some wait for their welcome first, some leave the moment they are connected.
 * The first frame each one gets must be its welcome, with an id nobody else has. Resolves once every
 * one of them has seen its connection end.
 */
async function comeAndGo(v: Verification, room: Room, count: number): Promise<Departed[]> {
  const gone: Departed[] = [];
  for (let first = 0; first < count; first += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, count - first) }, (_, i) => first + i);
    await Promise.all(
      batch.map(async (n) => {
        const way = WAYS[n % WAYS.length]!;
        const client = await v.client(`client-${n + 1}`, { log: 'silent' });
        let id: Id | undefined;
        if (!way.early) id = crowdWelcome(v, room, client, await client.nextFrame('its welcome', { timeoutCode: Codes.NO_WELCOME, timeoutHint: WELCOME_HINT }));
        if (way.closes === 'close') client.close(1000, 'done');
        else if (way.closes === 'quit') client.sendJson({ type: 'quit' });
        else client.terminate();
        const { frames } = await untilClosed(client, `${client.name}'s connection to close`, {
          timeoutCode: Codes.QUIT_IGNORED,
          timeoutHint: 'On {"type":"quit"}, call socket.close(1000, "a reason").',
        });
        // One that left at once may still have got its welcome: it must be the first thing it got.
        if (way.early && frames[0]) id = crowdWelcome(v, room, client, frames[0]);
        gone.push({ name: client.name, id, code: CODE_OF[way.closes] });
      }),
    );
  }
  return gone;
}

/** Reads everything up to the close of a silent client: the frames that came first, and how it closed. */
async function untilClosed(client: TestClient, awaiting: string, options: ExpectOptions): Promise<{ frames: Frame[]; close: CloseEvent }> {
  const frames: Frame[] = [];
  for (;;) {
    const item = await client.next(awaiting, options);
    if (item.type === 'close') return { frames, close: item.close };
    frames.push(item.frame);
  }
}

/** The first frame a client that left at once got, if any, must be its welcome, with the id the others heard. */
function checkFirstFrame(v: Verification, client: TestClient, frame: Frame, id: Id): void {
  const welcomeId = crowdWelcomeId(v, client, frame);
  if (welcomeId === id) return;
  throw v.fail({
    code: Codes.WRONG_ID,
    expected: `"id":${JSON.stringify(id)} in ${client.name}'s welcome, the id the others heard of in its join`,
    actual: `"id":${JSON.stringify(welcomeId)}`,
    hint: 'Use the id the client got in its welcome for every notice about it: keep it with the socket.',
  });
}

/** A crowd client's first frame: its welcome, with a new id (the count is checked once the crowd has gone). */
function crowdWelcome(v: Verification, room: Room, client: TestClient, frame: Frame): Id {
  return room.newId(client.name, crowdWelcomeId(v, client, frame));
}

/** The id in a welcome that must be the first frame a client gets. */
function crowdWelcomeId(v: Verification, client: TestClient, frame: Frame): unknown {
  const fail = (code: string, actual: string, hint: string) => v.fail({ code, expected: `${client.name}'s welcome, first thing`, actual, hint });
  let notice: Notice | undefined;
  try {
    notice = JSON.parse(frame.data.toString('utf8')) as Notice;
  } catch {
    // Said below.
  }
  if (frame.kind !== 'text' || notice === null || typeof notice !== 'object' || typeof notice.type !== 'string') {
    throw fail(Codes.UNEXPECTED_MESSAGE, describeFrame(frame), 'Send every message as socket.send(JSON.stringify({ type: …, … })).');
  }
  if (notice.type === 'join') throw fail(Codes.JOIN_TO_NEWCOMER, `${JSON.stringify(notice)}, a join notice before its welcome`, JOIN_HINT);
  if (notice.type !== 'welcome') throw fail(Codes.NO_WELCOME, JSON.stringify(notice), WELCOME_HINT);
  return notice.id;
}

/** "50 clients connect and leave, 10 at a time: 20 close the connection (10 before their welcome), …". */
function describeComingAndGoing(count: number): string {
  const ways = Array.from({ length: count }, (_, n) => WAYS[n % WAYS.length]!);
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
 * Reads the watcher's notices until it has seen a leave for every client of the crowd, or until nothing
 * more comes for a step's time. Each must be a join with a new id or a leave about one that joined, once,
 * with the code of the way it left. The server announces each leave once it has noticed the close, so
 * this is how the verifier knows the server has caught up, without guessing a delay.
 */
async function watchCrowd(v: Verification, room: Room, watcher: TestClient, crowd: Departed[]): Promise<{ joins: number; leaves: number }> {
  const codeOf = new Map(crowd.filter((c) => c.id !== undefined).map((c) => [c.id!, c]));
  const joined = new Set<Id>();
  const left = new Set<Id>();
  while (left.size < crowd.length) {
    let frame: Frame;
    try {
      frame = await watcher.nextFrame('the next notice', { timeoutMs: v.timeouts.stepMs, timeoutCode: NOTHING_CAME });
    } catch (error) {
      if (error instanceof VerifyFailure && error.code === NOTHING_CAME) break;
      throw error;
    }
    const shown = describeFrame(frame);
    let notice: Notice | undefined;
    try {
      notice = JSON.parse(frame.data.toString('utf8')) as Notice;
    } catch {
      // Said below.
    }
    const fail = (code: string, expected: string, hint: string) => v.fail({ code, expected, actual: shown, hint });
    if (frame.kind !== 'text' || notice === null || typeof notice !== 'object' || typeof notice.type !== 'string') {
      throw fail(Codes.UNEXPECTED_MESSAGE, 'a join or a leave notice, as JSON in a text frame', 'Send every message as socket.send(JSON.stringify({ type: …, … })).');
    }
    const id = notice.id as Id;
    if (notice.type === 'join') {
      if (joined.has(id) || (room.idsGiven.has(id) && !codeOf.has(id))) {
        throw fail(Codes.WRONG_ID, 'a join notice with an id nobody was given before', 'An id must belong to one connection only, even after it left: count up from a counter.');
      }
      if (!codeOf.has(id)) room.newId('a client of the crowd', id);
      joined.add(id);
      continue;
    }
    if (notice.type === 'leave') {
      if (left.has(id) || (room.left.has(id) && !joined.has(id))) throw fail(Codes.LEAVE_TWICE, 'one leave notice about each client that left', TWICE_HINT);
      if (!joined.has(id)) throw fail(Codes.WRONG_ID, 'a leave notice about a client of the crowd that joined', 'Use the id the client got in its welcome for every notice about it.');
      left.add(id);
      const departed = codeOf.get(id);
      if (departed && notice.code !== departed.code) {
        throw v.fail({
          code: Codes.WRONG_LEAVE_CODE,
          expected: `"code":${departed.code} in the leave notice about ${departed.name}, whose connection ended with ${describeCloseCode(departed.code)}`,
          actual: shown,
          hint: "The 'close' handler receives (code, reason): put that code in the leave notice.",
        });
      }
      continue;
    }
    if (notice.type === 'presence') throw fail(Codes.PRESENCE_TO_OTHERS, 'a join or a leave notice: the watcher never asked who', PRESENCE_HINT);
    if (notice.type === 'welcome') throw fail(Codes.WELCOME_TO_OTHERS, 'a join or a leave notice: the watcher was welcomed when it arrived', WELCOME_HINT);
    throw fail(Codes.UNEXPECTED_MESSAGE, 'a join or a leave notice', 'Send each notice to exactly the clients that should get it, in the shape the lesson gives.');
  }
  for (const id of left) room.left.add(id);
  return { joins: joined.size, leaves: left.size };
}
