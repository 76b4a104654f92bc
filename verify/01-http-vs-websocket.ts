/**
 * Lesson 01 — HTTP vs WebSocket. The story: ask for the time over plain HTTP and get one answer, and
 * a 404 for everything else; on the same port, and no other, ask for an upgrade and check the
 * server's proof that it speaks WebSocket; then open clients that never speak and, without asking, be
 * told every TICK_MS; let some go, from first to last, and see their timers stop and the others' go
 * on; check the period really comes from TICK_MS with a second copy; finally count what each way
 * costs on the wire.
 */
import { once } from 'node:events';
import { computeAccept, RFC_SAMPLE_KEY } from './harness/handshake.ts';
import { headerValue, RawHttpClient, type RawExchange, type RawRequest, type RawResponse } from './harness/http.ts';
import {
  defineRules,
  describeFrame,
  HarnessCodes,
  VerifyFailure,
  type Frame,
  type LessonVerifier,
  type RunningServer,
  type TestClient,
  type Verification,
  previewText,
} from './harness/index.ts';
import { asObject, delay, parseJson } from './harness/json.ts';
import { liveTimers } from './harness/program.ts';
import { FrameTap, type WireFrame } from './harness/wire-frames.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  TIME_UPGRADE_REQUIRED: 'HTTP_TIME_UPGRADE_REQUIRED',
  UPGRADE_NOT_HANDLED: 'HTTP_UPGRADE_NOT_HANDLED',
  EXTRA_PORT: 'HTTP_EXTRA_PORT',
  HANDSHAKE_BAD_HEADERS: 'HTTP_HANDSHAKE_BAD_HEADERS',
  HANDSHAKE_BAD_ACCEPT: 'HTTP_HANDSHAKE_BAD_ACCEPT',
  TIME_NOT_FOUND: 'HTTP_TIME_NOT_FOUND',
  TIME_BAD_STATUS: 'HTTP_TIME_BAD_STATUS',
  TIME_NEVER_ENDS: 'HTTP_TIME_NEVER_ENDS',
  TIME_EMPTY_BODY: 'HTTP_TIME_EMPTY_BODY',
  TIME_NOT_JSON: 'HTTP_TIME_NOT_JSON',
  TIME_WRONG_TIME: 'HTTP_TIME_WRONG_TIME',
  TIME_WRONG_CONTENT_TYPE: 'HTTP_TIME_WRONG_CONTENT_TYPE',
  OTHER_NOT_404: 'HTTP_OTHER_NOT_404',
  OTHER_NEVER_ENDS: 'HTTP_OTHER_NEVER_ENDS',
  NO_PUSH: 'HTTP_WS_NO_PUSH',
  WAITS_TO_BE_ASKED: 'HTTP_WS_WAITS_TO_BE_ASKED',
  STOPPED_PUSHING: 'HTTP_WS_STOPPED_PUSHING',
  TICK_NOT_JSON: 'HTTP_WS_TICK_NOT_JSON',
  TICK_MISSING: 'HTTP_WS_TICK_MISSING',
  TICK_WRONG_COUNT: 'HTTP_WS_TICK_WRONG_COUNT',
  TICK_TOO_SLOW: 'HTTP_WS_TICK_TOO_SLOW',
  TICK_TOO_FAST: 'HTTP_WS_TICK_TOO_FAST',
  TICK_MS_IGNORED: 'HTTP_WS_TICK_MS_IGNORED',
  TIMER_LEAK: 'HTTP_WS_TIMER_LEAK',
  STOPPED_ANOTHER: 'HTTP_WS_STOPPED_ANOTHER_CLIENT',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: {
    text: 'Serve HTTP and WebSocket from **one** HTTP server on that port, and listen on no other: `http.createServer(handler)`, then `new WebSocketServer({ server })`, then `server.listen(port)`.',
    codes: [Codes.TIME_UPGRADE_REQUIRED, Codes.UPGRADE_NOT_HANDLED, Codes.EXTRA_PORT],
  },
  R3: {
    text: 'Answer an upgrade request with `101 Switching Protocols`, `Upgrade: websocket`, `Connection: Upgrade` and the `Sec-WebSocket-Accept` made from its key.',
    codes: [Codes.HANDSHAKE_BAD_HEADERS, Codes.HANDSHAKE_BAD_ACCEPT],
  },
  R4: {
    text: '`GET /time` answers status `200`, `Content-Type: application/json`, and a JSON body whose `time` is the current time as an ISO 8601 string, such as `{"time":"2025-01-01T12:00:00.000Z"}`; then the response ends.',
    codes: [
      Codes.TIME_NOT_FOUND,
      Codes.TIME_BAD_STATUS,
      Codes.TIME_NEVER_ENDS,
      Codes.TIME_EMPTY_BODY,
      Codes.TIME_NOT_JSON,
      Codes.TIME_WRONG_TIME,
      Codes.TIME_WRONG_CONTENT_TYPE,
    ],
  },
  R5: { text: 'Any other path or method answers `404` (with any body, or none), and ends the response.', codes: [Codes.OTHER_NOT_404, Codes.OTHER_NEVER_ENDS] },
  R6: {
    text: 'Start sending to each WebSocket client as soon as it connects, without waiting for it to send anything, and go on for as long as it stays.',
    codes: [Codes.NO_PUSH, Codes.WAITS_TO_BE_ASKED, Codes.STOPPED_PUSHING],
  },
  R7: {
    text: 'Each message is a text frame of JSON, `{"tick":1}`, then `{"tick":2}`, `{"tick":3}`, …: every client has its own count, from 1.',
    codes: [Codes.TICK_NOT_JSON, Codes.TICK_MISSING, Codes.TICK_WRONG_COUNT],
  },
  R8: {
    text: 'Send one message every `TICK_MS` milliseconds, the number in `process.env.TICK_MS`.',
    codes: [Codes.TICK_TOO_SLOW, Codes.TICK_TOO_FAST, Codes.TICK_MS_IGNORED],
  },
  R9: { text: 'When a client goes, stop its timer, and only its timer.', codes: [Codes.TIMER_LEAK, Codes.STOPPED_ANOTHER] },
});

