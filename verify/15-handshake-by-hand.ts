/**
 * Lesson 15 — The protocol by hand. The story, spoken through a raw socket that writes every byte
 * itself: upgrade requests with varied keys and headers get a 101 and the right accept, requests that
 * are not upgrades a 400; small frames, then 16- and 64-bit lengths, echo with their payloads unmasked;
 * frames cut across TCP writes, several in one write, two connections interleaved; text as text,
 * binary as binary; fragmented messages joined, a ping between fragments answered at once; pings
 * answered, pongs not; a real ws client talks to it; the close handshake echoes its code; and what
 * RFC 6455 refuses is refused with 1002 or 1007, closing that connection alone.
 */
import { isUtf8 } from 'node:buffer';
import { computeAccept, RFC_SAMPLE_KEY, WEBSOCKET_GUID } from './harness/handshake.ts';
import { headerValue, type RawExchange, type RawResponse } from './harness/http.ts';
import { defineRules, describeCloseCode, formatBytes, HarnessCodes, VerifyFailure, type LessonVerifier, type RunningServer, type TestClient, type Verification } from './harness/index.ts';
import { delay } from './harness/json.ts';
import { derivedBytes, encodeFrame, frameMeaning, payloadSummary, RawFrameClient, RawWaitTimeout, type FrameSpec, type RawEvent, type RawFrame } from './harness/raw-frame-client.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  UPGRADE_NOT_SWITCHED: 'HAND_UPGRADE_NOT_SWITCHED',
  UPGRADE_BAD_HEADERS: 'HAND_UPGRADE_BAD_HEADERS',
  UPGRADE_BAD_ACCEPT: 'HAND_UPGRADE_BAD_ACCEPT',
  BAD_REQUEST_SWITCHED: 'HAND_BAD_REQUEST_SWITCHED',
  BAD_REQUEST_NOT_400: 'HAND_BAD_REQUEST_NOT_400',
  BAD_REQUEST_NO_ANSWER: 'HAND_BAD_REQUEST_NO_ANSWER',
  STOPPED_SERVING: 'HAND_STOPPED_SERVING',
  SPLIT_FRAME_LOST: 'HAND_SPLIT_FRAME_LOST',
  FRAMES_IN_ONE_READ: 'HAND_FRAMES_IN_ONE_READ',
  CONNECTIONS_MIXED: 'HAND_CONNECTIONS_MIXED',
  NOT_UNMASKED: 'HAND_NOT_UNMASKED',
  LENGTH_16_WRONG: 'HAND_LENGTH_16_WRONG',
  LENGTH_64_WRONG: 'HAND_LENGTH_64_WRONG',
  ECHO_WRONG: 'HAND_ECHO_WRONG',
  ECHO_WRONG_TYPE: 'HAND_ECHO_WRONG_TYPE',
  ECHO_MASKED: 'HAND_ECHO_MASKED',
  ECHO_BAD_FRAME: 'HAND_ECHO_BAD_FRAME',
  FRAGMENTS_NOT_JOINED: 'HAND_FRAGMENTS_NOT_JOINED',
  CONTROL_AMID_FRAGMENTS: 'HAND_CONTROL_AMID_FRAGMENTS',
  PONG_MISSING: 'HAND_PONG_MISSING',
  PONG_WRONG_PAYLOAD: 'HAND_PONG_WRONG_PAYLOAD',
  PONG_ANSWERED: 'HAND_PONG_ANSWERED',
  CLOSE_NOT_ANSWERED: 'HAND_CLOSE_NOT_ANSWERED',
  CLOSE_WRONG_CODE: 'HAND_CLOSE_WRONG_CODE',
  CLOSE_LEFT_OPEN: 'HAND_CLOSE_LEFT_OPEN',
  UNMASKED_ACCEPTED: 'HAND_UNMASKED_ACCEPTED',
  LONG_CONTROL_ACCEPTED: 'HAND_LONG_CONTROL_ACCEPTED',
  FRAGMENTED_CONTROL_ACCEPTED: 'HAND_FRAGMENTED_CONTROL_ACCEPTED',
  RESERVED_ACCEPTED: 'HAND_RESERVED_ACCEPTED',
  BAD_CONTINUATION_ACCEPTED: 'HAND_BAD_CONTINUATION_ACCEPTED',
  REFUSED_WRONG_CODE: 'HAND_REFUSED_WRONG_CODE',
  BAD_UTF8_ACCEPTED: 'HAND_BAD_UTF8_ACCEPTED',
  VALID_UTF8_REFUSED: 'HAND_VALID_UTF8_REFUSED',
  UTF8_WRONG_CODE: 'HAND_UTF8_WRONG_CODE',
  CRASHED_ON_BAD_FRAME: 'HAND_CRASHED_ON_BAD_FRAME',
  OTHERS_DISTURBED: 'HAND_OTHERS_DISTURBED',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: {
    text: 'Answer a valid upgrade request with `101 Switching Protocols`, `Upgrade: websocket`, `Connection: Upgrade` and `Sec-WebSocket-Accept`: the SHA-1 of its `Sec-WebSocket-Key` followed by `258EAFA5-E914-47DA-95CA-C5AB0DC85B11`, in base64.',
    codes: [Codes.UPGRADE_NOT_SWITCHED, Codes.UPGRADE_BAD_HEADERS, Codes.UPGRADE_BAD_ACCEPT],
  },
  R3: {
    text: 'Answer `400 Bad Request` to a request that is not a valid upgrade, and go on serving.',
    codes: [Codes.BAD_REQUEST_SWITCHED, Codes.BAD_REQUEST_NOT_400, Codes.BAD_REQUEST_NO_ANSWER, Codes.STOPPED_SERVING],
  },
  R4: {
    text: 'Read frames from the stream of bytes, however TCP cuts it: a header may come in pieces, several frames in one read, and each connection has its own stream.',
    codes: [Codes.SPLIT_FRAME_LOST, Codes.FRAMES_IN_ONE_READ, Codes.CONNECTIONS_MIXED],
  },
  R5: {
    text: "Read the payload length in 7, 16 or 64 bits, and unmask each payload with its frame's 4-byte key.",
    codes: [Codes.NOT_UNMASKED, Codes.LENGTH_16_WRONG, Codes.LENGTH_64_WRONG],
  },
  R6: {
    text: 'Echo each text message as text and each binary message as binary, the same bytes, in frames that are not masked.',
    codes: [Codes.ECHO_WRONG, Codes.ECHO_WRONG_TYPE, Codes.ECHO_MASKED, Codes.ECHO_BAD_FRAME],
  },
  R7: {
    text: 'Join a message sent in fragments (a first frame without FIN, then continuation frames up to one with FIN) before echoing it, and answer a control frame that comes between its fragments at once.',
    codes: [Codes.FRAGMENTS_NOT_JOINED, Codes.CONTROL_AMID_FRAGMENTS],
  },
  R8: {
    text: 'Answer a ping with a pong carrying the same payload; a pong needs no answer.',
    codes: [Codes.PONG_MISSING, Codes.PONG_WRONG_PAYLOAD, Codes.PONG_ANSWERED],
  },
  R9: {
    text: 'Answer a close frame with a close frame carrying the same status code, then close the TCP connection.',
    codes: [Codes.CLOSE_NOT_ANSWERED, Codes.CLOSE_WRONG_CODE, Codes.CLOSE_LEFT_OPEN],
  },
  R10: {
    text: 'Refuse with close code `1002` a frame that is not masked, a control frame that is fragmented or over 125 bytes, a reserved bit or opcode, and a continuation frame with no message to continue, or a new message before the last one ended.',
    codes: [
      Codes.UNMASKED_ACCEPTED,
      Codes.LONG_CONTROL_ACCEPTED,
      Codes.FRAGMENTED_CONTROL_ACCEPTED,
      Codes.RESERVED_ACCEPTED,
      Codes.BAD_CONTINUATION_ACCEPTED,
      Codes.REFUSED_WRONG_CODE,
    ],
  },
  R11: {
    text: 'Refuse with close code `1007` a text message whose bytes are not valid UTF-8; a character split across two fragments is valid.',
    codes: [Codes.BAD_UTF8_ACCEPTED, Codes.VALID_UTF8_REFUSED, Codes.UTF8_WRONG_CODE],
  },
  R12: {
    text: 'A refusal closes that one connection: the server and its other connections go on.',
    codes: [Codes.CRASHED_ON_BAD_FRAME, Codes.OTHERS_DISTURBED],
  },
});

