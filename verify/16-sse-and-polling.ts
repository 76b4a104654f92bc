/**
 * Lesson 16 — Server-Sent Events and long polling. The story: open event streams and read their head
 * and their first line; publish texts of every shape and see each stream get each one, once, with its
 * id, parsed as an EventSource parses it; refuse what is not {"text": a string}; hear the keep-alive
 * comments; come back with Last-Event-ID, and, through a link that is cut, let a real EventSource
 * come back by itself; count the timers of streams whose clients went; then the same feed by long
 * polling: answered at once with news, held without, woken by a publish, emptied by the timeout,
 * refused with a bad `after`, forgotten when its client goes; the bytes of one update each way, next
 * to a WebSocket's; and SIGTERM.
 */
import { isDeepStrictEqual } from 'node:util';
import { EventSource } from 'eventsource';
import { WebSocketServer } from 'ws';
import { headerValue, RawHttpClient, type RawExchange } from './harness/http.ts';
import { defineRules, HarnessCodes, previewText, type LessonVerifier, type PrepareRun, type RunningServer, type Verification } from './harness/index.ts';
import { asObject, delay, parseJson } from './harness/json.ts';
import { NetworkLink } from './harness/network-link.ts';
import { liveTimers } from './harness/program.ts';
import { SseStream, type SseEvent } from './harness/sse-stream.ts';
import { FrameTap } from './harness/wire-frames.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  PUBLISH_REFUSED: 'SSE_PUBLISH_REFUSED',
  PUBLISH_WRONG_ID: 'SSE_PUBLISH_WRONG_ID',
  BAD_PUBLISH_ACCEPTED: 'SSE_BAD_PUBLISH_ACCEPTED',
  BAD_PUBLISH_MADE_EVENT: 'SSE_BAD_PUBLISH_MADE_EVENT',
  NOT_EVENT_STREAM: 'SSE_NOT_EVENT_STREAM',
  CACHEABLE: 'SSE_CACHEABLE',
  HEADERS_HELD: 'SSE_HEADERS_HELD',
  NO_RETRY: 'SSE_NO_RETRY',
  EVENT_MISSING: 'SSE_EVENT_MISSING',
  NO_ID: 'SSE_NO_ID',
  DATA_WRONG: 'SSE_DATA_WRONG',
  RESUME_LOST: 'SSE_RESUME_LOST',
  RESUME_REPEATED: 'SSE_RESUME_REPEATED',
  HISTORY_UNBOUNDED: 'SSE_HISTORY_UNBOUNDED',
  NO_KEEPALIVE: 'SSE_NO_KEEPALIVE',
  STREAM_TIMER_LEAK: 'SSE_STREAM_TIMER_LEAK',
  POLL_WRONG_EVENTS: 'SSE_POLL_WRONG_EVENTS',
  POLL_HELD_WITH_NEWS: 'SSE_POLL_HELD_WITH_NEWS',
  POLL_NOT_HELD: 'SSE_POLL_NOT_HELD',
  POLL_NOT_WOKEN: 'SSE_POLL_NOT_WOKEN',
  POLL_ONE_WOKEN: 'SSE_POLL_ONE_WOKEN',
  POLL_NO_TIMEOUT: 'SSE_POLL_NO_TIMEOUT',
  POLL_TIMEOUT_WRONG: 'SSE_POLL_TIMEOUT_WRONG',
  POLL_BAD_AFTER_ACCEPTED: 'SSE_POLL_BAD_AFTER_ACCEPTED',
  POLL_AFTER_REQUIRED: 'SSE_POLL_AFTER_REQUIRED',
  POLL_TIMER_LEAK: 'SSE_POLL_TIMER_LEAK',
  SIGTERM_NOT_HANDLED: 'SSE_SIGTERM_NOT_HANDLED',
  SIGTERM_KEPT_RUNNING: 'SSE_SIGTERM_KEPT_RUNNING',
  SIGTERM_CUT: 'SSE_SIGTERM_CUT',
  BACKLOG_UNASKED: 'SSE_BACKLOG_UNASKED',
  POLL_NOT_JSON: 'SSE_POLL_NOT_JSON',
  OTHER_NOT_404: 'SSE_OTHER_NOT_404',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: {
    text: '`POST /publish` with the JSON body `{"text": …}`, a string, makes an event: ids go 1, 2, 3 … in order, and the answer is `201` with `{"id": n}`. Other fields are ignored.',
    codes: [Codes.PUBLISH_REFUSED, Codes.PUBLISH_WRONG_ID],
  },
  R3: {
    text: 'Any other body (not JSON, not an object, no `text`, or a `text` that is not a string) is answered `400` and makes no event.',
    codes: [Codes.BAD_PUBLISH_ACCEPTED, Codes.BAD_PUBLISH_MADE_EVENT],
  },
  R4: {
    text: '`GET /events` answers `200` with `Content-Type: text/event-stream` and `Cache-Control: no-cache`, and sends its headers at once, before any event.',
    codes: [Codes.NOT_EVENT_STREAM, Codes.CACHEABLE, Codes.HEADERS_HELD],
  },
  R5: { text: 'The stream starts with the line `retry: <RETRY_MS>`.', codes: [Codes.NO_RETRY] },
  R6: {
    text: 'Every event goes to every open stream as `id: <n>`, then one `data: <line>` for each line of its text, then a blank line.',
    codes: [Codes.EVENT_MISSING, Codes.NO_ID, Codes.DATA_WRONG],
  },
  R7: {
    text: 'A stream opened with `Last-Event-ID: n` first gets every kept event after `n`, in order and once, then the live ones. The last `HISTORY` events are kept.',
    codes: [Codes.RESUME_LOST, Codes.RESUME_REPEATED, Codes.HISTORY_UNBOUNDED, Codes.BACKLOG_UNASKED],
  },
  R8: { text: 'Every open stream gets a comment line (one that starts with `:`) every `KEEPALIVE_MS`.', codes: [Codes.NO_KEEPALIVE] },
  R9: { text: "When a stream's client goes, clear that stream's timer and write nothing more to it.", codes: [Codes.STREAM_TIMER_LEAK] },
  R10: {
    text: '`GET /poll?after=<id>` with kept events after `id` answers at once `200`, `Content-Type: application/json`, with `{"events":[{"id":…,"text":…}, …]}`: all of them, in order.',
    codes: [Codes.POLL_WRONG_EVENTS, Codes.POLL_HELD_WITH_NEWS, Codes.POLL_NOT_JSON],
  },
  R11: {
    text: 'With none, the poll is held until an event is published, and then answered with it: every poll waiting gets it.',
    codes: [Codes.POLL_NOT_HELD, Codes.POLL_NOT_WOKEN, Codes.POLL_ONE_WOKEN],
  },
  R12: { text: 'A poll held for `POLL_TIMEOUT_MS` with no event is answered `200` with `{"events":[]}`.', codes: [Codes.POLL_NO_TIMEOUT, Codes.POLL_TIMEOUT_WRONG] },
  R13: {
    text: 'Without `after`, the poll asks from 0; an `after` that is not a whole number written in digits is answered `400`.',
    codes: [Codes.POLL_AFTER_REQUIRED, Codes.POLL_BAD_AFTER_ACCEPTED],
  },
  R14: { text: "When a held poll's client goes, clear its timer and forget it.", codes: [Codes.POLL_TIMER_LEAK] },
  R15: {
    text: 'On `SIGTERM`, end every stream and every held poll, then close the server and the connections its clients keep alive: the process ends by itself, with exit code 0.',
    codes: [Codes.SIGTERM_NOT_HANDLED, Codes.SIGTERM_KEPT_RUNNING, Codes.SIGTERM_CUT],
  },
  R16: { text: 'Any other method or path is answered `404` or `405`, and makes no event.', codes: [Codes.OTHER_NOT_404] },
});