/** How many polls and pushes the byte count compares. */
const UPDATES = 3;

/** The five clients of the crowd, in the order they connect: the leavers are first, middle and last. */
const CROWD = ['leaver-1', 'clock-1', 'leaver-2', 'clock-2', 'leaver-3'] as const;
const LEAVERS = new Set<string>(['leaver-1', 'leaver-2', 'leaver-3']);

/** How long the clients that stayed are watched after the others left. */
const AFTER_LEAVING_MS = 400;

/** The second copy's period: far from the first copy's 100 and from a default of 1000. */
const SECOND_TICK_MS = 400;
/** How long the second copy's client listens, at least, before its ticks are counted. */
const SECOND_LISTENS_MS = 600;

/** A busy machine runs timers late: the slowest pace accepted is judged after this much time (R8). */
const PACE_GRACE_MS = 400;

/** How far the time in an answer may be from the verifier's clock (R4): both run on this machine. */
const TIME_TOLERANCE_MS = 1000;

/** How long a probe of the program's timers may take to be answered. */
const PROBE_MS = 1000;

/** What a polling client sends each time: as lean as an HTTP request gets (a browser adds far more). */
const TIME_REQUEST: RawRequest = { path: '/time', headers: [['Accept', 'application/json']] };

/** Requests that are not `GET /time`: near misses of the path, and the right path with other methods. */
const OTHER_REQUESTS: RawRequest[] = [
  { path: '/' },
  { path: '/timeline' },
  { path: '/time/now' },
  { path: '/favicon.ico', headers: [['Accept', 'image/*']] },
  { method: 'POST', path: '/time', headers: [['Content-Length', '0']] },
  { method: 'DELETE', path: '/time' },
];

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

/** A client that only listens, and what it has read of its ticks so far. */
interface Listener {
  client: TestClient;
  /** When its connection opened (ms since the epoch). */
  openedAt: number;
  /** Ticks taken from it and checked: the next one read must say `read + 1`. */
  read: number;
}

