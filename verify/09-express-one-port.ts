/**
 * Lesson 09 — Express on one port. The story: ask GET /online before anyone is connected; open a
 * socket on /ws, on PORT and no other port; watch the count follow every socket that opens, with or
 * without a query; announce over HTTP and see every open socket receive it, exactly, with the right
 * count in the answer; leave one socket half-closed, then close others (middle, first, last), drop
 * one, and see each stop counting; announce to nobody; refuse bodies that are not announcements;
 * answer Express's 404 for every other route; refuse upgrades on other paths; and let sockets say
 * anything without an answer or a crash.
 */
import { connectHalfClosable } from './harness/half-closed-client.ts';
import { headerValue, RawHttpClient, type RawExchange, type RawRequest } from './harness/http.ts';
import {
  defineRules,
  describeFrame,
  HarnessCodes,
  previewText,
  VerifyFailure,
  type LessonVerifier,
  type PrepareRun,
  type RunningServer,
  type TestClient,
  type Verification,
} from './harness/index.ts';
import { asObject, delay, parseJson } from './harness/json.ts';
import { explainNetworkError } from './harness/network-errors.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  ROUTES_NOT_ON_PORT: 'EXPRESS_ROUTES_NOT_ON_PORT',
  WS_NOT_ON_PORT: 'EXPRESS_WS_NOT_ON_PORT',
  EXTRA_PORT: 'EXPRESS_EXTRA_PORT',
  QUERY_REFUSED: 'EXPRESS_WS_QUERY_REFUSED',
  OTHER_PATH_UPGRADED: 'EXPRESS_OTHER_PATH_UPGRADED',
  OTHER_PATH_NO_ERROR: 'EXPRESS_OTHER_PATH_NO_ERROR',
  OTHER_PATH_CRASHED: 'EXPRESS_OTHER_PATH_CRASHED',
  ONLINE_NOT_FOUND: 'EXPRESS_ONLINE_NOT_FOUND',
  ONLINE_BAD_STATUS: 'EXPRESS_ONLINE_BAD_STATUS',
  ONLINE_NOT_JSON: 'EXPRESS_ONLINE_NOT_JSON',
  ONLINE_EXTRA_FIELD: 'EXPRESS_ONLINE_EXTRA_FIELD',
  ONLINE_WRONG_COUNT: 'EXPRESS_ONLINE_WRONG_COUNT',
  ONLINE_COUNTS_CLOSING: 'EXPRESS_ONLINE_COUNTS_CLOSING',
  ONLINE_STALE: 'EXPRESS_ONLINE_STALE',
  ANNOUNCE_REFUSED: 'EXPRESS_ANNOUNCE_REFUSED',
  ANNOUNCE_NOT_DELIVERED: 'EXPRESS_ANNOUNCE_NOT_DELIVERED',
  ANNOUNCE_NOT_JSON: 'EXPRESS_ANNOUNCE_NOT_JSON',
  ANNOUNCE_WRONG_SHAPE: 'EXPRESS_ANNOUNCE_WRONG_SHAPE',
  ANNOUNCE_TEXT_CHANGED: 'EXPRESS_ANNOUNCE_TEXT_CHANGED',
  ANNOUNCE_SENT_TWICE: 'EXPRESS_ANNOUNCE_SENT_TWICE',
  ANSWER_BAD_STATUS: 'EXPRESS_ANNOUNCE_BAD_STATUS',
  ANSWER_NOT_JSON: 'EXPRESS_ANNOUNCE_ANSWER_NOT_JSON',
  ANSWER_EXTRA_FIELD: 'EXPRESS_ANNOUNCE_ANSWER_EXTRA_FIELD',
  WRONG_DELIVERED: 'EXPRESS_WRONG_DELIVERED',
  BAD_BODY_ACCEPTED: 'EXPRESS_BAD_BODY_ACCEPTED',
  BAD_BODY_WRONG_STATUS: 'EXPRESS_BAD_BODY_WRONG_STATUS',
  ERROR_NOT_JSON: 'EXPRESS_ERROR_NOT_JSON',
  ERROR_EMPTY: 'EXPRESS_ERROR_EMPTY',
  BAD_BODY_SENT: 'EXPRESS_BAD_BODY_SENT',
  OTHER_NOT_404: 'EXPRESS_OTHER_NOT_404',
  SOCKET_MESSAGE_CRASHED: 'EXPRESS_SOCKET_MESSAGE_CRASHED',
  SOCKET_MESSAGE_ANSWERED: 'EXPRESS_SOCKET_MESSAGE_ANSWERED',
  SOCKET_MESSAGE_CLOSED: 'EXPRESS_SOCKET_MESSAGE_CLOSED',
  OTHER_FRAME_SENT: 'EXPRESS_OTHER_FRAME_SENT',
  CRASHED_ON_BAD_FRAME: 'EXPRESS_CRASHED_ON_BAD_FRAME',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: {
    text: 'Serve the Express app and the WebSocket server from **one** `http.Server` listening on that port, and listen on no other port.',
    codes: [Codes.ROUTES_NOT_ON_PORT, Codes.WS_NOT_ON_PORT, Codes.EXTRA_PORT],
  },
  R3: { text: 'Accept WebSocket upgrades on the path `/ws`, whatever query follows it: `/ws?room=1` is `/ws`.', codes: [Codes.QUERY_REFUSED] },
  R4: {
    text: 'Refuse an upgrade to any other path with an HTTP error status (`400`–`499`), before any upgrade, and stay up.',
    codes: [Codes.OTHER_PATH_UPGRADED, Codes.OTHER_PATH_NO_ERROR, Codes.OTHER_PATH_CRASHED],
  },
  R5: {
    text: '`GET /online` answers `200`, `Content-Type: application/json`, and exactly `{"online":n}`: nothing else in the object.',
    codes: [Codes.ONLINE_NOT_FOUND, Codes.ONLINE_BAD_STATUS, Codes.ONLINE_NOT_JSON, Codes.ONLINE_EXTRA_FIELD],
  },
  R6: {
    text: '`n` is the number of sockets whose `readyState` is `OPEN` at that moment.',
    codes: [Codes.ONLINE_WRONG_COUNT, Codes.ONLINE_COUNTS_CLOSING, Codes.ONLINE_STALE],
  },
  R7: {
    text: '`POST /announce` with a JSON body `{"text":"…"}` sends every open socket one text frame, `{"type":"announcement","text":"…"}`, with that text exactly as it came.',
    codes: [Codes.ANNOUNCE_REFUSED, Codes.ANNOUNCE_NOT_DELIVERED, Codes.ANNOUNCE_NOT_JSON, Codes.ANNOUNCE_WRONG_SHAPE, Codes.ANNOUNCE_TEXT_CHANGED, Codes.ANNOUNCE_SENT_TWICE],
  },
  R8: {
    text: 'It answers `202`, `Content-Type: application/json`, and exactly `{"delivered":n}`: how many sockets it sent the announcement to, and nothing else.',
    codes: [Codes.ANSWER_BAD_STATUS, Codes.ANSWER_NOT_JSON, Codes.ANSWER_EXTRA_FIELD, Codes.WRONG_DELIVERED],
  },
  R9: {
    text: 'A body that is not a JSON object with a string `text` gets `400`, `Content-Type: application/json` and `{"error":"…"}`, and nothing is sent to any socket.',
    codes: [Codes.BAD_BODY_ACCEPTED, Codes.BAD_BODY_WRONG_STATUS, Codes.ERROR_NOT_JSON, Codes.ERROR_EMPTY, Codes.BAD_BODY_SENT],
  },
  R10: {
    text: 'Every other request gets `404`: the answer Express gives by itself when no route matches, or a 404 of your own, never another status.',
    codes: [Codes.OTHER_NOT_404],
  },
  R11: {
    text: 'Sockets get nothing but announcements (no welcome, no answer to what they send), and what they send never closes them or stops the server.',
    codes: [Codes.OTHER_FRAME_SENT, Codes.SOCKET_MESSAGE_CRASHED, Codes.SOCKET_MESSAGE_ANSWERED, Codes.SOCKET_MESSAGE_CLOSED],
  },
  R12: {
    text: "A broken frame from one socket must not bring the server down: listen for `'error'` on every socket, as in lesson 04.",
    codes: [Codes.CRASHED_ON_BAD_FRAME],
  },
});