/** The lesson's numbers, as the manifest gives them to the program. */
interface LessonNumbers {
  retryMs: number;
  keepAliveMs: number;
  pollTimeoutMs: number;
  history: number;
}

function lessonNumbers(v: Verification): LessonNumbers {
  const env = v.lessonEnv;
  return { retryMs: Number(env.RETRY_MS), keepAliveMs: Number(env.KEEPALIVE_MS), pollTimeoutMs: Number(env.POLL_TIMEOUT_MS), history: Number(env.HISTORY) };
}

/** A window in which a poll held as it should be is not answered (R11): nothing is awaited in it, it is only watched. */
const HELD_WINDOW_MS = 150;
/** How long the process may take to end after SIGTERM, once its streams and polls are ended. */
const EXIT_MS = 1000;
/** When the process is killed after SIGTERM if it has not ended. */
const SIGTERM_KILL_MS = 2000;
/** How often the program's timers are counted while waiting for them to go. */
const PROBE_EVERY_MS = 25;

/** The texts published first: every shape a feed's text may take. */
const TEXTS = [
  'hello',
  'café — naïve, 漢字 and 🎉',
  ' a leading space, and a trailing one ',
  'two\nlines',
  'three\r\nlines\r\nhere',
  'an old Mac\rline end',
  'ends with a newline\n',
  '',
  'é'.repeat(32 * 1024),
];

const STREAM_HINT =
  "An event is lines of text, and a blank line ends it: res.write(`id: ${id}\\n` + lines.map((line) => `data: ${line}\\n`).join('') + '\\n'). " +
  "Split the text on /\\r\\n|\\r|\\n/: an EventSource ends a line at any of the three, so one data line holding a line end becomes two lines, and the second is no data at all.";

