/**
 * Lesson 02 — echo server. The story: one client says hello and hears it back, in every kind of text;
 * binary stays binary, even when its bytes happen to be valid text; order holds; empty and large
 * messages make the trip; and among three clients, whoever speaks — first, middle or last to connect —
 * hears only its own echo.
 */
import { defineRules, describeFrame, HarnessCodes, type Frame, type LessonVerifier, type TestClient, type Verification } from './harness/index.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  NO_ECHO: 'ECHO_NO_REPLY',
  TEXT_BECAME_BINARY: 'ECHO_TEXT_BECAME_BINARY',
  BINARY_BECAME_TEXT: 'ECHO_BINARY_BECAME_TEXT',
  WRONG_CONTENT: 'ECHO_WRONG_CONTENT',
  OUT_OF_ORDER: 'ECHO_OUT_OF_ORDER',
  SENT_TO_OTHERS: 'ECHO_SENT_TO_OTHERS',
  SIZE_NOT_KEPT: 'ECHO_SIZE_NOT_KEPT',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: {
    text: 'For each message a client sends, send the same bytes back **to that client only**.',
    codes: [Codes.NO_ECHO, Codes.WRONG_CONTENT, Codes.SENT_TO_OTHERS],
  },
  R3: {
    text: 'A text frame comes back as a text frame; a binary frame as a binary frame.',
    codes: [Codes.TEXT_BECAME_BINARY, Codes.BINARY_BECAME_TEXT, HarnessCodes.TEXT_NOT_UTF8],
  },
  R4: { text: 'Messages come back in the order they were sent.', codes: [Codes.OUT_OF_ORDER] },
  R5: { text: 'An empty message is still a message: echo it. A 1 MiB message too.', codes: [Codes.SIZE_NOT_KEPT] },
});

const ISBINARY_HINT =
  "In ws 8, 'message' gives you (data, isBinary) and data is always a Buffer. socket.send(data) sends a Buffer " +
  'as a binary frame, so a text message comes back binary. Echo with socket.send(data, { binary: isBinary }).';

export default (async (v) => {
  await v.start();
  const alice = await v.client('alice');

  await v.step('echoes a text message as text', ['R2', 'R3'], async () => {
    alice.sendText('hello');
    await expectEcho(v, alice, { kind: 'text', data: Buffer.from('hello') });
  });

  await v.step('echoes text that is not ASCII, and keeps its spaces', ['R2', 'R3'], async () => {
    // Accents, a 4-byte emoji, a CJK character, and spaces at both ends: bytes, not characters, count.
    for (const text of ['  café — naïve  ', 'snow ☃ and 🎉 party', '\t漢字\n']) {
      alice.sendText(text);
      await expectEcho(v, alice, { kind: 'text', data: Buffer.from(text) });
    }
  });

  await v.step('echoes a binary message as binary', ['R2', 'R3'], async () => {
    const bytes = Buffer.from([0x00, 0x01, 0xfe, 0xff]);
    alice.sendBinary(bytes);
    await expectEcho(v, alice, { kind: 'binary', data: bytes });
    // Binary that is also valid UTF-8: only isBinary tells it apart from text.
    const readable = Buffer.from('looks like text');
    alice.sendBinary(readable);
    await expectEcho(v, alice, { kind: 'binary', data: readable });
  });

  await v.step('keeps the order of messages sent quickly one after another', ['R4'], async () => {
    const words = ['one', 'two', 'three', 'four', 'five', 'a much longer sixth message', '7'];
    for (const word of words) alice.sendText(word);
    const got: string[] = [];
    for (const _ of words) got.push((await alice.nextFrame(`the echo of "${words[got.length]}"`, noEcho())).data.toString());
    if (got.join() !== words.join()) {
      throw v.fail({
        code: Codes.OUT_OF_ORDER,
        expected: `echoes in the order sent: ${words.join(', ')}`,
        actual: got.join(', '),
        hint: 'Reply as each message arrives, on the socket it came from. Anything that delays some replies (timers, awaits of varying length) reorders them.',
      });
    }
  });

  await v.step('echoes an empty message, text and binary', ['R5'], async () => {
    alice.sendText('');
    await expectSized(v, alice, { kind: 'text', data: Buffer.alloc(0) });
    alice.sendBinary(Buffer.alloc(0));
    await expectSized(v, alice, { kind: 'binary', data: Buffer.alloc(0) });
  });

  await v.step('echoes large messages unchanged: 100 KiB of text, 1 MiB of binary', ['R5'], async () => {
    // Over 64 KiB, a frame's length takes 8 bytes: code that assumes small messages shows here.
    const text = 'ß'.repeat(50 * 1024) + ' end';
    alice.sendText(text);
    await expectSized(v, alice, { kind: 'text', data: Buffer.from(text) });
    // Every byte value appears, in a pattern a truncation or a re-encoding cannot keep.
    const big = Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 31 + (i >> 10)) & 0xff));
    alice.sendBinary(big);
    await expectSized(v, alice, { kind: 'binary', data: big });
  });

  await v.step('keeps clients apart: whoever speaks hears only its own echo', ['R2'], async () => {
    // Two echoes arrive at about the same moment: written as they are read, they keep one order.
    const bob = await v.client('bob', { log: 'read' });
    const carol = await v.client('carol', { log: 'read' });
    // The last to connect, the first, and the middle one speak in turn; the others must hear nothing.
    const everyone = [alice, bob, carol];
    for (const speaker of [carol, alice, bob]) {
      const text = `from ${speaker.name}`;
      speaker.sendText(text);
      const others = everyone.filter((c) => c !== speaker);
      const nobodyElseHeard = async () => {
        for (const client of others) {
          await client.expectSilence(0, {
            code: Codes.SENT_TO_OTHERS,
            expected: `no message for ${client.name}: ${speaker.name} spoke, not ${client.name}`,
            hint: 'Echo on the socket the message came from, not to every client in wss.clients or to a socket kept in a variable: that reaches someone else.',
          });
        }
      };
      // An echo that never came may have gone to someone else: that is the slip to name.
      await expectEcho(v, speaker, { kind: 'text', data: Buffer.from(text) }).catch(async (error: unknown) => {
        await nobodyElseHeard();
        throw error;
      });
      await nobodyElseHeard();
    }
    // Both at once: each still gets its own.
    bob.sendText('from bob');
    carol.sendText('from carol');
    await expectEcho(v, bob, { kind: 'text', data: Buffer.from('from bob') });
    await expectEcho(v, carol, { kind: 'text', data: Buffer.from('from carol') });
    await alice.expectSilence(0, {
      code: Codes.SENT_TO_OTHERS,
      expected: 'no message for alice, who sent nothing this time',
      hint: 'Echo on the socket the message came from, not to every client in wss.clients: that would be a broadcast (lesson 03).',
    });
  });
}) satisfies LessonVerifier;