/** How often GET /online is asked again while waiting for the server to notice a dropped connection. */
const POLL_EVERY_MS = 10;
/** How long a dying program is given to exit, once a step fails around a message that may have killed it. */
const EXIT_SETTLE_MS = 300;

const ONE_SERVER_HINT =
  'Make the http.Server yourself and give it to both: const server = http.createServer(app); ' +
  "new WebSocketServer({ server, path: '/ws' }); server.listen(PORT). (const server = app.listen(PORT) works too: " +
  'app.listen returns the http.Server it made, and that is the one ws must get.)';

const OPEN_ONLY_HINT =
  'A socket stays in wss.clients while it closes, and until its \'close\' event fires. Count the sockets an announcement ' +
  'would reach: [...wss.clients].filter((s) => s.readyState === WebSocket.OPEN).length.';

/** Announcements sent in the first round, to every socket: each shows one way text travels. */
const ANNOUNCEMENTS: Array<{ text: string; body?: string; contentType?: string; about: string }> = [
  { text: 'Deploy at 18:00: expect a short break', about: 'plain text' },
  { text: '  Café — naïve, 漢字 and 🎉, spaces kept  ', about: 'accents, CJK, an emoji and spaces at both ends', contentType: 'application/json; charset=utf-8' },
  { text: '', about: 'an empty text' },
  { text: 'line one\nline "two"\té', body: '{ "text" : "line one\\nline \\"two\\"\\t\\u00e9" }', about: 'JSON with escapes, written with spaces' },
  { text: `${'ß'.repeat(20 * 1024)} end`, about: '40 KiB of text' },
  {
    text: 'Extra fields stay out',
    body: '{"type":"chat","sender":"mallory","text":"Extra fields stay out","delivered":99}',
    about: 'fields of its own beside the text',
  },
];

/** Bodies that are not announcements: each must get 400 and a JSON error, and reach no socket. */
const BAD_BODIES: Array<{ what: string; body?: string; contentType?: string | null }> = [
  { what: 'JSON cut off halfway', body: '{"text": "half an annou' },
  { what: 'text that is not JSON, sent as JSON', body: 'Deploy at 18:00' },
  { what: 'JSON null', body: 'null' },
  { what: 'a JSON number', body: '42' },
  { what: 'a JSON string', body: '"Deploy at 18:00"' },
  { what: 'an array', body: '[{"text":"inside an array"}]' },
  { what: 'an object without text', body: '{}' },
  { what: 'a "message" where "text" belongs', body: '{"message":"wrong field"}' },
  { what: 'a text that is null', body: '{"text":null}' },
  { what: 'a text that is a number', body: '{"text":42}' },
  { what: 'a text that is false', body: '{"text":false}' },
  { what: 'a text that is an array', body: '{"text":["two","parts"]}' },
  { what: 'a text that is an object', body: '{"text":{"en":"hello"}}' },
  { what: 'an empty body', body: '' },
  { what: 'a plain-text body (Content-Type: text/plain)', body: 'Deploy at 18:00', contentType: 'text/plain' },
  // Valid JSON, but not sent as JSON: a parser that reads every type would take them.
  { what: 'an announcement in JSON, sent as text/plain', body: '{"text":"sent as plain text"}', contentType: 'text/plain' },
  { what: 'an announcement in JSON, sent as a form', body: '{"text":"sent as a form"}', contentType: 'application/x-www-form-urlencoded' },
  { what: 'an announcement in JSON, with no Content-Type', body: '{"text":"sent with no type"}', contentType: null },
  { what: 'no body and no Content-Type' },
];

/** Requests no route answers: Express's own 404 must reach them. */
const OTHER_ROUTES: RawRequest[] = [
  { path: '/' },
  { path: '/status' },
  { path: '/online-count' },
  { path: '/ws' },
  { method: 'POST', path: '/online', headers: [['Content-Type', 'application/json']], body: '{}' },
  { path: '/announce' },
  { method: 'PUT', path: '/announce', headers: [['Content-Type', 'application/json']], body: '{"text":"PUT is not POST"}' },
  { method: 'DELETE', path: '/announce' },
];