export default (async (v) => {
  const env = lessonNumbers(v);
  const server = await v.start();
  const feed = new Feed(v, server);

  const ann = await feed.stream('ann');
  await v.step('opens an event stream: its headers at once, then the retry line', ['R4', 'R5'], async () => {
    await expectStreamHead(v, ann);
    await expectRetry(v, ann, env);
  });

  const bea = await feed.stream('bea');
  const cid = await feed.stream('cid');
  await v.step(`publishes ${TEXTS.length} texts of every shape: ids 1, 2, 3 …, and every stream gets each, once`, ['R2', 'R4', 'R6'], async () => {
    for (const stream of [bea, cid]) await expectStreamHead(v, stream);
    // Extra fields are the sender's business: the event is the text.
    for (const [i, text] of TEXTS.entries()) await feed.publish(text, i % 3 === 1 ? { from: 'alice', id: 99 } : {});
    for (const stream of [ann, bea, cid]) await expectEvents(v, stream, feed.events, 0);
  });

  await v.step('refuses a publish that is not {"text": a string}, and makes no event of it', ['R2', 'R3', 'R6'], async () => {
    for (const body of ['not json', '', 'null', '[]', '"text"', '42', '{}', '{"text":null}', '{"text":42}', '{"text":["a"]}', '{"text":{"a":1}}', '{"texts":"hello"}']) {
      await feed.publishBad(body);
    }
    const before = ann.events.length;
    const id = await feed.publish('after the refusals', {}, Codes.BAD_PUBLISH_MADE_EVENT);
    await ann.until(() => ann.events.length > before, v.timeouts.stepMs);
    const first = ann.events[before];
    if (first && first.lastEventId !== String(id)) {
      throw v.fail({
        code: Codes.BAD_PUBLISH_MADE_EVENT,
        expected: `ann's next event to be the one published after the refusals, id ${id}`,
        actual: `an event with id ${JSON.stringify(first.lastEventId)} and data ${previewText(first.data)}: a refused publish became an event`,
        hint: REFUSE_HINT,
      });
    }
    await expectEvents(v, ann, feed.events, feed.events.length - 1);
  });

  await v.step('answers 404 (or 405) to any other method or path, and makes no event of it', ['R16'], async () => {
    const stray = feed.poller('stray');
    const asks: Array<{ method: string; path: string; body?: string }> = [
      { method: 'GET', path: '/publish' },
      { method: 'PUT', path: '/publish', body: '{"text":"put is no publish"}' },
      { method: 'POST', path: '/events', body: '{"text":"post is no stream"}' },
      { method: 'POST', path: '/poll', body: '{}' },
      { method: 'GET', path: '/' },
      { method: 'GET', path: '/events/old' },
    ];
    for (const { method, path, body } of asks) {
      const exchange = await stray.request({ method, path, body, headers: body ? [['Content-Type', 'application/json']] : [] });
      const status = exchange.complete ? exchange.response.statusCode : undefined;
      stray.log(`→ ${method} ${path}   ← ${status ?? 'no complete answer'}`);
      if (status !== 404 && status !== 405) {
        throw v.fail({
          code: Codes.OTHER_NOT_404,
          expected: `${method} ${path} to be answered 404 (or 405)`,
          actual: status === undefined ? 'no complete answer: it was taken for a stream, or a poll' : `${status}`,
          hint: "Route on the method and the path together: req.method === 'POST' && url.pathname === '/publish', and the same for GET /events and GET /poll. Everything else gets a 404.",
        });
      }
      stray.close();
    }
    // A publish made by any of them shows in the next id.
    await feed.publish('after the strays', {}, Codes.OTHER_NOT_404);
    await expectEvents(v, ann, feed.events, feed.events.length - 1);
  });

  await v.step(`sends a comment line every KEEPALIVE_MS (${env.keepAliveMs} ms) on every open stream`, ['R8'], async () => {
    const wanted = 2;
    const marks = [ann, bea, cid].map((s) => s.comments.length);
    const waitMs = Math.max(v.timeouts.stepMs, env.keepAliveMs * 10);
    for (const [i, stream] of [ann, bea, cid].entries()) {
      const heard = await stream.until(() => stream.comments.length >= marks[i]! + wanted, waitMs);
      if (!heard) {
        throw v.fail({
          code: Codes.NO_KEEPALIVE,
          expected: `${wanted} comment lines (": …") on ${stream.name}'s stream within ${waitMs} ms, one every ${env.keepAliveMs} ms`,
          actual: `${stream.comments.length - marks[i]!}`,
          hint:
            "A stream that stays quiet looks dead to the proxies and load balancers between: they close it. For each stream, setInterval(() => res.write(': keep-alive\\n\\n'), Number(process.env.KEEPALIVE_MS)). " +
            'A line that starts with a colon is a comment: an EventSource ignores it.',
        });
      }
    }
    v.note(`ann, bea and cid each heard at least ${wanted} keep-alive comments`);
  });

  await v.step('resumes from Last-Event-ID: every kept event after it, in order, once, then the live ones', ['R7'], async () => {
    const last = feed.lastId;
    const kept = feed.events.slice(-env.history);
    v.note(`${feed.lastId} events so far; HISTORY=${env.history} keeps ids ${kept[0]!.id} to ${last}`);
    const resumers = [
      { name: 'dan', from: 0 },
      { name: 'eve', from: last - 3 },
      { name: 'fil', from: last },
    ];
    const streams = [];
    for (const { name, from } of resumers) streams.push(await feed.stream(name, [['Last-Event-ID', String(from)]], `Last-Event-ID: ${from}`));
    for (const stream of streams) await expectStreamHead(v, stream);
    const live = await feed.publish('live, after the resumes: ¡olé! 🎉');
    for (const [i, { from }] of resumers.entries()) {
      const stream = streams[i]!;
      const expected = [...kept.filter((e) => e.id > from), feed.events.at(-1)!];
      await stream.until(() => stream.withId(live).length > 0, v.timeouts.stepMs);
      checkResumed(v, stream, from, expected, env);
      stream.log(`← ${describeIds(stream.events)}`);
      stream.close();
    }
  });

  await v.step(`lets a real EventSource come back by itself after RETRY_MS (${env.retryMs} ms), and miss nothing`, ['R5', 'R7'], async () => {
    const link = await NetworkLink.open({ host: server.host, port: server.port }, { noDelay: true });
    v.defer(() => link.close());
    const got: Array<{ id: string; data: string }> = [];
    let opens = 0;
    let wake: (() => void) | undefined;
    const source = new EventSource(`${link.httpUrl}/events`);
    v.defer(() => source.close());
    source.onopen = () => {
      opens++;
      wake?.();
    };
    source.onmessage = (message) => {
      got.push({ id: message.lastEventId, data: String(message.data) });
      wake?.();
    };
    const until = async (ready: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!ready() && Date.now() < deadline) {
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), delay(Math.max(0, deadline - Date.now()))]);
      }
      return ready();
    };
    v.note('gus opens an EventSource (the npm package eventsource) through a link the verifier can cut');
    if (!(await until(() => opens === 1, v.timeouts.stepMs))) {
      throw v.fail({ code: Codes.NOT_EVENT_STREAM, expected: "gus's EventSource to open", actual: 'it never opened', hint: HEAD_HINT });
    }
    const first = await feed.publish('before the cut');
    await until(() => got.length >= 1, v.timeouts.stepMs);
    v.note('the link is cut: gus loses its connection');
    link.cut();
    const missed = [await feed.publish('during the cut, 1'), await feed.publish('during the cut, 2 — ça va ?')];
    link.restore();
    v.note(`the link is back: gus's EventSource tries again after ${env.retryMs} ms, with Last-Event-ID: ${first}`);
    await until(() => opens === 2, env.retryMs + v.timeouts.stepMs);
    await until(() => got.length >= 3, v.timeouts.stepMs);
    const after = await feed.publish('after the cut');
    await until(() => got.some((m) => m.id === String(after)), v.timeouts.stepMs);
    source.close();
    const wanted = [first, ...missed, after];
    v.note(`gus's EventSource opened ${opens} times and received ids ${got.map((m) => m.id).join(', ') || 'none'}`);
    const ids = got.map((m) => Number(m.id));
    const unasked = ids.filter((id) => id < first);
    if (unasked.length > 0) {
      throw v.fail({
        code: Codes.BACKLOG_UNASKED,
        expected: `gus, a new EventSource with no Last-Event-ID, to get only the events published once it was open, from ${first} on`,
        actual: `ids ${unasked.join(', ')} first, published before it opened`,
        hint: BACKLOG_HINT,
      });
    }
    const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (repeated.length > 0) {
      throw v.fail({ code: Codes.RESUME_REPEATED, expected: `ids ${wanted.join(', ')}, each once`, actual: `ids ${ids.join(', ')}: ${repeated.join(', ')} twice`, hint: RESUME_HINT });
    }
    const lost = wanted.filter((id) => !ids.includes(id));
    if (lost.length > 0 || ids.join() !== wanted.join()) {
      throw v.fail({
        code: Codes.RESUME_LOST,
        expected: `ids ${wanted.join(', ')}: the EventSource came back with Last-Event-ID: ${first}`,
        actual: `ids ${ids.join(', ') || 'none'}${lost.length ? `: ${lost.join(', ')} lost` : ''}`,
        hint: RESUME_HINT,
      });
    }
    for (const message of got) {
      const event = feed.events.find((e) => String(e.id) === message.id)!;
      if (message.data !== asRead(event.text)) {
        throw v.fail({ code: Codes.DATA_WRONG, expected: `event ${event.id} as ${previewText(asRead(event.text))}`, actual: previewText(message.data), hint: STREAM_HINT });
      }
    }
  });

  await v.step("clears a stream's keep-alive timer when its client goes, and keeps the others' streams", ['R6', 'R7', 'R9'], async () => {
    const base = await timersNow(v, server);
    const streams = [];
    for (const name of ['hal', 'ida', 'jo']) streams.push(await feed.stream(name));
    for (const stream of streams) await expectStreamHead(v, stream);
    const opened = await timersNow(v, server);
    const [first, middle, lastOne] = streams as [SseStream, SseStream, SseStream];
    v.note(opened > base ? "with hal, ida and jo's streams open, your program holds more timers than before: they are counted as each goes" : "your program holds no more timers with hal, ida and jo's streams open: one for all, or none");
    first.close();
    lastOne.close();
    v.note('hal and jo go; ida stays');
    const perStream = Math.max(0, opened - base);
    if (perStream > 0) await expectTimersDown(v, server, base + Math.ceil(perStream / 3), Codes.STREAM_TIMER_LEAK, 'hal and jo left', TIMER_HINT);
    const id = await feed.publish('for those who stayed');
    await middle.until(() => middle.withId(id).length > 0, v.timeouts.stepMs);
    const unasked = middle.events.filter((e) => Number(e.lastEventId) < id);
    if (unasked.length > 0) {
      throw v.fail({
        code: Codes.BACKLOG_UNASKED,
        expected: `ida's stream, opened without Last-Event-ID, to get only the live events, from ${id} on`,
        actual: `${describeIds(unasked)} first, published before it opened`,
        hint: BACKLOG_HINT,
      });
    }
    await expectEvents(v, middle, feed.events, feed.events.length - 1);
    middle.close();
    if (perStream > 0) await expectTimersDown(v, server, base, Codes.STREAM_TIMER_LEAK, 'ida left too', TIMER_HINT);
  });

  const poller = feed.poller('kim');
  await v.step('answers a poll at once with every kept event after its id, in order', ['R10', 'R13'], async () => {
    const kept = feed.events.slice(-env.history);
    for (const after of [feed.lastId - 3, feed.lastId - 1, 0]) {
      await expectPolled(v, poller, `/poll?after=${after}`, kept.filter((e) => e.id > after), env);
    }
    const exchange = await poller.request({ path: '/poll' });
    logExchange(poller, 'GET /poll', exchange);
    if (!exchange.complete || exchange.response.statusCode !== 200) {
      throw v.fail({
        code: Codes.POLL_AFTER_REQUIRED,
        expected: 'GET /poll without after to be answered as after=0: 200, with every kept event',
        actual: exchange.complete ? `${exchange.response.statusCode}` : 'no answer',
        hint: "A first poll has seen nothing yet: url.searchParams.get('after') ?? '0'. Only an after that is there, and not digits, is a 400.",
      });
    }
    checkPollBody(v, exchange.response.body.toString('utf8'), kept, 'GET /poll', 200, headerValue(exchange.response, 'content-type') ?? '');
  });

  await v.step('holds a poll with no news, and answers every waiting poll when an event comes', ['R10', 'R11'], async () => {
    const waiters = ['lou', 'max', 'ned'].map((name) => feed.poller(name, env.pollTimeoutMs + v.timeouts.stepMs));
    const after = feed.lastId;
    const answers = waiters.map((w) => {
      w.log(`→ GET /poll?after=${after}`);
      return w.request({ path: `/poll?after=${after}` }).then((exchange) => ({ exchange, at: Date.now() }));
    });
    const early = await Promise.race([Promise.any(answers), delay(HELD_WINDOW_MS).then(() => undefined)]);
    if (early) {
      const body = early.exchange.complete ? early.exchange.response.body.toString('utf8') : 'nothing';
      throw v.fail({
        code: Codes.POLL_NOT_HELD,
        expected: `a poll with after=${after}, the last id, to be held until there is news`,
        actual: `it was answered within ${HELD_WINDOW_MS} ms, with ${previewText(body)}, and nothing had been published`,
        hint: HOLD_HINT,
      });
    }
    const publishedAt = Date.now();
    const news = await feed.publish('news for the waiting: 📰');
    const results = await Promise.all(answers);
    const got = results.map(({ exchange }) => exchange.complete && exchange.response.statusCode === 200 && eventIds(exchange.response.body.toString('utf8')).includes(news));
    for (const [i, { exchange, at }] of results.entries()) logExchange(waiters[i]!, `GET /poll?after=${after}`, exchange, at - publishedAt);
    if (!got.every(Boolean)) {
      const missed = waiters.filter((_, i) => !got[i]).map((w) => w.name);
      throw v.fail({
        code: got.some(Boolean) ? Codes.POLL_ONE_WOKEN : Codes.POLL_NOT_WOKEN,
        expected: `lou, max and ned, all three waiting, to be answered with event ${news} as soon as it was published`,
        actual: `${missed.join(' and ')} ${missed.length === 1 ? 'was' : 'were'} not`,
        hint: got.some(Boolean)
          ? 'Keep every held poll, in a Set or an array, and answer all of them when an event is published: not only the first, or the latest, to come.'
          : 'A held poll waits for news: keep it (its res, or a function that answers it) in a list, and let publish answer every one of them with the new event, clearing its timeout.',
      });
    }
    for (const { exchange } of results) {
      if (exchange.complete) checkPollBody(v, exchange.response.body.toString('utf8'), feed.events.slice(-1), `GET /poll?after=${after}`, 200, headerValue(exchange.response, 'content-type') ?? '');
    }
    // Between two polls nothing is lost: what was published meanwhile is kept, and the next poll gets it.
    const between = [await feed.publish('published between two polls, 1'), await feed.publish('published between two polls, 2')];
    v.note(`events ${between.join(' and ')} are published while lou is not polling`);
    await expectPolled(v, waiters[0]!, `/poll?after=${news}`, feed.events.slice(-2), env);
  });

  await v.step(`answers {"events":[]} once a poll has waited POLL_TIMEOUT_MS (${env.pollTimeoutMs} ms) with no news`, ['R11', 'R12'], async () => {
    const waiter = feed.poller('ona', env.pollTimeoutMs + v.timeouts.stepMs);
    const after = feed.lastId;
    const sentAt = Date.now();
    waiter.log(`→ GET /poll?after=${after}`);
    const exchange = await waiter.request({ path: `/poll?after=${after}` });
    const waited = Date.now() - sentAt;
    logExchange(waiter, `GET /poll?after=${after}`, exchange, waited);
    if (!exchange.complete) {
      throw v.fail({
        code: Codes.POLL_NO_TIMEOUT,
        expected: `an answer {"events":[]} after ${env.pollTimeoutMs} ms (POLL_TIMEOUT_MS) with no news`,
        actual: `no answer in ${waited} ms`,
        hint:
          'A held poll must end some time: proxies and browsers give up on a request that never answers. setTimeout(() => answer([]), Number(process.env.POLL_TIMEOUT_MS)) when it is held, cleared when news answers it first.',
      });
    }
    if (waited < env.pollTimeoutMs / 2) {
      throw v.fail({ code: Codes.POLL_NOT_HELD, expected: `the poll to be held for ${env.pollTimeoutMs} ms (POLL_TIMEOUT_MS)`, actual: `an answer after ${waited} ms`, hint: HOLD_HINT });
    }
    const body = exchange.response.body.toString('utf8');
    const events = asObject(parseJson(body))?.events;
    if (exchange.response.statusCode !== 200 || !Array.isArray(events) || events.length !== 0) {
      throw v.fail({
        code: Codes.POLL_TIMEOUT_WRONG,
        expected: '200 with {"events":[]}: no news, and the client polls again',
        actual: `${exchange.response.statusCode} with ${body ? previewText(body) : 'no body'}`,
        hint: 'The empty answer is an answer like the others, with no event in it: 200 and {"events":[]}. The client reads it the same way, and polls again with the same after.',
      });
    }
  });

  await v.step('refuses a poll whose after is not a whole number in digits', ['R13'], async () => {
    for (const after of ['-1', '1.5', 'abc', '', '2abc', '1e3', '%201']) {
      const path = `/poll?after=${after}`;
      const exchange = await poller.request({ path });
      logExchange(poller, `GET ${path}`, exchange);
      if (!exchange.complete || exchange.response.statusCode !== 400) {
        throw v.fail({
          code: Codes.POLL_BAD_AFTER_ACCEPTED,
          expected: `GET ${path} to be answered 400 at once`,
          actual: exchange.complete ? `${exchange.response.statusCode}` : 'no answer: it was held',
          hint:
            "Number('') is 0, Number('1e3') is 1000, parseInt('2abc') is 2: they all read something that is no id. Check the text itself, /^\\d+$/.test(after), and answer 400 when it fails.",
        });
      }
    }
  });

  await v.step("forgets a held poll whose client went: its timer is cleared", ['R11', 'R14'], async () => {
    const base = await timersNow(v, server);
    const waiters = ['pia', 'quin', 'rex'].map((name) => feed.poller(name, env.pollTimeoutMs + v.timeouts.stepMs));
    const after = feed.lastId;
    const openedAt = Date.now();
    const answers = waiters.map((w) => {
      w.log(`→ GET /poll?after=${after}`);
      return w.request({ path: `/poll?after=${after}` });
    });
    // The three polls are held once the program holds a timer for each (or a single one, for all).
    let opened = base;
    for (let deadline = Date.now() + env.pollTimeoutMs / 4; Date.now() < deadline && opened < base + 3; await delay(PROBE_EVERY_MS)) opened = await timersNow(v, server);
    const [first, middle, lastOne] = waiters as [RawHttpClient, RawHttpClient, RawHttpClient];
    first.close();
    lastOne.close();
    v.note('pia and rex go while their polls are held; quin stays');
    const perPoll = Math.max(0, opened - base);
    if (perPoll > 0) {
      await expectTimersDown(v, server, base + Math.ceil(perPoll / 3), Codes.POLL_TIMER_LEAK, 'pia and rex left', POLL_TIMER_HINT, openedAt + env.pollTimeoutMs * 0.8);
    }
    const news = await feed.publish('for quin');
    const exchange = await answers[1]!;
    logExchange(middle, `GET /poll?after=${after}`, exchange);
    if (!exchange.complete || !eventIds(exchange.response.body.toString('utf8')).includes(news)) {
      throw v.fail({
        code: Codes.POLL_ONE_WOKEN,
        expected: `quin, still waiting, to be answered with event ${news}`,
        actual: exchange.complete ? previewText(exchange.response.body.toString('utf8')) : 'no answer',
        hint: 'When a poll goes, take that one out of the list of held polls (the one whose close it is), and leave the others in.',
      });
    }
  });

  await v.step('counts the bytes of one update: an event on a stream, a long poll, a WebSocket message', ['R6', 'R10'], async () => {
    const text = '{"price":42.17,"currency":"€"}';
    const waiter = feed.poller('sam', env.pollTimeoutMs + v.timeouts.stepMs);
    const after = feed.lastId;
    const answer = waiter.request({ path: `/poll?after=${after}` });
    await delay(HELD_WINDOW_MS);
    const mark = ann.pieces.length;
    const id = await feed.publish(text);
    await ann.until(() => ann.withId(id).length > 0, v.timeouts.stepMs);
    const event = ann.withId(id)[0];
    const exchange = await answer;
    if (!event || !exchange.complete) return;
    const sseBytes = ann.bytesFor(mark, event);
    const pollBytes = exchange.requestBytes + exchange.response.bytes;
    const wsBytes = await webSocketBytes(v, text);
    v.note(`Bytes on the wire for one update, the text ${previewText(text)} (${Buffer.byteLength(text)} bytes), measured in this run:`);
    v.note(`  ${'Server-Sent Events'.padEnd(20)}${String(sseBytes).padStart(6)}   id and data lines, a blank line, and the chunk's framing`);
    v.note(`  ${'long polling'.padEnd(20)}${String(pollBytes).padStart(6)}   a whole request (${exchange.requestBytes}) and its response (${exchange.response.bytes}), every time`);
    v.note(`  ${'WebSocket'.padEnd(20)}${String(wsBytes).padStart(6)}   a frame header, then the text`);
    v.note('The stream and the WebSocket pay once to open; a long poll pays its headers again for every update, and the next poll waits for the answer.');
  });

  await v.step('ends its streams and held polls on SIGTERM, and exits with code 0', ['R15'], async () => {
    const last = await feed.stream('tom');
    await expectStreamHead(v, last);
    const waiter = feed.poller('uma', env.pollTimeoutMs + v.timeouts.stepMs);
    const held = waiter.request({ path: `/poll?after=${feed.lastId}` });
    held.catch(() => undefined);
    await delay(HELD_WINDOW_MS);
    const { program } = server;
    const stopping = v.stopServer(server, SIGTERM_KILL_MS);
    const ended = await Promise.race([program.exited.then(() => true), delay(EXIT_MS).then(() => false)]);
    const resources = ended ? undefined : await program.resources(v.timeouts.stepMs);
    await stopping;
    const exit = program.exitInfo ?? { code: null, signal: null };
    if (ended && exit.code === 0 && !exit.signal) {
      const answer = await held;
      logExchange(waiter, `GET /poll?after=${feed.lastId}`, answer);
      await last.until(() => last.finished, v.timeouts.stepMs);
      const body = answer.complete ? answer.response.body.toString('utf8') : '';
      const polled = answer.complete && answer.response.statusCode === 200 && isDeepStrictEqual(parseJson(body), { events: [] });
      if (last.finished && polled) return v.note("tom's stream was ended, and uma's poll answered, before the process went");
      throw v.fail({
        code: Codes.SIGTERM_CUT,
        expected: "tom's stream ended (its last chunk sent) and uma's held poll answered {\"events\":[]}, before the process went",
        actual: [last.finished ? '' : "tom's stream was cut off", polled ? '' : `uma's poll got ${answer.complete ? `${answer.response.statusCode} ${previewText(body)}` : 'no answer: its connection was cut'}`].filter(Boolean).join('; '),
        hint: 'Destroying the connections is no ending: an answer cut off reads as a network error. res.end() every stream and answer every held poll first; close the connections only once those last answers are written.',
      });
    }
    if (exit.signal === 'SIGTERM' || (ended && exit.code !== 0)) {
      throw v.fail({
        code: Codes.SIGTERM_NOT_HANDLED,
        expected: 'your server to end its streams and polls on SIGTERM, and exit by itself with code 0',
        actual: exit.signal === 'SIGTERM' ? 'it was killed by SIGTERM: nothing listened for the signal' : `it exited with code ${exit.code}`,
        hint: "process.on('SIGTERM', () => { for (const res of streams) res.end(); answer every held poll with {\"events\":[]}; server.close(); }), and no process.exit().",
      });
    }
    // Ended and answered, yet still running: the connections the clients keep alive hold it.
    const answered = last.finished && (await Promise.race([held.then((a) => a.complete, () => false), delay(50).then(() => false)]));
    throw v.fail({
      code: Codes.SIGTERM_KEPT_RUNNING,
      expected: `your server to end within ${EXIT_MS} ms of SIGTERM`,
      actual: `a process still running${resources ? `, held by ${resources.resources.join(', ') || 'nothing it would name'}` : ''}, which had to be killed${answered ? ", though tom's stream was ended and uma's poll answered" : ''}`,
      hint: answered
        ? 'An HTTP/1.1 client keeps its connection open after an answer, for its next request, and server.close() waits for it (for keepAliveTimeout, 5 s by default). Once the last answers are written, close those connections too: setImmediate(() => server.closeAllConnections()). (server.closeIdleConnections() in the same turn as res.end() finds them still busy: the answers are not written yet.)'
        : 'server.close() stops new connections and waits for the open ones: an event stream never ends by itself, nor does a held poll until its timeout. End every stream (res.end()) and answer every held poll first, clear their timers, then close the connections the clients keep alive (server.closeAllConnections()).',
    });
  });
}) satisfies LessonVerifier;

