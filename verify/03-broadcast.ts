/**
 * Lesson 03 — broadcast: a chat room. The story: dave connects first and only listens; alice speaks
 * and bob and carol hear her, but she does not hear herself; whoever speaks, everyone else hears, a
 * second tab with the same username included; a burst arrives in order; a message without a username
 * comes from "Anonymous"; text of every kind arrives exactly as it went, in a relay with exactly three
 * fields; every kind of broken message gets an error back, to its sender alone, and the room carries on;
 * clients that are closing (first, last and in the middle of the set) or gone are skipped, while dave,
 * until he closed, heard everything; and at the end nobody has anything left to read.
 */
import { connectHalfClosable, type HalfClosableClient } from './harness/half-closed-client.ts';
import {
  defineRules,
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
  RELAYED_TWICE: 'BROADCAST_RELAYED_TWICE',
  ECHOED_TO_SENDER: 'BROADCAST_ECHOED_TO_SENDER',
  SENT_TO_CLOSING_SOCKET: 'BROADCAST_SENT_TO_CLOSING_SOCKET',
  RAW_FORWARD: 'BROADCAST_RAW_FORWARD',
  WRONG_SHAPE: 'BROADCAST_WRONG_SHAPE',
  EXTRA_FIELDS: 'BROADCAST_EXTRA_FIELDS',
  CONTENT_NOT_KEPT: 'BROADCAST_CONTENT_NOT_KEPT',
  NO_DEFAULT_USERNAME: 'BROADCAST_NO_DEFAULT_USERNAME',
  OUT_OF_ORDER: 'BROADCAST_OUT_OF_ORDER',
  NO_ERROR_REPLY: 'BROADCAST_NO_ERROR_REPLY',
  BAD_INPUT_REACHED_OTHERS: 'BROADCAST_BAD_INPUT_REACHED_OTHERS',
  ERROR_WRONG_SHAPE: 'BROADCAST_ERROR_WRONG_SHAPE',
  CLOSED_ON_BAD_INPUT: 'BROADCAST_CLOSED_ON_BAD_INPUT',
  CRASHED_ON_INVALID_JSON: 'BROADCAST_CRASHED_ON_INVALID_JSON',
  CRASHED_ON_BAD_SHAPE: 'BROADCAST_CRASHED_ON_BAD_SHAPE',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: { text: 'Relay each chat message, once, to **every other client whose readyState is OPEN**.', codes: [Codes.NOT_RELAYED, Codes.RELAYED_TWICE] },
  R3: { text: 'Send nothing back to the sender: it knows what it said.', codes: [Codes.ECHOED_TO_SENDER] },
  R4: { text: 'Never call `send()` on a socket that is not `OPEN`: skip a client that is closing, or gone.', codes: [Codes.SENT_TO_CLOSING_SOCKET] },
  R5: {
    text: 'The relay is a new object with exactly the fields `type` (`"chat"`), `sender` and `message`, sent as a JSON text frame.',
    codes: [Codes.RAW_FORWARD, Codes.WRONG_SHAPE, Codes.EXTRA_FIELDS],
  },
  R6: {
    text: '`sender` is the `username` and `message` the `message`, both exactly as they came: accents, emoji, spaces at either end, an empty `message`, a `message` of 100 KiB.',
    codes: [Codes.CONTENT_NOT_KEPT],
  },
  R7: { text: '`username` is optional: left out, or `""`, the sender is `"Anonymous"`.', codes: [Codes.NO_DEFAULT_USERNAME] },
  R8: { text: 'Messages from one sender reach everyone in the order they were sent.', codes: [Codes.OUT_OF_ORDER] },
  R9: {
    text: 'A message that is not a chat message gets an error back, **to the sender only**, and nothing is relayed.',
    codes: [Codes.NO_ERROR_REPLY, Codes.BAD_INPUT_REACHED_OTHERS],
  },
  R10: { text: 'The error is a JSON text frame with `"type": "error"` and a `message` that is a non-empty string.', codes: [Codes.ERROR_WRONG_SHAPE] },
  R11: {
    text: 'A bad message never closes the connection or stops the server: its sender and everyone else carry on.',
    codes: [Codes.CLOSED_ON_BAD_INPUT, Codes.CRASHED_ON_INVALID_JSON, Codes.CRASHED_ON_BAD_SHAPE],
  },
});

/** A message the server must refuse, and what to tell a learner whose server does not. */
interface BadInput {
  /** What is sent: text, or binary bytes. */
  frame: Frame;
  what: string;
  noReplyHint: string;
  crashCode: string;
  crashHint: string;
}

const PARSE_CRASH_HINT =
  'JSON.parse throws a SyntaxError on text that is not JSON, and an exception thrown in a \'message\' handler ends the whole process: everyone in the room is cut off. Wrap JSON.parse in try { … } catch { … } and answer {"type":"error","message":"…"} to that client.';
