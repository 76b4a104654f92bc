/**
 * Lesson 03 — broadcast: a chat room. The story: alice speaks and bob and carol hear her, but she does
 * not hear herself; carol's burst arrives in order; a message without a username comes from
 * "Anonymous"; bob's broken messages get an error back and the room carries on as if nothing happened;
 * and a client caught halfway through closing is skipped, not sent to.
 */
import { leaveHalfClosed } from './harness/half-closed-client.ts';
import {
  describeFrame,
  HarnessCodes,
  previewText,
  VerifyFailure,
  type Frame,
  type LessonVerifier,
  type TestClient,
  type Verification,
} from './harness/index.ts';
import { asObject, delay, parseJson } from './harness/json.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  NOT_RELAYED: 'BROADCAST_NOT_RELAYED',
  ECHOED_TO_SENDER: 'BROADCAST_ECHOED_TO_SENDER',
  RAW_FORWARD: 'BROADCAST_RAW_FORWARD',
  WRONG_SHAPE: 'BROADCAST_WRONG_SHAPE',
  OUT_OF_ORDER: 'BROADCAST_OUT_OF_ORDER',
  NO_DEFAULT_USERNAME: 'BROADCAST_NO_DEFAULT_USERNAME',
  NO_ERROR_REPLY: 'BROADCAST_NO_ERROR_REPLY',
  ERROR_WRONG_SHAPE: 'BROADCAST_ERROR_WRONG_SHAPE',
  CLOSED_ON_BAD_INPUT: 'BROADCAST_CLOSED_ON_BAD_INPUT',
  CRASHED_ON_INVALID_JSON: 'BROADCAST_CRASHED_ON_INVALID_JSON',
  CRASHED_ON_BAD_SHAPE: 'BROADCAST_CRASHED_ON_BAD_SHAPE',
  BAD_INPUT_REACHED_OTHERS: 'BROADCAST_BAD_INPUT_REACHED_OTHERS',
  SENT_TO_CLOSING_SOCKET: 'BROADCAST_SENT_TO_CLOSING_SOCKET',
} as const;

/** Messages that are not chat messages, each with the nudge a server that mishandles it needs. */
const NOT_JSON: BadInput = {
  text: 'hello? {this is not json',
  what: 'text that is not JSON',
  noReplyHint:
    'JSON.parse throws on text that is not JSON. Catch it, and in the catch send {"type":"error","message":"…"} back on the socket the text came from.',
  crashCode: Codes.CRASHED_ON_INVALID_JSON,
  crashHint:
    'JSON.parse throws a SyntaxError on text that is not JSON, and an exception thrown in a \'message\' handler ends the whole process: everyone in the room is cut off. Wrap JSON.parse in try { … } catch { … } and answer {"type":"error","message":"…"} to that client.',
};
const WRONG_SHAPES: BadInput[] = [
  {
    text: '{"type":"chat","username":"bob"}',
    what: 'a chat message with no "message"',
    noReplyHint: 'Valid JSON is not yet a valid message. Check that message is a string before relaying, and answer {"type":"error","message":"…"} when it is not.',
  },
  {
    text: '{"type":"shout","username":"bob","message":"HEY"}',
    what: 'a message of an unknown type',
    noReplyHint: 'Only {"type":"chat"} is a chat message. Answer any other type with {"type":"error","message":"…"} instead of relaying it.',
  },
  {
    text: 'null',
    what: 'null (valid JSON, but not an object)',
    noReplyHint: 'JSON.parse("null") succeeds and gives null. Check that what you parsed is an object (and not null) before reading its fields, and answer {"type":"error","message":"…"} when it is not.',
  },
].map((input) => ({
  ...input,
  crashCode: Codes.CRASHED_ON_BAD_SHAPE,
  crashHint:
    input.text === 'null'
      ? 'JSON.parse("null") gives null, and reading a field of null (msg.type) throws a TypeError that ends the whole process. Check typeof msg === "object" && msg !== null before reading fields; answer anything else with an error.'
      : 'Valid JSON can still have the wrong shape, and using a field that is not there throws. Check the shape (an object, type "chat", message a string) before using it; answer anything else with an error.',
}));

