/**
 * Lesson 01 — HTTP vs WebSocket. The story: ask for the time over plain HTTP and get one answer; on
 * the same port, ask for an upgrade and check the server's proof that it speaks WebSocket; then open a
 * real client and, without asking, be told every TICK_MS; finally count what each way costs on the wire.
 */
import { computeAccept, RFC_SAMPLE_KEY } from './harness/handshake.ts';
import { headerValue, RawHttpClient, type RawExchange, type RawRequest, type RawResponse } from './harness/http.ts';
import { VerifyFailure, type LessonVerifier, type RunningServer, type TestClient, type Verification } from './harness/index.ts';
import { FrameTap, type WireFrame } from './harness/wire-frames.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  TIME_NOT_FOUND: 'HTTP_TIME_NOT_FOUND',
  TIME_UPGRADE_REQUIRED: 'HTTP_TIME_UPGRADE_REQUIRED',
  TIME_BAD_STATUS: 'HTTP_TIME_BAD_STATUS',
  TIME_NEVER_ENDS: 'HTTP_TIME_NEVER_ENDS',
  TIME_EMPTY_BODY: 'HTTP_TIME_EMPTY_BODY',
  UPGRADE_NOT_HANDLED: 'HTTP_UPGRADE_NOT_HANDLED',
  HANDSHAKE_BAD_HEADERS: 'HTTP_HANDSHAKE_BAD_HEADERS',
  HANDSHAKE_BAD_ACCEPT: 'HTTP_HANDSHAKE_BAD_ACCEPT',
  NO_PUSH: 'HTTP_WS_NO_PUSH',
  WAITS_TO_BE_ASKED: 'HTTP_WS_WAITS_TO_BE_ASKED',
  STOPPED_PUSHING: 'HTTP_WS_STOPPED_PUSHING',
  TICK_TOO_SLOW: 'HTTP_WS_TICK_TOO_SLOW',
  TICK_TOO_FAST: 'HTTP_WS_TICK_TOO_FAST',
  TIMER_LEAK: 'HTTP_WS_TIMER_LEAK',
} as const;

/** How many pushes the clock waits for, and how many updates the byte count compares. */
const UPDATES = 3;

/** What a polling client sends each time: as lean as an HTTP request gets (a browser adds far more). */
const TIME_REQUEST: RawRequest = { path: '/time', headers: [['Accept', 'application/json']] };

/** An upgrade request, with the example key of RFC 6455 so the transcript can show the working. */
const UPGRADE_REQUEST: RawRequest = {
  path: '/',
  headers: [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', RFC_SAMPLE_KEY],
    ['Sec-WebSocket-Version', '13'],
  ],
};