/** `wsw run`: the server speaks plain HTTP, so run opens no client and prints what to try instead. */
export const prepareRun: PrepareRun = async () => ({
  protocol: 'http',
  // A stream (-N shows each line as it comes), a stream resumed after event 2, a held poll, a publish.
  tryIt: (base) => [
    `curl -N ${base}/events`,
    `curl -N ${base}/events -H 'Last-Event-ID: 2'`,
    `curl '${base}/poll?after=0'`,
    `curl -X POST ${base}/publish -d '{"text":"hello"}'`,
  ],
});

const HEAD_HINT =
  "Answer GET /events with res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' }), and write the retry line at once: the headers leave with the first write (or res.flushHeaders()), and an EventSource opens only then.";
const REFUSE_HINT =
  'Check the body before you make anything of it: JSON.parse in try/catch, an object that is not null, typeof text === \'string\'. Anything else is a 400, and takes no id: the next event has the next number.';
const RESUME_HINT =
  "Keep the last Number(process.env.HISTORY) events in an array. A stream whose request carries Last-Event-ID (req.headers['last-event-id']) first gets every kept event whose id is greater than that number, then joins the live ones: write the missed ones and add the stream to your set in the same turn, so that nothing falls between.";
const BACKLOG_HINT = 'A stream without Last-Event-ID is a new client: it asked for no past. Send kept events only after the id a client says it saw.';
const HOLD_HINT =
  'With no event after the id, keep the request open: do not answer yet. Keep it in a list of held polls, and answer it when an event is published, or with {"events":[]} after POLL_TIMEOUT_MS.';