export default (async (v) => {
  await v.start();
  const room = new ChatRoom(v);
  const alice = await v.client('alice');
  const bob = await v.client('bob');
  const carol = await v.client('carol');

  await v.step('relays a chat message to every other client', [], async () => {
    await room.say(alice, ['hello, room'], { heardBy: [bob, carol] });
  });

  await v.step('sends nothing back to the sender: alice hears bob next, not herself', [], async () => {
    await room.say(bob, ['hi alice'], { heardBy: [alice, carol] });
  });

  await v.step("keeps each sender's messages in order", [], async () => {
    await room.say(carol, ['one', 'two', 'three', 'four', 'five'], { heardBy: [alice, bob] });
  });

  await v.step('relays a message without a username as sent by Anonymous', [], async () => {
    await room.say(bob, ['who am I?'], { heardBy: [alice, carol], anonymous: true });
  });

  // A crash is the likeliest way to fail these two steps: survives() names it after the input that caused it.
  await survives(v, room, () =>
    v.step('answers text that is not JSON with an error', [], async () => {
      await room.sendBad(bob, NOT_JSON);
    }),
  );

  await survives(v, room, () =>
    v.step('answers JSON of the wrong shape with an error', [], async () => {
      for (const input of WRONG_SHAPES) await room.sendBad(bob, input);
    }),
  );

  await v.step('keeps bad messages away from everyone else', [], async () => {
    await room.say(carol, ['still here?'], { heardBy: [alice, bob] });
  });

  await v.step('skips a client that is halfway through closing', [], async () => {
    await leaveHalfClosed(v, 'dave');
    v.note('dave keeps his TCP connection open: on your server his socket is CLOSING (readyState 2), and still in wss.clients');
    await room.say(alice, ['anyone here?'], { heardBy: [bob, carol] });
    await expectNoSendOnClosingSocket(v, 'dave');
  });
}) satisfies LessonVerifier;

/** A message the server must refuse, and what to tell a learner whose server does not. */
interface BadInput {
  text: string;
  what: string;
  noReplyHint: string;
  crashCode: string;
  crashHint: string;
}

/** What a relay must look like. */
interface Relay {
  sender: string;
  message: string;
}

/** How long a send on a socket that is not OPEN may take to be reported, before we trust there was none. */
const SEND_REPORT_WINDOW_MS = 100;
/** How long a failure waits to see whether the program died, which would explain it better. */
const DEATH_SETTLE_MS = 300;
const READY_STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];

const LOOP_HINT =
  "Nothing reaches the other clients unless your server sends it: broadcasting is a loop you write. In the 'message' handler, go through wss.clients and send the relay to every client that is not the sender.";
const RELAY_SHAPE = '{"type":"chat","sender":…,"message":…}';

/**
 * The chat room as the verifier sees it: who said what, and which messages were bad, so that anything
 * arriving where it should not can be named precisely.
 */
class ChatRoom {
  /** Each chat message sent (all distinct) → the raw text that carried it and who sent it. */
  private readonly said = new Map<string, { raw: string; by: string }>();
  private readonly badTexts: string[] = [];
  /** The bad message whose answer is awaited: if the program dies now, this is what killed it. */
  pendingBad?: BadInput;

  constructor(private readonly v: Verification) {}

  /**
   * `from` sends each message as a chat message, and everyone in `heardBy` must receive each relay, in
   * order. Listeners are read one after another, the others paused meanwhile, so the transcript reads
   * the same on every run whatever order the operating system delivers in.
   */
  async say(from: TestClient, messages: string[], options: { heardBy: TestClient[]; anonymous?: boolean }): Promise<void> {
    const listeners = options.heardBy;
    for (const listener of listeners.slice(1)) listener.ws.pause();
    for (const message of messages) {
      const chat = options.anonymous ? { type: 'chat', message } : { type: 'chat', username: from.name, message };
      const raw = JSON.stringify(chat);
      this.said.set(message, { raw, by: from.name });
      from.sendText(raw);
    }
    const sender = options.anonymous ? 'Anonymous' : from.name;
    for (const listener of listeners) {
      listener.ws.resume();
      for (const message of messages) await this.expectRelay(from, listener, { sender, message }, messages);
    }
  }

  /** `from` sends a message that is not a valid chat message, and must get an error back and stay connected. */
  async sendBad(from: TestClient, input: BadInput): Promise<void> {
    this.badTexts.push(input.text);
    this.pendingBad = input;
    from.sendText(input.text);
    await expectError(this.v, from, input);
    this.pendingBad = undefined;
  }