/** Upgrade requests to paths that are not /ws: near misses first. */
const OTHER_UPGRADE_PATHS = ['/', '/ws/extra', '/wss', '/WS', '/online', '/chat?room=1'];

/** What sockets send in R11's step: nothing the server must understand. */
const SOCKET_CHATTER: Array<{ kind: 'text' | 'binary'; data: string }> = [
  { kind: 'text', data: 'hello, server' },
  { kind: 'text', data: '{"type":"announcement","text":"from a socket"}' },
  { kind: 'text', data: 'null' },
  { kind: 'text', data: '{"text": "cut off' },
  { kind: 'text', data: '' },
  { kind: 'binary', data: '\u0000\u0001\u00fe\u00ff' },
];

export default (async (v) => {
  const server = await v.start();
  const api = new Api(v, server);

  await v.step('answers GET /online on PORT, in JSON: nobody is connected yet', ['R2', 'R5', 'R6'], async () => {
    await api.expectOnline(0);
  });

  const open: TestClient[] = [];
  await v.step('accepts a WebSocket on /ws, on the same port, listens on no other, and sends it nothing', ['R2', 'R11'], async () => {
    open.push(await connectWs(v, api, 'alice', '/ws'));
    checkOnePort(v, server);
    await expectNothingSent(v, open, 'when she connected');
  });

  await v.step('counts each socket in GET /online as soon as it is open, with or without a query', ['R3', 'R6', 'R11'], async () => {
    await api.expectOnline(1);
    for (const [name, path] of [
      ['bob', '/ws?room=lobby&v=2'],
      ['carol', '/ws'],
      ['dave', '/ws?token=a%20b'],
    ] as const) {
      open.push(await connectWs(v, api, name, path));
      await api.expectOnline(open.length);
    }
    await expectNothingSent(v, open, 'while the others connected');
  });

  const [alice, bob, carol, dave] = open as [TestClient, TestClient, TestClient, TestClient];
  const board = new Board(v);

  await v.step('announces to every open socket, exactly as sent, and answers how many got it', ['R7', 'R8'], async () => {
    for (const announcement of ANNOUNCEMENTS) {
      v.note(`announcing ${announcement.about}`);
      await board.announce(api, announcement, open);
    }
  });

  await v.step('a socket that is closing is neither counted nor announced to', ['R6', 'R7', 'R8'], async () => {
    // erin sends her close frame and gets the server's, but keeps the TCP connection: on the server
    // her socket stays CLOSING, and in wss.clients, for as long as the verification runs. Her TCP
    // connection never ends, so a count taken off in 'close' fails here, every time.
    const erin = await connectHalfClosable(v, 'erin', server, '/ws');
    await api.expectOnline(5);
    await erin.leaveHalfClosed();
    v.note("erin's socket is CLOSING now: still in wss.clients, but no announcement can reach it");
    await api.expectOnline(4, { closing: dave });
    await board.announce(api, { text: 'erin is on her way out' }, open, { closing: true });
  });

  await v.step('stops counting a socket as soon as it closes: the middle one, the first, the last', ['R6', 'R7', 'R8'], async () => {
    await closeAndWait(bob);
    await api.expectOnline(3, { closed: bob });
    await board.announce(api, { text: 'bob has left' }, [alice, carol, dave]);
    // alice closes, and the very next request is an announcement: it must not count her.
    await closeAndWait(alice);
    await board.announce(api, { text: 'alice has left too' }, [carol, dave]);
    await api.expectOnline(2, { closed: alice });
    await closeAndWait(dave);
    await api.expectOnline(1, { closed: dave });
  });

  await v.step('notices a connection that drops without a close frame', ['R6'], async () => {
    carol.terminate();
    await api.expectOnlineSoon(0, 'carol');
  });

  await v.step('with nobody connected, an announcement is delivered to nobody', ['R7', 'R8'], async () => {
    await board.announce(api, { text: 'is anybody there?' }, []);
  });

  const later: TestClient[] = [];
  await v.step('counts the sockets that come after, from zero', ['R6'], async () => {
    for (const name of ['gina', 'hank']) {
      later.push(await connectWs(v, api, name, '/ws'));
      await api.expectOnline(later.length);
    }
  });
  const [gina, hank] = later as [TestClient, TestClient];

  await v.step('refuses a body that is not an announcement: 400, a JSON error, and nothing sent', ['R9'], async () => {
    for (const bad of BAD_BODIES) await api.expectBadBody(bad);
    // Anything a bad body sent would arrive before this announcement, on the same connections.
    await board.announce(api, { text: 'after the bad bodies' }, later, { afterBadBodies: true });
  });

  await v.step('answers 404 to every other route, as Express does by itself when none matches', ['R10'], async () => {
    for (const request of OTHER_ROUTES) await api.expectNotFound(request);
  });

  await crashMeans(
    v,
    {
      code: Codes.OTHER_PATH_CRASHED,
      when: 'after an upgrade request to a path that is not /ws',
      hint:
        "Your 'upgrade' listener threw, and an exception there ends the whole process. Read the path without assuming it matches: " +
        "new URL(req.url, 'http://localhost').pathname, then compare; a regular expression's match is null for every other path.",
    },
    v.step('refuses upgrades to any other path with an HTTP error, and stays up', ['R4'], async () => {
      for (const path of OTHER_UPGRADE_PATHS) await api.expectUpgradeRefused(path);
      await api.expectOnline(2);
    }),
  );

  await crashMeans(
    v,
    {
      code: Codes.SOCKET_MESSAGE_CRASHED,
      when: 'after a socket sent it a message',
      hint:
        "What a socket sends can be anything: JSON.parse throws on text that is not JSON, and an exception in a 'message' handler ends " +
        "the whole process, the API with it. Here sockets only listen: you need no 'message' handler at all.",
    },
    v.step('lets sockets say anything: no answer, no crash, still connected', ['R11'], async () => {
      for (const message of SOCKET_CHATTER) {
        if (message.kind === 'text') gina.sendText(message.data);
        else gina.sendBinary(Buffer.from(message.data, 'latin1'));
      }
      // A ping is answered after every frame before it has been handled: then any answer has been sent.
      await roundTrip(v, gina);
      await roundTrip(v, hank);
      for (const client of later) {
        const frame = client.pending[0];
        if (frame) {
          client.releaseUnread();
          throw v.fail({
            code: Codes.SOCKET_MESSAGE_ANSWERED,
            expected: `nothing for ${client.name}: sockets only listen in this lesson`,
            actual: describeFrame(frame),
            hint:
              "Your server answered what gina sent. Here sockets only listen: give them no 'message' handler at all " +
              '(or one that ignores what comes), and send them announcements only.',
          });
        }
      }
      await board.announce(api, { text: 'still here, all of us' }, later);
    }),
  );

  await crashMeans(
    v,
    {
      code: Codes.CRASHED_ON_BAD_FRAME,
      when: 'after a socket sent a broken frame',
      hint:
        "ws reports a broken frame as an 'error' event on that socket, and an 'error' nobody listens for is thrown: one socket " +
        "takes the API and every other socket down. In wss.on('connection', …), add socket.on('error', …), even if it only logs; ws closes that connection itself.",
    },
    v.step('survives a broken frame: ws closes that socket, and the server goes on', ['R12'], async () => {
      const mallory = await v.client('mallory', { path: '/ws', log: 'read' });
      // ws cannot send such a frame: it is written past it, on the TCP connection.
      mallory.writeRaw(maskedFrame(0x81, Buffer.from([0xc3, 0x28])), 'text <c3 28> (these bytes are not valid UTF-8)');
      await mallory.expectClose('the server to close this connection').catch(() => undefined);
      // The crash, if there is one, takes a moment to show; an announcement proves the server still runs.
      await board.announce(api, { text: 'after the broken frame' }, later);
    }),
  );
}) satisfies LessonVerifier;