const NOT_JSON_HINT =
  'JSON.parse throws on anything that is not JSON. Catch it, and in the catch send {"type":"error","message":"…"} back on the socket the message came from.';

function notJson(frame: Frame, what: string, noReplyHint = NOT_JSON_HINT): BadInput {
  return { frame, what, noReplyHint, crashCode: Codes.CRASHED_ON_INVALID_JSON, crashHint: PARSE_CRASH_HINT };
}

const text = (t: string): Frame => ({ kind: 'text', data: Buffer.from(t) });

/** Frames that are not JSON at all. */
const NOT_JSON: BadInput[] = [
  notJson(text('hello? {this is not json'), 'text that is not JSON'),
  notJson(
    { kind: 'binary', data: Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x80]) },
    'a binary frame whose bytes are not JSON (not even UTF-8)',
    'A binary frame reaches your handler like a text one, as a Buffer. Its bytes are not JSON either: JSON.parse(data.toString()) throws, or check isBinary; either way, answer {"type":"error","message":"…"}.',
  ),
  notJson(text(''), 'an empty text frame', 'An empty message is not JSON: JSON.parse("") throws. Catch it and answer {"type":"error","message":"…"}, as for any text that is not JSON.'),
  notJson(text('{"type":"chat","message":"cut off'), 'JSON cut off halfway'),
];

const OBJECT_HINT =
  'JSON.parse accepts more than objects: null, numbers, strings and arrays are JSON too. Check that what you parsed is an object (typeof value === "object", not null, not an array) before reading its fields, and answer {"type":"error","message":"…"} when it is not.';
const TYPE_HINT = 'Only {"type":"chat"} is a chat message, spelled exactly so. Answer a message with any other type, or none, with {"type":"error","message":"…"} instead of relaying it.';
const MESSAGE_HINT = 'A chat message needs a message that is a string: check typeof msg.message === "string" (a number, null, an array or an object will not do), and answer {"type":"error","message":"…"} when it is not.';
const USERNAME_HINT =
  'username may be left out, but when it is there it must be a string: check typeof msg.username === "string" whenever msg.username !== undefined, and answer {"type":"error","message":"…"} when it is not (null included).';
const NULL_CRASH_HINT =
  'JSON.parse("null") gives null, and reading a field of null (msg.type) throws a TypeError that ends the whole process. Check typeof msg === "object" && msg !== null before reading fields; answer anything else with an error.';
const FIELD_CRASH_HINT =
  'Valid JSON can still have the wrong shape, and using a field of the wrong type throws (null.length, (42).trim()…), which ends the whole process. Check the shape (an object, type "chat", message a string, username a string if present) before using anything; answer anything else with an error.';

const PRINT_CRASH_HINT =
  'Printing what came can throw too: String(value) and `${value}` call its toString, and JSON can send {"toString":null}, which makes them throw ' +
  '"Cannot convert object to primitive value", and end the whole process. Check the type first (typeof type === "string"), and print only strings.';

function wrongShape(json: string, what: string, noReplyHint: string, crashHint = FIELD_CRASH_HINT): BadInput {
  return { frame: text(json), what, noReplyHint, crashCode: Codes.CRASHED_ON_BAD_SHAPE, crashHint };
}

/** JSON that is not a chat message, each sent by the client named first. */
const WRONG_SHAPES: Array<[sender: string, input: BadInput]> = [
  ['alice', wrongShape('null', 'null (valid JSON, but not an object)', OBJECT_HINT, NULL_CRASH_HINT)],
  ['bob', wrongShape('42', 'a number (valid JSON, but not an object)', OBJECT_HINT)],
  ['carol', wrongShape('"hi"', 'a string (valid JSON, but not an object)', OBJECT_HINT)],
  ['alice2', wrongShape('["chat","hi"]', 'an array (valid JSON, but not an object)', OBJECT_HINT)],
  ['alice', wrongShape('{}', 'an empty object', TYPE_HINT)],
  ['bob', wrongShape('{"username":"bob","message":"no type at all"}', 'a message with no "type"', TYPE_HINT)],
  ['carol', wrongShape('{"type":"shout","username":"carol","message":"HEY"}', 'a message of an unknown type', TYPE_HINT)],
  ['alice2', wrongShape('{"type":"Chat","username":"alice","message":"capital C"}', 'the type "Chat", with a capital C', TYPE_HINT)],
  ['bob', wrongShape('{"type":{"toString":null},"username":"bob","message":"print my type"}', 'a type that is an object String() cannot print', TYPE_HINT, PRINT_CRASH_HINT)],
  ['alice', wrongShape('{"type":"chat","username":"alice"}', 'a chat message with no "message"', MESSAGE_HINT)],
  ['bob', wrongShape('{"type":"chat","username":"bob","message":42}', 'a chat message whose message is a number', MESSAGE_HINT)],
  ['carol', wrongShape('{"type":"chat","username":"carol","message":null}', 'a chat message whose message is null', MESSAGE_HINT)],
  ['alice2', wrongShape('{"type":"chat","username":"alice","message":["in","an","array"]}', 'a chat message whose message is an array', MESSAGE_HINT)],
  ['alice', wrongShape('{"type":"chat","username":"alice","message":{"text":"in an object"}}', 'a chat message whose message is an object', MESSAGE_HINT)],
  ['bob', wrongShape('{"type":"chat","username":42,"message":"my name is a number"}', 'a chat message whose username is a number', USERNAME_HINT)],
  ['carol', wrongShape('{"type":"chat","username":null,"message":"my name is null"}', 'a chat message whose username is null', USERNAME_HINT)],
  ['alice2', wrongShape('{"type":"chat","username":["alice"],"message":"my name is an array"}', 'a chat message whose username is an array', USERNAME_HINT)],
  ['alice', wrongShape('{"type":"chat","username":{"name":"alice"},"message":"my name is an object"}', 'a chat message whose username is an object', USERNAME_HINT)],
];