  private async expectRelay(from: TestClient, listener: TestClient, want: Relay, burst: string[]): Promise<void> {
    const expected = relayText(want);
    const got = await listener
      .nextFrame(`${listener.name} to receive ${expected}`, {
        timeoutCode: Codes.NOT_RELAYED,
        timeoutHint:
          want.sender === 'Anonymous'
            ? 'A chat message without a username is still a chat message: relay it, with "Anonymous" as the sender.'
            : LOOP_HINT,
      })
      .catch((error: unknown) => {
        // The myth at work: socket.send answers the sender alone, and the room hears nothing.
        if (error instanceof VerifyFailure && error.code === Codes.NOT_RELAYED && from.pending.length > 0) {
          error.hint = `${from.name} got a message back and ${listener.name} nothing: socket.send talks to one client only. ${LOOP_HINT}`;
        }
        throw error;
      });
    const failure = this.diagnose(listener, got, want, burst);
    if (failure) throw failure;
  }

  /** Says what is wrong with a frame that arrived where `want` was due, or nothing if it is right. */
  private diagnose(listener: TestClient, got: Frame, want: Relay, burst: string[]): VerifyFailure | undefined {
    const text = got.data.toString('utf8');
    const relay = asObject(parseJson(text));
    const expected = `${listener.name} to receive ${relayText(want)}`;
    const actual = describeFrame(got);
    const failure = (code: string, hint: string, detail = '') =>
      new VerifyFailure({ code, expected, actual: actual + detail, hint });
    const sent = this.said.get(want.message)!;

    const echoed = typeof relay?.message === 'string' ? this.said.get(relay.message) : undefined;
    if (echoed?.by === listener.name && relay?.message !== want.message) {
      return failure(
        Codes.ECHOED_TO_SENDER,
        'The sender already has its own message. In the broadcast loop, skip the socket the message came from: if (client !== socket && …).',
        `: ${listener.name}'s own message came back`,
      );
    }
    const badMessages = this.badTexts.map((bad) => asObject(parseJson(bad))?.message).filter((m) => typeof m === 'string');
    if (this.badTexts.includes(text) || relay?.type === 'error' || badMessages.some((m) => m === relay?.message)) {
      return failure(
        Codes.BAD_INPUT_REACHED_OTHERS,
        'A bad message concerns only the client that sent it: send the error on that socket alone (socket.send, not the broadcast loop), and relay nothing.',
        ', which comes from the bad messages sent earlier',
      );
    }
    if (want.sender === 'Anonymous' && relay?.type === 'chat' && relay.message === want.message && relay.sender !== want.sender) {
      return failure(
        Codes.NO_DEFAULT_USERNAME,
        'The username is optional. When a chat message has none, relay it with sender "Anonymous": msg.username ?? "Anonymous". (JSON.stringify leaves out a field whose value is undefined.)',
        `, whose sender is ${relay.sender === undefined ? 'missing' : JSON.stringify(relay.sender)}`,
      );
    }
    if (text === sent.raw) {
      return failure(
        Codes.RAW_FORWARD,
        got.kind === 'binary'
          ? `That is the client's message, forwarded as it came (and as a binary frame). Parse it, then send a new object: JSON.stringify({ type: "chat", sender, message }).`
          : `That is the client's message, forwarded as it came. The relay is a new object that names the author: JSON.stringify({ type: "chat", sender, message }).`,
        ': the message exactly as the client sent it',
      );
    }
    if (got.kind === 'binary') {
      return failure(Codes.WRONG_SHAPE, 'Send the relay as text: client.send(JSON.stringify(relay)). A Buffer is sent as a binary frame.');
    }
    if (!relay) {
      return failure(Codes.WRONG_SHAPE, `The relay is a JSON object, ${RELAY_SHAPE}: build the object, then send JSON.stringify(relay).`);
    }
    if (relay.type === 'chat' && relay.sender === want.sender && burst.includes(relay.message as string) && relay.message !== want.message) {
      return failure(
        Codes.OUT_OF_ORDER,
        'Relay each message as soon as it arrives. Anything that delays some messages more than others (a timer, an await on some messages and not on others) lets later ones overtake.',
        ` (${want.sender} sent them in the order ${burst.map((m) => JSON.stringify(m)).join(', ')})`,
      );
    }
    if (relay.type === 'chat' && relay.message === want.message && relay.sender === want.sender) return undefined;
    if (relay.sender === undefined && relay.username !== undefined) {
      return failure(Codes.WRONG_SHAPE, `The relay names its author in a field called "sender", not "username": ${RELAY_SHAPE}.`);
    }
    return failure(
      Codes.WRONG_SHAPE,
      `Every relay has exactly this shape: ${RELAY_SHAPE}, with type "chat", sender the username the client gave, and message unchanged.`,
    );
  }
}