/** `wsw run` and the playground: the client connects where sockets belong, on /ws. */
export const prepareRun: PrepareRun = async () => ({ client: { path: '/ws' } });

// ————————————————————————————————————————— the HTTP side

/** One HTTP answer, as the verifier reads it. */
interface Answer {
  status: number;
  statusMessage: string;
  contentType?: string;
  body: string;
  /** The body as a JSON object, when it is one and its Content-Type says JSON. */
  json?: Record<string, unknown>;
}

/**
 * The REST client: every request on one keep-alive connection, as a browser's fetch would, each shown
 * as one line, its answer as another.
 */
class Api {
  private readonly http: RawHttpClient;

  constructor(
    private readonly v: Verification,
    readonly server: RunningServer,
  ) {
    this.http = new RawHttpClient('http', { host: server.host, port: server.port, timeoutMs: v.timeouts.stepMs, transcript: v.transcript });
    v.defer(() => this.http.close());
  }

  /** Why the last request got no answer, for the verdict: "no answer within 1000 ms", say. */
  noAnswer = '';

  /**
   * Sends a request and reads its answer; `quiet` leaves both out of the transcript. Undefined when no
   * answer came. A connection refused, or closed by a program that has exited, is a failure the harness
   * explains by that exit.
   */
  async send(request: RawRequest, quiet = false): Promise<Answer | undefined> {
    const what = `${request.method ?? 'GET'} ${request.path}`;
    if (!quiet) this.http.log(`→ ${what}${request.body ? `  ${previewText(String(request.body))}` : ''}`);
    const exchange = await this.guard(what, this.http.request(request));
    if (!exchange.complete) {
      if (!quiet) this.http.log(exchange.stopped === 'closed' ? '← nothing: the connection closed' : '← nothing', 'error');
      await this.unlessExited(exchange, what);
      this.noAnswer = exchange.stopped === 'closed' ? 'the connection closed without an answer' : `no answer within ${this.v.timeouts.stepMs} ms`;
      return undefined;
    }
    const { response } = exchange;
    const body = response.body.toString('utf8');
    const contentType = headerValue(response, 'content-type');
    const answer: Answer = { status: response.statusCode, statusMessage: response.statusMessage, contentType, body };
    if (/^application\/json\b/i.test(contentType ?? '')) answer.json = asObject(parseJson(body));
    if (!quiet) this.http.log(`← ${describeAnswer(answer)}`);
    return answer;
  }

  /** Waits for `work`; a network error (the program gone, say) becomes CONNECT_FAILED, never a raw Error. */
  async guard<T>(what: string, work: Promise<T>): Promise<T> {
    try {
      return await Promise.race([work, this.v.programGone]);
    } catch (error) {
      if (error instanceof VerifyFailure) throw error;
      const explained = explainNetworkError(error as NodeJS.ErrnoException, { client: this.http.name, doing: `sending ${what}` });
      this.http.log(`✗ ${explained.sentence}`, 'error');
      throw new VerifyFailure({
        code: HarnessCodes.CONNECT_FAILED,
        message: `${explained.sentence[0]!.toUpperCase()}${explained.sentence.slice(1)}.`,
        hint: `Most likely ${explained.likelyCause}.`,
      });
    }
  }

  /** A connection that closed without an answer because the program exited: told as that exit, not as a missing answer. */
  async unlessExited(exchange: RawExchange, what: string): Promise<void> {
    if (exchange.complete || exchange.stopped !== 'closed') return;
    const { program } = this.server;
    const exited = await Promise.race([program.exited, delay(EXIT_SETTLE_MS).then(() => undefined)]);
    if (exited) throw new VerifyFailure({ code: HarnessCodes.CONNECTION_CLOSED, message: `The connection closed without an answer to ${what}: your program had exited.` });
  }

