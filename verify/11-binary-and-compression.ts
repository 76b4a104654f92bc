/**
 * Lesson 11 — binary frames and compression. The story: alice, who offers permessage-deflate as a
 * browser does, moves id 7 and gets the 15-byte state back; she moves ids at both ends of uint32 to
 * coordinates float32 rounds (and -0), whose bytes differ end to end, so that a snapshot shows a server
 * that reads and writes the wrong way alike; bob, who offers nothing, moves in the same
 * world, and each hears only its own states; both ask for the snapshot, in order of id; text frames are
 * closed with 1003 and every kind of broken binary with 1007, one client at a time, while alice and bob
 * carry on and the world keeps nothing of it; then the wire: alice's 101 names permessage-deflate,
 * her small messages came uncompressed, snapshots just under, just over and far over 1024 bytes arrive
 * with RSV1 exactly when they reach it, and bob gets the same world whole, uncompressed; and last, the world
 * grows past 255 ids, which `players` counts in both its bytes.
 */
import { WireMessages, type WireMessage } from './harness/compression-tap.ts';
import {
  defineRules,
  describeCloseCode,
  describeFrame,
  formatBytes,
  HarnessCodes,
  VerifyFailure,
  type Frame,
  type LessonVerifier,
  type PrepareRun,
  type TestClient,
  type Verification,
} from './harness/index.ts';
import { asObject, delay, parseJson } from './harness/json.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  READ_LITTLE_ENDIAN: 'BINARY_READ_LITTLE_ENDIAN',
  WRITE_LITTLE_ENDIAN: 'BINARY_WRITE_LITTLE_ENDIAN',
  MOVE_REFUSED: 'BINARY_MOVE_REFUSED',
  MOVE_MISREAD: 'BINARY_MOVE_MISREAD',
  ID_SIGNED: 'BINARY_ID_SIGNED',
  WORLD_NOT_SHARED: 'BINARY_WORLD_NOT_SHARED',
  POSITION_NOT_LATEST: 'BINARY_POSITION_NOT_LATEST',
  STATE_NO_REPLY: 'BINARY_STATE_NO_REPLY',
  STATE_NOT_BINARY: 'BINARY_STATE_NOT_BINARY',
  STATE_WRONG_LAYOUT: 'BINARY_STATE_WRONG_LAYOUT',
  STATE_WRONG_COUNT: 'BINARY_STATE_WRONG_COUNT',
  STATE_TO_OTHERS: 'BINARY_STATE_TO_OTHERS',
  SNAPSHOT_NO_REPLY: 'BINARY_SNAPSHOT_NO_REPLY',
  SNAPSHOT_NOT_JSON: 'BINARY_SNAPSHOT_NOT_JSON',
  SNAPSHOT_WRONG_SHAPE: 'BINARY_SNAPSHOT_WRONG_SHAPE',
  SNAPSHOT_WRONG_PLAYERS: 'BINARY_SNAPSHOT_WRONG_PLAYERS',
  SNAPSHOT_PRECISION_LOST: 'BINARY_SNAPSHOT_PRECISION_LOST',
  SNAPSHOT_NOT_SORTED: 'BINARY_SNAPSHOT_NOT_SORTED',
  TEXT_NOT_CLOSED: 'BINARY_TEXT_NOT_CLOSED',
  TEXT_WRONG_CODE: 'BINARY_TEXT_WRONG_CLOSE_CODE',
  TEXT_CRASHED: 'BINARY_CRASHED_ON_TEXT',
  MALFORMED_NOT_CLOSED: 'BINARY_MALFORMED_NOT_CLOSED',
  MALFORMED_WRONG_CODE: 'BINARY_MALFORMED_WRONG_CLOSE_CODE',
  MALFORMED_KEPT: 'BINARY_MALFORMED_KEPT',
  MALFORMED_CRASHED: 'BINARY_CRASHED_ON_MALFORMED',
  OTHERS_CLOSED: 'BINARY_OTHERS_CLOSED',
  NOT_NEGOTIATED: 'DEFLATE_NOT_NEGOTIATED',
  UNASKED: 'DEFLATE_NOT_ASKED_FOR',
  SMALL_COMPRESSED: 'DEFLATE_SMALL_COMPRESSED',
  LARGE_NOT_COMPRESSED: 'DEFLATE_LARGE_NOT_COMPRESSED',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: { text: 'Read and write every number big-endian: the most significant byte first.', codes: [Codes.READ_LITTLE_ENDIAN, Codes.WRITE_LITTLE_ENDIAN] },
  R3: {
    text: "Read each move's `id` (unsigned), `x` and `y`, and remember the latest position of every `id`: one world, shared by all clients.",
    codes: [Codes.MOVE_REFUSED, Codes.MOVE_MISREAD, Codes.ID_SIGNED, Codes.WORLD_NOT_SHARED, Codes.POSITION_NOT_LATEST],
  },
  R4: {
    text: "Answer each move, to its sender alone, with a state: binary, exactly 15 bytes, the move's `id`, `x` and `y`, and `players`, the number of ids the world knows.",
    codes: [Codes.STATE_NO_REPLY, Codes.STATE_NOT_BINARY, Codes.STATE_WRONG_LAYOUT, Codes.STATE_WRONG_COUNT, Codes.STATE_TO_OTHERS],
  },
  R5: {
    text: 'Answer a snapshot request with a JSON text message, `{"type":"snapshot","players":[…]}`: every known id with its latest `x` and `y`, in ascending order of id.',
    codes: [Codes.SNAPSHOT_NO_REPLY, Codes.SNAPSHOT_NOT_JSON, Codes.SNAPSHOT_WRONG_SHAPE, Codes.SNAPSHOT_WRONG_PLAYERS, Codes.SNAPSHOT_PRECISION_LOST, Codes.SNAPSHOT_NOT_SORTED],
  },
  R6: { text: 'Close a connection that sends a text frame, with `1003`: this protocol is binary.', codes: [Codes.TEXT_NOT_CLOSED, Codes.TEXT_WRONG_CODE] },
  R7: {
    text: 'Close a connection that sends a binary message the protocol does not define, with `1007`, and keep nothing of it.',
    codes: [Codes.MALFORMED_NOT_CLOSED, Codes.MALFORMED_WRONG_CODE, Codes.MALFORMED_KEPT],
  },
  // A crash on a bad frame ends the game for every player: R8's, whatever threw.
  R8: {
    text: "A bad frame closes its sender's connection alone: every other client goes on being served.",
    codes: [Codes.OTHERS_CLOSED, Codes.TEXT_CRASHED, Codes.MALFORMED_CRASHED],
  },
  R9: {
    text: "Turn on permessage-deflate: a client that offers it finds `permessage-deflate` in the 101's `Sec-WebSocket-Extensions`; one that does not is served uncompressed.",
    codes: [Codes.NOT_NEGOTIATED, Codes.UNASKED],
  },
  R10: {
    text: 'Compress every message of 1024 bytes or more, and none smaller.',
    codes: [Codes.SMALL_COMPRESSED, Codes.LARGE_NOT_COMPRESSED],
  },
});