export default (async (v) => {
  await v.start();
  const room = new ChatRoom(v);
  // dave connects before anyone else, so that he is first in wss.clients when, at the end, he closes.
  const dave = await connectHalfClosable(v, 'dave');
  v.note('dave connected first; he only listens, until the last step');
  const alice = await room.join('alice');
  const bob = await room.join('bob');
  const carol = await room.join('carol');
  let alice2!: TestClient;

  await v.step('relays a chat message to every other client, and not back to its sender', ['R2', 'R3', 'R5'], async () => {
    // Written with spaces, as problem.md shows it: a message forwarded as it came is then told apart
    // from a relay rebuilt with the wrong field names.
    const hello = { type: 'chat', username: 'alice', message: 'hello, room' };
    await room.say(alice, [{ raw: JSON.stringify(hello, null, 1), message: hello.message, sender: 'alice' }]);
  });

  await v.step('sends nothing back to the sender: each listener hears the next speaker, not itself', ['R2', 'R3'], async () => {
    await room.say(bob, [room.chat(bob, 'hi alice')]);
    await room.say(carol, [room.chat(carol, 'hi both')]);
  });

  await v.step('tells clients apart by socket: a second tab with the same username hears and is heard', ['R2', 'R3'], async () => {
    alice2 = await room.join('alice2', { username: 'alice' });
    v.note('alice2 is alice in a second tab: the same username, "alice", on another connection');
    const sameName = {
      timeoutCode: Codes.NOT_RELAYED,
      timeoutHint:
        'Two connections may share a username. Skip the sender by its socket (client !== socket), never by its name: every other socket gets the relay, whatever name it uses.',
    };
    await room.say(alice2, [room.chat(alice2, 'hello from my phone')], sameName);
    await room.say(alice, [room.chat(alice, 'and hello from my laptop')], sameName);
  });

  await v.step("keeps each sender's messages in order", ['R2', 'R8'], async () => {
    const burst = ['one', 'two', 'three', 'four', 'five', 'a much longer sixth message, to overtake the short ones', '7'];
    await room.say(carol, burst.map((m) => room.chat(carol, m)));
  });

  await v.step('relays a message without a username, or with an empty one, as sent by Anonymous', ['R7'], async () => {
    const anonymous = {
      timeoutCode: Codes.NO_DEFAULT_USERNAME,
      timeoutHint: 'A chat message without a username, or with "", is still a chat message: relay it, with "Anonymous" as the sender.',
    };
    await room.say(bob, [{ raw: JSON.stringify({ type: 'chat', message: 'who am I?' }), message: 'who am I?', sender: 'Anonymous' }], anonymous);
    await room.say(alice2, [{ raw: JSON.stringify({ type: 'chat', username: '', message: 'no name this time' }), message: 'no name this time', sender: 'Anonymous' }], anonymous);
  });

  await v.step('relays text of every kind exactly as it came: accents, emoji, spaces, empty, 100 KiB', ['R6'], async () => {
    const keep = {
      timeoutCode: Codes.CONTENT_NOT_KEPT,
      timeoutHint:
        'Every string is a message, whatever it holds: relay it whole. A check such as if (!msg.message) refuses the empty one; a limit of your own refuses the long one.',
    };
    // Accents, a 4-byte emoji, a CJK character, and spaces at both ends: nothing may be trimmed or re-encoded.
    // Over 64 KiB, a frame's length takes 8 bytes: code that assumes small messages shows here.
    // Markup and a decomposed é (e + U+0301) too: no escaping, no normalising.
    const kinds = ['  café — naïve  ', 'snow ☃ and 🎉 party', '\t漢字\n', '<b>bold</b> & "cafe\u0301"', '', 'ß'.repeat(50 * 1024) + ' end'];
    for (const message of kinds) {
      await room.say(alice, [room.chat(alice, message)], keep);
    }
    await room.say(bob, [{ raw: JSON.stringify({ type: 'chat', username: '  Bób 🐢  ', message: 'a name with spaces' }), message: 'a name with spaces', sender: '  Bób 🐢  ' }], keep);
    // The same JSON, written another way: escapes and line breaks are the client's business, not the relay's.
    const raw = '{\n  "type" : "chat",\n  "username" : "carol",\n  "message" : "caf\\u00e9 \\ud83c\\udf89 \\"quoted\\""\n}';
    await room.say(carol, [{ raw, message: 'café 🎉 "quoted"', sender: 'carol' }], keep);
  });

  await v.step('builds the relay anew: only type, sender and message, whatever else the client sent', ['R2', 'R5', 'R6'], async () => {
    const extra = {
      timeoutCode: Codes.NOT_RELAYED,
      timeoutHint: 'A chat message with fields you do not know, or its keys in another order, is still a chat message: relay it, and leave the unknown fields out.',
    };
    const withExtras = {
      type: 'chat',
      username: 'carol',
      message: 'only what the protocol says',
      sender: 'mallory',
      color: 'red',
      admin: true,
    };
    await room.say(carol, [{ raw: JSON.stringify(withExtras), message: withExtras.message, sender: 'carol', spoofed: 'mallory' }], extra);
    await room.say(alice2, [{ raw: '{"message":"keys in another order","username":"alice","type":"chat"}', message: 'keys in another order', sender: 'alice' }], extra);
  });

  // A crash is the likeliest way to fail these two steps: survives() names it after the input that caused it.
  await survives(v, room, () =>
    v.step('answers a frame that is not JSON with an error, to its sender alone', ['R9', 'R10', 'R11'], async () => {
      const senders = [alice, bob, alice2, carol];
      for (const [i, input] of NOT_JSON.entries()) await room.sendBad(senders[i]!, input);
      // Whatever the bad frames caused was sent before this relay: the next thing each hears must be it.
      await room.say(carol, [room.chat(carol, 'still here?')]);
    }),
  );

  await survives(v, room, () =>
    v.step('answers JSON of the wrong shape with an error, to its sender alone', ['R9', 'R10', 'R11'], async () => {
      const byName = new Map([alice, bob, carol, alice2].map((c) => [c.name, c]));
      for (const [sender, input] of WRONG_SHAPES) await room.sendBad(byName.get(sender)!, input);
      await room.say(bob, [room.chat(bob, 'back to normal')]);
    }),
  );

  await v.step('skips clients that are closing or gone: first, last and in the middle of the set', ['R2', 'R3', 'R4'], async () => {
    const closing = {
      timeoutCode: Codes.NOT_RELAYED,
      timeoutHint:
        'A client that is closing must be skipped, and the loop must go on to the next one: continue, not break or return. Every other OPEN client still gets the relay.',
    };
    const erin = await room.join('erin');
    erin.close(1000, 'bye');
    await erin.expectClose('the server to answer erin\'s close frame');
    room.leave(erin);
    room.expectHeardEverything('dave', await dave.leaveHalfClosed());
    const frank: HalfClosableClient = await connectHalfClosable(v, 'frank');
    await frank.leaveHalfClosed();
    v.note('dave and frank keep their TCP connections open: on your server their sockets are CLOSING (readyState 2), and still in wss.clients, dave first and frank last; erin has gone');
    await room.say(alice, [room.chat(alice, 'anyone here?')], closing);
    const gina = await room.join('gina');
    v.note('gina joined after frank: now a closing socket is first and another in the middle');
    await room.say(gina, [room.chat(gina, 'hello from gina')], closing);
    await expectNoSendOnClosingSocket(v);
  });

  await v.step('sends nothing more: no client has anything left to read', ['R2', 'R3', 'R5'], async () => {
    // The window above is long past the last relays: anything more would be here by now.
    room.expectNothingMore();
  });
}) satisfies LessonVerifier;