  /**
   * GET /online must say `n`. A count too high after a close is told apart: counted while closing, or
   * never taken off. With `closing`, a socket is CLOSING, and that client closes all the way to tell which.
   */
  async expectOnline(n: number, context: { closing?: TestClient; closed?: TestClient } = {}): Promise<void> {
    const online = await this.online();
    if (online === n) return;
    if (online > n && context.closing) {
      // A count taken off in 'close' and a count never taken off both say too many now; a socket that
      // closes all the way, TCP connection and all, tells them apart.
      const probe = context.closing;
      this.v.note(`to see whether the count ever comes down, ${probe.name} closes, TCP connection and all`);
      await closeAndWait(probe);
      const settled = await this.pollOnline(online - 1, this.v.timeouts.stepMs);
      throw settled < online
        ? this.countFailure(
            n,
            online,
            Codes.ONLINE_COUNTS_CLOSING,
            `erin's socket is CLOSING, not OPEN. Your count lets a socket go only when 'close' fires, once its TCP connection is gone: ${probe.name}'s came off that way, and erin's stays on for as long as her connection does. ${OPEN_ONLY_HINT}`,
          )
        : this.countFailure(n, online, Codes.ONLINE_STALE, STALE_HINT(probe.name, settled));
    }
    if (online > n && context.closed) {
      // The rule says at once; a count that comes down a moment later was counting a closing socket.
      const settled = await this.pollOnline(n, this.v.timeouts.stepMs);
      throw settled === n
        ? this.countFailure(n, online, Codes.ONLINE_COUNTS_CLOSING, `${context.closed.name}'s close was answered, so its socket was no longer OPEN; it came off the count only later. ${OPEN_ONLY_HINT}`)
        : this.countFailure(n, online, Codes.ONLINE_STALE, STALE_HINT(context.closed.name, settled));
    }
    throw this.countFailure(n, online, Codes.ONLINE_WRONG_COUNT, COUNT_HINT(n, online));
  }

  /** GET /online must come to `n` soon: a dropped connection is noticed when its TCP connection ends. */
  async expectOnlineSoon(n: number, who: string): Promise<void> {
    this.http.log(`→ GET /online, again until ${who}'s connection is gone (at most ${this.v.timeouts.stepMs} ms)`);
    const settled = await this.pollOnline(n, this.v.timeouts.stepMs);
    if (settled === n) {
      this.http.log(`← ${JSON.stringify({ online: n })}`);
      return;
    }
    this.http.log(`← still ${JSON.stringify({ online: settled })}`, 'error');
    throw this.countFailure(n, settled, Codes.ONLINE_STALE, STALE_HINT(who, settled));
  }

  private countFailure(n: number, online: number, code: string, hint: string): VerifyFailure {
    return this.v.fail({ code, expected: `GET /online to answer {"online":${n}}`, actual: `{"online":${online}}`, hint });
  }