/** The threshold problem.md names. */
const THRESHOLD = 1024;
const MOVE = 0x01;
const STATE = 0x02;
const SNAPSHOT = 0x03;
const UNSUPPORTED_DATA = 1003;
const INVALID_PAYLOAD = 1007;

/** A move as the client means it; the server can only ever see x and y as float32 makes them. */
interface Move {
  id: number;
  x: number;
  y: number;
}

/** How many ids the world holds at the end: more than 255, so that `players` needs its high byte. */
const PAST_ONE_BYTE = 300;

export default (async (v) => {
  await v.start();
  const world = new World();
  // erin and dave only listen, until each sends one bad frame: erin from the first place in the
  // server's set of clients, dave from the middle; the other bad frames come from the last.
  const erin = await v.client('erin');
  // alice offers permessage-deflate, as every browser does; bob offers nothing.
  const alice = await Player.connect(v, 'alice', { offerDeflate: true });
  const dave = await v.client('dave');
  const bob = await Player.connect(v, 'bob', { offerDeflate: false });
  v.note('erin and dave only listen, until each sends a bad frame; alice and bob play');

  await v.step('reads a move and answers with its state, in binary', ['R2', 'R3', 'R4'], async () => {
    await alice.move(world, { id: 7, x: 1.5, y: -2.25 });
  });

  await v.step('reads uint32 ids and float32 coordinates, big-endian, whatever their values', ['R2', 'R3', 'R4'], async () => {
    // Both ends of uint32, one past int32, and bytes 01 02 03 04, which read backwards as 04 03 02 01. A
    // server that reads and writes the same wrong way gives these states back unchanged: its snapshot shows it.
    await alice.move(world, { id: 0, x: -1024.75, y: 0.1 });
    await alice.move(world, { id: 0xffffffff, x: 123456.789, y: -0.000123 });
    await alice.move(world, { id: 0x80000000, x: 16777217, y: -3.4e38 });
    // -0 is a float32 of its own, 80 00 00 00: the state carries it as it came.
    await alice.move(world, { id: 0x01020304, x: -0, y: 99.5 });
    // A second move of an id the world knows: the count stays.
    await alice.move(world, { id: 7, x: -8.125, y: 3 });
  });

  await v.step('keeps one world for every client, and answers each client alone', ['R3', 'R4'], async () => {
    await bob.move(world, { id: 8, x: 42, y: -42 }, { others: [alice] });
    // bob moves alice's id 7: the last move wins, whoever made it.
    await bob.move(world, { id: 7, x: 2.5, y: 2.5 }, { others: [alice] });
    await alice.move(world, { id: 0, x: 0.5, y: -1 }, { others: [bob] });
  });

  // The snapshot shows the numbers as the server read them: a server that reads and writes little-endian
  // alike is seen here, with every id and coordinate byte-swapped.
  await v.step('answers a snapshot request with the whole world as JSON, in order of id', ['R2', 'R3', 'R5'], async () => {
    await alice.snapshot(world);
    await bob.snapshot(world);
  });

  await crashMeans(
    v,
    Codes.TEXT_CRASHED,
    'after a client sent a text frame',
    v.step('closes a connection that sends text with 1003, and no other', ['R6', 'R8'], async () => {
      await expectClosedFor(v, 'carol', { kind: 'text', data: Buffer.from('{"type":"move","id":9,"x":1,"y":2}') }, textCase('a move written as JSON text'));
      await alice.move(world, { id: 9, x: 1, y: 2 }, { afterBadFrame: true });
      // Its bytes, read as binary, would be a move: only the frame's type tells them apart.
      const lookalike = Buffer.from('\u0001AAAABBBBCCCC');
      await expectClosedFor(v, dave, { kind: 'text', data: lookalike }, textCase('a text frame whose 13 bytes would read as a move'));
      await bob.move(world, { id: 9, x: -1, y: -2 }, { afterBadFrame: true });
    }),
  );

  await crashMeans(
    v,
    Codes.MALFORMED_CRASHED,
    'after a client sent a broken binary message',
    v.step('closes a connection that sends broken binary with 1007, and keeps nothing of it', ['R7', 'R8'], async () => {
      let turn = 0;
      for (const bad of MALFORMED) {
        await expectClosedFor(v, turn === 0 ? erin : 'mallory', { kind: 'binary', data: bad.data }, malformedCase(bad));
        // The others carry on, in turn, and the world keeps only their moves.
        const player = turn++ % 2 === 0 ? alice : bob;
        await player.move(world, { id: 10, x: turn, y: -turn }, { afterBadFrame: true });
      }
      await alice.snapshot(world, { forbidden: MALFORMED_IDS });
    }),
  );

  // crowd fills the world, quietly: as much as each snapshot size needs, and then past 255 ids.
  const crowd = await Player.connect(v, 'crowd', { offerDeflate: false, quiet: true });
  const filler = new Filler(world);

  await v.step('compresses what is worth it, and only for a client that asked', ['R9', 'R10'], async () => {
    alice.expectNegotiated(true);
    bob.expectNegotiated(false);
    alice.reviewSmallMessages();
    // Until the snapshot (as JSON.stringify writes it) is one byte under the threshold; one move then
    // makes it exactly the threshold; then some 6 KiB. alice asks each time.
    await crowd.quietMoves(filler.to(THRESHOLD - 1), `so that the snapshot, as JSON.stringify writes it, is ${THRESHOLD - 1} bytes`);
    await alice.snapshot(world, { sized: true });
    await crowd.quietMoves(filler.oneByteMore(), `so that the snapshot is one byte longer: ${THRESHOLD}`);
    await alice.snapshot(world, { sized: true });
    await crowd.quietMoves(filler.to(6 * 1024), 'so that the snapshot is 6 KiB');
    await alice.snapshot(world, { sized: true });
    await bob.snapshot(world, { sized: true });
  });

  await onCrash(
    v,
    'as the world grew past 255 ids',
    v.step('counts players past 255: players takes both its bytes', ['R4'], async () => {
      await crowd.quietMoves(filler.more(PAST_ONE_BYTE - world.size), `so that the world holds ${PAST_ONE_BYTE} ids, more than one byte can count`);
      await alice.move(world, { id: 0x00010000, x: 256, y: -0.5 });
    }),
    (outOfRange) => ({
      code: Codes.STATE_WRONG_COUNT,
      addendum: outOfRange ? 'A field too small for players is the likely cause: 256 does not fit in one byte.' : 'It was answering moves, each of an id the world did not know yet.',
      hint: outOfRange
        ? 'players is a uint16, two bytes at offsets 13 and 14: writeUInt16BE(world.size, 13). writeUInt8 holds 0 to 255 and throws (ERR_OUT_OF_RANGE) for 256.'
        : "An error thrown in 'message' ends the process, for every player: read the first line of the error above, and make each move of a new id answerable, however many the world knows.",
    }),
  );
}) satisfies LessonVerifier;

