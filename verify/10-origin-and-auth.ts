/**
 * Lesson 10 — Security at the door. The story: log in, and read the cookie the server sets; knock with
 * wrong passwords; open the chat from allowed origins; then play the attacker at the door (a page of
 * another site with the victim's cookie, look-alike origins, forged, altered, misplaced and expired
 * sessions), each of which must be refused with its HTTP status before any 101; and inside (garbage,
 * a false name, an oversized frame, a flood), each of which must be handled without costing the
 * victims anything. Every victim is checked connected and unaffected after each attack.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { ClientRequest } from 'node:http';
import {
  defineRules,
  describeCloseCode,
  describeFrame,
  HarnessCodes,
  previewText,
  VerifyFailure,
  type CloseEvent,
  type Frame,
  type LessonVerifier,
  type PrepareRun,
  type RunningServer,
  type TestClient,
  type Verification,
} from './harness/index.ts';
import { RawHttpClient, headerValue } from './harness/http.ts';
import { asObject, delay, parseJson } from './harness/json.ts';
import { urlHost } from './harness/ports.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  LOGIN_REFUSED: 'AUTH_LOGIN_REFUSED',
  LOGIN_NO_COOKIE: 'AUTH_LOGIN_NO_COOKIE',
  COOKIE_NOT_SAFE: 'AUTH_COOKIE_NOT_SAFE',
  TOKEN_TOO_SHORT: 'AUTH_TOKEN_TOO_SHORT',
  TOKEN_REUSED: 'AUTH_TOKEN_REUSED',
  WRONG_LOGIN_ACCEPTED: 'AUTH_WRONG_LOGIN_ACCEPTED',
  WRONG_LOGIN_STATUS: 'AUTH_WRONG_LOGIN_STATUS',
  LOGIN_CRASHED: 'AUTH_LOGIN_CRASHED',
  ORIGIN_NOT_CHECKED: 'AUTH_ORIGIN_NOT_CHECKED',
  ORIGIN_CHECKED_AFTER_UPGRADE: 'AUTH_ORIGIN_CHECKED_AFTER_UPGRADE',
  ORIGIN_WRONG_STATUS: 'AUTH_ORIGIN_WRONG_STATUS',
  ALLOWED_ORIGIN_REFUSED: 'AUTH_ALLOWED_ORIGIN_REFUSED',
  NO_ORIGIN_REFUSED: 'AUTH_NO_ORIGIN_REFUSED',
  SESSION_NOT_CHECKED: 'AUTH_SESSION_NOT_CHECKED',
  SESSION_CHECKED_AFTER_UPGRADE: 'AUTH_SESSION_CHECKED_AFTER_UPGRADE',
  SESSION_WRONG_STATUS: 'AUTH_SESSION_WRONG_STATUS',
  VALID_SESSION_REFUSED: 'AUTH_VALID_SESSION_REFUSED',
  QUERY_TOKEN_ACCEPTED: 'AUTH_QUERY_TOKEN_ACCEPTED',
  SESSION_NEVER_EXPIRES: 'AUTH_SESSION_NEVER_EXPIRES',
  PAYLOAD_NOT_LIMITED: 'AUTH_PAYLOAD_NOT_LIMITED',
  PAYLOAD_LIMIT_TOO_SMALL: 'AUTH_PAYLOAD_LIMIT_TOO_SMALL',
  NO_ERROR_REPLY: 'AUTH_NO_ERROR_REPLY',
  ERROR_WRONG_SHAPE: 'AUTH_ERROR_WRONG_SHAPE',
  BAD_INPUT_REACHED_OTHERS: 'AUTH_BAD_INPUT_REACHED_OTHERS',
  CLOSED_ON_BAD_INPUT: 'AUTH_CLOSED_ON_BAD_INPUT',
  CRASHED_ON_BAD_INPUT: 'AUTH_CRASHED_ON_BAD_INPUT',
  VALID_CHAT_REFUSED: 'AUTH_VALID_CHAT_REFUSED',
  CHAT_NOT_DELIVERED: 'AUTH_CHAT_NOT_DELIVERED',
  CHAT_WRONG_SHAPE: 'AUTH_CHAT_WRONG_SHAPE',
  CHAT_TEXT_CHANGED: 'AUTH_CHAT_TEXT_CHANGED',
  IDENTITY_SPOOFED: 'AUTH_IDENTITY_SPOOFED',
  FLOOD_NOT_LIMITED: 'AUTH_FLOOD_NOT_LIMITED',
  FLOOD_WRONG_CLOSE: 'AUTH_FLOOD_WRONG_CLOSE',
  FLOOD_RELAYED: 'AUTH_FLOOD_RELAYED',
  POLITE_CLIENT_CLOSED: 'AUTH_POLITE_CLIENT_CLOSED',
  LIMIT_NEVER_RESETS: 'AUTH_LIMIT_NEVER_RESETS',
  LIMIT_SHARED: 'AUTH_LIMIT_SHARED',
  LIMIT_PER_USER: 'AUTH_LIMIT_PER_USER',
  UPGRADE_NOT_ON_PORT: 'AUTH_UPGRADE_NOT_ON_PORT',
  TOKEN_PREDICTABLE: 'AUTH_TOKEN_PREDICTABLE',
  EARLIER_SESSION_ENDED: 'AUTH_EARLIER_SESSION_ENDED',
  OPEN_CONNECTION_EXPIRED: 'AUTH_OPEN_CONNECTION_EXPIRED',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: {
    text: 'Listen on the port in `process.env.PORT`, one port for the login route and the WebSocket.',
    codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED, Codes.UPGRADE_NOT_ON_PORT],
  },
  R2: {
    text: '`POST /login` with a JSON body `{ "user": …, "password": … }` that matches a pair in `USERS` answers 200 and sets the cookie `session` with the attributes `HttpOnly`, `SameSite=Strict` and `Path=/`.',
    codes: [Codes.LOGIN_REFUSED, Codes.LOGIN_NO_COOKIE, Codes.COOKIE_NOT_SAFE],
  },
  R3: {
    text: 'The session token is unguessable: at least 32 characters, from `node:crypto` (`randomBytes(32).toString(\'base64url\')`), new at every login.',
    codes: [Codes.TOKEN_TOO_SHORT, Codes.TOKEN_REUSED, Codes.TOKEN_PREDICTABLE],
  },
  R4: {
    text: 'Any other login gets 401 and no cookie: a wrong password (another user\'s too), an unknown user, a missing field, a field that is not a string; a body that is not a JSON object gets 400 or 401.',
    codes: [Codes.WRONG_LOGIN_ACCEPTED, Codes.WRONG_LOGIN_STATUS, Codes.LOGIN_CRASHED],
  },
  R5: {
    text: 'Refuse the upgrade with HTTP 403, before any 101, when it has an `Origin` header that is not exactly one of `ALLOWED_ORIGINS`.',
    codes: [Codes.ORIGIN_NOT_CHECKED, Codes.ORIGIN_CHECKED_AFTER_UPGRADE, Codes.ORIGIN_WRONG_STATUS, Codes.ALLOWED_ORIGIN_REFUSED, Codes.NO_ORIGIN_REFUSED],
  },
  R6: {
    text: 'Refuse the upgrade with HTTP 401, before any 101, unless its `Cookie` header carries the `session` of a login: none, an empty one, an unknown or altered token, a token in the query string instead of the cookie.',
    codes: [Codes.SESSION_NOT_CHECKED, Codes.SESSION_CHECKED_AFTER_UPGRADE, Codes.SESSION_WRONG_STATUS, Codes.VALID_SESSION_REFUSED, Codes.QUERY_TOKEN_ACCEPTED],
  },
  R7: {
    text: 'A session lasts `SESSION_TTL_MS` milliseconds from its login: after that, its cookie gets 401 like any other bad one.',
    codes: [Codes.SESSION_NEVER_EXPIRES, Codes.EARLIER_SESSION_ENDED, Codes.OPEN_CONNECTION_EXPIRED],
  },
  R8: {
    text: 'Refuse frames over 4096 bytes: `maxPayload: 4096`, with which ws closes the connection with 1009 itself; a frame of 4096 bytes is still read.',
    codes: [Codes.PAYLOAD_NOT_LIMITED, Codes.PAYLOAD_LIMIT_TOO_SMALL],
  },
  R9: {
    text: 'Accept only `{ "type": "chat", "text": … }` with `text` a string of 1 to 500 characters as `text.length` counts them; answer anything else with `{ "type": "error", "message": … }` (a non-empty string) to the sender alone, and keep the connection open.',
    codes: [Codes.NO_ERROR_REPLY, Codes.ERROR_WRONG_SHAPE, Codes.BAD_INPUT_REACHED_OTHERS, Codes.CLOSED_ON_BAD_INPUT, Codes.CRASHED_ON_BAD_INPUT, Codes.VALID_CHAT_REFUSED],
  },
  R10: {
    text: 'Send each chat to every open client, its sender included, as `{ "type": "chat", "from": …, "text": … }`, exactly these fields, with `text` exactly as it came.',
    codes: [Codes.CHAT_NOT_DELIVERED, Codes.CHAT_WRONG_SHAPE, Codes.CHAT_TEXT_CHANGED],
  },
  R11: {
    text: '`from` is the user of the session the connection was opened with, whatever the message says (`"from"`, `"user"`, `"username"`…).',
    codes: [Codes.IDENTITY_SPOOFED],
  },
  R12: {
    text: 'Count each connection\'s messages, valid or not: more than `RATE_LIMIT` within `RATE_WINDOW_MS` milliseconds closes that connection with 1008 and a reason, and what is over the limit is not sent to anyone.',
    codes: [Codes.FLOOD_NOT_LIMITED, Codes.FLOOD_WRONG_CLOSE, Codes.FLOOD_RELAYED],
  },
  R13: {
    text: 'Never close a client that keeps to the limit: `RATE_LIMIT` messages in a burst, then as many again once the window has passed; and one connection\'s flood costs no other connection anything.',
    codes: [Codes.POLITE_CLIENT_CLOSED, Codes.LIMIT_NEVER_RESETS, Codes.LIMIT_SHARED, Codes.LIMIT_PER_USER],
  },
});

/** The largest frame R8 allows, in bytes. */
const MAX_PAYLOAD = 4096;
/** Two tokens that differ in fewer places than this (of at least 32) were not drawn at random. */
const MIN_TOKEN_DIFFERENCE = 16;
/** The longest chat text R9 allows, in characters. */
const MAX_TEXT = 500;
/** The origin most clients come from; the other allowed one is bob's. */
const HOME = 'http://localhost:5173';
const OTHER_HOME = 'https://chat.example';
/**
 * Extra time, on top of a window, that the verifier's own clients leave between bursts. Small, because
 * each of their messages is answered before the next leaves: however late the server reads one, it
 * has read the one before by then, so the spacing the verifier keeps is the spacing the server sees.
 */