/** A chat message as sent, and the relay it must become. */
interface Chat {
  /** The text frame the client sends. */
  raw: string;
  message: string;
  sender: string;
  /** A `sender` field the client put in its message, which must not reach the relay. */
  spoofed?: string;
}

/** What a step says when a relay does not come: its own code and hint, for the input it is about. */
interface TimeoutOptions {
  timeoutCode: string;
  timeoutHint: string;
}

/** How long a send on a socket that is not OPEN may take to be reported, before we trust there was none. */
const SEND_REPORT_WINDOW_MS = 100;
const READY_STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
const RELAY_KEYS = ['message', 'sender', 'type'];

const LOOP_HINT =
  "Nothing reaches the other clients unless your server sends it: broadcasting is a loop you write. In the 'message' handler, go through wss.clients and send the relay to every client that is not the sender.";
const RELAY_SHAPE = '{"type":"chat","sender":…,"message":…}';
const ECHO_HINT =
  'The sender knows what it said: it gets nothing back, neither its own message nor a receipt. In the broadcast loop, skip the socket the message came from (if (client !== socket && …)), and send it nothing else.';
const DEFAULT_TIMEOUT: TimeoutOptions = { timeoutCode: Codes.NOT_RELAYED, timeoutHint: LOOP_HINT };