const TEXT = 0x1;
const BINARY = 0x2;
const CONTINUATION = 0x0;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

/** What a failure says about a wrong answer, and what to do: given by each check. */
interface Blame {
  code: string;
  hint: string;
}

const ACCEPT_HINT =
  `Sec-WebSocket-Accept is base64(SHA-1(key + "${WEBSOCKET_GUID}")): append the GUID to the key exactly as the client sent it (no trimming, no decoding), ` +
  "hash with createHash('sha1'), and encode the 20-byte digest in base64: digest('base64'), not digest('hex').";
const SWITCH_HINT =
  'A valid upgrade is a GET with Upgrade: websocket, a Connection header whose list holds Upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key. ' +
  "Header names come in any case (node:http lower-cases them: request.headers['sec-websocket-key']), and the values websocket and Upgrade too: compare them lower-cased. " +
  "With node:http, such a request arrives as the server's 'upgrade' event, not as a request.";
const BAD_REQUEST_HINT =
  'Check the upgrade request before answering 101: the method is GET, Upgrade is websocket, Sec-WebSocket-Version is 13, a Sec-WebSocket-Key is there. ' +
  "Anything else gets socket.end('HTTP/1.1 400 Bad Request\\r\\nConnection: close\\r\\nContent-Length: 0\\r\\n\\r\\n'). With node:http, a plain request without Upgrade " +
  "reaches the request handler instead: answer 400 there too.";
const STREAM_HINT =
  "TCP carries a stream of bytes, not frames: one 'data' event may hold part of a header, or several frames and the start of another. " +
  'Keep a buffer per connection: append each chunk, then take complete frames off its front for as long as there are, and keep the rest for the next chunk. ' +
  'A frame is complete once its 2 first bytes, its extended length, its 4-byte key and its whole payload have arrived.';
const UNMASK_HINT =
  "Every client frame is masked: bit 0x80 of the second byte is set, and 4 key bytes follow the length. Byte i of the payload was XORed with key[i % 4]: " +
  'XOR it again, payload[i] ^= key[i % 4], counting i from the payload\'s first byte, not the frame\'s.';
const LENGTH_16_HINT =
  'A length of 126 in the second byte means the real length is in the next 2 bytes, big-endian: buffer.readUInt16BE(2); the key then starts at byte 4. ' +
  'Writing works the same way: an echo of 126 to 65535 bytes gets 126 and then the length in 2 bytes, writeUInt16BE.';
const LENGTH_64_HINT =
  'A length of 127 in the second byte means the real length is in the next 8 bytes, big-endian: Number(buffer.readBigUInt64BE(2)); the key then starts at byte 10. ' +
  'Writing too: an echo of 65536 bytes or more gets 127 and then the length in 8 bytes, writeBigUInt64BE(BigInt(length), 2).';
const ECHO_HINT = 'Send back exactly the payload that came, once unmasked: the same bytes, in a frame of the same type, with FIN set.';
const TYPE_HINT =
  'The opcode says what a message is: 0x1 text, 0x2 binary. Echo with the opcode of the message\'s first frame (a continuation frame\'s 0x0 says only "more of the same"), ' +
  'and never decode binary data as text.';
const MASKED_HINT = 'A server never masks its frames (RFC 6455 §5.1): the second byte is just the length, with bit 0x80 clear, and no key follows.';
const BAD_FRAME_HINT =
  'Each frame the server writes: the first byte is 0x80 | opcode (FIN set, reserved bits clear), the second the length when under 126, else 126 and 2 bytes, ' +
  'or 127 and 8 bytes for 65536 and more: always the shortest that fits. A fragmented echo starts with a text or binary frame and continues with opcode 0.';
const FRAGMENT_HINT =
  'A frame without FIN (bit 0x80 of the first byte clear) is only the start of a message: keep its payload and its opcode, append each continuation frame\'s (opcode 0), ' +
  'and echo once a frame with FIN has come. Then the message is whole.';
const CONTROL_AMID_HINT =
  'Ping, pong and close frames may come between the fragments of a message: they are whole on their own. Answer them at once, and keep the fragments already ' +
  'received for when the message goes on. Only text, binary and continuation frames belong to the message.';
const PONG_HINT = 'A ping (opcode 0x9) gets a pong (opcode 0xA) at once, carrying the very bytes the ping carried, however many (up to 125), or none.';
const PONG_ANSWER_HINT = 'A pong (opcode 0xA) is an answer, or a heartbeat the client sends unasked: read it and do nothing. It is never echoed nor answered.';
const CLOSE_HINT =
  'A close frame (opcode 0x8) starts the close handshake: answer with a close frame of your own carrying the same 2-byte status code (the first 2 bytes of its payload; ' +
  'none if it carried none), then end the TCP connection: socket.end().';
const REFUSE_HINT =
  'RFC 6455 tells a server to fail the connection on a frame it must not accept: send a close frame whose payload is the code 1002 in 2 bytes, big-endian, then end the socket. ' +
  'Check every frame before acting on it: masked, reserved bits clear, a known opcode, control frames with FIN and at most 125 bytes, continuation frames only within a message.';
const UTF8_HINT =
  "A text message must be valid UTF-8. Check the whole message once it is complete: isUtf8(data) from node:buffer, or new TextDecoder('utf-8', { fatal: true }) " +
  'in a try. Refuse it with a close frame carrying 1007. Buffer.toString() never fails: it replaces what is broken with U+FFFD, which a valid text may hold as well.';
const SPLIT_UTF8_HINT =
  'A character may be cut between two fragments: "κ" is ce ba, and a fragment may end after ce. Each fragment alone is then not valid UTF-8; the message is. ' +
  'Check the whole message once it has been joined, not each fragment.';
const CRASH_HINT =
  "A frame that breaks the rules must never end the server: answer it with a close frame, end that socket, and keep serving everyone else. Give every socket an 'error' " +
  'handler too: a client that resets its connection raises one, and an error with no handler ends the whole process.';

/** The close code a refusal must carry, and the codes that say what went wrong. */
interface Refusal {
  what: string;
  frames: FrameSpec[];
  want: 1002 | 1007;
  accepted: string;
  wrongCode: string;
  hint: string;
  /** Frames a correct server answers before it refuses (a good frame sent first). */
  before?: Array<{ opcode: number; payload: Buffer }>;
}