const WINDOW_MARGIN_MS = 20;
/** How long a socket that got a 101 is watched, to tell a late refusal (a close) from none. */
const AFTER_101_MS = 150;
/**
 * The verifier's clients send nothing from this long before a member's session ends until a moment
 * after: a close then that follows no message of the client's comes from the end of the session.
 */
const QUIET_BEFORE_EXPIRY_MS = 100;
const QUIET_AFTER_EXPIRY_MS = 40;
/** Time enough for a flooder to join, flood and be closed, and alice to speak. */
const FLOOD_STEP_MS = 250;

const PASSWORDS: Record<string, string> = { alice: 'wonderland', bob: 'builder', carol: 'c4rol-pass', mallory: 'm4llory' };

export default (async (v) => {
  const server = await v.start();
  const limit = Number(v.lessonEnv.RATE_LIMIT ?? 5);
  const windowMs = Number(v.lessonEnv.RATE_WINDOW_MS ?? 300);
  const ttlMs = Number(v.lessonEnv.SESSION_TTL_MS ?? 1000);
  const door = new Door(v, server);
  const room = new Room(v, limit, windowMs, ttlMs);

  await v.step('logs in with a password, and sets an HttpOnly, SameSite=Strict session cookie', ['R2', 'R3'], async () => {
    const all = [await door.login('carol'), await door.login('alice'), await door.login('alice'), await door.login('bob')];
    for (const [i, session] of all.entries()) {
      const twin = all.slice(0, i).find((s) => s.token === session.token);
      if (twin) {
        throw v.fail({
          code: Codes.TOKEN_REUSED,
          expected: `a new token at every login: ${session.user}'s ${ordinal(i + 1)} login to get a token nobody had`,
          actual: `the token given to ${twin.user} before (${describeToken(session.token)})`,
          hint: 'Make the token at each login from randomBytes(32).toString("base64url"), never from the user name, the password or the time: a token that can be worked out is a session anyone can open.',
        });
      }
    }
    for (const [i, session] of all.entries()) {
      for (const earlier of all.slice(0, i)) {
        const differ = differentCharacters(session.token, earlier.token);
        if (differ >= MIN_TOKEN_DIFFERENCE) continue;
        throw v.fail({
          code: Codes.TOKEN_PREDICTABLE,
          expected: `tokens nobody can work out from another: two random ones differ almost everywhere, at least in ${MIN_TOKEN_DIFFERENCE} places`,
          actual: `a token for ${earlier.user}, then one for ${session.user} that differs from it in only ${differ} of its ${session.token.length} characters: the one counted on from the other`,
          hint: "A token that changes by a little at each login (a counter, the time, encoded) tells whoever holds one what the others are. Make each from randomBytes(32).toString('base64url'), from node:crypto.",
        });
      }
    }
    v.note(`✓ four logins, four different tokens of ${[...new Set(all.map((s) => s.token.length))].join(' and ')} characters`);
  });

  await survivesLogin(v, door, () =>
    v.step('refuses wrong passwords, unknown users and bodies of the wrong shape: 401, and no cookie', ['R4'], async () => {
      await door.wrongLogin(JSON.stringify({ user: 'alice', password: 'Wonderland' }), 'a wrong password (one capital letter)');
      await door.wrongLogin(JSON.stringify({ user: 'alice', password: PASSWORDS.bob }), "bob's password for alice");
      await door.wrongLogin(JSON.stringify({ user: 'alice' }), 'no password at all');
      await door.wrongLogin(JSON.stringify({ user: 'trudy', password: 'wonderland' }), 'a user not in USERS, with a password that exists');
      await door.wrongLogin(JSON.stringify({ user: 'trudy' }), 'a user not in USERS, and no password');
      await door.wrongLogin(JSON.stringify({ user: ['alice'], password: PASSWORDS.alice }), 'a user that is an array');
      await door.wrongLogin(JSON.stringify({ user: 'alice', password: { $ne: '' } }), 'a password that is an object');
      await door.wrongLogin('null', 'null as the body', { notJson: true });
      await door.wrongLogin('user=alice&password=wonderland', 'a body that is not JSON', { notJson: true });
    }),
  );

  let mallory!: TestClient;
  let alice!: TestClient;
  let bob!: TestClient;
  let carol!: TestClient;
  let carolFirst!: Session;
  await v.step('lets in a good session from each allowed origin, and from a client with no Origin', ['R1', 'R5', 'R6', 'R7', 'R10', 'R11'], async () => {
    mallory = await room.join(door, 'mallory', { origin: HOME, session: await door.login('mallory') });
    // Logged in twice: her first session must still open a connection (R7: logging in again ends none).
    const aliceEarlier = await door.login('alice');
    await door.login('alice');
    alice = await room.join(door, 'alice', { origin: HOME, session: aliceEarlier, earlier: true });
    v.note('alice logged in twice, and connects with the first of the two sessions');
    bob = await room.join(door, 'bob', { origin: OTHER_HOME, session: await door.login('bob'), cookies: (s) => `theme=dark; session=${s}; lang=fr` });
    v.note('bob comes from the other allowed origin, with a cookie before his session and one after it');
    // Logged in just before it is used: the session that must have expired by the end of the story.
    carolFirst = await door.login('carol');
    carol = await room.join(door, 'carol', { session: carolFirst, noOrigin: true });
    v.note("carol's client is no browser: it sends no Origin header at all");
    await room.say(alice, 'hello');
  });

  await v.step('refuses a page of another site, with the victim\'s cookie, before the upgrade: 403', ['R5'], async () => {
    const stolen = await door.login('alice');
    door.remember(stolen.token, "<alice's token>");
    v.note("evil-page is a page on another site, open in alice's browser: the browser sends alice's cookie with its upgrade request");
    for (const origin of ['https://evil.example', 'https://chat.example.evil.test', 'https://notchat.example', 'http://chat.example', 'https://chat.example:8443', 'http://localhost:5173.evil.test', 'http://localhost', 'https://chat', 'http://localhost:517', 'null']) {
      await door.expectOriginRefused('evil-page', origin, stolen.token);
    }
    await room.say(alice, 'still just us?');
  });

  await v.step('refuses a missing, empty, invented, altered or misplaced session before the upgrade: 401', ['R6'], async () => {
    const fresh = await door.login('alice');
    door.remember(fresh.token, "<alice's token>");
    const altered = door.remember(alter(fresh.token), "<alice's token, its last character changed>");
    const invented = door.remember(randomBytes(32).toString('base64url'), '<43 random characters>');
    await door.expectSessionRefused({ what: 'no cookie at all' });
    await door.expectSessionRefused({ cookie: 'theme=dark', what: 'a cookie, but no session' });
    await door.expectSessionRefused({ cookie: 'session=', what: 'an empty session' });
    await door.expectSessionRefused({ cookie: `session=${invented}`, what: 'a token nobody was given' });
    await door.expectSessionRefused({ cookie: `session=${altered}`, what: "alice's token with its last character changed" });
    await door.expectSessionRefused({ path: `/?session=${encodeURIComponent(fresh.token)}`, what: "alice's valid token in the query string, and no cookie", query: true });
    await door.expectSessionRefused({ path: `/?token=${encodeURIComponent(fresh.token)}`, what: "alice's valid token in the query string as token, and no cookie", query: true });
    await door.expectEitherRefusal('https://evil.example', `session=${altered}`);
    await room.say(bob, 'nobody else got in');
  });

  await survives(v, room, () =>
    // Some twenty messages, at a pace within the limit: a limit that never resets shows here first.
    v.step('answers every message that is not a chat with an error, to its sender alone, and reads every chat that is', ['R7', 'R8', 'R9', 'R10', 'R13'], async () => {
      const bad: Array<[TestClient, Frame, string]> = [
        [alice, text('hello'), 'text that is not JSON'],
        [bob, { kind: 'binary', data: Buffer.from('{"type":"chat","text":"in binary"}') }, 'a chat sent as a binary frame'],
        [carol, text(''), 'an empty frame'],
        [alice, text('null'), 'null'],
        [bob, text('42'), 'a number'],
        [carol, text('["chat","hi"]'), 'an array'],
        [alice, text('{}'), 'an empty object'],
        [bob, text('{"type":"shout","text":"HI"}'), 'another type'],
        [carol, text('{"text":"no type"}'), 'no type'],
        [alice, text('{"type":"chat"}'), 'a chat without text'],
        [bob, text('{"type":"chat","text":""}'), 'a chat with an empty text'],
        [carol, text('{"type":"chat","text":null}'), 'a chat whose text is null'],
        [alice, text('{"type":"chat","text":42}'), 'a chat whose text is a number'],
        [bob, text('{"type":"chat","text":["hi"]}'), 'a chat whose text is an array'],
        [carol, text(JSON.stringify({ type: 'chat', text: 'x'.repeat(MAX_TEXT + 1) })), `a chat of ${MAX_TEXT + 1} characters`],
        [alice, text(JSON.stringify({ type: 'chat', text: `${'x'.repeat(MAX_TEXT - 1)}🎉` })), `a chat of ${MAX_TEXT + 1} characters as text.length counts them (${MAX_TEXT - 1} x and an emoji, which counts 2)`],
      ];
      for (const [sender, frame, what] of bad) await room.sendBad(sender, frame, what);
      // Anything the bad messages caused was sent before this relay: the next thing each hears must be it.
      await room.say(carol, 'back to normal');
      const longest = '€'.repeat(MAX_TEXT);
      v.note(`Now chats that are valid: ${MAX_TEXT} characters of € (${Buffer.byteLength(longest)} bytes), emoji and spaces, a single character, ${MAX_TEXT - 2} x and an emoji (${MAX_TEXT} as text.length counts), fields nobody asked for`);
      await room.say(alice, longest);
      await room.say(bob, '  🎉 café, naïve — 漢字  ');
      await room.say(alice, 'k');
      await room.say(bob, `${'x'.repeat(MAX_TEXT - 2)}🎉`);
      await room.say(carol, 'extra fields', { raw: JSON.stringify({ type: 'chat', text: 'extra fields', color: 'red', admin: true }) });
    }),
  );

  await v.step('takes the name from the session, whatever the message claims', ['R7', 'R10', 'R11'], async () => {
    v.note('mallory connected first, bob in the middle, carol last');
    await room.say(mallory, "it's me, alice", { raw: JSON.stringify({ type: 'chat', text: "it's me, alice", from: 'alice' }) });
    await room.say(bob, 'carol here, honest', { raw: JSON.stringify({ type: 'chat', user: 'carol', text: 'carol here, honest' }) });
    await room.say(carol, 'signed, bob', { raw: JSON.stringify({ text: 'signed, bob', username: 'bob', type: 'chat', from: 'bob' }) });
  });

  await v.step('closes a connection that sends a frame over 4096 bytes, with 1009, and only that one', ['R7', 'R8', 'R10'], async () => {
    const atLimit = chatOfBytes(MAX_PAYLOAD, 'x');
    await room.sendBad(mallory, text(atLimit), `a frame of exactly ${MAX_PAYLOAD} bytes (a text too long for a chat, not for a frame)`);
    room.sendRaw(mallory, text(chatOfBytes(MAX_PAYLOAD + 1, 'y')));
    const closed = await mallory.expectClose('the server to close the connection with 1009 (message too big)').catch(async (error: unknown) => {
      if (!(error instanceof VerifyFailure)) throw error;
      throw v.fail({
        code: Codes.PAYLOAD_NOT_LIMITED,
        expected: `a close with 1009 (message too big) for a frame of ${MAX_PAYLOAD + 1} bytes`,
        actual: error.actual ?? error.message,
        hint: 'Give the WebSocketServer a maxPayload: new WebSocketServer({ ..., maxPayload: 4096 }). ws then refuses a larger frame before reading it, and closes with 1009; without it, ws reads frames of up to 100 MiB, into your memory.',
      });
    });
    if (closed.code !== 1009) {
      const expired = room.closedAtSessionEnd(mallory, closed);
      if (expired) throw expired;
      throw v.fail({
        code: Codes.PAYLOAD_NOT_LIMITED,
        expected: `a close with 1009 (message too big) for a frame of ${MAX_PAYLOAD + 1} bytes`,
        actual: `a close ${describeCloseCode(closed.code)}`,
        hint: 'Let ws do it: maxPayload: 4096 in the WebSocketServer\'s options. It closes with 1009 before the frame is read.',
      });
    }
    room.leave(mallory);
    await room.say(alice, 'mallory is gone');
  });

  await v.step('lets a client send RATE_LIMIT messages in a burst, and as many again once the window has passed', ['R7', 'R10', 'R13'], async () => {
    await room.quiet();
    v.note(`Nobody has sent anything for ${windowMs + WINDOW_MARGIN_MS} ms; bob sends ${limit} messages at once, the limit`);
    await room.burst(bob, limit, 'burst', { closedCode: Codes.POLITE_CLIENT_CLOSED });
    await room.quiet();
    v.note(`The window has passed; bob sends ${limit} more at once`);
    await room.burst(bob, limit, 'again', { closedCode: Codes.LIMIT_NEVER_RESETS });
  });

  await v.step('closes a flood with 1008 and a reason, and that connection only', ['R7', 'R12', 'R13'], async () => {
    await room.quiet();
    // Alice speaks at once after the flood, whatever the time: no session of hers may end meanwhile.
    await room.clearOfExpiries(FLOOD_STEP_MS);
    // mallory on a second device, a tab that floods nothing: the limit is the connection's, not the user's.
    const phone = await room.join(door, 'mallory-phone', { origin: HOME, session: await door.login('mallory') });
    const flooder = await room.join(door, 'mallory2', { origin: HOME, session: await door.login('mallory') });
    v.note(`mallory is back, last in line, and sends ${limit * 4} messages as fast as she can`);
    const floodCount = limit * 4;
    for (let i = 1; i <= floodCount; i++) room.sendRaw(flooder, text(JSON.stringify({ type: 'chat', text: `flood ${i}` })));
    await room.expectFloodClosed(flooder, floodCount);
    room.leave(flooder);
    // At once, in the same window: a limit shared by everyone would close alice now.
    await room.say(alice, 'is the room still up?', { closedCode: Codes.LIMIT_SHARED, skipFlood: true, now: true });
    // And mallory's other connection, in the same window: a count kept per user would close it now.
    await room.say(phone, 'my other tab did nothing', { closedCode: Codes.LIMIT_PER_USER, skipFlood: true, now: true });
    room.leave(phone);
    // Garbage costs the server as much as chat: it counts too.
    await room.quiet();
    const garbage = await room.join(door, 'mallory3', { origin: HOME, session: await door.login('mallory') });
    v.note(`mallory tries again, with ${floodCount} frames that are not even JSON`);
    for (let i = 1; i <= floodCount; i++) room.sendRaw(garbage, text(`nope ${i}`));
    await room.expectFloodClosed(garbage, floodCount, { garbage: true });
    room.leave(garbage);
  });

  await v.step('refuses a session older than SESSION_TTL_MS, and keeps the connection opened with it in time', ['R7', 'R10'], async () => {
    const age = Date.now() - carolFirst.at;
    if (age < ttlMs + WINDOW_MARGIN_MS) await delay(ttlMs + WINDOW_MARGIN_MS - age);
    v.note(`The session carol connected with is more than ${ttlMs} ms old now (SESSION_TTL_MS)`);
    await door.expectExpired(carolFirst);
    await room.say(carol, 'my connection is fine, though');
    await room.say(alice, 'goodnight');
    room.expectNothingMore();
  });
}) satisfies LessonVerifier;