/** Expects `client` to get {"type":"error","message":"…"} back, and its connection to stay open. */
async function expectError(v: Verification, client: TestClient, input: BadInput): Promise<void> {
  const expected = `${client.name} to receive {"type":"error","message":"…"} in answer to ${input.what}`;
  let got: Frame;
  try {
    got = await client.nextFrame(expected, { timeoutCode: Codes.NO_ERROR_REPLY, timeoutHint: input.noReplyHint });
  } catch (error) {
    if (error instanceof VerifyFailure && error.code === HarnessCodes.CONNECTION_CLOSED && client.closed?.clean) {
      throw v.fail({
        code: Codes.CLOSED_ON_BAD_INPUT,
        expected,
        actual: error.actual,
        hint: 'A bad message is no reason to hang up: the client may have a typo, not bad intentions. Reply with {"type":"error","message":"…"} and keep the connection open.',
      });
    }
    throw error;
  }
  const reply = asObject(parseJson(got.data.toString('utf8')));
  if (got.kind !== 'text' || reply?.type !== 'error' || typeof reply.message !== 'string' || reply.message === '') {
    throw v.fail({
      code: Codes.ERROR_WRONG_SHAPE,
      expected,
      actual: describeFrame(got),
      hint: 'Errors are JSON too, so a client can tell them from chat: send JSON.stringify({ type: "error", message: "what was wrong" }), as a text frame, with a message that is not empty.',
    });
  }
}

/**
 * Runs a step in which bad messages are sent. If the program dies meanwhile, the crash is reported
 * under the code of the message that caused it, with a hint about that message, rather than as a
 * dropped connection. (It wraps the whole step: a step ends as soon as the program dies.)
 */
async function survives(v: Verification, room: ChatRoom, step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    const input = room.pendingBad;
    if (!(error instanceof VerifyFailure) || !input) throw error;
    const { program } = v.servers[0]!;
    const exited = await Promise.race([program.exited.then(() => true), delay(DEATH_SETTLE_MS).then(() => false)]);
    if (!exited) throw error;
    const crash = program.exitFailure(`when it received ${input.what}: ${previewText(input.text)}`);
    throw v.fail({ code: input.crashCode, message: crash.message, details: crash.details, hint: input.crashHint });
  }
}

/**
 * Fails if the program called send() on a socket that was not OPEN. ws 8 drops such a send silently,
 * so the preload reports it; the report comes through its own pipe, and is given a short window.
 */
async function expectNoSendOnClosingSocket(v: Verification, closing: string): Promise<void> {
  const { program } = v.servers[0]!;
  const deadline = Date.now() + SEND_REPORT_WINDOW_MS;
  while (program.sendsNotOpen.length === 0 && Date.now() < deadline) await delay(5);
  const [first] = program.sendsNotOpen;
  if (first) {
    const count = program.sendsNotOpen.length;
    throw v.fail({
      code: Codes.SENT_TO_CLOSING_SOCKET,
      expected: 'no send() on a socket that is not OPEN',
      actual: `${count === 1 ? 'a send()' : `${count} send() calls`} on ${closing}'s socket while its readyState was ${first.readyState} (${READY_STATES[first.readyState] ?? 'unknown'})`,
      hint:
        'A client stays in wss.clients while it closes: the closing handshake takes a round trip, and up to 30 s if the other side is slow. Send only to a client whose readyState === WebSocket.OPEN. ' +
        'ws 8 drops a send on a closing socket without a word, so the message is silently lost; older ws versions threw, and crashed the server.',
    });
  }
  v.note('✓ no send() on a socket that was not OPEN');
}

function relayText(relay: Relay): string {
  return JSON.stringify({ type: 'chat', sender: relay.sender, message: relay.message });
}