export default (async (v) => {
  const server = await v.start();
  const wire = new Wire(v, server);
  let alice!: RawFrameClient;

  await wire.guard(
    v.step('answers an upgrade request with 101 and the Sec-WebSocket-Accept made from its key', ['R2'], async () => {
      const { joined, sha1Hex, accept } = computeAccept(RFC_SAMPLE_KEY);
      alice = await wire.upgrade('alice', { key: RFC_SAMPLE_KEY });
      v.note('Sec-WebSocket-Accept proves the server read this very key (RFC 6455 §4.2.2):');
      v.note(`  key + GUID   ${joined}`);
      v.note(`  SHA-1        ${sha1Hex}`);
      v.note(`  base64       ${accept}`);
      // Keys vary: one with + and / in it, one of another client.
      await wire.upgrade('bob', { key: 'x3JJHMbDL1EzLkh9GBhXDw==' }).then((c) => c.end());
      await wire.upgrade('bob', { key: '+/+/AAAAAAAAAAAAAAAAAA==' }).then((c) => c.end());
    }),
  );

  await wire.guard(
    v.step('answers an upgrade whatever the case and order of its headers, with others among them', ['R2'], async () => {
      const key = derivedBytes('bob', 16).toString('base64');
      const bob = await wire.upgrade('bob', {
        key,
        headers: [
          ['user-agent', 'verify/15 (by hand)'],
          ['sec-websocket-key', key],
          ['Origin', 'http://example.com'],
          ['CONNECTION', 'keep-alive, Upgrade'],
          ['sec-websocket-version', '13'],
          ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
          ['upgrade', 'WebSocket'],
          ['Accept-Language', 'fr-CH, fr;q=0.9, 日本語'.replace('日本語', 'ja')],
        ],
      });
      bob.end();
    }),
  );

  await wire.guard(
    v.step('answers 400 to requests that are not valid upgrades, and goes on serving', ['R3'], async () => {
      const key = derivedBytes('mallory', 16).toString('base64');
      const valid: Array<[string, string]> = [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Key', key],
        ['Sec-WebSocket-Version', '13'],
      ];
      const without = (name: string) => valid.filter(([n]) => n !== name);
      await wire.expect400('a plain GET, with no Upgrade header', { headers: [['Accept', 'text/html']] });
      await wire.expect400('an upgrade with no Sec-WebSocket-Key', { headers: without('Sec-WebSocket-Key') });
      (await wire.upgrade('bob', {}, { code: Codes.STOPPED_SERVING, hint: BAD_REQUEST_HINT })).end();
      await wire.expect400('an upgrade asking for Sec-WebSocket-Version 8', { headers: [...without('Sec-WebSocket-Version'), ['Sec-WebSocket-Version', '8']], also426: true });
      await wire.expect400('a POST, with every upgrade header', { method: 'POST', headers: valid });
      await wire.expect400('an upgrade to another protocol, Upgrade: h2c', { headers: [...without('Upgrade'), ['Upgrade', 'h2c']] });
      await wire.expect400('Upgrade: websocket with Connection: keep-alive (no Upgrade in it)', { headers: [...without('Connection'), ['Connection', 'keep-alive']] });
      (await wire.upgrade('bob', {}, { code: Codes.STOPPED_SERVING, hint: BAD_REQUEST_HINT })).end();
    }),
  );

  const small = { code: Codes.ECHO_WRONG, hint: ECHO_HINT };
  const length16 = { code: Codes.LENGTH_16_WRONG, hint: LENGTH_16_HINT };
  await wire.guard(
    v.step('echoes a small masked frame, unmasked', ['R5', 'R6'], async () => {
      // Binary first: a server that checks UTF-8 would refuse text it unmasked wrongly, and hide why.
      await wire.echo(alice, { opcode: BINARY, payload: Buffer.from([0, 1, 2, 0xfe, 0xff]), mask: Buffer.from('ffffffff', 'hex') }, small);
      await wire.echo(alice, { opcode: BINARY, payload: Buffer.from('masked bytes'), mask: Buffer.from('a1b2c3d4', 'hex') }, small);
      await wire.echo(alice, { opcode: TEXT, payload: 'Hello', mask: Buffer.from('37fa213d', 'hex') }, small);
      await wire.echo(alice, { opcode: TEXT, payload: 'héllo wörld 🎉' }, small);
    }),
  );

  await wire.guard(
    v.step('reads 7- and 16-bit payload lengths', ['R5', 'R6'], async () => {
      await wire.echo(alice, { opcode: TEXT, payload: '' }, small);
      await wire.echo(alice, { opcode: TEXT, payload: textOf(125) }, small);
      await wire.echo(alice, { opcode: BINARY, payload: bytesOf(126, 1) }, length16);
      await wire.echo(alice, { opcode: BINARY, payload: bytesOf(127, 2) }, length16);
      await wire.echo(alice, { opcode: TEXT, payload: textOf(1000) }, length16);
    }),
  );

  const split = { code: Codes.SPLIT_FRAME_LOST, hint: STREAM_HINT };
  await wire.guard(
    v.step('reads a frame whose header comes in pieces, one TCP write after another', ['R4'], async () => {
      v.note('each header byte in a TCP write of its own, the key cut in the middle, the payload in two');
      await wire.echo(alice, { opcode: TEXT, payload: 'cut into pieces' }, split, [1, 2, 3, 4, 5, 6, 10]);
      await wire.echo(alice, { opcode: BINARY, payload: bytesOf(300, 4) }, split, [1, 3, 5, 7, 100]);
    }),
  );

  await wire.guard(
    v.step('reads several frames that come in one TCP write', ['R4'], async () => {
      const together = { code: Codes.FRAMES_IN_ONE_READ, hint: STREAM_HINT };
      const three: FrameSpec[] = [
        { opcode: TEXT, payload: 'one' },
        { opcode: BINARY, payload: Buffer.from([2, 2]) },
        { opcode: TEXT, payload: 'three, and the last' },
      ];
      await wire.echoAll(alice, three, together);
      v.note('two frames and the first bytes of a third in one write, its rest in the next');
      const next: FrameSpec[] = [
        { opcode: TEXT, payload: 'four' },
        { opcode: TEXT, payload: 'five' },
        { opcode: TEXT, payload: 'six, cut' },
      ];
      const sizes = next.map((f) => encodeFrame({ ...f, mask: Buffer.alloc(4) }).length);
      await wire.echoAll(alice, next, together, [sizes[0]! + sizes[1]! + 3]);
    }),
  );

  let bob!: RawFrameClient;
  await wire.guard(
    v.step("reads each connection's bytes on their own: two clients' frames cut and interleaved", ['R4'], async () => {
      bob = await wire.upgrade('bob');
      const mixed = { code: Codes.CONNECTIONS_MIXED, hint: `${STREAM_HINT} The buffer belongs to the connection: declare it inside the handler that gets the socket, not once for the whole server.` };
      const fromAlice: FrameSpec = { opcode: TEXT, payload: 'alice speaks' };
      const fromBob: FrameSpec = { opcode: TEXT, payload: 'bob speaks too' };
      await alice.send(fromAlice, [4]);
      await bob.send(fromBob, [4]);
      await wire.expectMessage(alice, TEXT, Buffer.from('alice speaks'), mixed);
      await wire.expectMessage(bob, TEXT, Buffer.from('bob speaks too'), mixed);
      // Interleaved: alice's first bytes, then bob's, then the rest of each.
      const a = encodeFrame({ ...fromAlice, mask: Buffer.from('01020304', 'hex') });
      const b = encodeFrame({ ...fromBob, mask: Buffer.from('05060708', 'hex') });
      v.note("alice's first 5 bytes, bob's first 5, then the rest of each");
      await wire.writeRaw(alice, a.subarray(0, 5));
      await wire.writeRaw(bob, b.subarray(0, 5));
      await wire.writeRaw(alice, a.subarray(5));
      await wire.writeRaw(bob, b.subarray(5));
      await wire.expectMessage(alice, TEXT, Buffer.from('alice speaks'), mixed);
      await wire.expectMessage(bob, TEXT, Buffer.from('bob speaks too'), mixed);
    }),
  );

  await wire.guard(
    v.step('reads 64-bit payload lengths, in frames larger than one read', ['R5', 'R6'], async () => {
      const length64 = { code: Codes.LENGTH_64_WRONG, hint: LENGTH_64_HINT };
      await wire.echo(alice, { opcode: BINARY, payload: bytesOf(65535, 3) }, length16);
      await wire.echo(alice, { opcode: BINARY, payload: bytesOf(65536, 4) }, length64);
      await wire.echo(alice, { opcode: TEXT, payload: textOf(100_000) }, length64);
      v.note('a 64-bit length cut in three writes');
      await wire.echo(alice, { opcode: BINARY, payload: bytesOf(70_000, 5) }, length64, [2, 6]);
    }),
  );

  await wire.guard(
    v.step('echoes text as text and binary as binary, byte for byte', ['R6'], async () => {
      const echo = { code: Codes.ECHO_WRONG, hint: ECHO_HINT };
      for (const text of ['  spaces at both ends  ', 'naïve café, 漢字, 🎉', '{"type":"json","value":null}', '\n']) {
        await wire.echo(alice, { opcode: TEXT, payload: text }, echo);
      }
      for (const bytes of [Buffer.from('hello'), Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28]), Buffer.alloc(0), Buffer.from([0xce])]) {
        await wire.echo(alice, { opcode: BINARY, payload: bytes }, echo);
      }
    }),
  );

  await wire.guard(
    v.step('answers a ping with a pong carrying the same payload, and a pong with nothing', ['R8'], async () => {
      const pong = { code: Codes.PONG_MISSING, hint: PONG_HINT };
      for (const payload of [Buffer.alloc(0), Buffer.from('héllo ping'), bytesOf(125, 5)]) {
        await alice.send({ opcode: PING, payload });
        await wire.expectControl(alice, PONG, payload, pong, `a pong carrying ${payload.length ? payloadSummary(PING, payload) : 'nothing'}`);
      }
      await alice.send({ opcode: PING, payload: 'cut' }, [1, 2, 4]);
      await wire.expectControl(alice, PONG, Buffer.from('cut'), pong, 'a pong "cut"');
      await alice.send([
        { opcode: PONG, payload: 'a pong nobody asked for' },
        { opcode: TEXT, payload: 'after the pong' },
      ]);
      await wire.expectMessage(alice, TEXT, Buffer.from('after the pong'), { code: Codes.PONG_ANSWERED, hint: PONG_ANSWER_HINT });
    }),
  );

  await wire.guard(
    v.step('joins a message sent in fragments, and echoes it whole', ['R6', 'R7'], async () => {
      const joined = { code: Codes.FRAGMENTS_NOT_JOINED, hint: FRAGMENT_HINT };
      await wire.echoFragments(alice, TEXT, ['Hello, ', 'fragmented ', 'world'], joined);
      await wire.echoFragments(alice, BINARY, [Buffer.from([1, 2, 3]), Buffer.alloc(0), Buffer.from([4, 5])], joined);
      await wire.echoFragments(alice, TEXT, ['a long one: ', textOf(300), ' (and its end)'], joined, true);
    }),
  );

  await wire.guard(
    v.step('answers a ping between fragments at once, then echoes the message', ['R7', 'R8'], async () => {
      const amid = { code: Codes.CONTROL_AMID_FRAGMENTS, hint: CONTROL_AMID_HINT };
      await alice.send({ opcode: TEXT, fin: false, payload: 'before the ping, ' });
      wire.pending = { ...amid, what: 'a ping between two fragments' };
      await alice.send({ opcode: PING, payload: 'amid' });
      await wire.expectControl(alice, PONG, Buffer.from('amid'), amid, 'a pong "amid" before the message goes on');
      await alice.send({ opcode: CONTINUATION, fin: false, payload: 'and after; ' });
      await alice.send({ opcode: PONG, payload: 'unasked' });
      await alice.send({ opcode: CONTINUATION, payload: 'the end' });
      await wire.expectMessage(alice, TEXT, Buffer.from('before the ping, and after; the end'), amid);
    }),
  );

  await wire.guard(
    v.step('talks with a real ws client: text, binary, ping and close', ['R6', 'R8', 'R9'], async () => {
      const carol = await v.client('carol', { log: 'read' });
      carol.sendText('héllo from ws 🎉');
      await carol.expectText('héllo from ws 🎉', { code: Codes.ECHO_WRONG, hint: ECHO_HINT, timeoutCode: Codes.ECHO_WRONG, timeoutHint: ECHO_HINT });
      const data = bytesOf(70_000, 6);
      carol.sendBinary(data);
      await carol.expectBinary(data, { code: Codes.ECHO_WRONG, hint: ECHO_HINT, timeoutCode: Codes.ECHO_WRONG, timeoutHint: ECHO_HINT });
      await wsPing(v, carol, Buffer.from('ws ping'));
      carol.close(4001, 'done');
      const closed = await carol.expectClose('a close frame 4001 in answer', { timeoutCode: Codes.CLOSE_NOT_ANSWERED, timeoutHint: CLOSE_HINT });
      if (closed.code !== 4001) {
        throw v.fail({
          code: closed.clean ? Codes.CLOSE_WRONG_CODE : Codes.CLOSE_NOT_ANSWERED,
          expected: 'a close frame 4001 (application-defined), the code carol sent',
          actual: closed.clean ? `a close frame ${describeCloseCode(closed.code)}` : 'the connection dropped without a close frame',
          hint: CLOSE_HINT,
        });
      }
    }),
  );

  await wire.guard(
    v.step('completes the close handshake, echoing the status code, and closes the TCP connection', ['R9'], async () => {
      const [dave, erin, frank] = [await wire.upgrade('dave'), await wire.upgrade('erin'), await wire.upgrade('frank')];
      await wire.closeHandshake(erin, closePayload(1000, ''), 1000);
      await wire.echo(dave, { opcode: TEXT, payload: 'erin has gone, dave is still here' }, small);
      // A text right behind the close frame, in the same write: after a close, nothing is answered.
      await wire.closeHandshake(frank, closePayload(4321, 'done here, é'), 4321, [3], { opcode: TEXT, payload: 'after my close: never echoed' });
      await wire.echo(dave, { opcode: TEXT, payload: 'and still here' }, small);
      await wire.closeHandshake(dave, Buffer.alloc(0), undefined);
      const heidi = await wire.upgrade('heidi');
      await wire.echo(heidi, { opcode: TEXT, payload: 'heidi will just hang up' }, small);
      heidi.log('ends its side of the TCP connection, with no close frame (a FIN)');
      heidi.end();
      const after = await wire.read(heidi);
      if (after.type !== 'end') {
        throw v.fail({
          code: Codes.CLOSE_LEFT_OPEN,
          expected: 'the server to close its side of the TCP connection too, once heidi had closed hers',
          actual: after.type === 'timeout' ? `the connection still half open after ${v.timeouts.stepMs} ms` : describeEvent(after, v.timeouts.stepMs),
          hint:
            "A client may hang up without a close frame. node:http keeps such a socket half open: end it in its 'end' handler, socket.on('end', () => socket.end()), or it holds memory and a file descriptor for ever.",
        });
      }
    }),
  );

  await wire.guard(
    v.step('refuses a frame that is not masked with 1002', ['R10', 'R12'], async () => {
      const hint = `${REFUSE_HINT} ${MASKED_HINT.replace('A server never masks its frames', 'A client always masks its frames')}`;
      await wire.refuse('erin', {
        what: 'a text frame, not masked',
        // A good frame right behind it, in the same write: after the refusal, it is never answered.
        frames: [{ opcode: TEXT, payload: 'not masked', mask: null }, { opcode: TEXT, payload: 'masked, but too late' }],
        want: 1002,
        accepted: Codes.UNMASKED_ACCEPTED,
        wrongCode: Codes.REFUSED_WRONG_CODE,
        hint,
      });
      await wire.refuse('frank', {
        what: 'a binary frame, not masked, after a masked one',
        before: [{ opcode: TEXT, payload: Buffer.from('masked, fine') }],
        frames: [{ opcode: TEXT, payload: 'masked, fine' }, { opcode: BINARY, payload: Buffer.from([1, 2, 3]), mask: null }],
        want: 1002,
        accepted: Codes.UNMASKED_ACCEPTED,
        wrongCode: Codes.REFUSED_WRONG_CODE,
        hint,
      });
      await wire.stillServing(bob, 'bob is still here');
    }),
  );

  await wire.guard(
    v.step('refuses broken control frames, reserved bits and opcodes, and stray continuations with 1002', ['R10', 'R12'], async () => {
      const refusal = (what: string, frames: FrameSpec[], accepted: string): Refusal => ({ what, frames, want: 1002, accepted, wrongCode: Codes.REFUSED_WRONG_CODE, hint: REFUSE_HINT });
      await wire.refuse('erin', refusal('a ping of 126 bytes', [{ opcode: PING, payload: bytesOf(126, 7) }], Codes.LONG_CONTROL_ACCEPTED));
      await wire.refuse('frank', refusal('a close frame of 126 bytes', [{ opcode: CLOSE, payload: closePayload(1000, 'x'.repeat(124)) }], Codes.LONG_CONTROL_ACCEPTED));
      await wire.refuse('erin', refusal('a ping without FIN: a fragmented control frame', [{ opcode: PING, fin: false, payload: 'half a ping' }], Codes.FRAGMENTED_CONTROL_ACCEPTED));
      await wire.refuse('frank', refusal('a text frame with RSV1 set', [{ opcode: TEXT, rsv: 4, payload: 'rsv1' }], Codes.RESERVED_ACCEPTED));
      await wire.refuse('erin', refusal('a text frame with RSV3 set', [{ opcode: TEXT, rsv: 1, payload: 'rsv3' }], Codes.RESERVED_ACCEPTED));
      await wire.refuse('frank', refusal('a frame with the reserved opcode 0x3', [{ opcode: 0x3, payload: 'three' }], Codes.RESERVED_ACCEPTED));
      await wire.refuse('erin', refusal('a frame with the reserved control opcode 0xB', [{ opcode: 0xb, payload: 'eleven' }], Codes.RESERVED_ACCEPTED));
      await wire.refuse('frank', refusal('a continuation frame with no message begun', [{ opcode: CONTINUATION, payload: 'continuing nothing' }], Codes.BAD_CONTINUATION_ACCEPTED));
      await wire.refuse(
        'erin',
        refusal('a new text frame while a fragmented message is still open', [
          { opcode: TEXT, fin: false, payload: 'begun, ' },
          { opcode: TEXT, payload: 'and begun again' },
        ], Codes.BAD_CONTINUATION_ACCEPTED),
      );
      await wire.stillServing(bob, 'bob is still here, after all that');
    }),
  );

  await wire.guard(
    v.step('accepts UTF-8 split across fragments, and refuses invalid UTF-8 with 1007', ['R11', 'R12'], async () => {
      const splitOk = { code: Codes.VALID_UTF8_REFUSED, hint: SPLIT_UTF8_HINT };
      await wire.echo(alice, { opcode: TEXT, payload: '\uFFFD is a character too: U+FFFD, ef bf bd' }, { code: Codes.VALID_UTF8_REFUSED, hint: UTF8_HINT });
      const kosme = Buffer.from('κόσμε', 'utf8');
      await wire.echoFragments(alice, TEXT, [kosme.subarray(0, 1), kosme.subarray(1, 5), kosme.subarray(5)], splitOk);
      const party = Buffer.from('🎉!', 'utf8');
      await wire.echoFragments(alice, TEXT, [party.subarray(0, 1), party.subarray(1, 3), party.subarray(3)], splitOk);
      const refusal = (what: string, frames: FrameSpec[]): Refusal => ({ what, frames, want: 1007, accepted: Codes.BAD_UTF8_ACCEPTED, wrongCode: Codes.UTF8_WRONG_CODE, hint: UTF8_HINT });
      await wire.refuse('frank', refusal('a text frame holding a UTF-16 surrogate (ed a0 80)', [{ opcode: TEXT, payload: Buffer.from('cebae1bdb9cebcceb5eda080656469746564', 'hex') }]));
      await wire.refuse('erin', refusal('a text frame holding the overlong "/" (c0 af)', [{ opcode: TEXT, payload: Buffer.from('2fc0af', 'hex') }]));
      await wire.refuse('frank', refusal('a text frame that ends in the middle of a character (e2 82)', [{ opcode: TEXT, payload: Buffer.from('68656c6c6fe282', 'hex') }]));
      await wire.refuse(
        'erin',
        refusal('a fragmented text message whose last fragment ends in the middle of a character', [
          { opcode: TEXT, fin: false, payload: 'hello ' },
          { opcode: CONTINUATION, payload: Buffer.from('f09f8e', 'hex') },
        ]),
      );
      await wire.stillServing(bob, 'and bob, still');
    }),
  );

  await wire.guard(
    v.step('goes on serving its other connections, and new ones, whatever one client did', ['R12'], async () => {
      const disturbed = { code: Codes.OTHERS_DISTURBED, hint: CRASH_HINT };
      await wire.echo(bob, { opcode: TEXT, payload: 'bob was here all along' }, disturbed);
      await wire.echo(alice, { opcode: TEXT, payload: 'alice too' }, disturbed);
      wire.pending = { code: Codes.CRASHED_ON_BAD_FRAME, hint: CRASH_HINT, what: 'a TCP reset from bob' };
      bob.reset();
      const after = await wire.upgrade('grace', {}, disturbed);
      await wire.echo(after, { opcode: TEXT, payload: 'a new client, after all that' }, disturbed);
      await wire.echo(alice, { opcode: TEXT, payload: 'and alice, last' }, disturbed);
    }),
  );
}) satisfies LessonVerifier;