/**
 * `wsw run`: the interactive client logs in as alice just before its upgrade request leaves, and
 * comes from the first allowed origin, as alice's browser tab would.
 */
export const prepareRun: PrepareRun = async (v) => {
  const origin = (v.lessonEnv.ALLOWED_ORIGINS ?? HOME).split(',')[0];
  const [user = 'alice', password = ''] = (v.lessonEnv.USERS ?? '').split(',')[0]?.split(':') ?? [];
  return {
    client: {
      ws: {
        origin,
        // Called with the upgrade request before it is sent: log in first, then send it with the cookie.
        finishRequest: (request: ClientRequest) => {
          const server = v.servers[0]!;
          void postLogin(server, JSON.stringify({ user, password }), v.timeouts.stepMs)
            .then((answer) => {
              const token = sessionCookie(answer.setCookies)?.value;
              v.note(token ? `Logged in as ${user}: HTTP ${answer.status}, cookie session=${describeToken(token)}` : `Logging in as ${user} got HTTP ${answer.status} and no session cookie`);
              if (token) request.setHeader('Cookie', `session=${token}`);
            })
            .catch((error: Error) => v.note(`Logging in as ${user} failed: ${error.message}`))
            .finally(() => request.end());
        },
      },
    },
  };
};

// ————————————————————————————————————————— the door: logins and upgrade requests, answered over HTTP