export default (async (v) => {
  const tickMs = Number(v.lessonEnv.TICK_MS);
  const server = await v.start();
  const http = rawClient(v, 'http', server);

  await v.step('answers GET /time over plain HTTP, once', [], async () => {
    logRequest(http, TIME_REQUEST);
    const exchange = await http.request(TIME_REQUEST);
    logResponse(http, exchange);
    checkTimeAnswer(v, exchange);
    http.log('the answer is complete: this request is over, and the server cannot add to it', 'detail');
  });

  // Same port, same kind of GET, plus a key: a raw client shows every header of the switch.
  const raw = rawClient(v, 'raw', server);
  let tap!: FrameTap;
  let handshakeBytes = 0;
  await v.step('switches to WebSocket on the same port: the upgrade handshake', [], async () => {
    logRequest(raw, UPGRADE_REQUEST);
    const upgrade = await raw.upgrade(UPGRADE_REQUEST);
    v.defer(() => upgrade.socket.destroy());
    logResponse(raw, upgrade.exchange);
    const response = checkUpgradeAnswer(v, upgrade.exchange);
    checkAccept(v, response);
    handshakeBytes = upgrade.exchange.requestBytes + response.bytes;
    raw.log('the connection stays open: from now on it carries WebSocket frames, not HTTP', 'detail');
    tap = new FrameTap(upgrade.socket, upgrade.rest);
  });

  await v.step('pushes a message every TICK_MS without being asked, and stops for a client that left', [], async () => {
    // A client that leaves at once: a timer the server started for it must stop with it.
    const leaver = await v.client('leaver');
    leaver.terminate();
    await leaver.expectClose('its own connection to close');
    const clock = await v.client('clock');
    const openedAt = Date.now();
    v.note(`clock only listens. TICK_MS=${tickMs}: a push is due about every ${tickMs} ms`);
    const arrivals: number[] = [];
    for (let k = 1; k <= UPDATES; k++) {
      const at = await awaitPush(clock, `push ${k} of ${UPDATES}`, Math.max(v.timeouts.stepMs, 12 * tickMs));
      if (at === undefined) throw k === 1 ? await noPushFailure(v, clock, tickMs) : stoppedFailure(v, k - 1, 'clock');
      arrivals.push(at - openedAt);
      if (at - openedAt > slowLimit(k, tickMs)) throw tooSlowFailure(v, k, at - openedAt, tickMs);
    }
    v.note(`${UPDATES} pushes, none asked for, after ${arrivals.map((ms) => `${ms} ms`).join(', ')}`);
    if (arrivals[UPDATES - 1]! - arrivals[0]! < tickMs / 2) {
      // Close together can mean a timer with no period, or a busy machine that read late pushes in
      // one go. Listen one tick more: a timer with no period sends dozens in that time.
      await new Promise((resolve) => setTimeout(resolve, tickMs));
      const received = UPDATES + clock.pending.length;
      const elapsed = Date.now() - openedAt;
      if (received > (elapsed / tickMs) * 2 + 10) throw tooFastFailure(v, received, elapsed, tickMs);
    }
    checkTimerStopped(v, server);
    // clock has heard enough; let it go quietly, so that later ticks do not interleave with the count.
    clock.dispose();
  });

  await v.step(`counts the bytes on the wire: ${UPDATES} HTTP polls against ${UPDATES} WebSocket pushes`, [], async () => {
    const polls: RawResponse[] = [];
    let requestBytes = 0;
    for (let i = 0; i < UPDATES; i++) {
      const exchange = await http.request(TIME_REQUEST);
      const response = checkTimeAnswer(v, exchange);
      http.log(`→ GET /time (${exchange.requestBytes} bytes)   ← ${response.statusCode} ${response.statusMessage} (${response.bytes} bytes)`);
      requestBytes += exchange.requestBytes;
      polls.push(response);
    }
    if ((await tap.waitFor(UPDATES, v.timeouts.stepMs)) < UPDATES) throw stoppedFailure(v, tap.frames.length, 'raw');
    const frames = tap.frames.slice(0, UPDATES);
    raw.log(`← ${describeWireFrames(frames)}, pushed on the connection it upgraded`);
    showByteTable(v, { requestBytes, polls, connections: http.connections }, { handshakeBytes, frames });
  });
}) satisfies LessonVerifier;

// ————————————————————————————————————————— HTTP: one request, one answer

function checkTimeAnswer(v: Verification, exchange: RawExchange): RawResponse {
  if (!exchange.complete) {
    const got = !exchange.head
      ? exchange.stopped === 'closed'
        ? 'the connection closed without an answer'
        : `no answer at all within ${v.timeouts.stepMs} ms`
      : `the status line and headers${exchange.partialBody ? ` and ${exchange.partialBody} bytes of body` : ''}, then ${
          exchange.stopped === 'closed' ? 'the connection closed' : `nothing more for ${v.timeouts.stepMs} ms`
        }`;
    throw v.fail({
      code: Codes.TIME_NEVER_ENDS,
      expected: 'a complete answer to GET /time',
      actual: got,
      hint:
        'An HTTP answer is finished only by res.end(body). Until then the client keeps waiting, and a poller piles up ' +
        'open requests. Make sure GET /time reaches res.end, and that every other path ends its response too.',
    });
  }
  const { response } = exchange;
  const status = `${response.statusCode} ${response.statusMessage}`;
  if (response.statusCode === 426) {
    throw v.fail({
      code: Codes.TIME_UPGRADE_REQUIRED,
      expected: 'status 200 with the time',
      actual: `${status}: only a WebSocket server listens on PORT`,
      hint:
        'A WebSocketServer created with { port } speaks nothing but WebSocket and turns plain HTTP away with 426. ' +
        'Create an HTTP server with http.createServer, answer GET /time there, listen on PORT, and attach ws to it: new WebSocketServer({ server }).',
    });
  }
  if (response.statusCode === 404) {
    throw v.fail({
      code: Codes.TIME_NOT_FOUND,
      expected: 'status 200 with the time',
      actual: `${status}: nothing answers the path /time`,
      hint:
        "Your server answers HTTP, but not on /time. In the request handler, check req.method === 'GET' && req.url === '/time' " +
        'and answer 200 with a body such as {"time":"…"}; keep 404 for every other path.',
    });
  }
  if (response.statusCode !== 200) {
    throw v.fail({
      code: Codes.TIME_BAD_STATUS,
      expected: 'status 200 with the time',
      actual: status,
      hint: "Answer GET /time with status 200: res.writeHead(200, { 'Content-Type': 'application/json' }), then res.end(body).",
    });
  }
  if (response.body.length === 0) {
    throw v.fail({
      code: Codes.TIME_EMPTY_BODY,
      expected: 'a body with the time, such as {"time":"2025-01-01T12:00:00.000Z"}',
      actual: 'status 200 with an empty body',
      hint: 'Pass the body to res.end: res.end(JSON.stringify({ time: new Date().toISOString() })).',
    });
  }
  return response;
}