const TIMER_HINT =
  "Each stream's setInterval keeps running after its client has gone, writing to a closed connection, until the server stops: clear it in res.on('close', …) (or req.on('close', …)), and take the stream out of your set there. " +
  'unref() does not stop a timer: it only lets the process end while the timer runs on.';
const POLL_TIMER_HINT =
  "A held poll whose client has gone must be forgotten: in res.on('close', …), clearTimeout its timer and take it out of the held polls, or its timer stays until the timeout, and a publish writes to a closed connection.";

/** One published event, as the verifier made it. */
interface Published {
  id: number;
  text: string;
}

/** The verifier's side of the feed: publishes, the events made so far, and the clients it opens. */
class Feed {
  readonly events: Published[] = [];
  private readonly publisher: RawHttpClient;

  constructor(
    private readonly v: Verification,
    private readonly server: RunningServer,
  ) {
    this.publisher = this.poller('publisher');
  }

  get lastId(): number {
    return this.events.at(-1)?.id ?? 0;
  }

  /** A raw HTTP client (keep-alive) with its own name. */
  poller(name: string, timeoutMs = this.v.timeouts.stepMs): RawHttpClient {
    const client = new RawHttpClient(name, { host: this.server.host, port: this.server.port, timeoutMs, transcript: this.v.transcript });
    this.v.defer(() => client.close());
    return client;
  }