/** A login that worked: whose, its token, and when. */
interface Session {
  user: string;
  token: string;
  at: number;
}

interface LoginAnswer {
  status: number;
  statusMessage: string;
  setCookies: string[];
  body: string;
}

/** What an upgrade request got: its status (0 for none), and, after a 101, how the server went on. */
interface Knock {
  status: number;
  statusMessage: string;
  /** After a 101: the close code the server sent within a moment, or 'open', or 'dropped'. */
  after?: number | 'open' | 'dropped';
}

/** Logs in and upgrades over plain HTTP, so that every status and header can be read and named. */
class Door {
  constructor(
    private readonly v: Verification,
    private readonly server: RunningServer,
  ) {}

  private log(name: string, line: string, tone?: 'detail' | 'error'): void {
    this.v.transcript.add({ kind: 'client', name }, line, tone);
  }

  /** Logs `user` in with the right password, and returns the session, checking the cookie it came in. */
  async login(user: string): Promise<Session> {
    const answer = await this.post(user, JSON.stringify({ user, password: PASSWORDS[user] }));
    if (answer.status !== 200) {
      throw this.v.fail({
        code: Codes.LOGIN_REFUSED,
        expected: `HTTP 200 for ${user}'s login with the password USERS gives`,
        actual: `HTTP ${answer.status} ${answer.statusMessage}`.trim(),
        hint: 'Read USERS from process.env ("name:password" pairs, comma-separated), parse the JSON body (express.json(), or JSON.parse of what you read), and compare its user and password with them.',
      });
    }
    const cookie = sessionCookie(answer.setCookies);
    if (!cookie) {
      throw this.v.fail({
        code: Codes.LOGIN_NO_COOKIE,
        expected: 'a Set-Cookie header that sets the cookie session',
        actual: answer.setCookies.length ? `Set-Cookie: ${answer.setCookies.map(maskCookie).join(', ')}` : `no Set-Cookie header (the body: ${previewText(answer.body.slice(0, 200))})`,
        hint: "A browser's WebSocket cannot send a token in a header, but it sends the site's cookies with the upgrade request: res.cookie('session', token, { httpOnly: true, sameSite: 'strict', path: '/' }) in Express, or a Set-Cookie header of your own.",
      });
    }
    const missing = [
      ['HttpOnly', /^httponly$/i],
      ['SameSite=Strict', /^samesite=strict$/i],
      ['Path=/', /^path=\/$/i],
    ].filter(([, pattern]) => !cookie.attributes.some((a) => (pattern as RegExp).test(a))).map(([name]) => name as string);
    if (missing.length > 0) {
      throw this.v.fail({
        code: Codes.COOKIE_NOT_SAFE,
        expected: 'the session cookie with HttpOnly, SameSite=Strict and Path=/',
        actual: `Set-Cookie: ${maskCookie(cookie.line)}, without ${missing.join(' or ')}`,
        hint: 'HttpOnly keeps page scripts (and an injected one) from reading the cookie; SameSite=Strict keeps other sites\' pages from sending it; Path=/ sends it to every path, the WebSocket\'s included. With Express: res.cookie(name, token, { httpOnly: true, sameSite: "strict", path: "/" }).',
      });
    }
    if (cookie.value.length < 32) {
      throw this.v.fail({
        code: Codes.TOKEN_TOO_SHORT,
        expected: 'a session token of at least 32 characters',
        actual: `a token of ${cookie.value.length} characters${/^\d+$/.test(cookie.value) ? ', all digits' : ''}`,
        hint: "A short token is one an attacker can find by trying. randomBytes(32).toString('base64url'), from node:crypto, gives 43 characters nobody can guess; Math.random() is predictable, and a counter or the time more so.",
      });
    }
    return { user, token: cookie.value, at: Date.now() };
  }

  /** A login that must fail: 401 (or 400 for a body that is not JSON), and no session cookie. */
  async wrongLogin(body: string, what: string, options: { notJson?: boolean } = {}): Promise<void> {
    this.pending = what;
    const answer = await this.post('stranger', body);
    this.pending = undefined;
    const cookie = sessionCookie(answer.setCookies);
    const allowed = options.notJson ? [400, 401] : [401];
    if (answer.status === 200 || cookie) {
      throw this.v.fail({
        code: Codes.WRONG_LOGIN_ACCEPTED,
        expected: `${allowed.join(' or ')} and no cookie for ${what}`,
        actual: `HTTP ${answer.status}${cookie ? ', with a session cookie' : ''}`,
        hint: 'Log in only when both fields are strings and the password is the one USERS gives that user: users.get(user) === password. Any password in the list, or a truthy check, lets anyone in as anyone.',
      });
    }
    if (!allowed.includes(answer.status)) {
      throw this.v.fail({
        code: Codes.WRONG_LOGIN_STATUS,
        expected: `HTTP ${allowed.join(' or ')} for ${what}`,
        actual: `HTTP ${answer.status} ${answer.statusMessage}`.trim(),
        hint: 'A wrong login is 401 Unauthorized, whatever is wrong with it: check that user and password are strings before using them, so that a strange body is a 401, not an error (500).',
      });
    }
  }

  /** The wrong login being tried, if the program dies on it. */
  pending?: string;

  private async post(name: string, body: string): Promise<LoginAnswer> {
    this.log(name, `POST /login ${previewText(body).replace(/("password":)"[^"]*"/, '$1"…"')}`);
    const answer = await Promise.race([postLogin(this.server, body, this.v.timeouts.stepMs), this.v.programGone]).catch((error: unknown) => {
      if (error instanceof VerifyFailure) throw error;
      throw this.v.fail({
        code: Codes.LOGIN_REFUSED,
        expected: `an answer to POST /login within ${this.v.timeouts.stepMs} ms`,
        actual: (error as Error).message,
        hint: 'Answer POST /login on the same server as the WebSocket, and end every answer (res.end, res.json).',
      });
    });
    const cookies = answer.setCookies.map(maskCookie);
    this.log(name, `← HTTP ${answer.status} ${answer.statusMessage}${cookies.length ? `, Set-Cookie: ${cookies.join(', ')}` : ''}`.trim());
    return answer;
  }

  /** An upgrade request written by hand: every header under the verifier's control, every answer readable. */
  async knock(name: string, options: { origin?: string; cookie?: string; path?: string }): Promise<Knock> {
    const raw = new RawHttpClient(name, { host: this.server.host, port: this.server.port, timeoutMs: this.v.timeouts.stepMs, transcript: this.v.transcript });
    const headers: Array<[string, string]> = [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
      ['Sec-WebSocket-Version', '13'],
    ];
    if (options.origin !== undefined) headers.push(['Origin', options.origin]);
    if (options.cookie !== undefined) headers.push(['Cookie', options.cookie]);
    const path = options.path ?? '/';
    const shownPath = path.replace(/((?:session|token)=)[^&]+/, (_, k: string) => `${k}<alice's token>`);
    const shownCookie = options.cookie?.replace(/(session=)([^;]+)/, (_, k: string, t: string) => `${k}${this.describeKnownToken(t)}`);
    this.log(name, `GET ${shownPath} Upgrade: websocket${options.origin !== undefined ? `, Origin: ${options.origin}` : ', no Origin'}${shownCookie !== undefined ? `, Cookie: ${shownCookie}` : ', no Cookie'}`);
    const { exchange, socket, rest } = await Promise.race([raw.upgrade({ path, headers }), this.v.programGone]);
    const head = exchange.complete ? exchange.response : exchange.head;
    if (!head) {
      socket.destroy();
      this.log(name, `✂ no HTTP answer: the connection ${exchange.complete || exchange.stopped === 'closed' ? 'was closed' : 'stayed silent'}`, 'error');
      return { status: 0, statusMessage: '' };
    }
    if (head.statusCode !== 101) {
      socket.destroy();
      this.log(name, `← HTTP ${head.statusCode} ${head.statusMessage}`.trim());
      return { status: head.statusCode, statusMessage: head.statusMessage };
    }
    this.log(name, `← HTTP 101 Switching Protocols${headerValue(head, 'sec-websocket-accept') ? '' : ' (without Sec-WebSocket-Accept)'}`, 'error');
    const after = await watchAfter101(socket, rest, AFTER_101_MS);
    socket.destroy();
    this.log(name, after === 'open' ? `the connection is open: ${name} is in` : after === 'dropped' ? '✂ then the connection dropped' : `← then close ${describeCloseCode(after)}`, 'error');
    return { status: 101, statusMessage: 'Switching Protocols', after };
  }

  private readonly tokens = new Map<string, string>();
  private describeKnownToken(token: string): string {
    return this.tokens.get(token) ?? `<${token.length} characters>`;
  }

  /** Names a token in the transcript by whose it is, never by its value, which changes every run. */
  remember(token: string, label: string): string {
    this.tokens.set(token, label);
    return token;
  }