/** `wsw run`: the interactive client offers permessage-deflate, as a browser does. */
export const prepareRun: PrepareRun = async () => ({ client: { ws: { perMessageDeflate: true } } });

// ————————————————————————————————————————— the protocol, as the verifier writes and reads it

function moveBytes(move: Move): Buffer {
  const bytes = Buffer.alloc(13);
  bytes.writeUInt8(MOVE, 0);
  bytes.writeUInt32BE(move.id, 1);
  bytes.writeFloatBE(move.x, 5);
  bytes.writeFloatBE(move.y, 9);
  return bytes;
}

function stateBytes(move: Move, players: number): Buffer {
  const bytes = Buffer.alloc(15);
  bytes.writeUInt8(STATE, 0);
  bytes.writeUInt32BE(move.id, 1);
  bytes.writeFloatBE(move.x, 5);
  bytes.writeFloatBE(move.y, 9);
  bytes.writeUInt16BE(players, 13);
  return bytes;
}

/** What a 15-byte state says, read big-endian. */
function readState(bytes: Buffer): { type: number; id: number; x: number; y: number; players: number } {
  return { type: bytes[0]!, id: bytes.readUInt32BE(1), x: bytes.readFloatBE(5), y: bytes.readFloatBE(9), players: bytes.readUInt16BE(13) };
}

/** The move as float32 carries it. */
function asFloat32(move: Move): Move {
  return { id: move.id, x: Math.fround(move.x), y: Math.fround(move.y) };
}

/** A number as a reader would write it: -0 shows its sign. */
function showNumber(value: number): string {
  return Object.is(value, -0) ? '-0' : String(value);
}

function showMove(move: Move): string {
  const f = asFloat32(move);
  const coordinate = (value: number, exact: number) => (value === exact ? showNumber(value) : `${value} (float32: ${exact})`);
  return `id ${move.id} · x ${coordinate(move.x, f.x)} · y ${coordinate(move.y, f.y)}`;
}

/** The world as the verifier knows it should be: each id's latest position, as float32 made it. */
class World {
  private readonly positions = new Map<number, Move>();

  set(move: Move): void {
    this.positions.set(move.id, asFloat32(move));
  }

  get size(): number {
    return this.positions.size;
  }

  has(id: number): boolean {
    return this.positions.has(id);
  }

  get(id: number): Move | undefined {
    return this.positions.get(id);
  }

  /** Every player, in ascending order of id. */
  players(): Move[] {
    return [...this.positions.values()].sort((a, b) => a.id - b.id);
  }

  /** A copy with one more move. */
  withPlayer(move: Move): World {
    const copy = new World();
    for (const player of this.positions.values()) copy.set(player);
    copy.set(move);
    return copy;
  }

  /** The size of the snapshot as JSON.stringify writes it. */
  snapshotBytes(): number {
    return Buffer.byteLength(JSON.stringify({ type: 'snapshot', players: this.players() }));
  }
}

/** A move, and the number of players the world has once it is made. */
interface CountedMove {
  move: Move;
  players: number;
}

/** Integers float32 holds exactly, by the length of their JSON: index 1 is 1 character, index 9 is 9. */
const BY_LENGTH = [0, 1, 12, 123, 1234, 12345, 123456, 1234567, 12345678, -12345678];
/** Characters of a padding entry, {"id":9xxxx,"x":,"y":}, and its comma, before x and y. */
const PAD_ENTRY = 23;
/** Three padding entries close any gap between 3 × (PAD_ENTRY + 2) and 3 × (PAD_ENTRY + 18) bytes. */
const PAD_MIN = 3 * (PAD_ENTRY + 2);

/**
 * Makes moves that bring the world's snapshot, as JSON.stringify writes it, to an exact size: ordinary
 * players (ids from 1000) while there is room, then three padding players (ids from 90000) whose
 * coordinates have just the number of digits that closes the gap.
 */
class Filler {
  private nextId = 1000;
  private nextPad = 90000;
  private lastPad?: Move;

  constructor(private readonly world: World) {}

  private make(move: Move, into: CountedMove[]): void {
    this.world.set(move);
    into.push({ move, players: this.world.size });
  }

  /** `count` moves of ids the world does not know yet. */
  more(count: number): CountedMove[] {
    const moves: CountedMove[] = [];
    for (let i = 0; i < count; i++, this.nextId++) this.make({ id: this.nextId, x: this.nextId * 0.25 - 300, y: 600 - this.nextId * 0.5 }, moves);
    return moves;
  }

  /** Moves after which the snapshot is exactly `bytes` long. */
  to(bytes: number): CountedMove[] {
    const moves: CountedMove[] = [];
    for (;;) {
      const move = { id: this.nextId, x: this.nextId * 0.25 - 300, y: 600 - this.nextId * 0.5 };
      if (bytes - this.world.withPlayer(move).snapshotBytes() < PAD_MIN) break;
      this.nextId++;
      this.make(move, moves);
    }
    let digits = bytes - this.world.snapshotBytes() - 3 * PAD_ENTRY;
    const lengths: number[] = [];
    for (let slot = 0; slot < 6; slot++) {
      const length = Math.min(9, Math.max(1, Math.round(digits / (6 - slot))));
      lengths.push(length);
      digits -= length;
    }
    for (let i = 0; i < 3; i++) {
      const move = { id: this.nextPad++, x: BY_LENGTH[lengths[2 * i]!]!, y: BY_LENGTH[lengths[2 * i + 1]!]! };
      this.make(move, moves);
      this.lastPad ??= move;
    }
    if (this.world.snapshotBytes() !== bytes) throw new Error(`the snapshot is ${this.world.snapshotBytes()} bytes, not ${bytes}`);
    return moves;
  }

  /** One move of a padding player to an x one character longer: the snapshot grows by one byte. */
  oneByteMore(): CountedMove[] {
    const pad = this.lastPad!;
    const moved = { ...pad, x: BY_LENGTH[String(pad.x).length + 1]! };
    const moves: CountedMove[] = [];
    const before = this.world.snapshotBytes();
    this.make(moved, moves);
    if (this.world.snapshotBytes() !== before + 1) throw new Error('the move did not add one byte');
    return moves;
  }
}

// ————————————————————————————————————————— players: clients that speak the protocol

/** A received message beside what the wire carried for it. */
interface Received {
  frame: Frame;
  wire?: WireMessage;
}

/** A client of the game: it moves, asks for snapshots, and checks every answer. */
class Player {
  /** Every message received, in order, with its wire form. */
  private readonly history: Received[] = [];
  /** The ids this client has moved, to recognise a world kept per connection. */
  private readonly own = new Set<number>();
  /** The first position of each id this client moved, to recognise a world that keeps the first. */
  private readonly first = new Map<number, Move>();

  private constructor(
    private readonly v: Verification,
    readonly client: TestClient,
    private readonly wire: WireMessages,
    private readonly quiet: boolean,
  ) {}