/**
 * The chat room as the verifier sees it: who is in it, who said what, and which messages were bad, so
 * that anything arriving where it should not can be named precisely.
 */
class ChatRoom {
  /** The open clients, in the order they connected. */
  private readonly members: TestClient[] = [];
  private readonly usernames = new Map<TestClient, string>();
  /** Each chat message sent (all distinct) → the raw text that carried it and who sent it. */
  private readonly said = new Map<string, { raw: string; by: string }>();
  /** Each relay a client has received so far, by message, to tell a repeat from anything else. */
  private readonly heard = new Map<TestClient, Set<string>>();
  /** Clients that have sent a chat message. */
  private readonly spoke = new Set<TestClient>();
  /** Every chat relayed so far, in the order sent. */
  private readonly relays: Chat[] = [];
  private readonly badTexts: string[] = [];
  private readonly badMessages: string[] = [];
  /** Clients that have sent a bad message: if their connection ends, that is what ended it. */
  private readonly badSenders = new Set<TestClient>();
  /** The bad message whose answer is awaited: if the program dies now, this is what killed it. */
  pendingBad?: BadInput;

  constructor(private readonly v: Verification) {}

  /**
   * Connects a client that sends under `username` (default its name). Its frames are written into the
   * transcript as they are read, so that the story reads the same on every run.
   */
  async join(name: string, options: { username?: string } = {}): Promise<TestClient> {
    const client = await this.v.client(name, { log: 'read' });
    this.members.push(client);
    this.usernames.set(client, options.username ?? name);
    this.heard.set(client, new Set());
    return client;
  }

  /** Takes a client that has closed out of the room. */
  leave(client: TestClient): void {
    this.members.splice(this.members.indexOf(client), 1);
  }

  /** A chat message from `from`, under its username. */
  chat(from: TestClient, message: string): Chat {
    const sender = this.usernames.get(from)!;
    return { raw: JSON.stringify({ type: 'chat', username: sender, message }), message, sender };
  }

  /**
   * `from` sends each chat message, and every other member must receive each relay, in order: the
   * first thing each receives is checked, so nothing that should not arrive can slip in before it.
   */
  async say(from: TestClient, chats: Chat[], timeout: TimeoutOptions = DEFAULT_TIMEOUT): Promise<void> {
    for (const chat of chats) {
      this.said.set(chat.message, { raw: chat.raw, by: from.name });
      from.sendText(chat.raw);
    }
    const burst = chats.map((c) => c.message);
    for (const listener of this.members.filter((c) => c !== from)) {
      for (const chat of chats) await this.expectRelay(from, listener, chat, burst, timeout);
    }
    this.relays.push(...chats);
    this.spoke.add(from);
    // Sent in the same loop as the relays just read: an echo to the sender is most likely here already.
    await from.expectSilence(0, { code: Codes.ECHOED_TO_SENDER, expected: `nothing back for ${from.name}, who sent it`, hint: ECHO_HINT });
  }

  /**
   * Checks what a raw client that only listened (and could not be read along the way) received: every
   * relay sent while it was open, in order, and nothing else.
   */
  expectHeardEverything(name: string, frames: Frame[]): void {
    const got = frames.map((f) => asObject(parseJson(f.data.toString('utf8'))));
    for (const [i, want] of this.relays.entries()) {
      const relay = got[i];
      if (relay?.type === 'chat' && relay.sender === want.sender && relay.message === want.message) continue;
      throw this.v.fail({
        code: Codes.NOT_RELAYED,
        expected: `${name}, the first to connect, to have received all ${this.relays.length} relays sent while he was open, the ${ordinal(i + 1)} being ${previewText(relayText(want))}`,
        actual: frames[i] ? `${describeFrame(frames[i])} in its place (${frames.length} frames in all)` : `only ${frames.length} frames`,
        hint: 'Every OPEN client gets each relay, the first in wss.clients as much as the others: go through all of them (for … of wss.clients), skipping only the sender and sockets that are not OPEN.',
      });
    }
    if (frames.length > this.relays.length) {
      throw this.v.fail({
        code: Codes.WRONG_SHAPE,
        expected: `${name} to have received the ${this.relays.length} relays and nothing else`,
        actual: `${frames.length - this.relays.length} more: ${describeFrame(frames[this.relays.length]!)}…`,
        hint: 'Relays and errors are all your server sends: no welcome, no notices, no copies.',
      });
    }
    this.v.note(`✓ ${name} had received all ${this.relays.length} relays sent while he was open, in order`);
  }