// ————————————————————————————————————————— the upgrade handshake

function checkUpgradeAnswer(v: Verification, exchange: RawExchange): RawResponse {
  const hint =
    'An upgrade request is an ordinary HTTP GET; the HTTP server on PORT received it and nothing switched protocols. ' +
    'Give your HTTP server to ws, new WebSocketServer({ server }), rather than a { port } of its own: one port serves both.';
  if (!exchange.complete) {
    throw v.fail({
      code: Codes.UPGRADE_NOT_HANDLED,
      expected: 'HTTP/1.1 101 Switching Protocols in answer to the upgrade request on PORT',
      actual: exchange.stopped === 'closed' ? 'the connection closed without an answer' : `no answer within ${v.timeouts.stepMs} ms`,
      hint,
    });
  }
  const { response } = exchange;
  if (response.statusCode !== 101) {
    throw v.fail({
      code: Codes.UPGRADE_NOT_HANDLED,
      expected: 'HTTP/1.1 101 Switching Protocols in answer to the upgrade request on PORT',
      actual: `HTTP ${response.statusCode} ${response.statusMessage}, a plain HTTP answer`,
      hint,
    });
  }
  const upgrade = headerValue(response, 'upgrade');
  const connection = headerValue(response, 'connection');
  const tokens = (connection ?? '').split(',').map((t) => t.trim().toLowerCase());
  if (upgrade?.toLowerCase() !== 'websocket' || !tokens.includes('upgrade')) {
    throw v.fail({
      code: Codes.HANDSHAKE_BAD_HEADERS,
      expected: 'the headers Upgrade: websocket and Connection: Upgrade in the 101 answer',
      actual: `Upgrade: ${upgrade ?? '(missing)'}, Connection: ${connection ?? '(missing)'}`,
      hint: 'A 101 must say what it switches to: Upgrade: websocket and Connection: Upgrade. Let ws write the handshake: new WebSocketServer({ server }).',
    });
  }
  return response;
}

/** Shows how the accept value is made from the key, then checks the server made the same. */
function checkAccept(v: Verification, response: RawResponse): void {
  const { joined, sha1Hex, accept } = computeAccept(RFC_SAMPLE_KEY);
  const got = headerValue(response, 'sec-websocket-accept');
  v.note('Sec-WebSocket-Accept proves the server read this very key (RFC 6455 §4.2.2):');
  v.note(`  key + GUID   ${joined}`);
  v.note(`  SHA-1        ${sha1Hex}`);
  v.note(`  base64       ${accept}   ${got === accept ? '= the server’s answer ✓' : '≠ the server’s answer ✗'}`);
  if (got !== accept) {
    throw v.fail({
      code: Codes.HANDSHAKE_BAD_ACCEPT,
      expected: `Sec-WebSocket-Accept: ${accept}`,
      actual: got === undefined ? 'no Sec-WebSocket-Accept header' : `Sec-WebSocket-Accept: ${got}`,
      hint:
        'The accept value is base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")): append that GUID to the ' +
        "client's key, hash with SHA-1, encode the 20-byte digest (not its hex) in base64. Or let ws do it: new WebSocketServer({ server }).",
    });
  }
}

// ————————————————————————————————————————— pushes: the server speaks first

/** The latest push k may arrive after the client opened: generous, so a busy machine never fails a correct server. */
function slowLimit(k: number, tickMs: number): number {
  // Generous, for a machine a whole class shares; a hard-coded one-second tick is still far outside it.
  return k * 3 * tickMs + 400;
}

/** Label of the failure TestClient raises when nothing came: caught here, never shown. */
const NOTHING_YET = 'HTTP_WS_NOTHING_YET';

/** Waits for the next frame; resolves with its arrival time, or undefined if none came in `timeoutMs`. */
async function awaitPush(client: TestClient, awaiting: string, timeoutMs: number): Promise<number | undefined> {
  try {
    await client.nextFrame(awaiting, { timeoutMs, timeoutCode: NOTHING_YET });
    return Date.now();
  } catch (error) {
    if (error instanceof VerifyFailure && error.code === NOTHING_YET) return undefined;
    throw error;
  }
}