export default (async (v) => {
  const tickMs = Number(v.lessonEnv.TICK_MS);
  // Asked for its timers, the program shows one that outlived its client even when it sends nothing.
  const server = await v.start({ probeResources: true });
  const http = rawClient(v, 'http', server);

  await v.step('answers GET /time over plain HTTP, once', ['R2', 'R4'], async () => {
    logRequest(http, TIME_REQUEST);
    const exchange = await timedRequest(http, TIME_REQUEST);
    logResponse(http, exchange);
    checkTimeAnswer(v, exchange);
    http.log('the answer is complete: this request is over, and the server cannot add to it', 'detail');
  });

  await v.step('answers 404 to every other path and method', ['R5'], async () => {
    for (const request of OTHER_REQUESTS) {
      const exchange = await http.request(request);
      const line = `→ ${request.method ?? 'GET'} ${request.path}`;
      if (!exchange.complete || exchange.response.statusCode !== 404) {
        logRequest(http, request);
        logResponse(http, exchange);
        throw otherPathFailure(v, request, exchange);
      }
      http.log(`${line.padEnd(22)}← ${exchange.response.statusCode} ${exchange.response.statusMessage}`);
    }
  });

  // Same port, same kind of GET, plus a key: a raw client shows every header of the switch.
  const raw = rawClient(v, 'raw', server);
  let tap!: FrameTap;
  let rawOpenedAt = 0;
  let handshakeBytes = 0;
  await v.step('switches to WebSocket on the same port, the only one it listens on', ['R2', 'R3'], async () => {
    logRequest(raw, UPGRADE_REQUEST);
    const upgrade = await raw.upgrade(UPGRADE_REQUEST);
    v.defer(() => upgrade.socket.destroy());
    logResponse(raw, upgrade.exchange);
    const response = checkUpgradeAnswer(v, server, upgrade.exchange);
    checkAccept(v, response);
    handshakeBytes = upgrade.exchange.requestBytes + response.bytes;
    raw.log('the connection stays open: from now on it carries WebSocket frames, not HTTP', 'detail');
    tap = new FrameTap(upgrade.socket, upgrade.rest);
    rawOpenedAt = Date.now();
    checkOnePort(v, server);
  });

  let second!: RunningServer;
  let slowClock!: Listener;
  const crowd: Listener[] = [];
  let timersBefore: number | undefined;
  let timersWithCrowd: number | undefined;
  await v.step('five clients connect and send nothing: each is told {"tick":1}, then {"tick":2}, unasked', ['R6', 'R7', 'R8'], async () => {
    // Started now, once the first copy has shown it listens on PORT alone, so the two cannot collide.
    const rawHeard = pushedTo(tap).length;
    v.note(`A second copy of your server starts with TICK_MS=${SECOND_TICK_MS}: it should tick ${SECOND_TICK_MS / tickMs} times more slowly`);
    second = await v.start({ name: 'second copy', env: { TICK_MS: String(SECOND_TICK_MS) } });
    slowClock = await listener(v, 'slow-clock', second);
    timersBefore = await timersOf(server);
    for (const name of CROWD) crowd.push(await listener(v, name, server));
    v.note(`none of them sends anything. TICK_MS=${tickMs}: a push is due to each about every ${tickMs} ms`);
    for (const [i, who] of crowd.entries()) {
      await readTick(v, who, tickMs, i === 0 ? 'first' : crowd[0]!.client.name);
      await readTick(v, who, tickMs);
    }
    timersWithCrowd = await timersOf(server);
    // raw, connected before them all, must not have been forgotten meanwhile.
    if (pushedTo(tap).length === rawHeard) throw stoppedFailure(v, rawHeard, 'raw');
  });

  await v.step('leaver-1, leaver-2 and leaver-3 go: their timers stop, and the others tick on', ['R7', 'R8', 'R9'], async () => {
    const leavers = crowd.filter((who) => LEAVERS.has(who.client.name));
    const stayers = crowd.filter((who) => !LEAVERS.has(who.client.name));
    // Both ways a client goes: the connection dropped (a closed laptop), and a proper close.
    for (const [i, who] of leavers.entries()) {
      if (i === 1) who.client.close();
      else who.client.terminate();
    }
    await Promise.all(leavers.map((who) => closeOf(who.client, v.timeouts.stepMs)));
    const heardBefore = stayers.map((who) => who.read + who.client.pending.length);
    // Watched for four ticks more: long enough to see a timer that a leaver stopped by mistake.
    await delay(AFTER_LEAVING_MS);
    for (const [i, who] of stayers.entries()) {
      const ticks = who.client.pending;
      for (const [j, frame] of ticks.entries()) checkTick(v, who.client.name, frame, who.read + 1 + j);
      if (who.read + ticks.length === heardBefore[i]) throw stoppedAnotherFailure(v, who.client.name);
      checkPace(v, { name: who.client.name, openedAt: who.openedAt }, tickMs, who.read + ticks.length);
    }
    v.note(`clock-1 and clock-2 tick on, counting up, about every ${tickMs} ms`);
    checkSendsToLeavers(v, server, leavers.length);
    await checkTimersStopped(v, server, { before: timersBefore, withCrowd: timersWithCrowd, stayers: stayers.length });
    v.note('nothing more was sent to the three who left, and their timers are gone');
    for (const who of stayers) who.client.dispose();
  });

  await v.step(`reads the period from TICK_MS: the second copy, with TICK_MS=${SECOND_TICK_MS}, ticks more slowly`, ['R8'], async () => {
    const left = slowClock.openedAt + SECOND_LISTENS_MS - Date.now();
    if (left > 0) await delay(left);
    const elapsed = Date.now() - slowClock.openedAt;
    const received = slowClock.client.pending.length;
    const { min, max } = paceRange(elapsed, SECOND_TICK_MS);
    if (received < min || received > max) {
      throw v.fail({
        code: Codes.TICK_MS_IGNORED,
        expected: `about one tick every ${SECOND_TICK_MS} ms from the copy started with TICK_MS=${SECOND_TICK_MS}: from ${min} to ${max} in ${elapsed} ms`,
        actual: `${received} ticks in ${elapsed} ms, about one every ${Math.round(elapsed / Math.max(received, 1))} ms: the pace of TICK_MS=${tickMs}`,
        hint: `Read the period from the environment, Number(process.env.TICK_MS), rather than writing ${tickMs} (or any number) into the code: whoever runs the server chooses it.`,
      });
    }
    v.note(`slow-clock: about one tick every ${SECOND_TICK_MS} ms, as TICK_MS=${SECOND_TICK_MS} asks`);
    slowClock.client.dispose();
  });

  await v.step(`counts the bytes on the wire: ${UPDATES} HTTP polls against ${UPDATES} WebSocket pushes`, ['R4', 'R6', 'R7', 'R8'], async () => {
    const polls: RawResponse[] = [];
    let requestBytes = 0;
    for (let i = 0; i < UPDATES; i++) {
      const exchange = await timedRequest(http, TIME_REQUEST);
      const response = checkTimeAnswer(v, exchange);
      http.log(`→ GET /time (${exchange.requestBytes} bytes)   ← ${response.statusCode} ${response.statusMessage} (${response.bytes} bytes)`);
      requestBytes += exchange.requestBytes;
      polls.push(response);
    }
    // raw has stayed all along: its pushes must still be coming, counting on, at the pace of TICK_MS.
    // It is watched for at least RAW_WATCH_TICKS periods, so that a clock that stops after a few
    // ticks has stopped by now however fast the steps before went.
    const watchedUntil = rawOpenedAt + RAW_WATCH_TICKS * tickMs;
    if (Date.now() < watchedUntil) await delay(watchedUntil - Date.now());
    const heard = pushedTo(tap).length;
    await tap.waitFor(tap.frames.length + 1, pushWaitMs(v, tickMs));
    const pushed = pushedTo(tap);
    if (pushed.length < UPDATES || pushed.length === heard) throw stoppedFailure(v, pushed.length, 'raw');
    for (const [i, frame] of pushed.entries()) checkTick(v, 'raw', { kind: frame.opcode === 1 ? 'text' : 'binary', data: frame.payload }, i + 1);
    checkPace(v, { name: 'raw', openedAt: rawOpenedAt }, tickMs, pushed.length);
    const frames = pushed.slice(0, UPDATES);
    raw.log(`← ${describeWireFrames(frames)}, pushed on the connection it upgraded`);
    showByteTable(v, { requestBytes, polls, connections: http.connections }, { handshakeBytes, frames });
  });
}) satisfies LessonVerifier;