/** Text of exactly `n` bytes, with some characters of 2 bytes in it: ASCII alone would hide a decoding by characters. */
function textOf(n: number): Buffer {
  const unit = Buffer.from('ab-é-', 'utf8'); // 6 bytes
  const text = Buffer.alloc(n, 'x');
  for (let at = 0; at + unit.length <= n; at += unit.length) unit.copy(text, at);
  return text;
}

/** `n` bytes that follow no pattern a wrong parser could fall back on, the same every run. */
function bytesOf(n: number, seed: number): Buffer {
  const bytes = Buffer.alloc(n);
  let x = 0x9e3779b9 ^ seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

function closePayload(code: number, reason: string): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return Buffer.concat([payload, Buffer.from(reason)]);
}

/** A ws client's ping, answered by a pong with its payload. */
async function wsPing(v: Verification, client: TestClient, payload: Buffer): Promise<void> {
  client.ws.ping(payload);
  v.transcript.add({ kind: 'client', name: client.name }, `→ ping ${payloadSummary(PING, payload)}`);
  const got = await Promise.race([
    new Promise<Buffer>((resolve) => client.ws.once('pong', (data: Buffer) => resolve(data))),
    delay(v.timeouts.stepMs).then(() => undefined),
    v.programGone,
  ]);
  if (got) v.transcript.add({ kind: 'client', name: client.name }, `← pong ${payloadSummary(PONG, got)}`);
  if (!got || !got.equals(payload)) {
    throw v.fail({
      code: got ? Codes.PONG_WRONG_PAYLOAD : Codes.PONG_MISSING,
      expected: `a pong carrying ${payloadSummary(PING, payload)}, in answer to ws's ping()`,
      actual: got ? `a pong carrying ${payloadSummary(PONG, got)}` : `nothing within ${v.timeouts.stepMs} ms`,
      hint: PONG_HINT,
    });
  }
}