  static async connect(v: Verification, name: string, options: { offerDeflate: boolean; quiet?: boolean }): Promise<Player> {
    const wire = new WireMessages();
    const client = await v.client(name, {
      ws: { perMessageDeflate: options.offerDeflate },
      tap: (socket) => wire.attach(socket),
      log: options.quiet ? 'silent' : 'arrival',
    });
    if (!options.quiet) {
      const offered = options.offerDeflate ? 'offered permessage-deflate' : 'offered no compression';
      const answered = extensionsOf(client);
      v.transcript.add({ kind: 'client', name }, `${offered}; Sec-WebSocket-Extensions in the 101: ${answered ?? '(none)'}`, 'detail');
    }
    return new Player(v, client, wire, options.quiet ?? false);
  }

  get name(): string {
    return this.client.name;
  }

  private detail(text: string): void {
    if (!this.quiet) this.v.transcript.add({ kind: 'client', name: this.name }, text, 'detail');
  }

  /** The next message, paired with the wire form the tap read for it. */
  private async next(awaiting: string, options: Parameters<TestClient['nextFrame']>[1]): Promise<Received> {
    const frame = await this.client.nextFrame(awaiting, options);
    const received = { frame, wire: this.wire.take() };
    this.history.push(received);
    return received;
  }

  /** Sends a move, and expects its state back, with `players` as the world counts them. */
  async move(world: World, move: Move, options: { others?: Player[]; afterBadFrame?: boolean } = {}): Promise<void> {
    world.set(move);
    if (!this.first.has(move.id)) this.first.set(move.id, asFloat32(move));
    this.own.add(move.id);
    this.client.sendBinary(moveBytes(move));
    this.detail(`move: ${showMove(move)}`);
    await this.expectState(move, world.size, options);
  }

  /** Sends many moves at once, then reads every state: the crowd that fills the world. */
  async quietMoves(moves: CountedMove[], why: string): Promise<void> {
    this.v.note(`${this.name} makes ${moves.length === 1 ? 'a move' : `${moves.length} moves`}, quietly, ${why} (its moves and their states are not shown)`);
    for (const { move } of moves) this.client.sendBinary(moveBytes(move));
    for (const { move, players } of moves) {
      this.own.add(move.id);
      await this.expectState(move, players, {});
    }
  }

  private async expectState(move: Move, players: number, options: { others?: Player[]; afterBadFrame?: boolean }): Promise<void> {
    const want = stateBytes(move, players);
    this.expectedStates.push(want);
    const wanted = `the state: 15 bytes, ${showMove(move)} · players ${players}`;
    let got: Frame;
    try {
      ({ frame: got } = await this.next(wanted, {
        timeoutCode: Codes.STATE_NO_REPLY,
        timeoutHint: STATE_HINT,
      }));
    } catch (error) {
      if (!(error instanceof VerifyFailure) || error.code !== HarnessCodes.CONNECTION_CLOSED) throw error;
      const closed = this.client.closed;
      const how = closed?.clean ? `a close frame ${describeCloseCode(closed.code)}${closed.reason ? ` reason ${JSON.stringify(closed.reason)}` : ''}` : 'the connection dropped';
      if (options.afterBadFrame) {
        throw this.v.fail({
          code: Codes.OTHERS_CLOSED,
          expected: `${this.name}, who sent nothing wrong, to get ${wanted}`,
          actual: `${how}, right after another client sent a bad frame`,
          hint: "Close the socket the bad frame came from, the one whose 'message' handler is running: socket.close(code). Not every client in wss.clients, and never wss.close(): one player's broken client must not end the game for everyone.",
        });
      }
      throw this.v.fail({
        code: Codes.MOVE_REFUSED,
        expected: `${wanted}, in answer to a valid move of 13 bytes`,
        actual: `${how}: your server refused a valid move`,
        hint: MOVE_REFUSED_HINT,
      });
    }
    if (got.kind === 'binary' && got.data.equals(want)) {
      this.detail(`state: ${showMove(asFloat32(move))} · players ${players}`);
      return;
    }
    for (const other of options.others ?? []) {
      if (got.kind === 'binary' && other.expectedStates.some((s) => s.equals(got.data))) {
        throw this.v.fail({
          code: Codes.STATE_TO_OTHERS,
          expected: wanted,
          actual: `${describeFrame(got)}: the state of ${other.name}'s move`,
          hint: 'A state answers the move it came from: send it on the socket that sent the move, socket.send(state), not to every client in wss.clients.',
        });
      }
    }
    throw this.explainWrongState(move, players, got, want, options.afterBadFrame ?? false);
  }

  /** States this client should have received, to recognise one that reached another client instead. */
  readonly expectedStates: Buffer[] = [];