/** How many periods `raw`, connected all along, is watched before its last push is awaited. */
const RAW_WATCH_TICKS = 15;

// ————————————————————————————————————————— HTTP: one request, one answer

/** An exchange with the moments it was sent and answered, to judge the time in the answer by. */
type TimedExchange = RawExchange & { sentAt: number; answeredAt: number };

async function timedRequest(client: RawHttpClient, request: RawRequest): Promise<TimedExchange> {
  const sentAt = Date.now();
  const exchange = await client.request(request);
  return { ...exchange, sentAt, answeredAt: Date.now() };
}

function checkTimeAnswer(v: Verification, exchange: TimedExchange): RawResponse {
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
        'open requests. Make sure GET /time reaches res.end.',
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
  const example = '{"time":"2025-01-01T12:00:00.000Z"}';
  if (response.body.length === 0) {
    throw v.fail({
      code: Codes.TIME_EMPTY_BODY,
      expected: `a body with the time, such as ${example}`,
      actual: 'status 200 with an empty body',
      hint: 'Pass the body to res.end: res.end(JSON.stringify({ time: new Date().toISOString() })).',
    });
  }
  const text = response.body.toString('utf8');
  const value = parseJson(text);
  if (value === undefined) {
    throw v.fail({
      code: Codes.TIME_NOT_JSON,
      expected: `a JSON body, such as ${example}`,
      actual: `${previewText(text)}, which is not JSON`,
      hint: 'Send an object as JSON text: res.end(JSON.stringify({ time: … })). A bare date, or text of your own, is not JSON a client can parse.',
    });
  }
  checkTime(v, asObject(value)?.time, previewText(text), exchange);
  const type = headerValue(response, 'content-type');
  // The media type is what counts; parameters such as charset=utf-8 may follow it.
  if (type?.split(';')[0]!.trim().toLowerCase() !== 'application/json') {
    throw v.fail({
      code: Codes.TIME_WRONG_CONTENT_TYPE,
      expected: 'the header Content-Type: application/json, which tells the client the body is JSON',
      actual: type === undefined ? 'no Content-Type header' : `Content-Type: ${type}`,
      hint: "Name the body's type when you write the head: res.writeHead(200, { 'Content-Type': 'application/json' }).",
    });
  }
  return response;
}