/** A message the server sent: its frames joined, or a control frame, or the end of the connection. */
type ServerEvent = { type: 'message'; opcode: number; data: Buffer; frames: number } | { type: 'control'; frame: RawFrame } | { type: 'end' } | { type: 'timeout' };

/**
 * The verifier's side of the wire: opens raw clients, checks what the server sends frame by frame, and
 * knows, while it waits, what a crash would mean.
 */
class Wire {
  /** What a crash of the program would now mean: the code of the check under way. */
  pending?: Blame & { what: string };
  /** The message each client is receiving in fragments. */
  private readonly partial = new Map<RawFrameClient, { opcode: number; parts: Buffer[] }>();

  constructor(
    private readonly v: Verification,
    private readonly server: RunningServer,
  ) {}

  private get options() {
    return { host: this.server.host, port: this.server.port, transcript: this.v.transcript, stepTimeoutMs: this.v.timeouts.stepMs, programGone: this.v.programGone };
  }

  /** Runs a step; a crash of the program inside it is told as the failure of the check it happened in. */
  async guard(step: Promise<void>): Promise<void> {
    try {
      await step;
    } catch (error) {
      const pending = this.pending;
      const crashed = error instanceof VerifyFailure && (error.code === HarnessCodes.PROGRAM_CRASHED || error.code === HarnessCodes.PROGRAM_EXITED);
      if (!crashed || !pending) throw error;
      const failure = new VerifyFailure({
        code: pending.code,
        message: `${error.message} It had just received ${pending.what}.`,
        details: error.details,
        hint: pending.code === Codes.CRASHED_ON_BAD_FRAME || pending.code === Codes.STOPPED_SERVING ? pending.hint : `${pending.hint} ${CRASH_HINT}`,
      });
      failure.step = error.step;
      throw failure;
    }
  }

