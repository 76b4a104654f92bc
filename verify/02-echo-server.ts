/**
 * Lesson 02 — echo server. The story: one client says hello and hears it back; binary stays binary;
 * order holds; empty and 1 MiB messages make the trip; and two more clients never hear each other.
 */
import { describeFrame, type Frame, type LessonVerifier, type TestClient, type Verification } from './harness/index.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  NO_ECHO: 'ECHO_NO_REPLY',
  TEXT_BECAME_BINARY: 'ECHO_TEXT_BECAME_BINARY',
  BINARY_BECAME_TEXT: 'ECHO_BINARY_BECAME_TEXT',
  WRONG_CONTENT: 'ECHO_WRONG_CONTENT',
  OUT_OF_ORDER: 'ECHO_OUT_OF_ORDER',
  SENT_TO_OTHERS: 'ECHO_SENT_TO_OTHERS',
} as const;

const ISBINARY_HINT =
  "In ws 8, 'message' gives you (data, isBinary) and data is always a Buffer. socket.send(data) sends a Buffer " +
  'as a binary frame, so a text message comes back binary. Echo with socket.send(data, { binary: isBinary }).';

export default (async (v) => {
  await v.start();
  const alice = await v.client('alice');

  await v.step('echoes a text message as text', async () => {
    alice.sendText('hello');
    await expectEcho(v, alice, { kind: 'text', data: Buffer.from('hello') });
  });

  await v.step('echoes a binary message as binary', async () => {
    const bytes = Buffer.from([0x00, 0x01, 0xfe, 0xff]);
    alice.sendBinary(bytes);
    await expectEcho(v, alice, { kind: 'binary', data: bytes });
  });

  await v.step('keeps the order of messages sent quickly one after another', async () => {
    const words = ['one', 'two', 'three', 'four', 'five'];
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

  await v.step('echoes an empty message', async () => {
    alice.sendText('');
    await expectEcho(v, alice, { kind: 'text', data: Buffer.alloc(0) });
  });

  await v.step('echoes a 1 MiB message unchanged', async () => {
    // Every byte value appears, in a pattern a truncation or a re-encoding cannot keep.
    const big = Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 31 + (i >> 10)) & 0xff));
    alice.sendBinary(big);
    await expectEcho(v, alice, { kind: 'binary', data: big });
  });

  await v.step('keeps clients apart: each hears only its own echo', async () => {
    // Two echoes arrive at about the same moment: written as they are read, they keep one order.
    const bob = await v.client('bob', { log: 'read' });
    const carol = await v.client('carol', { log: 'read' });
    bob.sendText('from bob');
    carol.sendText('from carol');
    await expectEcho(v, bob, { kind: 'text', data: Buffer.from('from bob') });
    await expectEcho(v, carol, { kind: 'text', data: Buffer.from('from carol') });
    for (const client of [alice, bob, carol]) {
      await client.expectSilence(0, {
        code: Codes.SENT_TO_OTHERS,
        expected: `no message for ${client.name}, who sent nothing this time`,
        hint: 'Echo on the socket the message came from, not to every client in wss.clients: that would be a broadcast (lesson 03).',
      });
    }
  });
}) satisfies LessonVerifier;

function noEcho() {
  return {
    timeoutCode: Codes.NO_ECHO,
    timeoutHint: "Listen for 'message' on each socket the server gives you in 'connection', and send the data back on that socket.",
  };
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