/** ISO 8601 as `toISOString()` writes it, with any offset and any precision of the seconds. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

function checkTime(v: Verification, time: unknown, body: string, exchange: TimedExchange): void {
  const expected = 'a body {"time": …} with the current time as an ISO 8601 string, such as "2025-01-01T12:00:00.000Z"';
  if (typeof time !== 'string' || !ISO_8601.test(time)) {
    const hint =
      typeof time === 'number'
        ? 'Date.now() is a number of milliseconds. The time asked for is an ISO 8601 string: new Date().toISOString().'
        : typeof time === 'string'
          ? 'That is a date, but not in ISO 8601, the form every program parses the same way. new Date().toISOString() writes it.'
          : 'Put the time in a field named time: JSON.stringify({ time: new Date().toISOString() }).';
    throw v.fail({ code: Codes.TIME_WRONG_TIME, expected, actual: body, hint });
  }
  const at = Date.parse(time);
  const earliest = exchange.sentAt - TIME_TOLERANCE_MS;
  const latest = exchange.answeredAt + TIME_TOLERANCE_MS;
  if (Number.isNaN(at) || at < earliest || at > latest) {
    const off = Number.isNaN(at) ? 'not a date at all' : `${Math.round(Math.abs(at - exchange.sentAt) / 1000)} s ${at < earliest ? 'behind' : 'ahead of'} the clock`;
    throw v.fail({
      code: Codes.TIME_WRONG_TIME,
      expected: `the current time, within ${TIME_TOLERANCE_MS / 1000} s of the verifier's clock`,
      actual: `${body}: ${off}`,
      hint: 'Make the time when each request comes, inside the handler: new Date().toISOString(). A time made once at start, or copied from an example, is soon wrong.',
    });
  }
}

function otherPathFailure(v: Verification, request: RawRequest, exchange: RawExchange): VerifyFailure {
  const asked = `${request.method ?? 'GET'} ${request.path}`;
  if (!exchange.complete) {
    return v.fail({
      code: Codes.OTHER_NEVER_ENDS,
      expected: `a complete 404 answer to ${asked}`,
      actual: exchange.head
        ? `${exchange.head.statusCode} ${exchange.head.statusMessage}, then ${exchange.stopped === 'closed' ? 'the connection closed' : `nothing more for ${v.timeouts.stepMs} ms`}`
        : exchange.stopped === 'closed'
          ? 'the connection closed without an answer'
          : `no answer at all within ${v.timeouts.stepMs} ms`,
      hint: 'Every request needs its answer ended, the 404s too: res.writeHead(404), then res.end(). A request nobody ends hangs until the client gives up.',
    });
  }
  const { response } = exchange;
  const gotTime = response.statusCode === 200;
  return v.fail({
    code: Codes.OTHER_NOT_404,
    expected: `404 for ${asked}: only GET /time is answered`,
    actual: `${response.statusCode} ${response.statusMessage}${gotTime ? `, with ${previewText(response.body.toString('utf8'))}` : ''}`,
    hint: gotTime
      ? request.method && request.method !== 'GET'
        ? `Check the method as well as the path: req.method === 'GET' && req.url === '/time'. A ${request.method} is not a GET.`
        : "Compare the whole path: req.url === '/time'. startsWith, includes or a pattern without its end match other paths too."
      : 'Everything that is not GET /time answers 404, whatever the method: res.writeHead(404), then res.end().',
  });
}

// ————————————————————————————————————————— the upgrade handshake, on the one port

function checkUpgradeAnswer(v: Verification, server: RunningServer, exchange: RawExchange): RawResponse {
  const elsewhere = otherPorts(server);
  const hint =
    'An upgrade request is an ordinary HTTP GET; the HTTP server on PORT received it and nothing switched protocols. ' +
    'Give your HTTP server to ws, new WebSocketServer({ server }), rather than a { port } of its own: one port serves both.';
  const also = elsewhere.length > 0 ? ` (your server also listens on port ${elsewhere.join(', ')}: the WebSocket server is there)` : '';
  if (!exchange.complete) {
    throw v.fail({
      code: Codes.UPGRADE_NOT_HANDLED,
      expected: 'HTTP/1.1 101 Switching Protocols in answer to the upgrade request on PORT',
      actual: `${exchange.stopped === 'closed' ? 'the connection closed without an answer' : `no answer within ${v.timeouts.stepMs} ms`}${also}`,
      hint,
    });
  }
  const { response } = exchange;
  if (response.statusCode !== 101) {
    throw v.fail({
      code: Codes.UPGRADE_NOT_HANDLED,
      expected: 'HTTP/1.1 101 Switching Protocols in answer to the upgrade request on PORT',
      actual: `HTTP ${response.statusCode} ${response.statusMessage}, a plain HTTP answer${also}`,
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

/** Ports the program listens on besides PORT. */
function otherPorts(server: RunningServer): number[] {
  return [...new Set(server.program.listeningPorts.filter((port) => port !== server.port))];
}