  /** Opens a raw connection: the answer must be 101 with the headers and the accept of its key. */
  async upgrade(name: string, request: { key?: string; headers?: Array<[string, string]> } = {}, blame?: Blame): Promise<RawFrameClient> {
    // A crash now is told by the check under way, or else as a failure to switch.
    if (!blame) this.pending = { code: Codes.UPGRADE_NOT_SWITCHED, hint: SWITCH_HINT, what: 'an upgrade request' };
    const { exchange, client, accept } = await RawFrameClient.handshake(name, this.options, request);
    if (!client) {
      await this.settle();
      throw this.v.fail({
        code: blame?.code ?? Codes.UPGRADE_NOT_SWITCHED,
        expected: 'HTTP 101 Switching Protocols in answer to a valid upgrade request',
        actual: answerOf(exchange),
        hint: blame?.hint ?? SWITCH_HINT,
      });
    }
    this.v.defer(() => client.dispose());
    const response = (exchange as RawExchange & { complete: true }).response;
    checkSwitchHeaders(this.v, response, blame);
    const got = headerValue(response, 'sec-websocket-accept');
    if (got !== accept) {
      throw this.v.fail({
        code: blame?.code ?? Codes.UPGRADE_BAD_ACCEPT,
        expected: `Sec-WebSocket-Accept: ${accept}`,
        actual: got === undefined ? 'no Sec-WebSocket-Accept header' : `Sec-WebSocket-Accept: ${got}`,
        hint: blame?.hint ?? ACCEPT_HINT,
      });
    }
    return client;
  }

  /** Sends a request that is no valid upgrade: the answer must be 400 (or 426 for a version), and complete. */
  async expect400(what: string, request: { method?: string; headers: Array<[string, string]>; also426?: boolean }): Promise<void> {
    this.pending = { code: Codes.STOPPED_SERVING, hint: BAD_REQUEST_HINT, what };
    const { exchange } = await RawFrameClient.handshake('mallory', this.options, { method: request.method, headers: request.headers, show: `${request.method ?? 'GET'} / — ${what}` });
    const wanted = request.also426 ? 'HTTP 400 Bad Request (or 426 Upgrade Required)' : 'HTTP 400 Bad Request';
    const expected = `${wanted} in answer to ${what}`;
    if (!exchange.complete) {
      if (exchange.head) {
        if (exchange.head.statusCode === 101) throw this.v.fail({ code: Codes.BAD_REQUEST_SWITCHED, expected, actual: 'HTTP 101 Switching Protocols', hint: BAD_REQUEST_HINT });
        return;
      }
      await this.settle();
      throw this.v.fail({
        code: Codes.BAD_REQUEST_NO_ANSWER,
        expected,
        actual: exchange.stopped === 'closed' ? 'the connection closed with no answer' : `no answer within ${this.v.timeouts.stepMs} ms`,
        hint: BAD_REQUEST_HINT,
      });
    }
    const status = exchange.response.statusCode;
    if (status === 400 || (request.also426 && status === 426)) return;
    throw this.v.fail({
      code: status === 101 ? Codes.BAD_REQUEST_SWITCHED : Codes.BAD_REQUEST_NOT_400,
      expected,
      actual: `HTTP ${status} ${exchange.response.statusMessage}`.trim(),
      hint: BAD_REQUEST_HINT,
    });
  }

  /** A client that was there before still gets its echo: a refusal closed one connection only. */
  async stillServing(client: RawFrameClient, text: string): Promise<void> {
    await this.echo(client, { opcode: TEXT, payload: text }, { code: Codes.OTHERS_DISTURBED, hint: CRASH_HINT });
  }

  /** After an unexpected end of the connection, gives the program a moment to be seen dying. */
  private async settleAfter(event: ServerEvent): Promise<void> {
    if (event.type === 'end') await this.settle();
  }

  /** Gives a program that may be dying a moment to be seen dying: its crash is then what is told. */
  private async settle(): Promise<void> {
    await Promise.race([this.server.program.exited, delay(300)]);
    if (this.server.program.exitInfo) await this.v.programGone;
  }