/** Nothing came: ask once, the HTTP way, to tell a server that waits to be asked from a silent one. */
async function noPushFailure(v: Verification, clock: TestClient, tickMs: number): Promise<VerifyFailure> {
  const waited = Math.max(v.timeouts.stepMs, 12 * tickMs);
  clock.sendText('what time is it?');
  const answered = (await awaitPush(clock, 'any answer', 3 * tickMs + 300)) !== undefined;
  if (answered) {
    return v.fail({
      code: Codes.WAITS_TO_BE_ASKED,
      expected: `a push within ${waited} ms, without asking`,
      actual: 'nothing until clock sent a message, then an answer: the server waits to be asked',
      hint:
        'That is how HTTP works, not WebSocket: here the server may speak first. In wss.on(\'connection\', (socket) => …) ' +
        'start a timer, setInterval(…, tickMs), and socket.send from it, whether or not the client says anything.',
    });
  }
  return v.fail({
    code: Codes.NO_PUSH,
    expected: `a push within ${waited} ms, without asking`,
    actual: 'nothing, not even after clock sent a message',
    hint:
      "In wss.on('connection', (socket) => …), start a setInterval that calls socket.send(…) every TICK_MS. " +
      'If you keep your own list of sockets to send to, check that each new one is added to it.',
  });
}

function stoppedFailure(v: Verification, got: number, who: 'clock' | 'raw'): VerifyFailure {
  return v.fail({
    code: Codes.STOPPED_PUSHING,
    expected: `${UPDATES} pushes to ${who}, one every TICK_MS`,
    actual: `${got} push${got === 1 ? '' : 'es'}, then nothing for ${v.timeouts.stepMs} ms`,
    hint:
      who === 'clock'
        ? 'Sending once when a client connects is an HTTP answer in disguise. Push from a timer, setInterval, for as long as the socket is open.'
        : "Every open connection needs its pushes, not only the newest: start a timer for each socket in 'connection' (or send to every client in wss.clients).",
  });
}

function tooSlowFailure(v: Verification, k: number, ms: number, tickMs: number): VerifyFailure {
  return v.fail({
    code: Codes.TICK_TOO_SLOW,
    expected: `a push about every ${tickMs} ms (TICK_MS=${tickMs}), so push ${k} within ${slowLimit(k, tickMs)} ms`,
    actual: `push ${k} after ${ms} ms`,
    hint: 'Read the period from the environment, Number(process.env.TICK_MS), instead of a number of your own: the verifier makes it short so the check is quick.',
  });
}

function tooFastFailure(v: Verification, received: number, elapsed: number, tickMs: number): VerifyFailure {
  return v.fail({
    code: Codes.TICK_TOO_FAST,
    expected: `pushes about ${tickMs} ms apart (TICK_MS=${tickMs}), so about ${Math.round(elapsed / tickMs)} in ${elapsed} ms`,
    actual: `${received} pushes in ${elapsed} ms`,
    hint:
      'The timer has no usable period. Check the spelling, process.env.TICK_MS, and convert it with Number(…): ' +
      'Node runs a setInterval whose delay is NaN or undefined every millisecond.',
  });
}

/** A timer that outlives its socket goes on sending into a closed connection; ws drops those sends silently. */
function checkTimerStopped(v: Verification, server: RunningServer): void {
  // One send can race the close itself; a timer left running makes one every tick.
  const sends = server.program.sendsNotOpen.length;
  if (sends >= 2) {
    throw v.fail({
      code: Codes.TIMER_LEAK,
      expected: 'no more sends to leaver once it had gone',
      actual: `${sends} send() calls on its closed socket: its timer is still running`,
      hint:
        "Keep each connection's timer in a variable and stop it when that socket closes: socket.on('close', () => clearInterval(timer)). " +
        'Otherwise every client that ever connected leaves a timer behind, firing forever.',
    });
  }
}

// ————————————————————————————————————————— the transcript's view of the wire

function rawClient(v: Verification, name: string, server: RunningServer): RawHttpClient {
  const client = new RawHttpClient(name, { host: server.host, port: server.port, timeoutMs: v.timeouts.stepMs, transcript: v.transcript });
  v.defer(() => client.close());
  return client;
}

function logRequest(client: RawHttpClient, request: RawRequest): void {
  const [requestLine, ...headers] = client.encode(request).toString('latin1').trimEnd().split('\r\n');
  client.log(`→ ${requestLine}   (${client.encode(request).length} bytes)`);
  for (const line of headers) client.log(`    ${line}`, 'detail');
}