function checkOnePort(v: Verification, server: RunningServer): void {
  const elsewhere = otherPorts(server);
  if (elsewhere.length > 0) {
    throw v.fail({
      code: Codes.EXTRA_PORT,
      expected: `your server to listen on port ${server.port} (PORT) alone`,
      actual: `it listens on port ${elsewhere.join(', ')} as well`,
      hint:
        'One server, one port: HTTP and WebSocket share the HTTP server on PORT. Remove the second listen, or the { port } ' +
        'given to a second server; every extra port is another address for firewalls and proxies to let through.',
    });
  }
  v.note(`your server listens on port ${server.port} alone: HTTP and WebSocket share it`);
}

// ————————————————————————————————————————— pushes: the server speaks first

/**
 * Ticks due `elapsedMs` after a client opened, and the range R8 accepts (problem.md gives the same
 * numbers): at least half the ticks due once the grace has passed, at most two more than due.
 */
function paceRange(elapsedMs: number, tickMs: number): { due: number; min: number; max: number } {
  const due = Math.floor(elapsedMs / tickMs);
  return { due, min: Math.max(0, Math.floor((elapsedMs - PACE_GRACE_MS) / (2 * tickMs))), max: due + 2 };
}

async function listener(v: Verification, name: string, server: RunningServer): Promise<Listener> {
  // Five clients are told things at the same moments: written as they are read, they keep one order.
  const client = await v.client(name, { server, log: 'read' });
  return { client, openedAt: Date.now(), read: 0 };
}

/** How long a client waits for its next tick before deciding none is coming. */
function pushWaitMs(v: Verification, tickMs: number): number {
  return Math.max(v.timeouts.stepMs, 12 * tickMs);
}

/** Label of the failure TestClient raises when nothing came: caught here, never shown. */
const NOTHING_YET = 'HTTP_WS_NOTHING_YET';

/** The next frame, or undefined if none came in `timeoutMs`. */
async function nextPush(client: TestClient, awaiting: string, timeoutMs: number): Promise<Frame | undefined> {
  try {
    return await client.nextFrame(awaiting, { timeoutMs, timeoutCode: NOTHING_YET });
  } catch (error) {
    if (error instanceof VerifyFailure && error.code === NOTHING_YET) return undefined;
    throw error;
  }
}

/**
 * Reads the next tick of a listener and checks what it says and how soon it came. `firstOf` says, for
 * a client's first tick, whom to compare with when none comes: 'first' when nobody has had one yet.
 */
async function readTick(v: Verification, who: Listener, tickMs: number, firstOf?: string): Promise<void> {
  const k = who.read + 1;
  const frame = await nextPush(who.client, `{"tick":${k}}`, pushWaitMs(v, tickMs));
  if (!frame) {
    if (k > 1) throw stoppedFailure(v, k - 1, who.client.name);
    throw firstOf === 'first' ? await noPushFailure(v, who.client, tickMs) : unservedFailure(v, who.client.name, firstOf ?? 'another client');
  }
  who.read = k;
  checkTick(v, who.client.name, frame, k);
  checkPace(v, { name: who.client.name, openedAt: who.openedAt }, tickMs, k + who.client.pending.length);
}