  /** Opens a raw event stream. */
  async stream(name: string, headers: Array<[string, string]> = [], shown?: string): Promise<SseStream> {
    const stream = new SseStream(name, { host: this.server.host, port: this.server.port, transcript: this.v.transcript });
    this.v.defer(() => stream.close());
    stream.log(`→ GET /events${shown ? `  (${shown})` : ''}`);
    await stream.open('/events', headers);
    return stream;
  }

  /** Publishes `text` (with `extra` fields); expects 201 and the next id. */
  async publish(text: string, extra: Record<string, unknown> = {}, wrongIdCode: string = Codes.PUBLISH_WRONG_ID): Promise<number> {
    const body = JSON.stringify({ text, ...extra });
    const exchange = await this.publisher.request({ method: 'POST', path: '/publish', headers: [['Content-Type', 'application/json']], body });
    const expectedId = this.lastId + 1;
    const answer = exchange.complete ? exchange.response.body.toString('utf8') : '';
    this.publisher.log(`→ POST /publish ${previewText(body)}   ← ${exchange.complete ? `${exchange.response.statusCode} ${answer ? previewText(answer) : ''}`.trimEnd() : 'no answer'}`);
    if (!exchange.complete || exchange.response.statusCode !== 201) {
      throw this.v.fail({
        code: Codes.PUBLISH_REFUSED,
        expected: `POST /publish ${previewText(body)} to be answered 201`,
        actual: exchange.complete ? `${exchange.response.statusCode} ${exchange.response.statusMessage}` : 'no complete answer',
        hint:
          "Read the whole body (req.on('data'), then req.on('end')), JSON.parse it, and when its text is a string, make the event and answer res.writeHead(201) with {\"id\": n}. " +
          'Any string is a text: empty, with spaces, with line ends, long. Fields besides text are ignored.',
      });
    }
    const id = asObject(parseJson(answer))?.id;
    if (id !== expectedId) {
      throw this.v.fail({
        code: wrongIdCode,
        expected: `{"id":${expectedId}}: ${expectedId === 1 ? 'the first event is 1' : `${expectedId - 1} events were made before`}`,
        actual: answer ? previewText(answer) : 'an empty body',
        hint:
          wrongIdCode === Codes.PUBLISH_WRONG_ID
            ? 'One counter for the whole server, let lastId = 0, and ++lastId for each event made: the answer is JSON.stringify({ id }), a number, as the stream\'s id: lines say.'
            : REFUSE_HINT,
      });
    }
    this.events.push({ id: expectedId, text });
    return expectedId;
  }