  private explainWrongState(move: Move, players: number, got: Frame, want: Buffer, afterBadFrame: boolean): VerifyFailure {
    const expected = `${describeFrame({ kind: 'binary', data: want })}: the state, ${showMove(asFloat32(move))} · players ${players}`;
    const fail = (code: string, actual: string, hint: string) => this.v.fail({ code, expected, actual, hint });
    if (got.kind === 'text') {
      return fail(
        Codes.STATE_NOT_BINARY,
        `${describeFrame(got)}: text, not binary`,
        'The state is binary: build a Buffer of 15 bytes (Buffer.alloc(15)), write each field at its offset, and send the Buffer itself. socket.send(buffer) sends a binary frame; a string, JSON.stringify(…) included, goes as text.',
      );
    }
    const data = got.data;
    if (data.equals(moveBytes(move))) {
      return fail(
        Codes.STATE_WRONG_LAYOUT,
        `${describeFrame(got)}: the move itself, sent back`,
        'An echo is not a state: the state has its own type byte (0x02) and two more bytes at the end, players, the number of ids the world knows. Build it with Buffer.alloc(15) and write each field at its offset.',
      );
    }
    if (data.length !== 15 || data[0] !== STATE) {
      const float64 = data.length === 23 ? ': 23 bytes is what x and y take as float64 (8 bytes each)' : '';
      return fail(
        Codes.STATE_WRONG_LAYOUT,
        `${describeFrame(got)}${data.length !== 15 ? `, ${data.length} bytes${float64}` : `, type byte 0x${data[0]!.toString(16).padStart(2, '0')}`}`,
        'A state is exactly 15 bytes: 0: type 0x02 (writeUInt8), 1: id (writeUInt32BE), 5: x and 9: y (writeFloatBE: float32, 4 bytes each), 13: players (writeUInt16BE).',
      );
    }
    const fields = [
      [1, 5],
      [5, 9],
      [9, 13],
    ] as const;
    const same = (a: number, b: number) => data.subarray(a, b).equals(want.subarray(a, b));
    const reversed = (a: number, b: number) => data.subarray(a, b).equals(Buffer.from(want.subarray(a, b)).reverse());
    const fieldsSame = fields.every(([a, b]) => same(a, b));
    const fieldsReversed = !fieldsSame && fields.every(([a, b]) => same(a, b) || reversed(a, b));
    const countSame = same(13, 15);
    const countReversed = !countSame && reversed(13, 15);
    const said = readState(data);
    const says = `${describeFrame(got)}, which says id ${said.id} · x ${said.x} · y ${said.y} · players ${said.players}`;
    if ((fieldsSame || fieldsReversed) && countReversed) {
      return fail(
        Codes.WRITE_LITTLE_ENDIAN,
        `${says}: its bytes are in little-endian order`,
        'Write every number big-endian: writeUInt32BE, writeFloatBE, writeUInt16BE, or a DataView\'s set… methods without true as the last argument. The …LE methods put the least significant byte first, and a client reading big-endian sees other numbers.',
      );
    }
    if (fieldsReversed && countSame) {
      return fail(
        Codes.READ_LITTLE_ENDIAN,
        `${says}: the id and coordinates your server read came out of the move's bytes backwards`,
        'Read the move big-endian: readUInt32BE(1), readFloatBE(5), readFloatBE(9), or a DataView\'s get… methods without true. readUInt32LE or a Float32Array over the bytes reads them least significant byte first, and 1.5 becomes 6.9e-41.',
      );
    }
    if (fieldsSame && afterBadFrame && said.players > players) {
      return fail(
        Codes.MALFORMED_KEPT,
        `${says}: the world counts ${said.players - players} more id${said.players - players === 1 ? '' : 's'} than the valid moves named`,
        'A message that breaks the protocol must leave no trace: check its length, its type, and that x and y are finite (Number.isFinite), and store the move only once it has passed every check.',
      );
    }
    if (fieldsSame) {
      const own = this.own.size;
      if (said.players === own && own !== players) {
        return fail(
          Codes.WORLD_NOT_SHARED,
          `${says}: the number of ids ${this.name} moved, not of every id in the world`,
          'One world for every client: keep the Map of positions at the top of the file, outside wss.on(\'connection\', …), so that every socket reads and writes the same one.',
        );
      }
      if (players > 0xff && said.players === (players & 0xff)) {
        return fail(
          Codes.STATE_WRONG_COUNT,
          `${says}: players should be ${players}, and ${said.players} is what is left of it in one byte`,
          `players is a uint16, two bytes at offsets 13 and 14: writeUInt16BE(world.size, 13). One byte counts to 255, and ${players} players wrap to ${said.players}.`,
        );
      }
      return fail(
        Codes.STATE_WRONG_COUNT,
        `${says}: players should be ${players}`,
        'players is the number of ids the world knows, this move\'s included: the size of your Map of positions, world.size, after storing the move. Not the number of moves, nor of connections.',
      );
    }
    // A state this client already had: the server read an earlier message's bytes.
    const earlier = this.expectedStates.slice(0, -1).some((s) => s.subarray(0, 13).equals(data.subarray(0, 13)));
    return fail(
      Codes.MOVE_MISREAD,
      earlier ? `${says}: the id and coordinates of an earlier move, not of this one` : `${says}: not the id and coordinates that were sent`,
      MISREAD_HINT,
    );
  }

  /** Asks for a snapshot and checks it against the world. */
  async snapshot(world: World, options: { forbidden?: ReadonlySet<number>; sized?: boolean } = {}): Promise<void> {
    this.client.sendBinary(Buffer.from([SNAPSHOT]));
    this.detail('snapshot request');
    const players = world.players();
    const wanted = `the snapshot, as JSON text: ${players.length} players, in order of id`;
    let received: Received;
    try {
      received = await this.next(wanted, { timeoutCode: Codes.SNAPSHOT_NO_REPLY, timeoutHint: SNAPSHOT_HINT });
    } catch (error) {
      if (!(error instanceof VerifyFailure) || error.code !== HarnessCodes.CONNECTION_CLOSED) throw error;
      throw this.v.fail({ code: Codes.SNAPSHOT_NO_REPLY, expected: wanted, actual: error.actual ?? 'the connection closed', hint: SNAPSHOT_HINT });
    }
    const got = received.frame;
    if (got.kind !== 'text') {
      throw this.v.fail({
        code: Codes.SNAPSHOT_NOT_JSON,
        expected: wanted,
        actual: `${describeFrame(got)}: binary, not text`,
        hint: 'The snapshot is JSON text: socket.send(JSON.stringify({ type: "snapshot", players })). A string goes as a text frame; a Buffer as binary.',
      });
    }
    const value = asObject(parseJson(got.data.toString('utf8')));
    const list = value?.players;
    const entries = Array.isArray(list) ? list.map((p) => asObject(p)) : [];
    const kept = entries.find((p) => typeof p?.id === 'number' && options.forbidden?.has(p.id) && !world.has(p.id));
    if (kept) {
      throw this.v.fail({
        code: Codes.MALFORMED_KEPT,
        expected: wanted,
        actual: `${describeFrame(got)}, with id ${String(kept.id)}, which only a broken message ever named`,
        hint: 'Check a message completely before using it: its length, its type, and that x and y are finite (Number.isFinite). Store the move only once it has passed, and close the connection instead.',
      });
    }
    const wellFormed = entries.every((p) => p && typeof p.id === 'number' && typeof p.x === 'number' && typeof p.y === 'number');
    if (!value || value.type !== 'snapshot' || !Array.isArray(list) || !wellFormed) {
      throw this.v.fail({
        code: value ? Codes.SNAPSHOT_WRONG_SHAPE : Codes.SNAPSHOT_NOT_JSON,
        expected: `${wanted}: {"type":"snapshot","players":[{"id":…,"x":…,"y":…}, …]}`,
        actual: describeFrame(got),
        hint: value
          ? 'The snapshot is an object with "type": "snapshot" and "players", an array of objects, each with id, x and y as numbers: { id, x, y } for every entry of your Map.'
          : SNAPSHOT_HINT,
      });
    }
    const sent = entries.map((p) => ({ id: p!.id as number, x: p!.x as number, y: p!.y as number }));
    this.checkPlayers(world, players, sent, got);
    this.detail(`snapshot: ${players.length} players, every id with its latest position, in order`);
    if (options.sized) this.showWire(received);
  }