  async expectOriginRefused(name: string, origin: string, token: string): Promise<void> {
    const knock = await this.knock(name, { origin, cookie: `session=${token}` });
    if (knock.status === 403) return;
    const expected = `HTTP 403 before any 101 for Origin ${origin}, which ALLOWED_ORIGINS does not list (with a valid session cookie)`;
    if (knock.status === 101) {
      const late = typeof knock.after === 'number' || knock.after === 'dropped';
      throw this.v.fail({
        code: late ? Codes.ORIGIN_CHECKED_AFTER_UPGRADE : Codes.ORIGIN_NOT_CHECKED,
        expected,
        actual: late ? `HTTP 101, and then a close: the page was in, if only for a moment` : 'HTTP 101: the page of another site is in the chat, as alice',
        hint: late
          ? "Closing in 'connection' is too late: the 101 has gone, and the attacker's page holds an open socket. Check the Origin before the upgrade: in verifyClient, or in server.on('upgrade') before handleUpgrade."
          : /chat|localhost/.test(origin)
            ? `Compare the Origin with each allowed origin exactly (a Set of them, .has(origin)): ${origin} only looks like one of them. includes (of the list's text or of an origin), startsWith and endsWith all let look-alikes in.`
            : "Read req.headers.origin in the upgrade request and refuse it unless ALLOWED_ORIGINS (split on ',') lists it exactly: a browser sends the victim's cookie with any page's request, so the cookie alone proves nothing.",
      });
    }
    throw this.v.fail({
      code: Codes.ORIGIN_WRONG_STATUS,
      expected,
      actual: knock.status === 0 ? 'no HTTP answer at all' : `HTTP ${knock.status} ${knock.statusMessage}`.trim(),
      hint:
        knock.status === 401
          ? "401 says who you are is wrong; here the session is fine and the page is not: 403 Forbidden. ws's verifyClient refuses with 401 unless told otherwise: done(false, 403)."
          : 'Answer with a status line before closing: socket.write("HTTP/1.1 403 Forbidden\\r\\n\\r\\n") then socket.destroy() in an upgrade handler, or done(false, 403) in verifyClient.',
    });
  }

  async expectSessionRefused(options: { cookie?: string; path?: string; what: string; query?: boolean }): Promise<void> {
    const knock = await this.knock('stranger', { origin: HOME, cookie: options.cookie, path: options.path });
    if (knock.status === 401) return;
    const expected = `HTTP 401 before any 101 for ${options.what}, from an allowed origin`;
    if (knock.status === 101) {
      const late = typeof knock.after === 'number' || knock.after === 'dropped';
      throw this.v.fail({
        code: options.query && !late ? Codes.QUERY_TOKEN_ACCEPTED : late ? Codes.SESSION_CHECKED_AFTER_UPGRADE : Codes.SESSION_NOT_CHECKED,
        expected,
        actual: late ? 'HTTP 101, and then a close: a connection opened before the session was checked' : 'HTTP 101: the connection is open',
        hint: options.query
          ? 'Take the token from the cookie only. A URL is written into access logs, proxy logs and browser history: a token there is read by whoever reads them, and still works.'
          : late
            ? "Check the session before the upgrade (verifyClient, or server.on('upgrade') before handleUpgrade): refused there, no connection ever opens."
            : 'Find the session cookie in req.headers.cookie (split on ";", then on "="), and let the upgrade through only if that token is in your sessions, and not expired.',
      });
    }
    throw this.v.fail({
      code: Codes.SESSION_WRONG_STATUS,
      expected,
      actual: knock.status === 0 ? 'no HTTP answer at all' : `HTTP ${knock.status} ${knock.statusMessage}`.trim(),
      hint:
        knock.status === 403
          ? 'This origin is allowed; what is wrong is the session, which is 401 Unauthorized. Keep 403 for origins ALLOWED_ORIGINS does not list.'
          : 'Answer with a status line before closing: "HTTP/1.1 401 Unauthorized\\r\\n\\r\\n" in an upgrade handler, or done(false, 401) in verifyClient.',
    });
  }

  /** Both the origin and the session are wrong: either refusal is right, but a refusal it must be. */
  async expectEitherRefusal(origin: string, cookie: string): Promise<void> {
    const knock = await this.knock('stranger', { origin, cookie });
    if (knock.status === 401 || knock.status === 403) return;
    throw this.v.fail({
      code: knock.status === 101 ? Codes.SESSION_NOT_CHECKED : Codes.SESSION_WRONG_STATUS,
      expected: 'HTTP 401 or 403 before any 101, for a wrong origin with a wrong session',
      actual: knock.status === 0 ? 'no HTTP answer at all' : `HTTP ${knock.status} ${knock.statusMessage}`.trim(),
      hint: 'Each check refuses on its own: a wrong origin is 403 whatever the session, a wrong session 401 whatever the origin.',
    });
  }

  async expectExpired(session: Session): Promise<void> {
    this.remember(session.token, "<the token carol connected with>");
    const knock = await this.knock('stranger', { origin: HOME, cookie: `session=${session.token}` });
    if (knock.status === 401) return;
    throw this.v.fail({
      code: knock.status === 101 ? Codes.SESSION_NEVER_EXPIRES : Codes.SESSION_WRONG_STATUS,
      expected: `HTTP 401 for the session carol connected with, logged in ${Date.now() - session.at} ms ago: SESSION_TTL_MS is ${this.v.lessonEnv.SESSION_TTL_MS}`,
      actual: knock.status === 0 ? 'no HTTP answer at all' : `HTTP ${knock.status} ${knock.statusMessage}`.trim(),
      hint:
        knock.status === 101
          ? 'Store an expiry with each session, Date.now() + Number(process.env.SESSION_TTL_MS) (milliseconds, not seconds), and refuse at the upgrade a session whose expiry has passed. A stolen cookie that never expires is a key that works forever.'
          : 'An expired session is a bad session like any other: 401 Unauthorized.',
    });
  }
}

// ————————————————————————————————————————— the room: chats, errors, and the pace of every client

interface JoinOptions {
  session: Session;
  /** The session is the first of two logins of its user: a refusal means the second ended it. */
  earlier?: boolean;
  origin?: string;
  noOrigin?: boolean;
  cookies?: (token: string) => string;
}

interface SayOptions {
  /** The frame to send, when it is not the plain {type, text}. */
  raw?: string;
  /** The code when a listener is closed instead of hearing it. */
  closedCode?: string;
  /** The flood's relays may still be on their way: skip them, counting, before this relay. */
  skipFlood?: boolean;
  /** Send at once, in the window of what was just sent, instead of waiting for a quiet moment. */
  now?: boolean;
}

/** A bad message that was sent, so that it can be named wherever it turns up. */
interface BadInput {
  frame: Frame;
  what: string;
  by: string;
}

/**
 * The chat as the verifier sees it: who is in (and as which user), what each has sent and when, so
 * that none of the verifier's own clients goes over the limit unless a step means it to.
 */
class Room {
  private readonly members: TestClient[] = [];
  private readonly users = new Map<TestClient, string>();
  /** Send times of each client, to keep it under the limit. */
  private readonly sends = new Map<TestClient, number[]>();
  private lastSend = 0;
  /** Send times of every client. */
  private readonly allSends: number[] = [];
  private readonly badTexts = new Map<string, BadInput>();
  /** The bad messages as they were sent, to tell one passed on as it came from the program's own news. */
  private readonly badFrames = new Map<string, BadInput>();
  /** The bad message whose answer is awaited: if the program dies now, this is what killed it. */
  pendingBad?: BadInput;
  /** The flood's texts, to tell a relayed flood message from anything else. */
  private readonly floodTexts = new Set<string>();

  constructor(
    private readonly v: Verification,
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly ttlMs: number,
  ) {}

  /** The session each member connected with, and when its connection was closed, if it was. */
  private readonly sessions = new Map<TestClient, Session>();
  private readonly closedAt = new Map<TestClient, number>();