  /** Fails if any client has a frame it has not read: everything that was due has been read already. */
  expectNothingMore(): void {
    for (const client of this.members) {
      const frame = client.pending[0];
      if (!frame) continue;
      const message = asObject(parseJson(frame.data.toString('utf8')))?.message;
      const own = (typeof message === 'string' && this.said.get(message)?.by === client.name) || this.isReplyToSpeaker(client, asObject(parseJson(frame.data.toString('utf8'))));
      const again = typeof message === 'string' && this.heard.get(client)!.has(message);
      client.releaseUnread();
      throw this.v.fail({
        code: own ? Codes.ECHOED_TO_SENDER : again ? Codes.RELAYED_TWICE : Codes.WRONG_SHAPE,
        expected: `nothing more for ${client.name}: every relay due has arrived`,
        actual: describeFrame(frame) + (own ? `: ${client.name}'s own message` : again ? `: ${client.name} had already received that message` : ''),
        hint: own
          ? ECHO_HINT
          : again
            ? 'Each message goes to each client once: a socket that sits twice in your list of clients, or a handler attached twice, sends it again.'
            : 'Relays and errors are all your server sends: no welcome, no notices, no acknowledgements.',
      });
    }
    this.v.note('✓ nothing left unread: no echo, no copy, nothing but relays and errors');
  }

  /** `from` sends a message that is not a valid chat message, and must get an error back and stay connected. */
  async sendBad(from: TestClient, input: BadInput): Promise<void> {
    const raw = input.frame.data.toString('utf8');
    this.badTexts.push(raw);
    const message = asObject(parseJson(raw))?.message;
    if (typeof message === 'string') this.badMessages.push(message);
    this.badSenders.add(from);
    this.pendingBad = input;
    if (input.frame.kind === 'binary') from.sendBinary(input.frame.data);
    else from.sendText(raw);
    await this.expectError(from, input);
    this.pendingBad = undefined;
  }

  private async expectRelay(from: TestClient, listener: TestClient, want: Chat, burst: string[], timeout: TimeoutOptions): Promise<void> {
    const got = await listener.nextFrame(`${listener.name} to receive ${previewText(relayText(want))}`, timeout).catch((error: unknown) => {
      throw this.explainMissing(error, from, listener);
    });
    const failure = this.diagnose(listener, got, want, burst);
    if (failure) throw failure;
    this.heard.get(listener)!.add(want.message);
  }

  /** A relay that never came: say what happened instead, when the clients saw something. */
  private explainMissing(error: unknown, from: TestClient, listener: TestClient): unknown {
    if (!(error instanceof VerifyFailure)) return error;
    const closed = error.code === HarnessCodes.CONNECTION_CLOSED ? listener : from.closed ? from : undefined;
    if (closed && this.badSenders.has(closed)) {
      return this.v.fail({
        code: Codes.CLOSED_ON_BAD_INPUT,
        expected: error.expected ?? `${listener.name} to receive the relay`,
        actual: `${closed.name}'s connection had closed (${closed.closed?.clean ? `close frame, code ${closed.closed.code}` : 'dropped without a close frame, 1006'}) after the bad messages it sent`,
        hint: 'A bad message is no reason to hang up: the client may have a typo, not bad intentions. Reply with {"type":"error","message":"…"} and keep the connection open.',
      });
    }
    if (error.code !== HarnessCodes.NO_REPLY && !Object.values(Codes).includes(error.code as never)) return error;
    const back = from.pending[0];
    if (!back) return error;
    const reply = asObject(parseJson(back.data.toString('utf8')));
    if (reply?.type === 'error') {
      error.hint = `${from.name} got ${describeFrame(back)} back: your server refused a valid chat message. ${error.hint ?? ''}`.trim();
    } else {
      // The myth at work: socket.send answers the sender alone, and the room hears nothing.
      error.hint = `${from.name} got a message back and ${listener.name} nothing: socket.send talks to one client only. ${LOOP_HINT}`;
    }
    return error;
  }

  /**
   * True when a frame that is neither a relay nor an error reaches a client that has spoken: an
   * acknowledgement or receipt, which may arrive after the moment say() looked for one.
   */
  private isReplyToSpeaker(client: TestClient, value: Record<string, unknown> | undefined): boolean {
    return this.spoke.has(client) && value !== undefined && value.type !== 'chat' && value.type !== 'error' && !('sender' in value);
  }