  private checkPlayers(world: World, players: Move[], sent: Move[], got: Frame): void {
    const expected = `a snapshot of ${players.length} players: ${players
      .slice(0, 6)
      .map((p) => `{"id":${p.id},"x":${p.x},"y":${p.y}}`)
      .join(', ')}${players.length > 6 ? ', …' : ''}`;
    const fail = (code: string, actual: string, hint: string) => this.v.fail({ code, expected, actual, hint });
    const signed = sent.find((p) => p.id < 0 && world.has(p.id >>> 0));
    if (signed) {
      throw fail(
        Codes.ID_SIGNED,
        `${describeFrame(got)}, with "id":${signed.id} where the move said ${signed.id >>> 0}`,
        'An id is an unsigned 32-bit integer: read it with readUInt32BE (or DataView getUint32). readInt32BE reads the same 4 bytes as a signed number, and every id from 2147483648 up comes out negative: 0xFFFFFFFF becomes -1.',
      );
    }
    const swapped = byteSwapped(world, sent);
    if (swapped) {
      throw fail(
        Codes.READ_LITTLE_ENDIAN,
        `${describeFrame(got)}, with ${swapped}: the same 4 bytes, read least significant first`,
        "Your server reads the move little-endian and writes the state the same way, so each state came back with the bytes it was sent; but the numbers it keeps, and shows in the snapshot, are those bytes read backwards. Read with readUInt32BE and readFloatBE (a DataView's get… without true), write with the …BE methods: a Float32Array or Uint32Array over the bytes uses the machine's order, little-endian.",
      );
    }
    const sentIds = new Set(sent.map((p) => p.id));
    const missing = players.filter((p) => !sentIds.has(p.id));
    const extra = sent.filter((p) => !world.has(p.id));
    if (missing.length > 0 || extra.length > 0 || sent.length !== players.length) {
      const onlyOwn = missing.length > 0 && sent.every((p) => this.own.has(p.id));
      if (onlyOwn) {
        throw fail(
          Codes.WORLD_NOT_SHARED,
          `${describeFrame(got)}: only the ids ${this.name} moved itself`,
          "One world for every client: keep the Map of positions at the top of the file, outside wss.on('connection', …), so that every socket reads and writes the same one.",
        );
      }
      const what = [
        missing.length ? `without id ${missing.map((p) => p.id).join(', ')}` : '',
        extra.length ? `with id ${extra.map((p) => p.id).join(', ')}, which no move named` : '',
        sent.length !== sentIds.size ? 'with an id twice' : '',
      ].filter(Boolean);
      throw fail(Codes.SNAPSHOT_WRONG_PLAYERS, `${describeFrame(got)}, ${what.join(', ') || `of ${sent.length} players`}`, SNAPSHOT_PLAYERS_HINT);
    }
    for (const p of sent) {
      const want = world.get(p.id)!;
      if (p.x === want.x && p.y === want.y) continue;
      const near = (a: number, b: number) => Math.abs(a - b) <= Math.max(Math.abs(b) * 1e-3, 1e-3);
      const first = this.first.get(p.id);
      if (first && first.x === p.x && first.y === p.y && (first.x !== want.x || first.y !== want.y)) {
        throw fail(
          Codes.POSITION_NOT_LATEST,
          `${describeFrame(got)}, with id ${p.id} at (${p.x}, ${p.y}), where it first was, not at (${want.x}, ${want.y}), where it moved last`,
          'Every move replaces the position of its id: world.set(id, { x, y }) each time, not only when the id is new.',
        );
      }
      if (near(p.x, want.x) && near(p.y, want.y)) {
        throw fail(
          Codes.SNAPSHOT_PRECISION_LOST,
          `${describeFrame(got)}, with id ${p.id} at (${p.x}, ${p.y}) where the move said (${want.x}, ${want.y})`,
          'Send the numbers as you read them: readFloatBE already gives the float32 the client sent, 0.10000000149011612 for 0.1. Rounding them (toFixed, Math.round) makes a snapshot that disagrees with the states.',
        );
      }
      throw fail(
        Codes.SNAPSHOT_WRONG_PLAYERS,
        `${describeFrame(got)}, with id ${p.id} at (${p.x}, ${p.y}) where its last move put it at (${want.x}, ${want.y})`,
        SNAPSHOT_PLAYERS_HINT,
      );
    }
    const order = sent.map((p) => p.id);
    if (order.some((id, i) => i > 0 && id < order[i - 1]!)) {
      throw fail(
        Codes.SNAPSHOT_NOT_SORTED,
        `${describeFrame(got)}, ids in the order ${order.slice(0, 8).join(', ')}${order.length > 8 ? ', …' : ''}`,
        'Sort the players by id, as numbers: [...world].sort(([a], [b]) => a - b). A Map gives its keys in the order they were first set, and sort() without a function compares them as text, so "16909060" comes before "7".',
      );
    }
  }

  /** Shows what the wire carried for a message: its header, its payload, and what compression saved. */
  private showWire(received: Received): void {
    const wire = received.wire;
    if (!wire) return;
    const size = received.frame.data.length;
    const onWire = wire.headerBytes + wire.payloadBytes;
    const text = wire.compressed
      ? `on the wire: ${onWire} bytes (${wire.headerBytes} of header), compressed (RSV1) from ${size} bytes of JSON: ${Math.round((1 - wire.payloadBytes / size) * 100)}% saved`
      : `on the wire: ${onWire} bytes (${wire.headerBytes} of header), uncompressed (RSV1 clear): ${size} bytes of JSON as they are`;
    this.detail(text);
    this.judgeCompression(received);
  }

  /** Fails when a message's compression is not what the threshold says. */
  private judgeCompression(received: Received): void {
    const { frame, wire } = received;
    if (!wire) return;
    const size = frame.data.length;
    const negotiated = extensionsOf(this.client);
    if (!negotiated) {
      if (wire.compressed) {
        throw this.v.fail({
          code: Codes.UNASKED,
          expected: `a message ${this.name} can read: it offered no compression`,
          actual: `a message of ${formatBytes(size)} with RSV1 set`,
          hint: 'Compress only for a client that agreed to it in the handshake; ws does that for you when perMessageDeflate is on.',
        });
      }
      return;
    }
    if (wire.compressed && size < THRESHOLD) {
      const contextKept = !/server_no_context_takeover/.test(negotiated);
      throw this.v.fail({
        code: Codes.SMALL_COMPRESSED,
        expected: `a message of ${size} bytes (under ${THRESHOLD}) sent as it is, RSV1 clear`,
        actual: `a frame with RSV1 set: compressed, ${wire.payloadBytes} bytes of payload on the wire`,
        hint: contextKept
          ? `Your 101 says ${JSON.stringify(negotiated)}: the server keeps its compression context, and then ws ignores threshold and compresses every message. Add serverNoContextTakeover: true beside threshold: ${THRESHOLD}.`
          : `Set the threshold to ${THRESHOLD}: perMessageDeflate: { threshold: ${THRESHOLD}, serverNoContextTakeover: true }. Under it, deflate costs CPU and saves next to nothing.`,
      });
    }
    if (!wire.compressed && size >= THRESHOLD) {
      throw this.v.fail({
        code: Codes.LARGE_NOT_COMPRESSED,
        expected: `a message of ${formatBytes(size)} (${size} bytes, at least ${THRESHOLD}) compressed, RSV1 set`,
        actual: `a frame with RSV1 clear: uncompressed, ${wire.payloadBytes} bytes of payload on the wire`,
        hint: `Messages of ${THRESHOLD} bytes or more must be compressed: perMessageDeflate: { threshold: ${THRESHOLD}, serverNoContextTakeover: true }, and no compress: false on send().`,
      });
    }
  }

  /** Checks every message received so far against the threshold, and says what it found. */
  reviewSmallMessages(): void {
    for (const received of this.history) this.judgeCompression(received);
    const small = this.history.filter((r) => r.frame.data.length < THRESHOLD);
    const bytes = small.reduce((sum, r) => sum + (r.wire ? r.wire.headerBytes + r.wire.payloadBytes : 0), 0);
    this.v.note(`✓ ${this.name} has received ${small.length} messages under ${THRESHOLD} bytes so far, all uncompressed (RSV1 clear): ${bytes} bytes on the wire`);
  }