  /** Writes bytes as they are, with a line saying how many. */
  async writeRaw(client: RawFrameClient, bytes: Buffer): Promise<void> {
    client.log(`  (${formatBytes(bytes.length)} written: ${bytes.subarray(0, 8).toString('hex').replace(/(..)/g, '$1 ').trim()}${bytes.length > 8 ? ' …' : ''})`, 'detail');
    await new Promise<void>((resolve) => client.socket.write(bytes, () => resolve()));
    await delay(5);
  }

  /** Sends one frame (cut at `cuts`) and expects its echo: the same type, the same bytes. */
  async echo(client: RawFrameClient, spec: FrameSpec, blame: Blame, cuts: number[] = []): Promise<void> {
    await this.echoAll(client, [spec], blame, cuts);
  }

  /** Sends frames (in one write, or cut at `cuts`) and expects the echo of each, in order. */
  async echoAll(client: RawFrameClient, specs: FrameSpec[], blame: Blame, cuts: number[] = []): Promise<void> {
    this.pending = { ...blame, what: describeSpecs(specs) };
    const masks = await client.send(specs, cuts);
    for (const [i, spec] of specs.entries()) {
      const payload = bufferOf(spec.payload);
      const mask = masks[i];
      await this.expectMessage(client, spec.opcode, payload, blame, mask ?? undefined);
    }
  }

  /** Sends a message in fragments, each a frame of its own (in one write with `together`), and expects it echoed whole. */
  async echoFragments(client: RawFrameClient, opcode: number, parts: Array<string | Buffer>, blame: Blame, together = false): Promise<void> {
    const frames: FrameSpec[] = parts.map((part, i) => ({ opcode: i === 0 ? opcode : CONTINUATION, fin: i === parts.length - 1, payload: bufferOf(part) }));
    this.pending = { ...blame, what: `a message in ${parts.length} fragments` };
    if (together) await client.send(frames);
    else for (const frame of frames) await client.send(frame);
    await this.expectMessage(client, opcode, Buffer.concat(parts.map(bufferOf)), blame);
  }

  /** Reads the server's next message (its fragments joined), control frame, or end, checking each frame's form. */
  async read(client: RawFrameClient, { checkForm = true } = {}): Promise<ServerEvent> {
    const timeoutMs = this.v.timeouts.stepMs;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let event: RawEvent;
      try {
        event = await client.next(Math.max(1, deadline - Date.now()));
      } catch (error) {
        if (error instanceof RawWaitTimeout) return { type: 'timeout' };
        throw error;
      }
      if (event.type === 'end') return event;
      const frame = event.frame;
      if (checkForm) this.checkForm(frame);
      if (frame.opcode >= CLOSE) return { type: 'control', frame };
      const partial = this.partial.get(client);
      if (frame.opcode === CONTINUATION) {
        if (!partial) throw this.badFrame(frame, 'a continuation frame with no message begun: a message starts with a text or binary frame');
        partial.parts.push(frame.payload);
      } else if (partial) {
        throw this.badFrame(frame, `a new ${frame.opcode === TEXT ? 'text' : 'binary'} frame while the last message, begun without FIN, was not finished`);
      } else {
        this.partial.set(client, { opcode: frame.opcode, parts: [frame.payload] });
      }
      if (!frame.fin) continue;
      const message = this.partial.get(client)!;
      this.partial.delete(client);
      return { type: 'message', opcode: message.opcode, data: Buffer.concat(message.parts), frames: message.parts.length };
    }
  }

  /** A server frame must be unmasked, with reserved bits clear, a known opcode, the shortest length. */
  private checkForm(frame: RawFrame): void {
    if (frame.masked) {
      throw this.v.fail({ code: Codes.ECHO_MASKED, expected: 'a frame from the server, not masked', actual: `a masked frame: ${frameMeaning(frame)}`, hint: MASKED_HINT });
    }
    if (frame.rsv) throw this.badFrame(frame, 'a reserved bit set, though no extension was agreed');
    if (![CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG].includes(frame.opcode)) throw this.badFrame(frame, 'a reserved opcode');
    const shortest = frame.payload.length < 126 ? 7 : frame.payload.length < 0x10000 ? 16 : 64;
    if (frame.lengthBits !== shortest) throw this.badFrame(frame, `its length of ${frame.payload.length} written in ${frame.lengthBits} bits, where ${shortest} fit`);
    if (frame.opcode >= CLOSE && (!frame.fin || frame.payload.length > 125)) throw this.badFrame(frame, 'a control frame fragmented, or over 125 bytes');
  }

  private badFrame(frame: RawFrame, why: string): VerifyFailure {
    return this.v.fail({ code: Codes.ECHO_BAD_FRAME, expected: 'frames as RFC 6455 §5.2 lays them out', actual: `${frameMeaning(frame)}: ${why}`, hint: BAD_FRAME_HINT });
  }

  /**
   * Expects a message of this type and these bytes. `mask` is the key the payload was masked with: an
   * echo of the payload still masked, or unmasked with the key's bytes taken from the wrong place, says so.
   */
  async expectMessage(client: RawFrameClient, opcode: number, data: Buffer, blame: Blame, mask?: Buffer): Promise<void> {
    const want = `${opcode === TEXT ? 'a text' : 'a binary'} message, ${payloadSummary(opcode, data)}`;
    const event = await this.read(client);
    const fail = (code: string, actual: string, hint: string) => this.v.fail({ code, expected: `${want}, echoed`, actual, hint });
    if (event.type === 'message') {
      if (event.data.equals(data)) {
        if (event.opcode === opcode) return;
        throw fail(Codes.ECHO_WRONG_TYPE, `${event.opcode === TEXT ? 'a text' : 'a binary'} message with those bytes`, TYPE_HINT);
      }
      const got = `${event.opcode === TEXT ? 'a text' : 'a binary'} message, ${payloadSummary(event.opcode, event.data)}${event.frames > 1 ? ` (in ${event.frames} frames)` : ''}`;
      if (mask && data.length > 0 && event.data.equals(applyMask(data, mask))) throw fail(Codes.NOT_UNMASKED, `${got}: the payload still masked, as it came`, UNMASK_HINT);
      if (mask && data.length > 1 && [1, 2, 3].some((shift) => event.data.equals(applyMask(applyMask(data, mask), rotate(mask, shift))))) {
        throw fail(Codes.NOT_UNMASKED, `${got}: unmasked with the key's bytes in the wrong order`, UNMASK_HINT);
      }
      throw fail(blame.code, got, blame.hint);
    }
    await this.settleAfter(event);
    throw fail(blame.code, describeEvent(event, this.v.timeouts.stepMs), blame.hint);
  }

  /** Expects a control frame (a pong) with exactly this payload. */
  async expectControl(client: RawFrameClient, opcode: number, payload: Buffer, blame: Blame, want: string): Promise<void> {
    this.pending = { ...blame, what: 'a ping' };
    const event = await this.read(client);
    if (event.type === 'control' && event.frame.opcode === opcode) {
      if (event.frame.payload.equals(payload)) return;
      throw this.v.fail({ code: Codes.PONG_WRONG_PAYLOAD, expected: want, actual: `a pong carrying ${payloadSummary(PONG, event.frame.payload)}`, hint: PONG_HINT });
    }
    await this.settleAfter(event);
    throw this.v.fail({ code: blame.code, expected: want, actual: describeEvent(event, this.v.timeouts.stepMs), hint: blame.hint });
  }

  /** Sends a close frame (cut at `cuts`): the answer must be a close with `code` (none or 1000 when undefined), then the TCP end. */
  async closeHandshake(client: RawFrameClient, payload: Buffer, code: number | undefined, cuts: number[] = [], then?: FrameSpec): Promise<void> {
    this.pending = { code: Codes.CLOSE_NOT_ANSWERED, hint: CLOSE_HINT, what: 'a close frame' };
    await client.send([{ opcode: CLOSE, payload }, ...(then ? [then] : [])], cuts);
    const want = code === undefined ? 'a close frame with no status code, or 1000 (normal closure)' : `a close frame ${describeCloseCode(code)}, the code ${client.name} sent`;
    const event = await this.read(client);
    if (event.type !== 'control' || event.frame.opcode !== CLOSE) {
      await this.settleAfter(event);
      throw this.v.fail({ code: Codes.CLOSE_NOT_ANSWERED, expected: want, actual: describeEvent(event, this.v.timeouts.stepMs), hint: CLOSE_HINT });
    }
    const got = event.frame.payload.length >= 2 ? event.frame.payload.readUInt16BE(0) : undefined;
    if (code === undefined ? got !== undefined && got !== 1000 : got !== code) {
      throw this.v.fail({ code: Codes.CLOSE_WRONG_CODE, expected: want, actual: `a close frame, ${payloadSummary(CLOSE, event.frame.payload)}`, hint: CLOSE_HINT });
    }
    const after = await this.read(client);
    if (after.type !== 'end') {
      throw this.v.fail({
        code: Codes.CLOSE_LEFT_OPEN,
        expected: `the server to close the TCP connection once it had answered ${client.name}'s close frame`,
        actual: after.type === 'timeout' ? `the connection still open after ${this.v.timeouts.stepMs} ms` : describeEvent(after, this.v.timeouts.stepMs),
        hint: 'After the close handshake nothing more is said: the server ends the TCP connection, socket.end(), and forgets the client. A socket left open holds memory and a file descriptor.',
      });
    }
  }

  /** Opens a connection, sends what must be refused, and expects a close frame with the code RFC 6455 gives. */
  async refuse(name: string, refusal: Refusal): Promise<void> {
    const client = await this.upgrade(name, {}, { code: Codes.OTHERS_DISTURBED, hint: CRASH_HINT });
    this.pending = { code: Codes.CRASHED_ON_BAD_FRAME, hint: CRASH_HINT, what: refusal.what };
    await client.send(refusal.frames);
    for (const good of refusal.before ?? []) await this.expectMessage(client, good.opcode, good.payload, { code: Codes.ECHO_WRONG, hint: ECHO_HINT });
    const want = `a close frame ${describeCloseCode(refusal.want)} in answer to ${refusal.what}`;
    // Whatever comes instead of the close says the frame was taken: a pong of 126 bytes, say.
    const event = await this.read(client, { checkForm: false });
    if (event.type === 'control' && event.frame.opcode === CLOSE) {
      const code = event.frame.payload.length >= 2 ? event.frame.payload.readUInt16BE(0) : undefined;
      if (code === refusal.want) {
        await client.send({ opcode: CLOSE, payload: event.frame.payload.subarray(0, 2) });
        // Refused, the connection is over: nothing more is answered, and the server hangs up.
        const after = await this.read(client, { checkForm: false });
        if (after.type === 'end') return;
        throw this.v.fail({
          code: refusal.wrongCode,
          expected: `the server to end the TCP connection after its close frame ${describeCloseCode(refusal.want)}`,
          actual: after.type === 'timeout' ? `the connection still open after ${this.v.timeouts.stepMs} ms` : `${describeEvent(after, this.v.timeouts.stepMs)}, after the refusal`,
          hint: `${refusal.hint} Once refused, read no further frame on that connection.`,
        });
      }
      throw this.v.fail({ code: refusal.wrongCode, expected: want, actual: `a close frame, ${payloadSummary(CLOSE, event.frame.payload)}`, hint: refusal.hint });
    }
    if (event.type === 'end') {
      await this.settle();
      throw this.v.fail({ code: refusal.wrongCode, expected: want, actual: 'the TCP connection closed without a close frame: the client is never told why', hint: refusal.hint });
    }
    await this.settleAfter(event);
    throw this.v.fail({ code: refusal.accepted, expected: want, actual: describeEvent(event, this.v.timeouts.stepMs), hint: refusal.hint });
  }
}