/** Headers whose value changes with every answer: shown by name only, so transcripts compare. */
const VARYING_HEADERS = new Set(['date', 'etag', 'last-modified', 'expires']);

function logResponse(client: RawHttpClient, exchange: RawExchange): void {
  if (!exchange.complete) {
    const { head, stopped, receivedBytes } = exchange;
    const ending = stopped === 'closed' ? 'then the connection closed' : 'and no end';
    client.log(
      head ? `← ${head.httpVersion} ${head.statusCode} ${head.statusMessage}   (${receivedBytes} bytes, ${ending})` : `← nothing (${stopped === 'closed' ? 'the connection closed' : 'no answer'})`,
      'error',
    );
    return;
  }
  const { response } = exchange;
  const head = response.headBytes + response.framingBytes;
  client.log(`← ${response.httpVersion} ${response.statusCode} ${response.statusMessage}   (${response.bytes} bytes)`);
  for (const [name, value] of response.headers) {
    client.log(`    ${name}: ${VARYING_HEADERS.has(name.toLowerCase()) ? '…' : value}`, 'detail');
  }
  if (response.statusCode !== 101) client.log(`    body: ${describeBody(response.body)}   (${response.body.length} bytes; the other ${head} are HTTP's own)`, 'detail');
}

/** `{"time": …}` for a JSON object (values change each time), else the size and kind. */
function describeBody(body: Buffer): string {
  if (body.length === 0) return 'none';
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      return `{${Object.keys(value).map((k) => `${JSON.stringify(k)}: …`).join(', ')}}`;
    }
  } catch {
    // Not JSON: described by size below.
  }
  return `${body.length} bytes of text`;
}

function describeWireFrames(frames: WireFrame[]): string {
  const sizes = new Set(frames.map((f) => `${f.headerBytes}+${f.payload.length}`));
  const [first] = frames;
  if (sizes.size === 1 && first) {
    return `${frames.length} frames of ${first.headerBytes + first.payload.length} bytes each (${first.headerBytes} of frame header, ${first.payload.length} of message)`;
  }
  return `${frames.length} frames: ${frames.map((f) => `${f.headerBytes + f.payload.length} bytes (${f.headerBytes} + ${f.payload.length})`).join(', ')}`;
}

/** The lesson's point in numbers: what N updates cost when the client asks, and when the server tells. */
function showByteTable(
  v: Verification,
  http: { requestBytes: number; polls: RawResponse[]; connections: number },
  ws: { handshakeBytes: number; frames: WireFrame[] },
): void {
  const sum = (ns: number[]) => ns.reduce((a, b) => a + b, 0);
  const n = http.polls.length;
  const httpHeads = sum(http.polls.map((r) => r.headBytes + r.framingBytes));
  const httpBodies = sum(http.polls.map((r) => r.body.length));
  const wsHeads = sum(ws.frames.map((f) => f.headerBytes));
  const wsBodies = sum(ws.frames.map((f) => f.payload.length));
  const httpEach = Math.round((http.requestBytes + httpHeads + httpBodies) / n);
  const wsEach = Math.round((wsHeads + wsBodies) / n);
  const sameHeaders = ws.frames.every((f) => f.headerBytes === ws.frames[0]!.headerBytes);
  const rows: Array<[string, number | string, number | string, string]> = [
    ['', 'HTTP polling', 'WebSocket', ''],
    ['opening, once', 0, ws.handshakeBytes, 'the upgrade handshake'],
    ['asking: client → server', http.requestBytes, 0, 'nobody asks: the server pushes'],
    ['headers and framing', httpHeads, wsHeads, sameHeaders ? `${ws.frames[0]!.headerBytes} bytes per frame` : ''],
    ['the messages', httpBodies, wsBodies, ''],
    ['total', http.requestBytes + httpHeads + httpBodies, ws.handshakeBytes + wsHeads + wsBodies, ''],
    ['each further update', httpEach, wsEach, wsEach > 0 ? `about ${Math.round(httpEach / wsEach)} times fewer bytes` : ''],
  ];
  v.note(`Bytes on the wire for ${n} updates, measured in this run:`);
  for (const [label, a, b, comment] of rows) {
    v.note(`  ${label.padEnd(24)}${String(a).padStart(13)}${String(b).padStart(12)}${comment ? `   ${comment}` : ''}`.trimEnd());
  }
  if (http.connections > 1) v.note(`(your server closed the polling connection: ${http.connections} TCP connections were opened)`);
  v.note('Not counted: TCP/IP adds 40 bytes or more to every packet, and polling sends more packets.');
  v.note('Nor the wait: news that comes just after a poll waits for the next poll, while a push leaves at once.');
}