  /** Connects a client from its origin with its session cookie; a refusal is named by its status. */
  async join(door: Door, name: string, options: JoinOptions): Promise<TestClient> {
    door.remember(options.session.token, `<${options.session.user}'s token>`);
    const cookie = (options.cookies ?? ((t: string) => `session=${t}`))(options.session.token);
    this.v.note(`${name} connects${options.noOrigin ? ' with no Origin header' : ` from ${options.origin}`}, with the cookie ${cookie.replace(options.session.token, `<${options.session.user}'s token>`)}`);
    try {
      const client = await this.v.client(name, { log: 'read', ws: { headers: { Cookie: cookie }, ...(options.noOrigin ? {} : { origin: options.origin }) } });
      this.members.push(client);
      this.users.set(client, options.session.user);
      this.sessions.set(client, options.session);
      this.sends.set(client, []);
      client.ws.once('close', () => this.closedAt.set(client, Date.now()));
      return client;
    } catch (error) {
      if (!(error instanceof VerifyFailure) || error.code !== HarnessCodes.HANDSHAKE_REJECTED) throw error;
      const status = Number(/HTTP (\d+)/.exec(error.actual ?? '')?.[1] ?? 0);
      const who = `${name}, with ${options.session.user}'s session from a login ${Date.now() - options.session.at} ms ago, ${options.noOrigin ? 'and no Origin header' : `from ${options.origin}`}`;
      if (status !== 401 && status !== 403) {
        throw this.v.fail({
          code: Codes.UPGRADE_NOT_ON_PORT,
          expected: `HTTP 101 for ${who}: the upgrade request to / on PORT, where POST /login was answered`,
          actual: `${error.actual}: nothing on PORT accepts the upgrade`,
          hint: 'One port for both: attach the WebSocketServer to the HTTP server that listens on PORT (new WebSocketServer({ server }), or noServer and server.on(\'upgrade\')), not to a port of its own, and accept the upgrade on the path /.',
        });
      }
      if (status === 401 && options.earlier) {
        throw this.v.fail({
          code: Codes.EARLIER_SESSION_ENDED,
          expected: `HTTP 101 for ${who}: ${options.session.user} logged in again since, which ends no earlier session`,
          actual: error.actual,
          hint: 'A login adds a session and removes none: the same user may have a tab open on each of two devices. Keep sessions keyed by token (a Map from token to { user, expires }), never one per user, and let each end at its own expiry.',
        });
      }
      if (status === 403) {
        throw this.v.fail({
          code: options.noOrigin ? Codes.NO_ORIGIN_REFUSED : Codes.ALLOWED_ORIGIN_REFUSED,
          expected: `HTTP 101 for ${who}`,
          actual: error.actual,
          hint: options.noOrigin
            ? 'Only browsers send Origin, and they always do: a client without one is no browser, so no page of another site is behind it. Refuse an Origin that is there and not listed; let a missing one through to the session check.'
            : `${options.origin} is in ALLOWED_ORIGINS. Split the list on ',' and allow every origin in it, exactly as written (a Set, and .has(origin)).`,
        });
      }
      throw this.v.fail({
        code: Codes.VALID_SESSION_REFUSED,
        expected: `HTTP 101 for ${who}`,
        actual: error.actual,
        hint: 'The session travels in the Cookie header ("theme=dark; session=…; lang=fr": other cookies may come with it). Split it on ";", trim, find the pair named session, and look its token up in the sessions your login route made. Not in the URL: a browser puts the cookie in the header by itself.',
      });
    }
  }

  leave(client: TestClient): void {
    this.members.splice(this.members.indexOf(client), 1);
  }

  /** Waits until no client has sent for a whole window, and a margin. */
  async quiet(): Promise<void> {
    const left = this.lastSend + this.windowMs + WINDOW_MARGIN_MS - Date.now();
    if (left > 0) await delay(left);
    await this.clearOfExpiries();
  }

  /**
   * Waits, when a member's session ends about now, until it has ended a moment ago: a server that
   * closes connections when their session ends (R7 says they stay open) then does it while nobody
   * sends, and the close cannot pass for a rate limit's.
   */
  async clearOfExpiries(horizonMs = 0): Promise<void> {
    for (;;) {
      const now = Date.now();
      const ending = [...this.sessions.values()]
        .map((s) => s.at + this.ttlMs)
        .find((end) => now > end - QUIET_BEFORE_EXPIRY_MS - horizonMs && now < end + QUIET_AFTER_EXPIRY_MS);
      if (ending === undefined) return;
      await delay(ending + QUIET_AFTER_EXPIRY_MS - now);
    }
  }

  /**
   * Sends a frame, first waiting, if need be, until fewer than RATE_LIMIT - 1 frames have been sent in
   * the last window (and a margin), by anyone: the verifier's clients keep clear of the limit, even a
   * limit that is wrongly shared by the whole server, until a step means to test it.
   */
  private async politeSend(client: TestClient, frame: Frame): Promise<void> {
    const span = this.windowMs + WINDOW_MARGIN_MS;
    const recent = this.allSends.filter((t) => Date.now() - t < span);
    if (recent.length >= this.limit - 1) await delay(recent[recent.length - (this.limit - 1)]! + span - Date.now());
    await this.clearOfExpiries();
    this.sendRaw(client, frame);
  }

  /** Sends a frame at once, whatever the pace. */
  sendRaw(client: TestClient, frame: Frame): void {
    this.sends.get(client)?.push(Date.now());
    this.allSends.push(Date.now());
    this.lastSend = Date.now();
    if (frame.kind === 'binary') client.sendBinary(frame.data);
    else client.sendText(frame.data.toString('utf8'));
  }

  /** `from` sends a chat: every member, `from` included, must receive its relay next. */
  async say(from: TestClient, chatText: string, options: SayOptions = {}): Promise<void> {
    const frame = text(options.raw ?? JSON.stringify({ type: 'chat', text: chatText }));
    if (options.now) this.sendRaw(from, frame);
    else await this.politeSend(from, frame);
    // The sender first: an error it got instead is the news.
    for (const listener of [from, ...this.members.filter((m) => m !== from)]) await this.expectRelay(from, listener, chatText, options);
  }

  /** `count` chats from `from` at once, all of which every member must receive, in order. */
  async burst(from: TestClient, count: number, label: string, options: SayOptions): Promise<void> {
    const texts = Array.from({ length: count }, (_, i) => `${label} ${i + 1} of ${count}`);
    for (const t of texts) this.sendRaw(from, text(JSON.stringify({ type: 'chat', text: t })));
    // The sender first: if it is closed for its burst, that is what to tell.
    for (const listener of [from, ...this.members.filter((m) => m !== from)]) for (const t of texts) await this.expectRelay(from, listener, t, options);
  }

  /** A message that must be refused: its sender gets an error; nobody else anything (checked by the next relay). */
  async sendBad(sender: TestClient, frame: Frame, what: string): Promise<void> {
    const input: BadInput = { frame, what, by: sender.name };
    if (frame.kind === 'text') {
      this.badFrames.set(frame.data.toString('utf8'), input);
      const parsed = asObject(parseJson(frame.data.toString('utf8')));
      this.badTexts.set(typeof parsed?.text === 'string' ? parsed.text : frame.data.toString('utf8'), input);
    }
    this.pendingBad = input;
    await this.politeSend(sender, frame);
    let item = await this.next(sender, `an error for ${what}`, { timeoutCode: Codes.NO_ERROR_REPLY, timeoutHint: ERROR_HINT });
    while (item.type === 'frame' && isOwnNews(item.frame)) item = await this.next(sender, `an error for ${what}`, { timeoutCode: Codes.NO_ERROR_REPLY, timeoutHint: ERROR_HINT });
    if (item.type === 'close') throw this.closedOn(sender, item.close, input);
    const reply = asObject(parseJson(item.frame.kind === 'text' ? item.frame.data.toString('utf8') : ''));
    const expected = `{"type":"error","message":…} for ${what}`;
    if (reply?.type === 'chat') {
      throw this.v.fail({
        code: Codes.BAD_INPUT_REACHED_OTHERS,
        expected,
        actual: `${describeFrame(item.frame)}: it was sent to the room as a chat`,
        hint: `${ERROR_HINT} Check first, then send: a message is broadcast only once it has passed every check.`,
      });
    }
    if (item.frame.kind !== 'text' || reply?.type !== 'error' || typeof reply.message !== 'string' || reply.message.length === 0) {
      throw this.v.fail({
        code: Codes.ERROR_WRONG_SHAPE,
        expected,
        actual: describeFrame(item.frame),
        hint: 'An error is a JSON text frame: JSON.stringify({ type: "error", message: "why it was refused" }), with a message that is not empty.',
      });
    }
    this.pendingBad = undefined;
  }

  /**
   * The flood: the flooder must be closed with 1008 and a reason, and the others must have received
   * no more of it than a limit could let through (two windows' worth, for a fixed window it straddles).
   */
  async expectFloodClosed(flooder: TestClient, sent: number, options: { garbage?: boolean } = {}): Promise<void> {
    for (let i = 1; i <= sent; i++) this.floodTexts.add(`flood ${i}`);
    let relayed = 0;
    for (;;) {
      const item = await this.next(flooder, `a close with 1008 (policy violation) after more than ${this.limit} messages in ${this.windowMs} ms`, {
        timeoutCode: Codes.FLOOD_NOT_LIMITED,
        timeoutHint: options.garbage ? `Count every message, before you even parse it: a flood of garbage costs your server as much as a flood of chat. ${FLOOD_HINT}` : FLOOD_HINT,
      });
      if (item.type === 'frame') {
        relayed++;
        if (relayed > sent) break;
        continue;
      }
      const { code, reason } = item.close;
      if (code !== 1008 || reason.length === 0) {
        throw this.v.fail({
          code: Codes.FLOOD_WRONG_CLOSE,
          expected: 'a close with 1008 (policy violation) and a reason',
          actual: item.close.clean ? `close ${describeCloseCode(code)}${reason ? ` reason ${JSON.stringify(reason)}` : ' with no reason'}` : 'the connection dropped without a close frame (1006)',
          hint: 'socket.close(1008, "too many messages"): 1008 says a rule was broken, and the reason says which, so a client (and its developer) can tell a flood from a crash. terminate() or close() with no code say neither.',
        });
      }
      this.v.note(`${flooder.name} was closed after ${relayed} of her ${sent} messages ${options.garbage ? 'were answered with an error' : 'came back to her'}`);
      break;
    }
    if (relayed > sent) throw this.v.fail({ code: Codes.FLOOD_NOT_LIMITED, expected: 'a close with 1008 (policy violation)', actual: `all ${sent} messages answered, and the connection still open`, hint: FLOOD_HINT });
    this.floodLimit = this.limit * 2;
  }

  private floodLimit = 0;

  private async next(client: TestClient, awaiting: string, options: { timeoutCode?: string; timeoutHint?: string } = {}) {
    return client.next(awaiting, { timeoutCode: options.timeoutCode, timeoutHint: options.timeoutHint });
  }

  /** Reads the next thing `listener` gets, which must be the relay of `chatText` from `from`. */
  private async expectRelay(from: TestClient, listener: TestClient, chatText: string, options: SayOptions): Promise<void> {
    const user = this.users.get(from)!;
    const want = previewText(JSON.stringify({ type: 'chat', from: user, text: chatText }));
    let skipped = 0;
    /** Messages of other types the program sends of its own accord (a welcome, who is online): read past. */
    const others: Frame[] = [];
    for (;;) {
      const item = await this.next(listener, `${want}${listener === from ? ` back (the sender hears it too)` : ''}`, {
        timeoutCode: Codes.CHAT_NOT_DELIVERED,
        timeoutHint:
          listener === from
            ? 'Send each chat to every open client in wss.clients, the sender included: it sees its message as the room does, with the name the room sees.'
            : 'Send each valid chat to every open client in wss.clients, as JSON.stringify({ type: "chat", from: user, text }).',
      }).catch((error: unknown) => {
        // Nothing came because the sender was closed: that is the news.
        if (listener !== from && from.closed && error instanceof VerifyFailure) throw this.closedOn(from, from.closed, undefined, options.closedCode);
        // The chat came, under another type: read past as the program's own news, it is the relay's shape that is wrong.
        const renamed = others.find((f) => asObject(parseJson(f.data.toString('utf8')))?.text === chatText);
        if (renamed && error instanceof VerifyFailure) {
          throw this.v.fail({
            code: Codes.CHAT_WRONG_SHAPE,
            expected: `${want}: type "chat"`,
            actual: describeFrame(renamed),
            hint: 'Relay a chat as JSON.stringify({ type: "chat", from: user, text }): the same type it came with. Messages of other types are yours to add (a welcome, say), but a chat is a chat.',
          });
        }
        throw error;
      });
      if (item.type === 'close') throw this.closedOn(listener, item.close, undefined, options.closedCode);
      const frame = item.frame;
      const echoed = frame.kind === 'text' ? this.badFrames.get(frame.data.toString('utf8')) : undefined;
      if (echoed && listener !== from) {
        throw this.v.fail({
          code: Codes.BAD_INPUT_REACHED_OTHERS,
          expected: want,
          actual: `${describeFrame(frame)}: what ${echoed.by} sent as ${echoed.what}, which should have been refused`,
          hint: `${ERROR_HINT} Check first, then broadcast, never the other way round.`,
        });
      }
      if (isOwnNews(frame)) {
        others.push(frame);
        continue;
      }
      const relay = asObject(parseJson(frame.kind === 'text' ? frame.data.toString('utf8') : ''));
      if (options.skipFlood && typeof relay?.text === 'string' && this.floodTexts.has(relay.text)) {
        if (++skipped > this.floodLimit) {
          throw this.v.fail({
            code: Codes.FLOOD_RELAYED,
            expected: `at most ${this.floodLimit} of the flood's messages for ${listener.name} (RATE_LIMIT is ${this.limit})`,
            actual: `${skipped} of them, and more`,
            hint: 'Count before you do anything with a message, and return once the count is over the limit: what is over it goes to nobody.',
          });
        }
        continue;
      }
      if (skipped > 0) this.v.note(`${listener.name} had received ${skipped} of the flood's messages before this one`);
      if (relay?.type === 'error') {
        // An error the sender got may be one meant for another client: then errors go to everyone.
        const strayError = listener === from ? this.strayError(from) : undefined;
        if (strayError) {
          throw this.v.fail({
            code: Codes.BAD_INPUT_REACHED_OTHERS,
            expected: `nothing for ${strayError.client.name} but the relays of chats: it has sent nothing wrong`,
            actual: `${describeFrame(strayError.frame)}: an error for a message ${strayError.client.name} did not send`,
            hint: 'Send an error on the socket the bad message came from, and on no other: socket.send, not a broadcast.',
          });
        }
        const refused = listener === from;
        throw this.v.fail({
          code: refused ? Codes.VALID_CHAT_REFUSED : Codes.BAD_INPUT_REACHED_OTHERS,
          expected: want,
          actual: `${describeFrame(frame)}${refused ? '' : `: an error for a message ${listener.name} did not send`}`,
          hint: refused
            ? `This chat is valid: type "chat" and a text of 1 to ${MAX_TEXT} characters as text.length counts them (not bytes), whatever else it holds and whatever the text says. Refuse only what R9 lists.`
            : "Send an error on the socket the bad message came from, and on no other: socket.send, not a broadcast.",
        });
      }
      if (relay?.type === 'chat' && typeof relay.text === 'string' && this.badTexts.has(relay.text) && relay.text !== chatText) {
        const bad = this.badTexts.get(relay.text)!;
        throw this.v.fail({
          code: Codes.BAD_INPUT_REACHED_OTHERS,
          expected: want,
          actual: `${describeFrame(frame)}: what ${bad.by} sent as ${bad.what}, which should have been refused`,
          hint: `${ERROR_HINT} Check first, then broadcast, never the other way round.`,
        });
      }
      const keys = relay ? Object.keys(relay).sort().join(',') : '';
      if (frame.kind !== 'text' || keys !== 'from,text,type' || relay!.type !== 'chat') {
        throw this.v.fail({
          code: Codes.CHAT_WRONG_SHAPE,
          expected: `${want}: exactly the fields type, from and text`,
          actual: describeFrame(frame),
          hint: 'Build the relay anew, JSON.stringify({ type: "chat", from: user, text }): not the message as it came, nor a spread of it, which would carry whatever fields a client invents to everyone.',
        });
      }
      if (relay!.text !== chatText) {
        throw this.v.fail({
          code: Codes.CHAT_TEXT_CHANGED,
          expected: want,
          actual: describeFrame(frame),
          hint: 'Send the text exactly as it came: no trimming, no escaping, no cutting. Validation decides whether a message goes out, never what it says.',
        });
      }
      if (relay!.from !== user) {
        throw this.v.fail({
          code: Codes.IDENTITY_SPOOFED,
          expected: `${want}: ${from.name} is connected with ${user}'s session`,
          actual: `${describeFrame(frame)}${typeof relay!.from === 'string' && relay!.from !== user ? `: the name ${from.name}'s message claimed, or another connection's` : ''}`,
          hint: "Take the name from the session found at the upgrade, kept with that connection (a variable inside the connection's scope, or a Map from socket to user): never from the message, which says whatever the client wants, and never from a variable shared by every connection.",
        });
      }
      return;
    }
  }

  /** Why a connection that should be open was closed, named by how, and by what the verifier had been doing. */
  private closedOn(client: TestClient, close: CloseEvent, bad?: BadInput, closedCode?: string): VerifyFailure {
    const how = close.clean ? `a close ${describeCloseCode(close.code)}${close.reason ? ` reason ${JSON.stringify(close.reason)}` : ''}` : 'the connection dropped without a close frame (1006)';
    const expected = `${client.name}'s connection to stay open`;
    if (close.code === 1009) {
      return this.v.fail({
        code: Codes.PAYLOAD_LIMIT_TOO_SMALL,
        expected: `${expected}: no frame it sent was over ${MAX_PAYLOAD} bytes`,
        actual: how,
        hint: `maxPayload counts bytes, not characters: a chat of ${MAX_TEXT} characters of € is ${MAX_TEXT * 3} bytes of text. Set maxPayload: ${MAX_PAYLOAD}, exactly.`,
      });
    }
    const expired = this.closedAtSessionEnd(client, close);
    if (expired) return expired;
    const sent = this.sends.get(client)?.length ?? 0;
    // Kept to the limit in every window, yet closed for it: by a count that never went back to zero
    // (closed once all it ever sent went over the limit), or by a limit too strict.
    if (close.code === 1008 && (!bad || sent === this.limit + 1)) {
      const code = closedCode ?? (sent > this.limit ? Codes.LIMIT_NEVER_RESETS : Codes.POLITE_CLIENT_CLOSED);
      const why =
        code === Codes.LIMIT_SHARED
          ? `it sent one message in this window: the flood came from another connection`
          : `it kept to the limit, no more than ${this.limit} messages (RATE_LIMIT) within ${this.windowMs} ms (RATE_WINDOW_MS)${code === Codes.LIMIT_NEVER_RESETS ? `, though ${sent} since it connected` : ''}`;
      return this.v.fail({
        code,
        expected: `${expected}: ${why}`,
        actual: how,
        hint: RATE_HINTS[code] ?? RATE_HINTS[Codes.POLITE_CLIENT_CLOSED]!,
      });
    }
    if (bad) {
      return this.v.fail({
        code: Codes.CLOSED_ON_BAD_INPUT,
        expected: `${expected} after ${bad.what}, with an error for it`,
        actual: how,
        hint: `${ERROR_HINT} A bad message is a mistake to answer, not a reason to hang up: the next one may be fine.`,
      });
    }
    return this.v.fail({
      code: closedCode ?? HarnessCodes.CONNECTION_CLOSED,
      expected,
      actual: how,
      hint: 'Close a connection only for what R8 and R12 name: a frame over 4096 bytes, or a flood.',
    });
  }

  /**
   * The failure for a connection closed once its session had ended (by a timer on the session, which
   * R7 rules out), or undefined. Only when the client had sent nothing for a while before the close:
   * a message of its own would explain the close better (a rate limit, a frame too big).
   */
  closedAtSessionEnd(client: TestClient, close: CloseEvent): VerifyFailure | undefined {
    const session = this.sessions.get(client);
    const closedAt = this.closedAt.get(client) ?? Date.now();
    if (!session || closedAt < session.at + this.ttlMs - 10) return undefined;
    const lastSend = Math.max(0, ...(this.sends.get(client) ?? []).filter((t) => t <= closedAt));
    if (closedAt - lastSend < QUIET_BEFORE_EXPIRY_MS - 20) return undefined;
    const how = close.clean ? `a close ${describeCloseCode(close.code)}${close.reason ? ` reason ${JSON.stringify(close.reason)}` : ''}` : 'the connection dropped without a close frame (1006)';
    return this.v.fail({
      code: Codes.OPEN_CONNECTION_EXPIRED,
      expected: `${client.name}'s connection to stay open: it was opened with a session good at the time, and R7 checks the session at the upgrade only`,
      actual: `${how}, when the session had ended (SESSION_TTL_MS is ${this.ttlMs})${lastSend ? '' : `, though ${client.name} had sent nothing`}`,
      hint: 'Check the expiry when the upgrade request comes, and only then: no timer that closes the connection when its session ends. An expired session opens no new connection; one opened in time stays open.',
    });
  }

  /** An error waiting for a member other than `sender`, as only a broadcast error would be. */
  private strayError(sender: TestClient): { client: TestClient; frame: Frame } | undefined {
    for (const client of this.members) {
      if (client === sender) continue;
      const frame = client.pending.find((f) => asObject(parseJson(f.kind === 'text' ? f.data.toString('utf8') : ''))?.type === 'error');
      if (frame) return { client, frame };
    }
    return undefined;
  }

  /** Fails if a client has anything left to read. */
  expectNothingMore(): void {
    for (const client of this.members) {
      const frame = client.pending.find((f) => !isOwnNews(f));
      if (!frame) continue;
      client.releaseUnread();
      throw this.v.fail({
        code: Codes.CHAT_WRONG_SHAPE,
        expected: `nothing more for ${client.name}: every relay has been read`,
        actual: describeFrame(frame),
        hint: 'Each chat goes out once to each client, and errors to their sender alone: nothing else.',
      });
    }
  }
}

const ERROR_HINT =
  'Check every message before using it: JSON.parse in try/catch, then an object (not null, not an array), type "chat", text a string of 1 to 500 characters (text.length). Anything else gets socket.send(JSON.stringify({ type: "error", message })) on that socket alone.';
const FLOOD_HINT =
  "Count each connection's messages in a variable of that connection (inside the 'connection' handler), reset when RATE_WINDOW_MS has passed, and when the count goes over RATE_LIMIT, socket.close(1008, 'too many messages') and return.";
const RATE_HINTS: Record<string, string> = {
  [Codes.POLITE_CLIENT_CLOSED]: `Close only when the count goes over RATE_LIMIT: ${'`'}if (++count > limit)${'`'}, not >=. A client sending exactly RATE_LIMIT messages in a window is within its rights.`,
  [Codes.LIMIT_NEVER_RESETS]: 'The count belongs to a window: when RATE_WINDOW_MS has passed since the window began, start a new one (windowStart = now, count = 0). A count that only grows closes everyone, sooner or later.',
  [Codes.LIMIT_PER_USER]:
    "Keep the count per connection, not per user: a user may have several tabs or devices open, and the one that floods is the one to close. Count in variables inside the 'connection' handler (or a Map keyed by socket), never in a Map keyed by the user.",
  [Codes.LIMIT_SHARED]: "Keep the count per connection, in variables inside the 'connection' handler (or a Map keyed by socket), never one for the whole server: one client's flood must not close the others.",
};

// ————————————————————————————————————————— plumbing

/** A chat message of exactly `bytes` bytes of JSON, its text made of `fill`. */
function chatOfBytes(bytes: number, fill: string): string {
  const empty = JSON.stringify({ type: 'chat', text: '' });
  return JSON.stringify({ type: 'chat', text: fill.repeat(bytes - empty.length) });
}

/**
 * A message of a type of the program's own, neither a chat nor an error (a welcome, who is online):
 * R10 leaves such messages to the program, and the verifier reads past them.
 */
function isOwnNews(frame: Frame): boolean {
  if (frame.kind !== 'text') return false;
  const type = asObject(parseJson(frame.data.toString('utf8')))?.type;
  return typeof type === 'string' && type !== 'chat' && type !== 'error';
}

function text(value: string): Frame {
  return { kind: 'text', data: Buffer.from(value) };
}

/** The token with its last character changed: a forgery that looks right. */
function alter(token: string): string {
  const last = token.at(-1);
  return token.slice(0, -1) + (last === 'A' ? 'B' : 'A');
}

/**
 * In how many places two tokens differ: almost everywhere when they are random (a signed token's
 * signature too), in a few when one is the other counted on (a counter, the time).
 */
function differentCharacters(a: string, b: string): number {
  let differ = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) differ++;
  return differ;
}