function bufferOf(payload: Buffer | string | undefined): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload) : (payload ?? Buffer.alloc(0));
}

function applyMask(payload: Buffer, mask: Buffer): Buffer {
  return Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
}

/** The key as a parser that counts from the wrong byte uses it: `shift` bytes on. */
function rotate(mask: Buffer, shift: number): Buffer {
  return Buffer.from([0, 1, 2, 3].map((i) => mask[(i + shift) % 4]!));
}

function describeSpecs(specs: FrameSpec[]): string {
  return specs.map((s) => `a ${s.opcode === TEXT ? 'text' : s.opcode === BINARY ? 'binary' : 'control'} frame of ${formatBytes(bufferOf(s.payload).length)}`).join(', ');
}

function describeEvent(event: ServerEvent, timeoutMs: number): string {
  switch (event.type) {
    case 'timeout':
      return `nothing within ${timeoutMs} ms`;
    case 'end':
      return 'the TCP connection closed, with no close frame';
    case 'control':
      return event.frame.opcode === CLOSE ? `a close frame, ${payloadSummary(CLOSE, event.frame.payload)}` : `a ${event.frame.opcode === PING ? 'ping' : 'pong'} carrying ${payloadSummary(event.frame.opcode, event.frame.payload)}`;
    case 'message':
      return `${event.opcode === TEXT ? 'a text' : 'a binary'} message, ${payloadSummary(event.opcode, event.data)}${event.opcode === TEXT && !isUtf8(event.data) ? ' (not UTF-8)' : ''}`;
  }
}

function answerOf(exchange: RawExchange): string {
  if (exchange.complete) return `HTTP ${exchange.response.statusCode} ${exchange.response.statusMessage}`.trim();
  if (exchange.head) return `HTTP ${exchange.head.statusCode} ${exchange.head.statusMessage}, never completed`;
  return exchange.stopped === 'closed' ? 'the connection closed with no answer' : 'no answer';
}

function checkSwitchHeaders(v: Verification, response: RawResponse, blame?: Blame): void {
  const upgrade = headerValue(response, 'upgrade');
  const connection = headerValue(response, 'connection');
  const tokens = (connection ?? '').toLowerCase().split(',').map((t) => t.trim());
  if (upgrade?.toLowerCase() === 'websocket' && tokens.includes('upgrade')) return;
  throw v.fail({
    code: blame?.code ?? Codes.UPGRADE_BAD_HEADERS,
    expected: 'the headers Upgrade: websocket and Connection: Upgrade in the 101 answer',
    actual: `Upgrade: ${upgrade ?? '(missing)'}, Connection: ${connection ?? '(missing)'}`,
    hint: blame?.hint ?? 'A 101 says what it switches to: write "HTTP/1.1 101 Switching Protocols", then the lines "Upgrade: websocket" and "Connection: Upgrade", each ending in \\r\\n, and a blank line after the last header.',
  });
}