  /** Checks the 101's Sec-WebSocket-Extensions. */
  expectNegotiated(offered: boolean): void {
    const answered = extensionsOf(this.client);
    const named = answered !== undefined && /(^|,)\s*permessage-deflate\b/.test(answered);
    if (offered && !named) {
      throw this.v.fail({
        code: Codes.NOT_NEGOTIATED,
        expected: `Sec-WebSocket-Extensions: permessage-deflate… in the 101 answer to ${this.name}, who offered it`,
        actual: answered === undefined ? 'no Sec-WebSocket-Extensions header: compression is off' : `Sec-WebSocket-Extensions: ${answered}`,
        hint: `ws leaves compression off on a server: turn it on with new WebSocketServer({ port, perMessageDeflate: { threshold: ${THRESHOLD}, serverNoContextTakeover: true } }).`,
      });
    }
    if (!offered && answered !== undefined) {
      throw this.v.fail({
        code: Codes.UNASKED,
        expected: `no Sec-WebSocket-Extensions in the 101 answer to ${this.name}, who offered none`,
        actual: `Sec-WebSocket-Extensions: ${answered}`,
        hint: 'A server may only accept an extension the client offered; ws does that for you when perMessageDeflate is on.',
      });
    }
    this.v.note(
      offered
        ? `✓ ${this.name} offered permessage-deflate, and the 101 accepted it: ${answered}`
        : `✓ ${this.name} offered no compression, and the 101 named none`,
    );
  }
}

/** A uint32 with its 4 bytes in the other order. */
function swap32(id: number): number {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(id);
  return bytes.readUInt32LE();
}

/** A float32 with its 4 bytes in the other order. */
function swapFloat(value: number): number {
  const bytes = Buffer.alloc(4);
  bytes.writeFloatBE(value);
  return bytes.readFloatLE();
}

/**
 * What in a snapshot is the world read backwards: an id no move named whose bytes reversed are a known
 * id, or a coordinate that is its move's with the bytes reversed. Undefined when nothing is.
 */
function byteSwapped(world: World, sent: Move[]): string | undefined {
  const byId = new Map(sent.map((p) => [p.id, p]));
  for (const want of world.players()) {
    const backwards = swap32(want.id);
    if (!byId.has(want.id) && !world.has(backwards) && byId.has(backwards)) return `"id":${backwards} where the move said ${want.id}`;
    const p = byId.get(want.id);
    for (const axis of ['x', 'y'] as const) {
      if (p && p[axis] !== want[axis] && p[axis] === swapFloat(want[axis])) return `"${axis}":${p[axis]} for id ${p.id}, where the move said ${want[axis]}`;
    }
  }
  return undefined;
}

function extensionsOf(client: TestClient): string | undefined {
  const value = client.response?.headers['sec-websocket-extensions'];
  return Array.isArray(value) ? value.join(', ') : value;
}

const STATE_HINT =
  "In 'message', check isBinary, data.length === 13 and data[0] === 0x01; read id, x and y with readUInt32BE(1), readFloatBE(5) and readFloatBE(9); then build the state with Buffer.alloc(15) and socket.send(it).";
const MOVE_REFUSED_HINT =
  'A valid move is 13 bytes of binary, type 0x01. Compare data.length (the Buffer\'s own length) with 13, and read with the Buffer\'s own methods: data.buffer is the ArrayBuffer under it, often the socket\'s whole read, frame header included, so new DataView(data.buffer) reads other bytes. new DataView(data.buffer, data.byteOffset, data.byteLength) reads the message.';
const MISREAD_HINT =
  "Read each field at its offset in the message: id with readUInt32BE(1), x and y with readFloatBE(5) and readFloatBE(9), and write them back unchanged. data.buffer is the ArrayBuffer under the Buffer, often much larger: a DataView over it needs data.byteOffset and data.byteLength, or it reads someone else's bytes.";
const SNAPSHOT_HINT =
  'A snapshot request is one byte, 0x03 (data.length === 1): answer it with socket.send(JSON.stringify({ type: "snapshot", players })), where players lists { id, x, y } for every entry of your Map of positions.';
const SNAPSHOT_PLAYERS_HINT =
  "List every id of the world once, with the position of its last move, whoever made it: [...world].map(([id, { x, y }]) => ({ id, x, y })).";

// ————————————————————————————————————————— bad frames

interface Malformed {
  data: Buffer;
  what: string;
  /** What to say when it is answered, if more than the general hint. */
  hint?: string;
}

const NAN_BITS_HINT =
  'NaN is not one bit pattern: any float32 whose exponent bits are all set and whose fraction is not 0 is NaN, of either sign. Read the number and test it, Number.isFinite(x) && Number.isFinite(y), rather than comparing its bytes with a list.';

/** Ids only broken moves name: none may reach the world. */
const MALFORMED_IDS = new Set([666, 667, 668, 669, 670, 671, 672, 673, 674, 675, 676, 677]);

/**
 * A move whose x or y has the given bits: NaN is not one pattern but any float32 whose exponent bits are
 * all set and whose fraction is not 0, of either sign; a server that compares bytes knows only some.
 */
function moveWithBits(id: number, field: 'x' | 'y', bits: number): Buffer {
  const bytes = moveBytes({ id, x: 1, y: 2 });
  bytes.writeUInt32BE(bits, field === 'x' ? 5 : 9);
  return bytes;
}

const MALFORMED: Malformed[] = [
  { data: Buffer.alloc(0), what: 'an empty binary message' },
  { data: Buffer.from([0x00, 0, 0, 0, 1]), what: 'the type byte 0x00, which the protocol does not define' },
  { data: stateBytes({ id: 666, x: 1, y: 1 }, 1), what: 'a state (type 0x02), which only the server sends' },
  { data: Buffer.from([0x04]), what: 'the type byte 0x04, which the protocol does not define' },
  { data: Buffer.from([0xff, 0xff]), what: 'the type byte 0xff' },
  { data: Buffer.concat([Buffer.from([0x05]), moveBytes({ id: 671, x: 1, y: 2 }).subarray(1)]), what: 'the 13 bytes of a move, with the type byte 0x05' },
  { data: moveBytes({ id: 667, x: 1, y: 2 }).subarray(0, 12), what: 'a move cut short: 12 bytes, not 13' },
  { data: Buffer.concat([moveBytes({ id: 668, x: 1, y: 2 }), Buffer.from([0])]), what: 'a move with a byte too many: 14, not 13' },
  { data: Buffer.from([SNAPSHOT, 0]), what: 'a snapshot request of 2 bytes, not 1' },
  { data: moveBytes({ id: 669, x: NaN, y: 0 }), what: 'a move whose x is NaN (7f c0 00 00, the NaN writeFloatBE writes)' },
  { data: moveWithBits(672, 'y', 0xffc00000), what: 'a move whose y is NaN with its sign bit set (ff c0 00 00)', hint: NAN_BITS_HINT },
  { data: moveWithBits(673, 'x', 0x7f800001), what: 'a move whose x is a signalling NaN (7f 80 00 01)', hint: NAN_BITS_HINT },
  { data: moveWithBits(674, 'y', 0x7fc00001), what: 'a move whose y is NaN with a payload (7f c0 00 01)', hint: NAN_BITS_HINT },
  { data: moveBytes({ id: 670, x: 0, y: Infinity }), what: 'a move whose y is Infinity' },
  { data: moveBytes({ id: 675, x: Infinity, y: 0 }), what: 'a move whose x is Infinity' },
  { data: moveBytes({ id: 676, x: -Infinity, y: 5 }), what: 'a move whose x is -Infinity' },
  { data: moveBytes({ id: 677, x: 5, y: -Infinity }), what: 'a move whose y is -Infinity' },
];