  /** Sends a body that is no publish: expects a 400. */
  async publishBad(body: string): Promise<void> {
    const exchange = await this.publisher.request({ method: 'POST', path: '/publish', headers: [['Content-Type', 'application/json']], body });
    const status = exchange.complete ? exchange.response.statusCode : undefined;
    this.publisher.log(`→ POST /publish ${body === '' ? '(an empty body)' : previewText(body)}   ← ${status ?? 'no answer'}`);
    if (status !== 400) {
      throw this.v.fail({
        code: Codes.BAD_PUBLISH_ACCEPTED,
        expected: `POST /publish ${body === '' ? 'with an empty body' : previewText(body)} to be answered 400`,
        actual: status === undefined ? 'no answer' : `${status}${exchange.complete && exchange.response.body.length ? ` ${previewText(exchange.response.body.toString('utf8'))}` : ''}`,
        hint: REFUSE_HINT,
      });
    }
  }
}

async function expectStreamHead(v: Verification, stream: SseStream): Promise<void> {
  const came = await stream.until(() => stream.head !== undefined, v.timeouts.stepMs);
  if (!came) {
    throw v.fail({
      code: stream.ended ? Codes.NOT_EVENT_STREAM : Codes.HEADERS_HELD,
      expected: `the head of ${stream.name}'s stream (200, text/event-stream) at once, before any event`,
      actual: stream.ended ? 'the connection closed with no answer' : `nothing in ${v.timeouts.stepMs} ms`,
      hint: HEAD_HINT,
    });
  }
  const type = stream.header('content-type') ?? '';
  if (stream.head!.statusCode !== 200 || !/^text\/event-stream\b/i.test(type)) {
    throw v.fail({ code: Codes.NOT_EVENT_STREAM, expected: '200 with Content-Type: text/event-stream', actual: `${stream.head!.statusCode} with Content-Type: ${type || '(none)'}`, hint: HEAD_HINT });
  }
  const cache = stream.header('cache-control') ?? '';
  if (!/\bno-cache\b/i.test(cache)) {
    throw v.fail({
      code: Codes.CACHEABLE,
      expected: 'Cache-Control: no-cache',
      actual: cache ? `Cache-Control: ${cache}` : 'no Cache-Control header',
      hint: "A stream is news, not a document: tell caches and proxies not to keep it, with 'Cache-Control': 'no-cache' in writeHead.",
    });
  }
  stream.log(`← ${stream.head!.statusCode}, Content-Type: ${type}, Cache-Control: ${cache}`);
}

async function expectRetry(v: Verification, stream: SseStream, env: LessonNumbers): Promise<void> {
  await stream.until(() => stream.fieldLines.length > 0, v.timeouts.stepMs);
  const first = stream.fieldLines[0];
  if (first === undefined || !/^retry: ?/.test(first) || stream.retries[0] !== String(env.retryMs)) {
    throw v.fail({
      code: Codes.NO_RETRY,
      expected: `the stream's first line to be "retry: ${env.retryMs}" (RETRY_MS)`,
      actual: first === undefined ? `no line in ${v.timeouts.stepMs} ms` : JSON.stringify(first),
      hint: `An EventSource reconnects by itself, after the delay the stream gave it: write \`retry: \${process.env.RETRY_MS}\\n\\n\` first, as soon as the stream opens.`,
    });
  }
  stream.log(`← ${first}`);
}

/** The stream's events from `from` on must be the published ones, each with its id and its text, as an EventSource reads them. */
async function expectEvents(v: Verification, stream: SseStream, published: Published[], from: number): Promise<void> {
  const wanted = published.slice(from);
  const start = stream.events.findIndex((e) => e.lastEventId === String(wanted[0]!.id));
  const offset = start === -1 ? stream.events.length : start;
  await stream.until(() => stream.events.length >= offset + wanted.length, v.timeouts.stepMs);
  for (const [i, event] of wanted.entries()) {
    const got = stream.events[offset + i];
    if (!got) {
      throw v.fail({
        code: Codes.EVENT_MISSING,
        expected: `event ${event.id} (${previewText(event.text)}) on ${stream.name}'s stream`,
        actual: `${stream.events.length - offset === 0 ? 'no event' : `only ${describeIds(stream.events.slice(offset))}`}${stream.ended ? ': the stream ended' : ''}`,
        hint: `Write every event to every open stream: keep them in a Set, add each in GET /events, and loop over it in publish. ${STREAM_HINT}`,
      });
    }
    if (!got.ownId || got.lastEventId !== String(event.id)) {
      throw v.fail({
        code: Codes.NO_ID,
        expected: `event ${event.id} to carry the line "id: ${event.id}"`,
        actual: got.ownId ? `"id: ${got.lastEventId}"` : `no id line: ${got.lines.map((l) => JSON.stringify(l)).join(', ')}`,
        hint: "An id on every event is what lets a client come back: the EventSource keeps the last one, and sends it as Last-Event-ID when it reconnects. Begin each event with `id: ${id}\\n`.",
      });
    }
    if (got.data !== asRead(event.text)) {
      throw v.fail({
        code: Codes.DATA_WRONG,
        expected: `event ${event.id} to read ${previewText(asRead(event.text))}`,
        actual: `${previewText(got.data)}, from the lines ${got.lines.slice(0, 4).map((l) => previewText(l)).join(', ')}`,
        hint: `${STREAM_HINT} And "data: " takes one space after the colon away: write the space, then the line as it is.`,
      });
    }
  }
  stream.log(`← ${describeIds(stream.events.slice(offset, offset + wanted.length))}, each read as it was published`);
}