  /** Says what is wrong with a frame that arrived where `want` was due, or nothing if it is right. */
  private diagnose(listener: TestClient, got: Frame, want: Chat, burst: string[]): VerifyFailure | undefined {
    const text = got.data.toString('utf8');
    const relay = asObject(parseJson(text));
    const expected = `${listener.name} to receive ${previewText(relayText(want))}`;
    const actual = describeFrame(got);
    const failure = (code: string, hint: string, detail = '') => new VerifyFailure({ code, expected, actual: actual + detail, hint });

    const message = typeof relay?.message === 'string' ? relay.message : undefined;
    const earlier = message === undefined ? undefined : this.said.get(message);
    if (earlier?.by === listener.name && message !== want.message) {
      return failure(Codes.ECHOED_TO_SENDER, ECHO_HINT, `: ${listener.name}'s own message came back`);
    }
    if (this.isReplyToSpeaker(listener, relay)) {
      return failure(Codes.ECHOED_TO_SENDER, ECHO_HINT, `: something came back to ${listener.name} for a message it sent`);
    }
    if (this.badTexts.includes(text) || relay?.type === 'error' || (message !== undefined && this.badMessages.includes(message))) {
      return failure(
        Codes.BAD_INPUT_REACHED_OTHERS,
        'A bad message concerns only the client that sent it: send the error on that socket alone (socket.send, not the broadcast loop), and relay nothing.',
        ', which comes from the bad messages sent earlier',
      );
    }
    if (message !== undefined && message !== want.message && this.heard.get(listener)!.has(message)) {
      return failure(
        Codes.RELAYED_TWICE,
        'Each message goes to each client once. A socket that sits twice in your list of clients (added on connection and again later), or a handler attached twice, sends it again.',
        `: ${listener.name} had already received that message`,
      );
    }
    // Before the raw-forward check: a relay without its sender can be, byte for byte, what was sent.
    if (want.sender === 'Anonymous' && relay?.type === 'chat' && relay.message === want.message && relay.sender !== want.sender) {
      return failure(
        Codes.NO_DEFAULT_USERNAME,
        'The username is optional. When a chat message has none, or an empty one, relay it with sender "Anonymous", spelled so: msg.username || "Anonymous". (?? keeps "", and JSON.stringify leaves out a field whose value is undefined.)',
        `, whose sender is ${relay.sender === undefined ? 'missing' : JSON.stringify(relay.sender)}`,
      );
    }
    if (text === want.raw) {
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
    if (message !== undefined && message !== want.message && burst.includes(message) && burst.indexOf(message) > burst.indexOf(want.message)) {
      return failure(
        Codes.OUT_OF_ORDER,
        'Relay each message as soon as it arrives. Anything that delays some messages more than others (a timer, an await on some messages and not on others) lets later ones overtake.',
        ` (${want.sender} sent them in the order ${burst.map((m) => JSON.stringify(m)).join(', ')})`,
      );
    }
    if (relay.sender === undefined && relay.username !== undefined) {
      return failure(Codes.WRONG_SHAPE, `The relay names its author in a field called "sender", not "username": ${RELAY_SHAPE}.`);
    }
    if (relay.type !== 'chat' || !('sender' in relay) || !('message' in relay)) {
      return failure(Codes.WRONG_SHAPE, `Every relay has exactly this shape: ${RELAY_SHAPE}, with type "chat".`);
    }
    const extra = Object.keys(relay).filter((k) => !RELAY_KEYS.includes(k));
    if (extra.length > 0) {
      return failure(
        Codes.EXTRA_FIELDS,
        `The relay is a new object with three fields, ${RELAY_SHAPE}, and nothing else: build it from scratch rather than spreading or copying what the client sent, which lets any client add fields of its own to everyone's messages.`,
        `, with ${extra.length === 1 ? 'a field' : 'fields'} it should not have: ${extra.map((k) => JSON.stringify(k)).join(', ')}`,
      );
    }
    if (relay.message === want.message && relay.sender === want.sender) return undefined;
    if (want.spoofed !== undefined && relay.sender === want.spoofed) {
      return failure(
        Codes.CONTENT_NOT_KEPT,
        'The sender is the username the client gave, never a "sender" field it put in its message: otherwise anyone can speak in someone else\'s name.',
        `: the "sender" the client slipped into its message`,
      );
    }
    return failure(
      Codes.CONTENT_NOT_KEPT,
      'The relay carries the username as sender and the message exactly as they came: no trimming, no change of case, no shortening, no re-encoding. Take both from the parsed message and use them as they are.',
      relay.message !== want.message ? ': the message is not the one sent' : ': the sender is not the username sent',
    );
  }

  /** Expects `client` to get {"type":"error","message":"…"} back, and its connection to stay open. */
  private async expectError(client: TestClient, input: BadInput): Promise<void> {
    const expected = `${client.name} to receive {"type":"error","message":"…"} in answer to ${input.what}`;
    let got: Frame;
    try {
      got = await client.nextFrame(expected, { timeoutCode: Codes.NO_ERROR_REPLY, timeoutHint: input.noReplyHint });
    } catch (error) {
      if (!(error instanceof VerifyFailure)) throw error;
      if (error.code === HarnessCodes.CONNECTION_CLOSED) {
        const how = client.closed?.clean ? `a close frame, code ${client.closed.code}` : 'the connection dropped without a close frame (1006)';
        throw this.v.fail({
          code: Codes.CLOSED_ON_BAD_INPUT,
          expected,
          actual: `${how}: your server closed ${client.name}'s connection instead of answering`,
          hint: 'A bad message is no reason to hang up: the client may have a typo, not bad intentions. Reply with {"type":"error","message":"…"} and keep the connection open.',
        });
      }
      if (error.code === Codes.NO_ERROR_REPLY) throw this.explainNoError(client, error);
      throw error;
    }
    const reply = asObject(parseJson(got.data.toString('utf8')));
    if (got.kind !== 'text' || reply?.type !== 'error' || typeof reply.message !== 'string' || reply.message === '') {
      throw this.v.fail({
        code: Codes.ERROR_WRONG_SHAPE,
        expected,
        actual: describeFrame(got),
        hint: 'Errors are JSON too, so a client can tell them from chat: send JSON.stringify({ type: "error", message: "what was wrong" }), as a text frame, with a message that is not empty.',
      });
    }
  }

  /** No error came back: if it went to someone else, or the message was relayed, say so. */
  private explainNoError(client: TestClient, error: VerifyFailure): VerifyFailure {
    for (const other of this.members.filter((c) => c !== client)) {
      const frame = other.pending.find((f) => asObject(parseJson(f.data.toString('utf8')))?.type === 'error');
      if (frame) {
        return this.v.fail({
          code: Codes.BAD_INPUT_REACHED_OTHERS,
          expected: error.expected,
          actual: `nothing for ${client.name}, but ${other.name} received ${describeFrame(frame)}`,
          hint: 'Answer on the socket the bad message came from: the socket your message handler belongs to, not one kept in a variable or found by looping.',
        });
      }
    }
    const relayed = this.members.filter((c) => c !== client).find((c) => c.pending.length > 0);
    if (relayed) {
      return this.v.fail({
        code: Codes.NO_ERROR_REPLY,
        expected: error.expected,
        actual: `nothing for ${client.name}, and ${relayed.name} received ${describeFrame(relayed.pending[0]!)}: your server relayed it`,
        hint: error.hint,
      });
    }
    return error;
  }
}

/**
 * Runs a step in which bad messages are sent. If the program dies meanwhile, the crash is reported
 * under the code of the message that caused it, with a hint about that message, rather than as a
 * dropped connection. (It wraps the whole step: a step ends as soon as the program dies.)
 */
async function survives(v: Verification, room: ChatRoom, step: () => Promise<void>): Promise<void> {
  await v.blameDeath(step, () => {
    const input = room.pendingBad;
    if (!input) return undefined;
    const shown = input.frame.kind === 'binary' ? describeFrame(input.frame) : previewText(input.frame.data.toString('utf8'));
    return { code: input.crashCode, when: `when it received ${input.what}: ${shown}`, hint: input.crashHint };
  }, { cleanExits: true });
}

/**
 * Fails if the program called send() on a socket that was not OPEN. ws 8 drops such a send silently,
 * so the preload reports it; the report comes through its own pipe, and is given a short window.
 */
async function expectNoSendOnClosingSocket(v: Verification): Promise<void> {
  const { program } = v.servers[0]!;
  const deadline = Date.now() + SEND_REPORT_WINDOW_MS;
  while (program.sendsNotOpen.length === 0 && Date.now() < deadline) await delay(5);
  // Wait out the window even after a first report: how many there were tells which clients were hit.
  await delay(Math.max(0, deadline - Date.now()));
  const reports = program.sendsNotOpen;
  if (reports.length > 0) {
    const states = [...new Set(reports.map((r) => r.readyState))].sort();
    const gone = states.includes(3);
    throw v.fail({
      code: Codes.SENT_TO_CLOSING_SOCKET,
      expected: 'no send() on a socket that is not OPEN',
      actual: `${reports.length === 1 ? 'a send()' : `${reports.length} send() calls`} on sockets whose readyState was ${states.map((s) => `${s} (${READY_STATES[s] ?? 'unknown'})`).join(' or ')}`,
      hint: gone
        ? 'A socket that has closed stays in a Set of your own until you delete it in its \'close\' handler, and one that is closing stays in wss.clients until its closing handshake is over. Send only to a client whose readyState === WebSocket.OPEN.'
        : 'A client stays in wss.clients while it closes: the closing handshake takes a round trip, and up to 30 s if the other side is slow. Send only to a client whose readyState === WebSocket.OPEN. ' +
          'ws 8 drops a send on a closing socket without a word, so the message is silently lost; older ws versions threw, and crashed the server.',
    });
  }
  v.note('✓ no send() on a socket that was not OPEN');
}

function ordinal(n: number): string {
  const suffix = n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

function relayText(chat: Chat): string {
  return JSON.stringify({ type: 'chat', sender: chat.sender, message: chat.message });
}