  /** Asks GET /online quietly until it says `n` or `withinMs` passes; returns the last count. */
  private async pollOnline(n: number, withinMs: number): Promise<number> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const online = await this.online(true);
      if (online === n || Date.now() >= deadline) return online;
      await delay(POLL_EVERY_MS);
    }
  }

  /** GET /online, checked for its status and shape; returns the count. */
  private async online(quiet = false): Promise<number> {
    const expected = 'GET /online to answer 200 with {"online":n} in JSON';
    const answer = await this.send({ path: '/online', headers: [['Accept', 'application/json']] }, quiet);
    if (!answer) {
      throw this.v.fail({
        code: Codes.ONLINE_BAD_STATUS,
        expected,
        actual: this.noAnswer,
        hint: 'Every route must answer: end it with res.json(…), which sends the body and ends the response.',
      });
    }
    if (answer.status === 426) {
      throw this.v.fail({
        code: Codes.ROUTES_NOT_ON_PORT,
        expected,
        actual: `${answer.status} ${answer.statusMessage}: not Express, but a WebSocket server that got the request on PORT`,
        hint: `The server listening on PORT is the WebSocket server's own, which answers plain requests 426. ${ONE_SERVER_HINT}`,
      });
    }
    if (answer.status === 404) {
      throw this.v.fail({ code: Codes.ONLINE_NOT_FOUND, expected, actual: describeAnswer(answer), hint: "Add the route: app.get('/online', (req, res) => …), spelt exactly so." });
    }
    if (answer.status !== 200) {
      throw this.v.fail({ code: Codes.ONLINE_BAD_STATUS, expected, actual: describeAnswer(answer), hint: 'Answer with res.json({ online: n }): its status is 200 unless you set another.' });
    }
    const online = answer.json?.online;
    if (typeof online !== 'number') {
      throw this.v.fail({
        code: Codes.ONLINE_NOT_JSON,
        expected,
        actual: describeAnswer(answer),
        hint: 'Answer with res.json({ online: n }), n a number: res.json sets Content-Type: application/json and writes the object as JSON. res.send(String(n)) sends text/html.',
      });
    }
    const extra = extraFields(answer.json!, 'online');
    if (extra.length > 0) {
      throw this.v.fail({
        code: Codes.ONLINE_EXTRA_FIELD,
        expected: 'GET /online to answer exactly {"online":n}, nothing else',
        actual: `${describeAnswer(answer)}: ${extra.map((k) => JSON.stringify(k)).join(', ')} too`,
        hint: 'Answer res.json({ online: n }) and nothing beside it: a client that reads this answer expects that one field, and a field you add is one every client of the API comes to depend on.',
      });
    }
    return online;
  }

  /** POST /announce with a valid body; returns the answer, checked for its status and shape. */
  async announce(body: string, contentType: string, delivered: number, context: { closing?: boolean } = {}): Promise<void> {
    const answer = await this.send({ method: 'POST', path: '/announce', headers: [['Content-Type', contentType]], body });
    const expected = `202 Accepted with {"delivered":${delivered}} in JSON`;
    if (!answer) {
      throw this.v.fail({ code: Codes.ANSWER_BAD_STATUS, expected, actual: this.noAnswer, hint: 'End the route with res.status(202).json({ delivered }): a route that never answers leaves the client waiting.' });
    }
    if (answer.status >= 400) {
      throw this.v.fail({
        code: Codes.ANNOUNCE_REFUSED,
        expected,
        actual: `${describeAnswer(answer)}: a valid announcement was refused`,
        hint:
          answer.status >= 500
            ? 'Your route threw, and Express answered 500. Is req.body undefined? Express reads no body by itself: app.use(express.json()) before the routes.'
            : 'The body was {"text": a string}: check typeof req.body?.text === "string", nothing more. The empty text "" is a string too (if (!text) refuses it), and express.json() must be mounted, or req.body is undefined.',
      });
    }
    if (answer.status !== 202) {
      throw this.v.fail({
        code: Codes.ANSWER_BAD_STATUS,
        expected,
        actual: describeAnswer(answer),
        hint: '202 Accepted says the work was handed on, not finished: the sockets have it, no client has read it yet. res.status(202).json({ delivered }).',
      });
    }
    const got = answer.json?.delivered;
    if (typeof got !== 'number') {
      throw this.v.fail({ code: Codes.ANSWER_NOT_JSON, expected, actual: describeAnswer(answer), hint: 'Answer with res.status(202).json({ delivered: n }), n the number of sockets you sent it to.' });
    }
    const extra = extraFields(answer.json!, 'delivered');
    if (extra.length > 0) {
      throw this.v.fail({
        code: Codes.ANSWER_EXTRA_FIELD,
        expected: `202 Accepted with exactly {"delivered":${delivered}}, nothing else`,
        actual: `${describeAnswer(answer)}: ${extra.map((k) => JSON.stringify(k)).join(', ')} too`,
        hint: 'Answer res.status(202).json({ delivered }) and nothing beside it: the client knows what it sent, and the sockets have it.',
      });
    }
    if (got !== delivered) {
      throw this.v.fail({
        code: Codes.WRONG_DELIVERED,
        expected,
        actual: `{"delivered":${got}}`,
        hint: context.closing || got > delivered
          ? `Count the sends you made, to OPEN sockets only. A socket that is closing is still in wss.clients, and ws drops a send to it without a word: wss.clients.size counts it anyway.`
          : 'Count the sockets you really sent the announcement to, in the same loop that sends it.',
      });
    }
  }

  /** A bad body must get 400 with a JSON error. */
  async expectBadBody(bad: (typeof BAD_BODIES)[number]): Promise<void> {
    const headers: Array<[string, string]> = [];
    if (bad.body === undefined) headers.push(['Content-Length', '0']);
    else if (bad.contentType !== null) headers.push(['Content-Type', bad.contentType ?? 'application/json']);
    const answer = await this.send({ method: 'POST', path: '/announce', headers, body: bad.body });
    const expected = `400 with {"error":"…"} in JSON, in answer to ${bad.what}`;
    if (!answer) {
      throw this.v.fail({ code: Codes.BAD_BODY_WRONG_STATUS, expected, actual: this.noAnswer, hint: 'Every path through the route ends with an answer: return res.status(400).json({ error }) when the body is wrong.' });
    }
    if (answer.status >= 200 && answer.status < 300) {
      throw this.v.fail({
        code: Codes.BAD_BODY_ACCEPTED,
        expected,
        actual: describeAnswer(answer),
        hint:
          bad.contentType === undefined || bad.body === undefined
            ? 'Check the body before you use it: typeof req.body?.text === "string", or answer res.status(400).json({ error: "…" }) and send nothing. A null, a number or a missing text is not an announcement.'
            : 'A body the client did not send as JSON is not an announcement, whatever it looks like. Leave express.json() its own type, application/json: with { type: \'*/*\' } (or express.text() for every type, parsed by hand) a text/plain body is read as JSON too.',
      });
    }
    if (answer.status !== 400) {
      throw this.v.fail({
        code: Codes.BAD_BODY_WRONG_STATUS,
        expected,
        actual: describeAnswer(answer),
        hint:
          answer.status >= 500
            ? 'Your route threw on it, and Express answered 500. req.body is undefined when the request is not JSON: read req.body?.text, then check its type.'
            : 'A body the server cannot use is the client\'s mistake: 400 Bad Request, res.status(400).json({ error: "…" }).',
      });
    }
    if (answer.json?.error === '') {
      throw this.v.fail({
        code: Codes.ERROR_EMPTY,
        expected: `400 with a non-empty "error" in JSON, in answer to ${bad.what}`,
        actual: `${describeAnswer(answer)}: the error is an empty string`,
        hint: 'Say what was wrong, in a few words: { error: "The body is not valid JSON." }. A client shows it to whoever sent the request; an empty string tells them nothing.',
      });
    }
    if (typeof answer.json?.error !== 'string') {
      throw this.v.fail({
        code: Codes.ERROR_NOT_JSON,
        expected,
        actual: describeAnswer(answer),
        hint: isExpress404(answer) || /<html|<pre>/i.test(answer.body)
          ? 'That is Express\'s own error page. express.json() hands a body it cannot parse to the error handlers: add one after your routes, app.use((error, req, res, next) => …), that answers res.status(400).json({ error: "…" }).'
          : 'Answer res.status(400).json({ error: "what was wrong" }): JSON, with a non-empty string error, so a client can show it.',
      });
    }
  }

  /** A request no route answers must get 404. */
  async expectNotFound(request: RawRequest): Promise<void> {
    const answer = await this.send(request);
    if (answer?.status === 404) return;
    throw this.v.fail({
      code: Codes.OTHER_NOT_404,
      expected: `404 Not Found for ${request.method ?? 'GET'} ${request.path}`,
      actual: answer ? describeAnswer(answer) : this.noAnswer,
      hint:
        'Leave what no route matches to Express: it answers 404 by itself. A catch-all of your own must answer 404 too, res.status(404).json(…); ' +
        'one that answers anything else (app.all, a route for every path, a page for GET /ws) answers requests that should fail, and hides typos in the client\'s URLs.',
    });
  }

  /** An upgrade to a path that is not /ws must get an HTTP error, never 101. */
  async expectUpgradeRefused(path: string): Promise<void> {
    const request: RawRequest = {
      path,
      headers: [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
        ['Sec-WebSocket-Version', '13'],
      ],
    };
    this.http.log(`→ GET ${path} with Upgrade: websocket`);
    const upgrade = await this.guard(`an upgrade to ${path}`, this.http.upgrade(request));
    upgrade.socket.destroy();
    const { exchange } = upgrade;
    const expected = `an HTTP error (400–499) for an upgrade to ${path}, not /ws`;
    if (!exchange.complete) {
      this.http.log(exchange.stopped === 'closed' ? '← nothing: the connection closed' : '← nothing', 'error');
      throw this.v.fail({
        code: Codes.OTHER_PATH_NO_ERROR,
        expected,
        actual: exchange.stopped === 'closed' ? 'the connection closed without an answer' : `no answer within ${this.v.timeouts.stepMs} ms`,
        hint:
          "Tell the client why before you hang up: socket.write('HTTP/1.1 404 Not Found\\r\\n\\r\\n'), then socket.destroy(). " +
          "Or let ws do it: new WebSocketServer({ server, path: '/ws' }) answers every other path 400.",
      });
    }
    const { response } = exchange;
    this.http.log(`← ${response.statusCode} ${response.statusMessage}`);
    if (response.statusCode === 101) {
      throw this.v.fail({
        code: Codes.OTHER_PATH_UPGRADED,
        expected,
        actual: '101 Switching Protocols: the upgrade was accepted',
        hint:
          "Give ws the path, new WebSocketServer({ server, path: '/ws' }): without one it takes upgrades on every path. " +
          "Checking by hand? Compare the pathname, new URL(req.url, 'http://localhost').pathname === '/ws', not a prefix.",
      });
    }
    if (response.statusCode < 400 || response.statusCode > 499) {
      throw this.v.fail({
        code: Codes.OTHER_PATH_NO_ERROR,
        expected,
        actual: `${response.statusCode} ${response.statusMessage}`,
        hint: 'An upgrade to a path you do not serve is the client\'s mistake: answer 400 or 404, then close the socket.',
      });
    }
  }
}