/** Checks one tick: a text frame of JSON whose `tick` is `want` (R7). */
function checkTick(v: Verification, name: string, frame: Frame, want: number): void {
  const expected = `{"tick":${want}}, the ${ordinal(want)} message ${name} receives`;
  if (frame.kind !== 'text') {
    throw v.fail({
      code: Codes.TICK_NOT_JSON,
      expected: `a text frame ${expected}`,
      actual: describeFrame(frame),
      hint: 'Send a string: socket.send(JSON.stringify({ tick })). A Buffer leaves as a binary frame, which a browser hands over as a Blob, not text.',
    });
  }
  const value = parseJson(frame.data.toString('utf8'));
  if (value === undefined) {
    throw v.fail({
      code: Codes.TICK_NOT_JSON,
      expected,
      actual: `${describeFrame(frame)}, which is not JSON`,
      hint: 'Build each message with JSON.stringify({ tick }): text of your own, such as tick 1, is not JSON a client can parse.',
    });
  }
  const tick = asObject(value)?.tick;
  if (typeof tick !== 'number') {
    throw v.fail({
      code: Codes.TICK_MISSING,
      expected,
      actual: describeFrame(frame),
      hint: 'Each message is an object with a number named tick: JSON.stringify({ tick }), where tick is a number, not a string.',
    });
  }
  if (tick !== want) {
    throw v.fail({
      code: Codes.TICK_WRONG_COUNT,
      expected,
      actual: describeFrame(frame),
      hint:
        tick === want - 1
          ? 'The count starts at 1: add one before you send, { tick: ++tick }, not after.'
          : "Keep a count for each client inside wss.on('connection', …): let tick = 0 there, then send { tick: ++tick }. A count shared by all clients skips numbers for each of them.",
    });
  }
}

function ordinal(n: number): string {
  const suffix = n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th';
  return `${n}${suffix}`;
}

/** Checks how many ticks a listener received against the time it has listened (R8). */
function checkPace(v: Verification, who: { name: string; openedAt: number }, tickMs: number, received: number): void {
  const elapsed = Date.now() - who.openedAt;
  const { due, min, max } = paceRange(elapsed, tickMs);
  const expected = `about one push every ${tickMs} ms (TICK_MS=${tickMs}): ${due} due to ${who.name} after ${elapsed} ms, so from ${min} to ${max}`;
  if (received > max) {
    throw v.fail({
      code: Codes.TICK_TOO_FAST,
      expected,
      actual: `${received} pushes`,
      hint:
        'The timer fires far too often. Check the spelling, process.env.TICK_MS, and convert it with Number(…): ' +
        'Node runs a setInterval whose delay is NaN or undefined every millisecond. And start one timer per connection, not more.',
    });
  }
  if (received < min) {
    throw v.fail({
      code: Codes.TICK_TOO_SLOW,
      expected,
      actual: `${received} push${received === 1 ? '' : 'es'}`,
      hint: 'Read the period from the environment, Number(process.env.TICK_MS), instead of a number of your own: the verifier makes it short so the check is quick.',
    });
  }
}

/** Nothing came: ask once, the HTTP way, to tell a server that waits to be asked from a silent one. */
async function noPushFailure(v: Verification, client: TestClient, tickMs: number): Promise<VerifyFailure> {
  const waited = pushWaitMs(v, tickMs);
  client.sendText('what time is it?');
  const answered = (await nextPush(client, 'any answer', 3 * tickMs + 300)) !== undefined;
  if (answered) {
    return v.fail({
      code: Codes.WAITS_TO_BE_ASKED,
      expected: `a push within ${waited} ms, without asking`,
      actual: `nothing until ${client.name} sent a message, then an answer: the server waits to be asked`,
      hint:
        'That is how HTTP works, not WebSocket: here the server may speak first. In wss.on(\'connection\', (socket) => …) ' +
        'start a timer, setInterval(…, tickMs), and socket.send from it, whether or not the client says anything.',
    });
  }
  return v.fail({
    code: Codes.NO_PUSH,
    expected: `a push within ${waited} ms, without asking`,
    actual: `nothing, not even after ${client.name} sent a message`,
    hint:
      "In wss.on('connection', (socket) => …), start a setInterval that calls socket.send(…) every TICK_MS. " +
      'If you keep your own list of sockets to send to, check that each new one is added to it.',
  });
}