function noEcho() {
  return {
    timeoutCode: Codes.NO_ECHO,
    timeoutHint: "Listen for 'message' on each socket the server gives you in 'connection', and send the data back on that socket.",
  };
}

/**
 * Expects an empty or a large message back. What goes wrong with those alone (nothing comes back, or
 * something shorter) is this rule's slip; a frame of the wrong kind is still R3's.
 */
async function expectSized(v: Verification, client: TestClient, want: Frame): Promise<void> {
  const size = want.data.length === 0 ? 'an empty message' : `a message of ${want.data.length} bytes`;
  const hint =
    want.data.length === 0
      ? 'An empty message is a message too: reply to every one, whatever its length. A check such as if (!data.length) return drops it.'
      : 'Send back the data you were given, whole: no slicing, no limit of your own, no conversion that changes its bytes.';
  const got = await client.nextFrame(`the echo of ${size}`, { timeoutCode: Codes.SIZE_NOT_KEPT, timeoutHint: hint });
  if (got.data.equals(want.data) || got.data.length === want.data.length) return expectKind(v, got, want);
  throw v.fail({ code: Codes.SIZE_NOT_KEPT, expected: describeFrame(want), actual: describeFrame(got), hint });
}

function expectKind(v: Verification, got: Frame, want: Frame): void {
  if (got.kind === want.kind && got.data.equals(want.data)) return;
  if (got.kind !== want.kind) {
    throw v.fail({
      code: want.kind === 'text' ? Codes.TEXT_BECAME_BINARY : Codes.BINARY_BECAME_TEXT,
      expected: describeFrame(want),
      actual: describeFrame(got),
      hint: want.kind === 'text' ? ISBINARY_HINT : 'Binary data must stay binary: do not turn the Buffer into a string. Echo with socket.send(data, { binary: isBinary }).',
    });
  }
  throw v.fail({ code: Codes.WRONG_CONTENT, expected: describeFrame(want), actual: describeFrame(got), hint: 'An echo is the message exactly as it came: no prefix, no change of case, no JSON wrapping.' });
}

/** Expects `want` back, and when something else comes, names the exact slip. */
async function expectEcho(v: Verification, client: TestClient, want: Frame): Promise<void> {
  const got = await client.nextFrame(`the echo: ${describeFrame(want)}`, noEcho());
  // Other clients' echoes may have arrived first in the isolation step; this one is about order.
  if (got.kind === want.kind && got.data.equals(want.data)) return;
  const sameBytes = got.data.equals(want.data);
  if (sameBytes && want.kind === 'text') {
    throw v.fail({ code: Codes.TEXT_BECAME_BINARY, expected: describeFrame(want), actual: describeFrame(got), hint: ISBINARY_HINT });
  }
  // toString() on binary data replaces bytes that are not UTF-8, so compare with what it would make.
  if (want.kind === 'binary' && got.kind === 'text' && (sameBytes || got.data.equals(Buffer.from(want.data.toString())))) {
    throw v.fail({
      code: Codes.BINARY_BECAME_TEXT,
      expected: describeFrame(want),
      actual: describeFrame(got),
      hint: 'Binary data must stay binary: do not turn the Buffer into a string. Echo with socket.send(data, { binary: isBinary }).',
    });
  }
  const otherClient = got.data.toString().startsWith('from ') && !got.data.equals(want.data);
  throw v.fail({
    code: otherClient ? Codes.SENT_TO_OTHERS : Codes.WRONG_CONTENT,
    expected: describeFrame(want),
    actual: describeFrame(got),
    hint: otherClient
      ? 'Echo on the socket the message came from, not to every client in wss.clients: that would be a broadcast (lesson 03).'
      : 'An echo is the message exactly as it came: no prefix, no change of case, no JSON wrapping.',
  });
}