const STALE_HINT = (who: string, settled: number): string =>
  `After ${who} left, the count stayed at ${settled}. A count kept in a variable must go down in every socket's 'close' handler; ` +
  `simpler, keep no count at all and ask wss.clients each time. ${OPEN_ONLY_HINT}`;

const COUNT_HINT = (n: number, online: number): string =>
  online < n
    ? `Every socket that has connected and not begun to close counts: wss.clients holds them all, from the 'connection' event on. Is ws attached to the server that listens?`
    : `Count the sockets open right now, not every connection since the start. ${OPEN_ONLY_HINT}`;

function describeAnswer(answer: Answer): string {
  // Express's own pages are HTML around one line: that line is what they say.
  const page = /^text\/html/i.test(answer.contentType ?? '') ? /<pre>([\s\S]*?)<\/pre>/.exec(answer.body)?.[1] : undefined;
  const body = answer.body === '' ? 'and an empty body' : page !== undefined ? `an HTML page: ${previewText(page)}` : previewText(answer.body.trim());
  return `${answer.status} ${answer.statusMessage} (${answer.contentType ?? 'no Content-Type'}) ${body}`;
}

/** The fields of an answer beside the one it must have. */
function extraFields(json: Record<string, unknown>, field: string): string[] {
  return Object.keys(json).filter((k) => k !== field);
}

/** Express's own 404: an HTML page saying `Cannot GET /path`. */
function isExpress404(answer: Answer): boolean {
  return answer.status === 404 && /Cannot [A-Z]+ \//.test(answer.body);
}

// ————————————————————————————————————————— the WebSocket side

/** Opens a socket on `path`. A refusal on PORT is told as R2's failure, or R3's when a query was refused. */
async function connectWs(v: Verification, api: Api, name: string, path: string): Promise<TestClient> {
  try {
    return await v.client(name, { path, log: 'read' });
  } catch (error) {
    if (!(error instanceof VerifyFailure) || (error.code !== HarnessCodes.HANDSHAKE_REJECTED && error.code !== HarnessCodes.CONNECT_FAILED)) throw error;
    if (path !== '/ws') {
      throw v.fail({
        code: Codes.QUERY_REFUSED,
        expected: `101 Switching Protocols for ${path}: its path is /ws`,
        actual: error.actual ?? error.message,
        hint:
          "req.url holds the query too: '/ws?room=lobby' is not '/ws'. Compare the pathname, new URL(req.url, 'http://localhost').pathname, " +
          "or give ws the path, new WebSocketServer({ server, path: '/ws' }), which ignores the query.",
      });
    }
    const elsewhere = otherPorts(api.server);
    if (elsewhere.length > 0) throw extraPort(v, api.server, elsewhere);
    throw v.fail({
      code: Codes.WS_NOT_ON_PORT,
      expected: `101 Switching Protocols for ${api.server.wsUrl}/ws`,
      actual: error.actual ?? error.message,
      hint:
        /404/.test(error.actual ?? '')
          ? `Express answered the upgrade with its 404: no WebSocket server listens for upgrades on the http.Server that listens on PORT. app.listen(PORT) makes an http.Server of its own, and a server made with http.createServer(app) that never listens hears nothing. ${ONE_SERVER_HINT}`
          : ONE_SERVER_HINT,
    });
  }
}

function otherPorts(server: RunningServer): number[] {
  return [...new Set(server.program.listeningPorts.filter((p) => p !== server.port))];
}

function extraPort(v: Verification, server: RunningServer, elsewhere: number[]): VerifyFailure {
  return v.fail({
    code: Codes.EXTRA_PORT,
    expected: `your server to listen on port ${server.port} (PORT) alone`,
    actual: `it listens on port ${elsewhere.join(', ')} as well`,
    hint:
      'One port for both: a WebSocket server on a port of its own is a second origin (the page\'s fetch and its socket then ' +
      `need CORS) and a second address for every proxy and firewall. ${ONE_SERVER_HINT}`,
  });
}

function checkOnePort(v: Verification, server: RunningServer): void {
  const elsewhere = otherPorts(server);
  if (elsewhere.length > 0) throw extraPort(v, server, elsewhere);
  v.note(`your server listens on port ${server.port} alone: Express and ws share it`);
}

/** Closes a client with a close frame and waits for the server's: its socket is no longer OPEN then. */
async function closeAndWait(client: TestClient): Promise<void> {
  client.close(1000, 'bye');
  await client.expectClose(`the server to answer ${client.name}'s close frame`);
}

const OTHER_FRAME_HINT =
  'Send sockets announcements and nothing else: no welcome when one connects, no notice when others come and go. ' +
  "A client here reads every frame as an announcement. Remove the socket.send(…) from wss.on('connection', …).";

/**
 * Each client pings and gets its pong: anything the server sent it before then (a welcome, a notice
 * that another socket joined) arrives first, and is a frame that is not an announcement.
 */