function checkResumed(v: Verification, stream: SseStream, from: number, expected: Published[], env: LessonNumbers): void {
  const ids = stream.events.map((e) => Number(e.lastEventId));
  const wanted = expected.map((e) => e.id);
  const repeated = ids.filter((id, i) => ids.indexOf(id) !== i || id === from);
  if (repeated.length > 0) {
    throw v.fail({
      code: Codes.RESUME_REPEATED,
      expected: `after Last-Event-ID: ${from}, ${wanted.length ? `ids ${wanted.join(', ')}` : 'only the live event'}, each once`,
      actual: `ids ${ids.join(', ')}: ${[...new Set(repeated)].join(', ')} again`,
      hint: `The client has seen event ${from} already: send those whose id is greater than it, not greater or equal. ${RESUME_HINT}`,
    });
  }
  const oldest = wanted[0]!;
  if (ids.some((id) => id < oldest && !wanted.includes(id))) {
    throw v.fail({
      code: Codes.HISTORY_UNBOUNDED,
      expected: `after Last-Event-ID: ${from}, ids ${wanted.join(', ')}: only the last ${env.history} events are kept (HISTORY)`,
      actual: `ids ${ids.join(', ')}`,
      hint: "A feed that keeps every event grows for as long as the server runs. Keep Number(process.env.HISTORY) of them: push the new one, and shift() the oldest when there are more.",
    });
  }
  if (ids.join() !== wanted.join()) {
    throw v.fail({
      code: Codes.RESUME_LOST,
      expected: `after Last-Event-ID: ${from}, ids ${wanted.join(', ')}, in order`,
      actual: ids.length ? `ids ${ids.join(', ')}` : 'no event',
      hint: RESUME_HINT,
    });
  }
  for (const [i, event] of expected.entries()) {
    if (stream.events[i]!.data !== asRead(event.text)) {
      throw v.fail({ code: Codes.DATA_WRONG, expected: `event ${event.id} to read ${previewText(asRead(event.text))}`, actual: previewText(stream.events[i]!.data), hint: STREAM_HINT });
    }
  }
}

async function expectPolled(v: Verification, client: RawHttpClient, path: string, expected: Published[], env: LessonNumbers): Promise<void> {
  const sentAt = Date.now();
  const exchange = await client.request({ path });
  logExchange(client, `GET ${path}`, exchange);
  const waited = Date.now() - sentAt;
  const body = exchange.complete ? exchange.response.body.toString('utf8') : '';
  const events = asObject(parseJson(body))?.events;
  if (!exchange.complete || (Array.isArray(events) && events.length === 0 && waited >= env.pollTimeoutMs / 2)) {
    throw v.fail({
      code: Codes.POLL_HELD_WITH_NEWS,
      expected: `GET ${path} to be answered at once: events ${expected.map((e) => e.id).join(', ')} are there`,
      actual: exchange.complete ? `an empty answer after ${waited} ms: the poll was held` : 'no answer: the poll was held',
      hint:
        'Look at what is kept first: history.filter((event) => event.id > after). When there is any, answer at once; hold the poll only when there is none. A client that polls again after its last id gets what was published between its polls.',
    });
  }
  checkPollBody(v, body, expected, `GET ${path}`, exchange.response.statusCode, headerValue(exchange.response, 'content-type') ?? '');
}

function checkPollBody(v: Verification, body: string, expected: Published[], what: string, status = 200, type?: string): void {
  if (type !== undefined && !/^application\/json\b/i.test(type)) {
    throw v.fail({
      code: Codes.POLL_NOT_JSON,
      expected: `${what} to be answered with Content-Type: application/json`,
      actual: type ? `Content-Type: ${type}` : 'no Content-Type',
      hint: "Say what the body is: res.writeHead(200, { 'Content-Type': 'application/json' }) before res.end(JSON.stringify({ events })). A client that reads by type, as fetch's callers often do, needs it.",
    });
  }
  const events = asObject(parseJson(body))?.events;
  const got = Array.isArray(events) ? events.map((e) => ({ id: asObject(e)?.id, text: asObject(e)?.text })) : undefined;
  const same = status === 200 && got?.length === expected.length && got.every((e, i) => e.id === expected[i]!.id && e.text === expected[i]!.text);
  if (!same) {
    throw v.fail({
      code: Codes.POLL_WRONG_EVENTS,
      expected: `${what} to be answered 200 with {"events":[…]}, the events ${expected.map((e) => e.id).join(', ')} as {"id":…,"text":…}, in order`,
      actual: `${status} with ${body ? previewText(body) : 'no body'}`,
      hint:
        "Answer JSON.stringify({ events }), where events are the kept ones whose id is greater than after, oldest first, each { id, text } with the id a number and the text as it was published.",
    });
  }
}

/** A text as an EventSource reads it back: its lines joined with \n, whatever ended them. */
function asRead(text: string): string {
  return text.replace(/\r\n|\r/g, '\n');
}

function eventIds(body: string): unknown[] {
  const events = asObject(parseJson(body))?.events;
  return Array.isArray(events) ? events.map((e) => asObject(e)?.id) : [];
}

function logExchange(client: RawHttpClient, request: string, exchange: RawExchange, afterMs?: number): void {
  const when = afterMs === undefined ? '' : `, ${afterMs} ms later`;
  if (!exchange.complete) {
    client.log(`${request}   ← ${exchange.stopped === 'closed' ? 'the connection closed' : 'no answer'}`);
    return;
  }
  const body = exchange.response.body.toString('utf8');
  client.log(`${request}   ← ${exchange.response.statusCode} ${body ? previewText(body) : ''}${when}`.replace(/ +,/, ','));
}

function describeIds(events: SseEvent[]): string {
  return events.length ? `${events.length === 1 ? 'event' : 'events'} ${events.map((e) => (e.ownId ? e.lastEventId : '(no id)')).join(', ')}` : 'no event';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

async function timersNow(v: Verification, server: RunningServer): Promise<number> {
  const report = await server.program.resources(v.timeouts.stepMs);
  return report ? liveTimers(report) : 0;
}

/** Counts the program's timers until there are at most `most`, or fails with `code` at the deadline. */
async function expectTimersDown(v: Verification, server: RunningServer, most: number, code: string, after: string, hint: string, until = Date.now() + v.timeouts.stepMs): Promise<void> {
  let now = await timersNow(v, server);
  while (now > most && Date.now() < until) {
    await delay(PROBE_EVERY_MS);
    now = await timersNow(v, server);
  }
  if (now > most) {
    throw v.fail({ code, expected: `at most ${plural(most, 'timer')} once ${after}`, actual: `${now} timers still running`, hint });
  }
}

/** The bytes of one WebSocket message carrying `text`, measured on the wire from a ws server of the verifier's own. */
async function webSocketBytes(v: Verification, text: string): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  v.defer(() => new Promise((resolve) => wss.close(resolve)));
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (socket) => socket.send(text));
  const port = (wss.address() as { port: number }).port;
  const client = new RawHttpClient('ws', { host: '127.0.0.1', port, timeoutMs: v.timeouts.stepMs, transcript: v.transcript });
  const upgrade = await client.upgrade({
    path: '/',
    headers: [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['Sec-WebSocket-Version', '13'],
    ],
  });
  v.defer(() => upgrade.socket.destroy());
  const tap = new FrameTap(upgrade.socket, upgrade.rest);
  await tap.waitFor(1, v.timeouts.stepMs);
  const frame = tap.frames[0];
  return frame ? frame.headerBytes + frame.payload.length : 0;
}