/** One client was pushed to and another was not. */
function unservedFailure(v: Verification, name: string, served: string): VerifyFailure {
  return v.fail({
    code: Codes.NO_PUSH,
    expected: `a push to ${name} within ${v.timeouts.stepMs} ms, as to ${served}`,
    actual: `nothing for ${name}`,
    hint: "Every client needs its pushes, not only one: start a timer for each socket in wss.on('connection', …), or keep every socket in a set and send to each.",
  });
}

function stoppedFailure(v: Verification, got: number, who: string): VerifyFailure {
  return v.fail({
    code: Codes.STOPPED_PUSHING,
    expected: `push after push to ${who}, one every TICK_MS, for as long as it stays`,
    actual: `${got} push${got === 1 ? '' : 'es'}, then nothing for ${v.timeouts.stepMs} ms`,
    hint:
      who === 'raw'
        ? "Every open connection needs its pushes, not only the newest: start a timer for each socket in 'connection' (or send to every client in wss.clients)."
        : 'Sending once when a client connects is an HTTP answer in disguise. Push from a timer, setInterval, for as long as the socket is open.',
  });
}

function stoppedAnotherFailure(v: Verification, name: string): VerifyFailure {
  return v.fail({
    code: Codes.STOPPED_ANOTHER,
    expected: `${name}, who stayed, to go on receiving a tick every TICK_MS`,
    actual: `nothing more for ${name} once leaver-1, leaver-2 and leaver-3 had gone: a leaver stopped a timer that was not its own`,
    hint:
      "Declare the timer inside wss.on('connection', (socket) => { const timer = setInterval(…); … }), so that each socket's " +
      "'close' handler stops its own timer. One variable outside, shared by all, holds only the newest connection's timer.",
  });
}

/** The data frames (not pings or other control frames) a raw connection has received. */
function pushedTo(tap: FrameTap): WireFrame[] {
  return tap.frames.filter((f) => f.opcode < 8);
}

/** Resolves once the client's connection has closed, or after `timeoutMs` if it does not. */
async function closeOf(client: TestClient, timeoutMs: number): Promise<void> {
  if (client.closed) return;
  await Promise.race([once(client.ws, 'close'), delay(timeoutMs)]);
}

/** The timers the program keeps running, or undefined if it does not say. */
async function timersOf(server: RunningServer): Promise<number | undefined> {
  const report = await server.program.resources(PROBE_MS);
  return report && liveTimers(report);
}

/** A timer that outlives its socket goes on sending into a closed connection; ws drops those sends silently. */
function checkSendsToLeavers(v: Verification, server: RunningServer, leavers: number): void {
  // A send can race each close itself; a timer left running makes one every tick.
  const sends = server.program.sendsNotOpen.length;
  if (sends > leavers) {
    throw v.fail({
      code: Codes.TIMER_LEAK,
      expected: 'no more sends to leaver-1, leaver-2 and leaver-3 once they had gone',
      actual: `${sends} send() calls on their closed sockets: their timers are still running`,
      hint:
        "Keep each connection's timer in a variable and stop it when that socket closes: socket.on('close', () => clearInterval(timer)). " +
        'Otherwise every client that ever connected leaves a timer behind, firing forever.',
    });
  }
}

/**
 * The timers the program runs must drop back once the leavers are gone: to those it ran before they
 * came, plus the share of the two who stayed. A timer that only checks readyState and sends nothing
 * still fires forever; only this count shows it.
 */
async function checkTimersStopped(
  v: Verification,
  server: RunningServer,
  counts: { before?: number; withCrowd?: number; stayers: number },
): Promise<void> {
  const { before, withCrowd, stayers } = counts;
  if (before === undefined || withCrowd === undefined) return;
  const each = Math.max(0, withCrowd - before) / CROWD.length;
  const allowed = before + Math.ceil(each * stayers);
  const deadline = Date.now() + v.timeouts.stepMs;
  let now = await timersOf(server);
  // Closing takes the server a moment (a proper close waits for the other side): allow it that moment.
  while (now !== undefined && now > allowed && Date.now() < deadline) {
    await delay(25);
    now = await timersOf(server);
  }
  if (now !== undefined && now > allowed) {
    throw v.fail({
      code: Codes.TIMER_LEAK,
      expected: `no timer left for leaver-1, leaver-2 and leaver-3 once they had gone: at most ${allowed} running`,
      actual: `${now} timers still running (${before} before the five connected, ${withCrowd} with all five there)`,
      hint:
        "Stop each connection's timer when its socket closes: socket.on('close', () => clearInterval(timer)). Checking " +
        'readyState before each send is not enough: the timer itself still fires, for every client that ever came.',
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