/** How one kind of bad frame is judged: the close code it must get, and what to say otherwise. */
interface BadCase {
  what: string;
  code: number;
  notClosedCode: string;
  wrongCodeCode: string;
  notClosedHint: string;
  wrongCodeHint: (got: number) => string;
}

function textCase(what: string): BadCase {
  return {
    what,
    code: UNSUPPORTED_DATA,
    notClosedCode: Codes.TEXT_NOT_CLOSED,
    wrongCodeCode: Codes.TEXT_WRONG_CODE,
    notClosedHint:
      "ws tells text from binary in the second argument of 'message': socket.on('message', (data, isBinary) => …). When isBinary is false, the client broke the protocol: socket.close(1003, 'binary only'), before reading anything.",
    wrongCodeHint: (got) =>
      got === INVALID_PAYLOAD
        ? 'A text frame is a kind of data this protocol never accepts: 1003 (unsupported data). 1007 is for binary whose content is wrong. Check isBinary first, and close with 1003 when it is false.'
        : "Close with 1003 (unsupported data), the RFC's code for a kind of frame the endpoint cannot accept: socket.close(1003, 'binary only'). A code says why; terminate() says nothing.",
  };
}

function malformedCase(bad: Malformed): BadCase {
  return {
    what: bad.what,
    code: INVALID_PAYLOAD,
    notClosedCode: Codes.MALFORMED_NOT_CLOSED,
    wrongCodeCode: Codes.MALFORMED_WRONG_CODE,
    notClosedHint:
      bad.hint ??
      'Check a binary message before reading it: a move is exactly 13 bytes with type 0x01 and finite x and y (Number.isFinite), a snapshot request exactly 1 byte, 0x03. Anything else: socket.close(1007, …), and store nothing.',
    wrongCodeHint: (got) =>
      got === UNSUPPORTED_DATA
        ? 'The frame is binary, the kind this protocol takes; what is inside is wrong: 1007 (invalid payload data). 1003 is for a kind of frame the protocol never takes, text.'
        : "Close with 1007 (invalid payload data): socket.close(1007, 'not a message of this protocol'). A code says why; terminate() says nothing.",
  };
}

/** Connects a fresh client, sends one bad frame, and expects its connection closed with the case's code. */
async function expectClosedFor(v: Verification, who: string | TestClient, frame: Frame, bad: BadCase): Promise<void> {
  const client = typeof who === 'string' ? await v.client(who) : who;
  v.transcript.add({ kind: 'client', name: client.name }, `(${bad.what})`, 'detail');
  if (frame.kind === 'text') client.sendText(frame.data.toString('utf8'));
  else client.sendBinary(frame.data);
  const expected = `the connection closed with ${describeCloseCode(bad.code)}, for ${bad.what}`;
  let item;
  try {
    item = await client.next(expected, { timeoutCode: bad.notClosedCode, timeoutHint: bad.notClosedHint });
  } catch (error) {
    if (error instanceof VerifyFailure && error.code === bad.notClosedCode) {
      throw v.fail({ code: bad.notClosedCode, expected, actual: `the connection still open after ${v.timeouts.stepMs} ms`, hint: bad.notClosedHint });
    }
    throw error;
  }
  if (item.type === 'frame') {
    throw v.fail({ code: bad.notClosedCode, expected, actual: `${describeFrame(item.frame)}: your server answered it`, hint: bad.notClosedHint });
  }
  const { close } = item;
  if (!close.clean) {
    // The program may be going down: crashMeans tells that apart.
    await delay(EXIT_SETTLE_MS);
    throw v.fail({ code: bad.wrongCodeCode, expected, actual: 'the connection dropped without a close frame (1006)', hint: bad.wrongCodeHint(1006) });
  }
  if (close.code !== bad.code) {
    throw v.fail({ code: bad.wrongCodeCode, expected, actual: `a close frame ${describeCloseCode(close.code)}`, hint: bad.wrongCodeHint(close.code) });
  }
}

/** How long a failure may wait to see whether the program is exiting: a crash takes a moment to show. */
const EXIT_SETTLE_MS = 300;

/** Turns a crash of the program on a bad frame during `step` into this lesson's own failure, with its stack. */
async function crashMeans(v: Verification, code: string, when: string, step: Promise<void>): Promise<void> {
  await onCrash(v, when, step, (pastTheEnd) => ({
    code,
    addendum: 'Every player lost the game with it, not only the client that sent the bad frame.',
    hint: pastTheEnd
      ? code === Codes.TEXT_CRASHED
        ? "A text frame reached code that reads binary, read past its end, and the RangeError ended the process, for every player. Check isBinary first in 'message', and close with 1003 when it is false."
        : "Reading past the end of a Buffer throws (readFloatBE(9) on 12 bytes: ERR_OUT_OF_RANGE), and an error thrown in 'message' ends the process, for every player. Check data.length and data[0] before reading anything, and close with 1007 instead."
      : "An error thrown in 'message' is not a way to stop handling a message: nothing catches it, and it ends the process, for every player. Close the sender's connection and return: socket.close(code, reason); return;",
  }));
}

/**
 * Runs `step`; when it fails because the program crashed, fails instead with what `explain` makes of
 * the crash, told whether the error was a RangeError (a read or write past a Buffer's end, or a value
 * too large for its field) or one the program threw itself.
 */
async function onCrash(
  v: Verification,
  when: string,
  step: Promise<void>,
  explain: (outOfRange: boolean) => { code: string; addendum: string; hint: string },
): Promise<void> {
  try {
    await step;
  } catch (error) {
    if (!(error instanceof VerifyFailure)) throw error;
    const { program } = v.servers[0]!;
    const exited = await Promise.race([program.exited, delay(EXIT_SETTLE_MS).then(() => undefined)]);
    if (!exited || (exited.code === 0 && !exited.signal)) throw error;
    const crash = program.exitFailure(when);
    const outOfRange = crash.details.some((line) => /RangeError|ERR_OUT_OF_RANGE|ERR_BUFFER_OUT_OF_BOUNDS|out of (range|bounds)/i.test(line));
    const { code, addendum, hint } = explain(outOfRange);
    const failure = new VerifyFailure({ code, message: `${crash.message} ${addendum}`, details: crash.details, hint });
    failure.step = error.step;
    throw failure;
  }
}