async function expectNothingSent(v: Verification, clients: TestClient[], when: string): Promise<void> {
  for (const client of clients) {
    if (!client.isOpen) continue;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        client.ws.off('pong', done);
        client.ws.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, v.timeouts.stepMs);
      client.ws.once('pong', done);
      client.ws.once('close', done);
      client.ws.ping();
    });
    const frame = client.pending[0];
    if (frame) {
      client.releaseUnread();
      throw v.fail({
        code: Codes.OTHER_FRAME_SENT,
        expected: `nothing for ${client.name} ${when}: sockets get announcements only`,
        actual: describeFrame(frame),
        hint: OTHER_FRAME_HINT,
      });
    }
  }
}

/** A ping and its pong: the server has handled every frame the client sent before it. */
async function roundTrip(v: Verification, client: TestClient): Promise<void> {
  const closed = (): VerifyFailure =>
    v.fail({
      code: Codes.SOCKET_MESSAGE_CLOSED,
      expected: `${client.name}'s connection to stay open after what gina sent`,
      actual: `the server closed it${client.closed ? ` (${client.closed.clean ? `close frame, code ${client.closed.code}` : 'without a close frame, 1006'})` : ''}`,
      hint: 'A message you do not expect is no reason to hang up: ignore it. Sockets only listen in this lesson.',
    });
  if (!client.isOpen) throw closed();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(closed()), v.timeouts.stepMs);
    client.ws.once('pong', () => {
      clearTimeout(timer);
      resolve();
    });
    client.ws.once('close', () => {
      clearTimeout(timer);
      reject(closed());
    });
    client.ws.ping();
  });
}

/** What the sockets have been told, so that a copy of an earlier announcement is named for what it is. */
class Board {
  private readonly told = new Map<TestClient, Set<string>>();

  constructor(private readonly v: Verification) {}

  /**
   * POSTs one announcement, checks the answer counts `receivers`, then that each of them gets it next,
   * exactly. A frame that arrives first is judged: a copy, a raw string, the wrong shape, a bad body's.
   */
  async announce(
    api: Api,
    announcement: { text: string; body?: string; contentType?: string },
    receivers: TestClient[],
    context: { closing?: boolean; afterBadBodies?: boolean } = {},
  ): Promise<void> {
    const body = announcement.body ?? JSON.stringify({ text: announcement.text });
    await api.announce(body, announcement.contentType ?? 'application/json', receivers.length, context);
    for (const client of receivers) await this.expectAnnouncement(client, announcement.text, context);
  }

  private async expectAnnouncement(client: TestClient, text: string, context: { afterBadBodies?: boolean }): Promise<void> {
    const want = JSON.stringify({ type: 'announcement', text });
    const expected = `${client.name} to receive ${previewText(want)}`;
    const frame = await client.nextFrame(expected, {
      timeoutCode: Codes.ANNOUNCE_NOT_DELIVERED,
      timeoutHint: 'Loop over the open sockets in the route and send to each: for (const socket of wss.clients) if (socket.readyState === WebSocket.OPEN) socket.send(…).',
    });
    const told = this.told.get(client) ?? new Set<string>();
    this.told.set(client, told);
    const fail = (code: string, hint: string) => this.v.fail({ code, expected, actual: describeFrame(frame), hint });
    const raw = frame.data.toString('utf8');
    const value = frame.kind === 'text' ? asObject(parseJson(raw)) : undefined;
    const got = typeof value?.text === 'string' ? value.text : undefined;
    if (context.afterBadBodies) {
      if (frame.kind !== 'text' || got !== text) {
        throw fail(Codes.BAD_BODY_SENT, 'A bad body must reach no socket: check it first, answer 400 and return, before the loop that sends.');
      }
    }
    if (got !== undefined && got !== text && told.has(got)) {
      throw fail(Codes.ANNOUNCE_SENT_TWICE, 'Each socket gets each announcement once. A socket that sits twice in your own list, or a loop inside a loop, sends it again.');
    }
    if (typeof value?.type === 'string' && value.type !== 'announcement' && !('text' in value)) {
      throw fail(Codes.OTHER_FRAME_SENT, OTHER_FRAME_HINT);
    }
    if (frame.kind === 'binary') throw fail(Codes.ANNOUNCE_NOT_JSON, 'Send the announcement as text: socket.send(JSON.stringify(…)). A Buffer goes as a binary frame.');
    if (!value) {
      throw fail(
        Codes.ANNOUNCE_NOT_JSON,
        raw === text
          ? 'That is the text alone. Sockets need to tell an announcement from anything else they may get: send JSON.stringify({ type: "announcement", text }).'
          : 'Send JSON.stringify({ type: "announcement", text }): a JSON object, as a text frame.',
      );
    }
    const keys = Object.keys(value).sort();
    if (value.type !== 'announcement' || keys.join() !== 'text,type') {
      const extra = keys.filter((k) => k !== 'text' && k !== 'type');
      throw fail(
        Codes.ANNOUNCE_WRONG_SHAPE,
        extra.length > 0
          ? `Build the announcement from two fields, { type: 'announcement', text }, never by spreading req.body: the body had ${extra.map((k) => JSON.stringify(k)).join(', ')} too, and every socket would get them.`
          : 'An announcement has exactly two fields: { "type": "announcement", "text": … }.',
      );
    }
    if (got !== text) {
      throw fail(Codes.ANNOUNCE_TEXT_CHANGED, 'Send the text exactly as it came: no trim, no change of case, no cut. An empty text is a text too.');
    }
    told.add(text);
  }
}

/** A client's frame, masked as RFC 6455 requires, for payloads under 126 bytes. */
function maskedFrame(firstByte: number, payload: Buffer): Buffer {
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([firstByte, 0x80 | payload.length]), mask, masked]);
}

/**
 * Runs a step in which sockets send what the server does not expect. If the program died meanwhile,
 * the crash is told under the step's own code, with its hint, rather than as a dropped connection.
 */
async function crashMeans(v: Verification, crashed: { code: string; when: string; hint: string }, step: Promise<void>): Promise<void> {
  await v.blameDeath(() => step, () => crashed, { cleanExits: true });
}