function ordinal(n: number): string {
  return ['first', 'second', 'third', 'fourth', 'fifth'][n - 1] ?? `${n}th`;
}

function describeToken(token: string): string {
  return `<${token.length} characters>`;
}

/** A Set-Cookie line with the session's value replaced by its length: tokens change on every run. */
function maskCookie(line: string): string {
  return line.replace(/^(\s*session=)([^;]*)/i, (_, k: string, t: string) => `${k}${describeToken(t)}`);
}

/** The session cookie among Set-Cookie lines: its value and attributes. */
function sessionCookie(lines: string[]): { line: string; value: string; attributes: string[] } | undefined {
  for (const line of lines) {
    const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim() !== 'session') continue;
    const value = pair.slice(eq + 1).trim();
    if (value.length === 0) continue;
    return { line, value, attributes };
  }
  return undefined;
}

/** POST /login with a JSON content type and this body. */
function postLogin(server: RunningServer, body: string, timeoutMs: number): Promise<LoginAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: server.host,
        port: server.port,
        path: '/login',
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Host: `${urlHost(server.host)}:${server.port}` },
        timeout: timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            statusMessage: response.statusMessage ?? '',
            setCookies: response.headers['set-cookie'] ?? [],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

/** After a 101 on a raw socket: a close frame within `ms` (its code), the connection dropping, or neither. */
function watchAfter101(socket: import('node:net').Socket, rest: Buffer, ms: number): Promise<number | 'open' | 'dropped'> {
  return new Promise((resolve) => {
    let buffered = rest;
    const done = (result: number | 'open' | 'dropped') => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve(result);
    };
    const check = () => {
      // Frames from the server are unmasked: 2 bytes of header, 2 or 8 more for a longer length. A
      // welcome message may come first; a close frame (opcode 8) carries its code in 2 payload bytes.
      for (let at = 0; at + 2 <= buffered.length; ) {
        const short = buffered[at + 1]! & 0x7f;
        const header = short === 126 ? 4 : short === 127 ? 10 : 2;
        if (at + header > buffered.length) return;
        const length = short === 126 ? buffered.readUInt16BE(at + 2) : short === 127 ? Number(buffered.readBigUInt64BE(at + 2)) : short;
        if ((buffered[at]! & 0x0f) === 0x8) return done(length >= 2 && at + header + 2 <= buffered.length ? buffered.readUInt16BE(at + header) : 1005);
        at += header + length;
      }
    };
    const timer = setTimeout(() => done('open'), ms);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      check();
    });
    socket.once('close', () => done('dropped'));
    socket.on('error', () => {});
    socket.resume();
    check();
  });
}

/** A login step during which the program died: named after the login that killed it. */
async function survivesLogin(v: Verification, door: Door, step: () => Promise<void>): Promise<void> {
  await v.blameDeath(step, () => {
    const what = door.pending;
    return !what
      ? undefined
      : {
          code: Codes.LOGIN_CRASHED,
          when: `when it received a login with ${what}`,
          hint: 'Check the body before using it: JSON.parse in try/catch (or express.json()), then typeof user === "string" and typeof password === "string". Anything else is a 401, never a crash.',
        };
  }, { cleanExits: true });
}

/** A step with bad messages during which the program died: named after the message that killed it. */
async function survives(v: Verification, room: Room, step: () => Promise<void>): Promise<void> {
  await v.blameDeath(step, () => {
    const input = room.pendingBad;
    if (!input) return undefined;
    const shown = input.frame.kind === 'binary' ? describeFrame(input.frame) : previewText(input.frame.data.toString('utf8'));
    return { code: Codes.CRASHED_ON_BAD_INPUT, when: `when it received ${input.what}: ${shown}`, hint: `${ERROR_HINT} JSON.parse('null') is null, and reading .type of null throws.` };
  }, { cleanExits: true });
}
