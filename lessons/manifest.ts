/**
 * The one ordered list of lessons. Everything else — the menu, the CLI, the tests, the README's
 * lesson table — reads this list, and every path is derived from a lesson's slug (see src/paths.ts).
 * Add a lesson here only once its folder, solution and verifier exist: the suite checks that.
 */

/** Time limits a verifier works within. All values in milliseconds. */
export interface Timeouts {
  /** How long the learner's program may take to start listening on PORT. */
  startMs: number;
  /** How long one awaited thing (a reply, a close, a handshake) may take. */
  stepMs: number;
  /** A hard ceiling on the whole verification. */
  totalMs: number;
}

/** A hint that names the catalogued mistakes it helps with. */
export interface Hint {
  text: string;
  /** Failure codes (from the lesson's verifier) this hint is about. */
  covers: string[];
}

export interface Lesson {
  /** `NN-kebab-name`: the number gives the order, the rest names the folder and files. */
  slug: string;
  /** What the menu shows. */
  title: string;
  /** One line for the README's table and `list`. */
  summary: string;
  /**
   * Progressive nudges, mildest first. A hint points the way; it never hands over the answer. A hint
   * may name the failure codes it is about: a verdict with one of them then points the learner to it.
   */
  hints: Array<string | Hint>;
  /**
   * Extra environment the verifier (and `run`) gives the learner's program, besides PORT.
   * problem.md names every variable listed here. Timers are shortened so a verdict comes quickly.
   */
  env?: Record<string, string>;
  /** Overrides of the default time limits. */
  timeouts?: Partial<Timeouts>;
  /** The largest frame the verifier's clients accept from the learner's server (default 8 MiB). */
  maxFrameBytes?: number;
  /**
   * Tools outside Node the verification needs: a Redis, or a browser (Chromium or Chrome) for pages.
   * `doctor` checks them; verify cannot judge (exit 2) without them; the suite skips loudly, or fails under CI.
   */
  needs?: Array<'redis' | 'browser'>;
  /**
   * What the learner writes: a server (the default), or a client that the verifier's own server
   * talks to (`SERVER_URL` instead of `PORT`). `run` and `playground` need a server to talk to.
   */
  writes?: 'server' | 'client';
}

/** Limits used when a lesson sets none. */
export const DEFAULT_TIMEOUTS: Timeouts = { startMs: 5000, stepMs: 2000, totalMs: 30000 };

export const lessons: readonly Lesson[] = [
  {
    slug: '01-http-vs-websocket',
    title: 'HTTP vs WebSocket',
    summary: 'One server, one port: answer an HTTP request, then push to a WebSocket without being asked.',
    hints: [
      {
        text: "Answer GET /time in the handler you give to http.createServer: check both req.method === 'GET' and req.url === '/time', and answer everything else 404. Finish every answer with res.end(body): an HTTP answer is not complete until it ends, and the client waits for the rest.",
        covers: ['HTTP_TIME_NOT_FOUND', 'HTTP_TIME_BAD_STATUS', 'HTTP_TIME_NEVER_ENDS', 'HTTP_TIME_EMPTY_BODY', 'HTTP_OTHER_NOT_404', 'HTTP_OTHER_NEVER_ENDS'],
      },
      {
        text: "The body of GET /time is JSON text, and its head says so: Content-Type application/json. JSON.stringify turns an object into that text, and new Date().toISOString(), called for each request, gives the time in the form asked for.",
        covers: ['HTTP_TIME_NOT_JSON', 'HTTP_TIME_WRONG_TIME', 'HTTP_TIME_WRONG_CONTENT_TYPE'],
      },
      {
        text: 'Give that same server to ws, new WebSocketServer({ server }), instead of a { port } of its own. Upgrade requests on PORT then reach ws; every other request still reaches your handler.',
        covers: ['HTTP_TIME_UPGRADE_REQUIRED', 'HTTP_UPGRADE_NOT_HANDLED', 'HTTP_EXTRA_PORT', 'HTTP_HANDSHAKE_BAD_HEADERS', 'HTTP_HANDSHAKE_BAD_ACCEPT'],
      },
      {
        text: "The server may speak first: in wss.on('connection', …) start a setInterval that sends on that socket. Do not wait for the client to say anything.",
        covers: ['HTTP_WS_NO_PUSH', 'HTTP_WS_WAITS_TO_BE_ASKED', 'HTTP_WS_STOPPED_PUSHING'],
      },
      {
        text: "Give each connection its own count: let tick = 0 inside wss.on('connection', …), and send JSON.stringify({ tick: ++tick }) as a string, so the first message to every client says 1.",
        covers: ['HTTP_WS_TICK_NOT_JSON', 'HTTP_WS_TICK_MISSING', 'HTTP_WS_TICK_WRONG_COUNT'],
      },
      {
        text: "Take the period from Number(process.env.TICK_MS), never a number of your own. Keep the timer in a const inside wss.on('connection', …) and clearInterval it in that socket's 'close' handler, or it keeps firing for a client that left.",
        covers: ['HTTP_WS_TICK_TOO_SLOW', 'HTTP_WS_TICK_TOO_FAST', 'HTTP_WS_TICK_MS_IGNORED', 'HTTP_WS_TIMER_LEAK', 'HTTP_WS_STOPPED_ANOTHER_CLIENT'],
      },
    ],
    env: { TICK_MS: '100' },
    // Every wait on loopback is short; a failing program is judged sooner. A tick is 100 ms.
    timeouts: { stepMs: 1500 },
  },
  {
    slug: '02-echo-server',
    title: 'Echo server',
    summary: 'Send every message straight back: text as text, binary as binary, to the sender only.',
    hints: [
      {
        text: "Listen for 'connection' on the server, then for 'message' on each socket it gives you. Reply on that same socket, at once, with the message exactly as it came.",
        covers: ['ECHO_NO_REPLY', 'ECHO_SENT_TO_OTHERS', 'ECHO_WRONG_CONTENT', 'ECHO_OUT_OF_ORDER', 'ECHO_SIZE_NOT_KEPT'],
      },
      "In ws 8 the 'message' handler receives (data, isBinary). data is always a Buffer, even for text.",
      {
        text: 'Pass the flag back: socket.send(data, { binary: isBinary }). Without it, every echo leaves as a binary frame.',
        covers: ['ECHO_TEXT_BECAME_BINARY', 'ECHO_BINARY_BECAME_TEXT', 'TEXT_NOT_UTF8'],
      },
    ],
    // An echo on loopback takes a millisecond; waiting longer only delays the verdict.
    timeouts: { stepMs: 1000 },
  },
  {
    slug: '03-broadcast',
    title: 'Broadcast',
    summary: 'A chat room: relay each JSON message to every other open client.',
    hints: [
      {
        text: 'ws does not broadcast for you. wss.clients is the set of every connected socket: in the sender\'s \'message\' handler, loop over it and send to each one but the sender.',
        covers: ['BROADCAST_NOT_RELAYED', 'BROADCAST_RELAYED_TWICE', 'BROADCAST_ECHOED_TO_SENDER'],
      },
      {
        text: 'Send a new object, not the text as it came: build { type: "chat", sender, message } from the parsed message, those three fields and no others, and send it with JSON.stringify. Copy username and message as they are, untrimmed. No username, or ""? The sender is "Anonymous".',
        covers: ['BROADCAST_RAW_FORWARD', 'BROADCAST_WRONG_SHAPE', 'BROADCAST_EXTRA_FIELDS', 'BROADCAST_CONTENT_NOT_KEPT', 'BROADCAST_NO_DEFAULT_USERNAME'],
      },
      {
        text: 'Anything can arrive. Put JSON.parse in try/catch, then check the shape (an object, type "chat", message a string, username a string if it is there) before using it; when something is wrong, reply { type: "error", message } to that socket alone, and keep it open.',
        covers: ['BROADCAST_CRASHED_ON_INVALID_JSON', 'BROADCAST_CRASHED_ON_BAD_SHAPE', 'BROADCAST_NO_ERROR_REPLY', 'BROADCAST_ERROR_WRONG_SHAPE', 'BROADCAST_CLOSED_ON_BAD_INPUT', 'BROADCAST_BAD_INPUT_REACHED_OTHERS'],
      },
      {
        text: 'A client that is closing is still in wss.clients. Before each send in the loop, check client.readyState === WebSocket.OPEN.',
        covers: ['BROADCAST_SENT_TO_CLOSING_SOCKET'],
      },
    ],
    // A relay on loopback takes a millisecond; waiting longer only delays the verdict.
    timeouts: { stepMs: 1000 },
  },
  {
    slug: '04-lifecycle',
    title: 'Lifecycle',
    summary: 'Join, leave, close codes, and a presence count that is always exact.',
    hints: [
      {
        text: "Keep one Map from socket to id. In 'connection': add the socket, welcome it (it alone), then tell every other socket in the Map that it joined. The Map's size is the count, and the answer to who, sent on the socket that asked.",
        covers: [
          'LIFECYCLE_NO_WELCOME',
          'LIFECYCLE_WELCOME_TO_OTHERS',
          'LIFECYCLE_NO_JOIN',
          'LIFECYCLE_JOIN_TO_NEWCOMER',
          'LIFECYCLE_JOIN_TWICE',
          'LIFECYCLE_WRONG_COUNT',
          'LIFECYCLE_NO_PRESENCE',
          'LIFECYCLE_PRESENCE_TO_OTHERS',
        ],
      },
      {
        text: "'close' fires once for every connection, however it ends: a quit, the client closing, or a dropped connection (code 1006). Delete the socket there and announce the leave there, and nowhere else. Undo there, too, whatever you set up for that socket: a listener on something shared, a timer.",
        covers: ['LIFECYCLE_NO_LEAVE', 'LIFECYCLE_NO_LEAVE_ON_DROP', 'LIFECYCLE_PRESENCE_LEAK', 'LIFECYCLE_LEAVE_TWICE', 'LIFECYCLE_LISTENER_LEAK', 'LIFECYCLE_TIMER_LEAK'],
      },
      {
        text: 'For {"type":"quit"}, call socket.close(1000, "goodbye"): a close frame with a code and a reason. terminate() would drop the connection without telling the client why.',
        covers: ['LIFECYCLE_QUIT_IGNORED', 'LIFECYCLE_QUIT_TERMINATED', 'LIFECYCLE_QUIT_WRONG_CODE', 'LIFECYCLE_QUIT_NO_REASON'],
      },
      {
        text: "Add socket.on('error', …) in 'connection', even if it only logs: an 'error' event with no listener is thrown, and one broken frame takes the whole server down.",
        covers: ['LIFECYCLE_CRASHED_ON_ERROR'],
      },
      {
        text: "Anything can arrive. Put JSON.parse in try/catch, and check that what it gives is an object with a type you know before you read it: JSON.parse('null') is null. Ignore the rest, or answer it with an error on that socket alone; never close the connection over it.",
        covers: ['LIFECYCLE_CRASHED_ON_BAD_INPUT', 'LIFECYCLE_CLOSED_ON_BAD_INPUT', 'LIFECYCLE_BAD_INPUT_REACHED_OTHERS', 'LIFECYCLE_BAD_INPUT_NOT_IGNORED'],
      },
    ],
    // Everything happens on loopback in milliseconds; waiting longer only delays the verdict.
    timeouts: { stepMs: 1000 },
  },
  {
    slug: '05-heartbeat',
    title: 'Heartbeat',
    summary: 'Ping every client, and terminate the ones that stopped answering.',
    hints: [
      {
        text: "One setInterval for the whole server, started once with the server (not in 'connection'), with the delay Number(process.env.HEARTBEAT_INTERVAL_MS). Each round visits every socket in wss.clients and calls ping() on it.",
        covers: ['HEARTBEAT_NO_PING', 'HEARTBEAT_WRONG_RATE', 'HEARTBEAT_CLIENT_SKIPPED', 'HEARTBEAT_INTERVAL_PER_CONNECTION'],
      },
      {
        text: "Give each socket a flag: true when it connects and whenever its 'pong' event fires. Each round, set the flag to false just before pinging.",
        covers: ['HEARTBEAT_PONG_IGNORED', 'HEARTBEAT_TERMINATED_WITHOUT_PING'],
      },
      {
        text: 'Judge at the start of the next round: a socket whose flag is still false missed the last ping. It cannot answer a close handshake, so terminate() it instead of close(), then and there, and go on to the next socket.',
        covers: ['HEARTBEAT_DROPPED_HEALTHY', 'HEARTBEAT_NEVER_TERMINATED', 'HEARTBEAT_TERMINATED_LATE', 'HEARTBEAT_CLOSED_NOT_TERMINATED'],
      },
      {
        text: "A running interval keeps Node alive after the server has closed: clear it in wss.on('close', ...), so that SIGTERM → wss.close() lets the process end. Listen for SIGTERM, or it kills Node on the spot, and close every server you listen with.",
        covers: ['HEARTBEAT_INTERVAL_NOT_CLEARED', 'HEARTBEAT_SIGTERM_NOT_HANDLED', 'HEARTBEAT_SERVER_NOT_CLOSED'],
      },
      {
        text: "Add socket.on('error', …) in 'connection', even if it only logs, as in lesson 04: a broken frame makes ws emit 'error' on that socket, and an error nobody listens to ends the process, and every round with it.",
        covers: ['HEARTBEAT_CRASHED_ON_BAD_INPUT', 'HEARTBEAT_ROUNDS_STOPPED'],
      },
    ],
    env: { HEARTBEAT_INTERVAL_MS: '100' },
    // The story watches some 25 rounds (2.5 s alone); a ceiling of 20 s leaves room for a class's
    // verifications at once on a small machine, and still ends a verification that hangs.
    timeouts: { totalMs: 20000 },
  },
  {
    slug: '06-tls',
    title: 'wss://',
    summary: 'Serve HTTPS and wss:// on one port, with the certificate you are given, and no plain text.',
    hints: [
      {
        text: 'Read both files named by process.env.TLS_CERT and process.env.TLS_KEY with fs.readFileSync: https.createServer wants their PEM text, not the paths.',
        covers: ['TLS_ENV_NOT_READ', 'TLS_CERT_PATH_HARD_CODED', 'TLS_NOT_PEM', 'TLS_HANDSHAKE_FAILED'],
      },
      {
        text: "https.createServer({ cert, key }, handler) is http.createServer with TLS underneath; the handler answers plain requests exactly as before: res.writeHead(200, { 'Content-Type': 'text/plain' }), then res.end with a line of text.",
        covers: ['TLS_NOT_SPOKEN', 'TLS_HTTPS_NO_ANSWER', 'TLS_HTTPS_BAD_STATUS', 'TLS_HTTPS_NOT_TEXT', 'TLS_HTTPS_EMPTY_BODY'],
      },
      {
        text: 'Give ws that server, new WebSocketServer({ server }), and listen on PORT with the HTTPS server. wss:// and https:// share the port; a WebSocketServer with a { port } of its own speaks plain text on another one.',
        covers: ['TLS_WSS_NOT_ON_PORT', 'TLS_EXTRA_PORT', 'TLS_PLAIN_TEXT_ACCEPTED', 'NEVER_LISTENED', 'WRONG_PORT'],
      },
      {
        text: "The WebSocket part is lesson 02's echo, unchanged: socket.send(data, { binary: isBinary }) on the socket the message came from, whatever its size, with no limit of your own.",
        covers: ['TLS_NO_ECHO', 'TLS_WRONG_ECHO', 'TLS_ECHO_WRONG_KIND', 'TLS_ECHO_SIZE_NOT_KEPT', 'TLS_ECHO_TO_OTHERS', 'TEXT_NOT_UTF8'],
      },
      {
        text: "As in lesson 04, give every socket an 'error' listener in 'connection': ws reports a broken frame there, and an 'error' nobody listens for brings the whole server down.",
        covers: ['TLS_CRASHED_ON_BAD_FRAME'],
      },
      {
        text: 'A client that refuses your certificate is doing its job. The fix is on the server (serve the certificate from TLS_CERT), never rejectUnauthorized: false on a client.',
        covers: ['TLS_WRONG_CERTIFICATE'],
      },
    ],
    // (TLS_CERT and TLS_KEY are not listed here: the verifier and `run` make a fresh certificate each time.)
    // A handshake on loopback takes milliseconds; waiting longer only delays the verdict.
    timeouts: { stepMs: 1500 },
  },
  {
    slug: '07-redis-scaling',
    title: 'Two servers, one chat',
    summary: 'Run the chat as two instances that share one room through Redis pub/sub.',
    hints: [
      {
        text: 'A server can only send to its own sockets. For carol on server B to hear alice on server A, server A must tell Redis, and server B must be listening there: PUBLISH on one side, SUBSCRIBE on the other, on the channel in process.env.CHAT_CHANNEL, and that one only: subscribe to it by its name, not with a pattern that also hears the channels next to it.',
        covers: ['SCALING_REDIS_NOT_USED', 'SCALING_NOT_SUBSCRIBED', 'SCALING_NOT_PUBLISHED', 'SCALING_OTHER_CHANNEL_RELAYED'],
      },
      {
        text: "Open two connections with new Redis(process.env.REDIS_URL), once, at the top of the file: once a connection has subscribed, it can do nothing but (un)subscribe, so publishing needs the other one. Subscribe, and add subscriber.on('message', …), once, when the server starts: not in 'connection', and never unsubscribe when a client leaves.",
        covers: ['SCALING_REDIS_URL_IGNORED', 'SCALING_PUBLISH_ON_SUBSCRIBER', 'SCALING_SUBSCRIPTION_PER_CLIENT', 'SCALING_HANDLER_PER_CLIENT', 'SCALING_PUBLISHER_PER_MESSAGE'],
      },
      {
        text: 'Redis hands a message to every subscriber, the instance that published it included. Put process.env.INSTANCE_ID in what you publish, and in subscriber.on("message", …) skip what carries your own id. Not the port: instances on other hosts listen on the same one.',
        covers: ['SCALING_DUPLICATE', 'SCALING_NOT_ACROSS', 'SCALING_ID_NOT_UNIQUE'],
      },
      {
        text: "Deliver to your own clients directly, as in lesson 03 (the sender's socket excepted, OPEN sockets only), and to the others' through Redis. Every client gets the relay {type, sender, message} with sender username || \"Anonymous\", never the object you published, and nothing else.",
        covers: ['SCALING_LOCAL_MISSED', 'SCALING_ECHOED_TO_SENDER', 'SCALING_WRONG_SHAPE', 'SCALING_WRONG_SENDER', 'SCALING_SENT_TO_CLOSING_SOCKET', 'SCALING_UNEXPECTED_FRAME'],
      },
      {
        text: 'Publish once per chat message, as soon as it arrives (no await before it), an object you build field by field: JSON.stringify({ origin, sender, message }). Never the text the client sent nor its parsed object, and never again what came from Redis.',
        covers: ['SCALING_PUBLISHED_TWICE', 'SCALING_PUBLISHED_AS_SENT', 'SCALING_OUT_OF_ORDER'],
      },
      {
        text: 'Trust nothing that comes in. Check every client message (an object, type "chat", message a string, username a string or absent) and answer anything else with an error on that socket alone, before you publish anything. Check every Redis message the same way, inside try/catch, and ignore what is not your shape. Pass the text on exactly as it came.',
        covers: [
          'SCALING_NO_ERROR_REPLY',
          'SCALING_BAD_INPUT_RELAYED',
          'SCALING_BAD_INPUT_PUBLISHED',
          'SCALING_CRASHED_ON_BAD_INPUT',
          'SCALING_CHANNEL_JUNK_RELAYED',
          'SCALING_CRASHED_ON_CHANNEL_JUNK',
          'SCALING_TEXT_CHANGED',
        ],
      },
    ],
    env: { CHAT_CHANNEL: 'workshop:chat' },
    needs: ['redis'],
    // Redis and both servers are on loopback: every hop takes a millisecond or two.
    timeouts: { stepMs: 1500 },
  },
  {
    slug: '08-socketio-contrast',
    title: 'socket.io, by contrast',
    summary: 'The chat again with socket.io: rooms, acknowledgements, and clients that come back with what they missed.',
    hints: [
      {
        text: "socket.io hands you events, not frames: socket.on('join', (room, ack) => …) receives what the client emitted, already parsed. The client's callback comes last: call it with exactly one object, ack({ ok: true }), to acknowledge.",
        covers: ['SOCKETIO_JOIN_NOT_ACKED', 'SOCKETIO_CHAT_NOT_ACKED', 'SOCKETIO_BAD_ACK', 'SOCKETIO_BAD_JOIN_ACK'],
      },
      {
        text: 'A room is a name socket.io keeps for you: socket.join(room) puts a socket in it, socket.leave(room) takes it out, and socket.to(room).emit(…) reaches everyone in it but that socket. One room at a time: leave the previous one (unless it is the same), and remember the new one in socket.data.room.',
        covers: [
          'SOCKETIO_NOT_DELIVERED',
          'SOCKETIO_ECHOED_TO_SENDER',
          'SOCKETIO_LEAKED_TO_OTHER_ROOM',
          'SOCKETIO_OLD_ROOM_KEPT',
          'SOCKETIO_LEFT_ON_REJOIN',
        ],
      },
      {
        text: 'The username travels in the handshake, as socket.handshake.auth.username, and a relay is built from two things only: { sender: username, message }. Two clients may share a username: tell sockets apart by the socket, never by the name.',
        covers: ['SOCKETIO_WRONG_RELAY', 'SOCKETIO_WRONG_SENDER', 'SOCKETIO_SAME_NAME_CONFUSED'],
      },
      {
        text: 'Check what arrives before using it, as in lesson 03: a chat needs typeof payload?.message === "string" (any string, even ""), a room a string that is not empty; a username may be missing (call the client "Anonymous"), a client may chat before joining. Refuse in the ack, before relaying or leaving anything.',
        covers: [
          'SOCKETIO_INVALID_NOT_REFUSED',
          'SOCKETIO_BAD_ROOM_NOT_REFUSED',
          'SOCKETIO_INVALID_DELIVERED',
          'SOCKETIO_INVALID_CRASHED',
          'SOCKETIO_REFUSED_STRING',
          'SOCKETIO_BAD_ROOM_CRASHED',
          'SOCKETIO_NO_USERNAME_CRASHED',
          'SOCKETIO_ROOMLESS_CHAT_CRASHED',
        ],
      },
      {
        text: 'A client may emit without a callback, or with something else in its place. Do the work all the same, and answer only if (typeof ack === "function"), on every path.',
        covers: ['SOCKETIO_CRASHED_WITHOUT_ACK', 'SOCKETIO_IGNORED_WITHOUT_ACK'],
      },
      {
        text: 'Recovery is an option of the Server: connectionStateRecovery, with a maxDisconnectionDuration in milliseconds. It replays what was sent to a room, and restores rooms and socket.data, not the variables of your connection handler.',
        covers: ['SOCKETIO_NO_RECONNECT', 'SOCKETIO_NOT_RECOVERED', 'SOCKETIO_NOT_REPLAYED', 'SOCKETIO_REPLAY_NOT_EXACT', 'SOCKETIO_STATE_LOST_ON_RECOVERY'],
      },
    ],
    // Everything happens on loopback in milliseconds; waiting longer only delays the verdict.
    timeouts: { stepMs: 1000 },
  },
  {
    slug: '09-express-one-port',
    title: 'Express on one port',
    summary: 'An Express app and a ws server on one http.Server: routes and sockets share state.',
    hints: [
      {
        text: "One http.Server for both: const server = http.createServer(app), new WebSocketServer({ server, path: '/ws' }), then server.listen(PORT). (const server = app.listen(PORT) is the same server: give ws that one.) A WebSocketServer with a { port } of its own, or attached to a server that never listens, is not on PORT.",
        covers: ['EXPRESS_ROUTES_NOT_ON_PORT', 'EXPRESS_WS_NOT_ON_PORT', 'EXPRESS_EXTRA_PORT'],
      },
      {
        text: "Let ws check the path: with path: '/ws' it compares the pathname, so /ws?room=1 is /ws, and answers every other path 400. Checking by hand in server.on('upgrade')? Use new URL(req.url, 'http://localhost').pathname, and write an HTTP status line before socket.destroy().",
        covers: ['EXPRESS_WS_QUERY_REFUSED', 'EXPRESS_OTHER_PATH_UPGRADED', 'EXPRESS_OTHER_PATH_NO_ERROR', 'EXPRESS_OTHER_PATH_CRASHED'],
      },
      {
        text: 'Routes and sockets share state: wss.clients is the set of sockets, and a route can read it. Keep no count of your own that could drift; filter wss.clients on readyState === WebSocket.OPEN each time: a closing socket stays in the set until its closing handshake is over.',
        covers: ['EXPRESS_ONLINE_NOT_FOUND', 'EXPRESS_ONLINE_BAD_STATUS', 'EXPRESS_ONLINE_NOT_JSON', 'EXPRESS_ONLINE_EXTRA_FIELD', 'EXPRESS_ONLINE_WRONG_COUNT', 'EXPRESS_ONLINE_COUNTS_CLOSING', 'EXPRESS_ONLINE_STALE'],
      },
      {
        text: "In POST /announce, build one string, JSON.stringify({ type: 'announcement', text }), from those two fields only, send it to every OPEN socket and count the sends; then res.status(202).json({ delivered }). The text goes as it came, even \"\".",
        covers: [
          'EXPRESS_ANNOUNCE_REFUSED',
          'EXPRESS_ANNOUNCE_NOT_DELIVERED',
          'EXPRESS_ANNOUNCE_NOT_JSON',
          'EXPRESS_ANNOUNCE_WRONG_SHAPE',
          'EXPRESS_ANNOUNCE_TEXT_CHANGED',
          'EXPRESS_ANNOUNCE_SENT_TWICE',
          'EXPRESS_ANNOUNCE_BAD_STATUS',
          'EXPRESS_ANNOUNCE_ANSWER_NOT_JSON',
          'EXPRESS_ANNOUNCE_ANSWER_EXTRA_FIELD',
          'EXPRESS_WRONG_DELIVERED',
        ],
      },
      {
        text: "Check the body before the loop: typeof req.body?.text === 'string', or res.status(400).json({ error }) and return. req.body is undefined for a request that is not JSON, and a body express.json() cannot parse never reaches the route: answer it in an error handler after the routes, app.use((error, req, res, next) => …).",
        covers: ['EXPRESS_BAD_BODY_ACCEPTED', 'EXPRESS_BAD_BODY_WRONG_STATUS', 'EXPRESS_ERROR_NOT_JSON', 'EXPRESS_ERROR_EMPTY', 'EXPRESS_BAD_BODY_SENT'],
      },
      {
        text: "Leave unknown routes to Express, which answers 404 by itself (a catch-all of your own must answer 404 too). And sockets only listen: send them announcements and nothing else, no welcome; they need no 'message' handler, and one that parses or answers what comes can crash the server or talk back.",
        covers: ['EXPRESS_OTHER_NOT_404', 'EXPRESS_OTHER_FRAME_SENT', 'EXPRESS_SOCKET_MESSAGE_CRASHED', 'EXPRESS_SOCKET_MESSAGE_ANSWERED', 'EXPRESS_SOCKET_MESSAGE_CLOSED'],
      },
      {
        text: "As in lesson 04, give every socket an 'error' listener in wss.on('connection', …), even one that only logs: ws reports a broken frame there, and an 'error' nobody listens for ends the process, the API with it.",
        covers: ['EXPRESS_CRASHED_ON_BAD_FRAME'],
      },
    ],
    // Everything happens on loopback in milliseconds; waiting longer only delays the verdict.
    timeouts: { stepMs: 1000 },
  },
  {
    slug: '10-origin-and-auth',
    title: 'Security at the door',
    summary: 'Check the Origin and the session before the upgrade; after it, limit, validate and trust only the session.',
    hints: [
      {
        text: "One server on PORT answers both POST /login and the upgrade request: http.createServer(app), then new WebSocketServer({ server }) or { noServer: true } with server.on('upgrade', …). A WebSocketServer on a port of its own is one the browser, and its cookie, never reach.",
        covers: ['AUTH_UPGRADE_NOT_ON_PORT'],
      },
      {
        text: "A browser's WebSocket cannot send headers of its own, but it sends the site's cookies with the upgrade request: that is where the session goes. POST /login checks the user and password against USERS, then sets the cookie: res.cookie('session', token, { httpOnly: true, sameSite: 'strict', path: '/' }) in Express.",
        covers: ['AUTH_LOGIN_REFUSED', 'AUTH_LOGIN_NO_COOKIE', 'AUTH_COOKIE_NOT_SAFE'],
      },
      {
        text: "A token is a key to someone's account: make a new one at each login with randomBytes(32).toString('base64url') from node:crypto. Math.random(), a counter, the time or a hash of the name can all be worked out by someone else.",
        covers: ['AUTH_TOKEN_TOO_SHORT', 'AUTH_TOKEN_REUSED', 'AUTH_TOKEN_PREDICTABLE'],
      },
      {
        text: 'Trust nothing in the login body: both fields must be strings, and the password must be the one USERS gives that user (users.get(user) === password). Everything else is a 401, without a cookie, and never a crash or a 500.',
        covers: ['AUTH_WRONG_LOGIN_ACCEPTED', 'AUTH_WRONG_LOGIN_STATUS', 'AUTH_LOGIN_CRASHED'],
      },
      {
        text: "Refuse at the door, before the 101: in server.on('upgrade', …) before handleUpgrade (socket.end('HTTP/1.1 403 Forbidden\\r\\n\\r\\n')), or in verifyClient with done(false, 403). An Origin that is there must be in ALLOWED_ORIGINS exactly: a Set and .has(origin), never includes or startsWith. No Origin at all is no browser: go on to the session.",
        covers: ['AUTH_ORIGIN_NOT_CHECKED', 'AUTH_ORIGIN_CHECKED_AFTER_UPGRADE', 'AUTH_ORIGIN_WRONG_STATUS', 'AUTH_ALLOWED_ORIGIN_REFUSED', 'AUTH_NO_ORIGIN_REFUSED', 'AUTH_SESSION_CHECKED_AFTER_UPGRADE'],
      },
      {
        text: 'req.headers.cookie holds every cookie of the site, "theme=dark; session=…": split it on ";", trim, and take the pair named session. Its token must be one your login made, and Date.now() before its expiry (login time + SESSION_TTL_MS, in milliseconds). Otherwise 401, and only the cookie counts: never a token from the URL. A login adds a session and ends none; the expiry is checked at the upgrade, and a connection opened in time stays open.',
        covers: ['AUTH_SESSION_NOT_CHECKED', 'AUTH_SESSION_WRONG_STATUS', 'AUTH_VALID_SESSION_REFUSED', 'AUTH_QUERY_TOKEN_ACCEPTED', 'AUTH_SESSION_NEVER_EXPIRES', 'AUTH_EARLIER_SESSION_ENDED', 'AUTH_OPEN_CONNECTION_EXPIRED'],
      },
      {
        text: 'maxPayload: 4096 in the WebSocketServer options: ws then closes with 1009 on a larger frame before reading it. It counts bytes of the frame, not characters of the text: 500 characters of € are 1500 bytes.',
        covers: ['AUTH_PAYLOAD_NOT_LIMITED', 'AUTH_PAYLOAD_LIMIT_TOO_SMALL'],
      },
      {
        text: 'Check each message before doing anything with it: not binary, JSON.parse in try/catch, an object (JSON.parse("null") is null), type "chat", text a string of 1 to 500 characters. Anything else: socket.send an error to that socket alone, keep it open, and relay nothing.',
        covers: ['AUTH_NO_ERROR_REPLY', 'AUTH_ERROR_WRONG_SHAPE', 'AUTH_BAD_INPUT_REACHED_OTHERS', 'AUTH_CLOSED_ON_BAD_INPUT', 'AUTH_CRASHED_ON_BAD_INPUT', 'AUTH_VALID_CHAT_REFUSED'],
      },
      {
        text: "The name comes from the session found at the upgrade: hand it to the connection (handleUpgrade's callback, or the request in verifyClient) and keep it in that connection's scope. Relay a new object, { type: 'chat', from: user, text }, to every open client, the sender too; never a field of the message, nor a variable every connection shares.",
        covers: ['AUTH_CHAT_NOT_DELIVERED', 'AUTH_CHAT_WRONG_SHAPE', 'AUTH_CHAT_TEXT_CHANGED', 'AUTH_IDENTITY_SPOOFED'],
      },
      {
        text: "Count in variables of the connection (let count and windowStart inside the 'connection' handler): start a new window when RATE_WINDOW_MS has passed, and when ++count > RATE_LIMIT, socket.close(1008, 'too many messages') and return. Over, not at; per connection, not per user nor per server.",
        covers: ['AUTH_FLOOD_NOT_LIMITED', 'AUTH_FLOOD_WRONG_CLOSE', 'AUTH_FLOOD_RELAYED', 'AUTH_POLITE_CLIENT_CLOSED', 'AUTH_LIMIT_NEVER_RESETS', 'AUTH_LIMIT_SHARED', 'AUTH_LIMIT_PER_USER'],
      },
    ],
    env: {
      ALLOWED_ORIGINS: 'http://localhost:5173,https://chat.example',
      USERS: 'alice:wonderland,bob:builder,carol:c4rol-pass,mallory:m4llory',
      // Short, so that expiry and the rate window are seen in a verification of a few seconds.
      SESSION_TTL_MS: '1000',
      RATE_LIMIT: '5',
      RATE_WINDOW_MS: '100',
    },
    // Everything happens on loopback in milliseconds; the windows above are the only waits.
    timeouts: { stepMs: 1500 },
  },
  {
    slug: '11-binary-and-compression',
    title: 'Binary frames and compression',
    summary: 'A small binary protocol read and written byte by byte, and permessage-deflate with a threshold.',
    hints: [
      {
        text: "In 'message', data is a Buffer of exactly the message's bytes. Check data.length and data[0] first; read a move with the Buffer's own methods at each field's offset. Answer with a Buffer you build, Buffer.alloc(15) then a write… call per field: socket.send(buffer) sends binary, a string goes as text.",
        covers: ['BINARY_STATE_NO_REPLY', 'BINARY_STATE_NOT_BINARY', 'BINARY_STATE_WRONG_LAYOUT', 'BINARY_MOVE_REFUSED', 'BINARY_MOVE_MISREAD'],
      },
      {
        text: 'Every number is big-endian and has a width: readUInt32BE and writeUInt32BE for the id (unsigned: the Int32 methods turn 0xFFFFFFFF into -1), readFloatBE and writeFloatBE for x and y (float32, 4 bytes), writeUInt16BE for players. A DataView is big-endian unless you pass true; a Float32Array uses the machine\'s order, little-endian, both ways.',
        covers: ['BINARY_READ_LITTLE_ENDIAN', 'BINARY_WRITE_LITTLE_ENDIAN', 'BINARY_ID_SIGNED'],
      },
      {
        text: "Keep one Map from id to { x, y } at the top of the file, outside wss.on('connection', …), and set it on every valid move, new id or not. players is that Map's size after the move, in two bytes (writeUInt16BE); the state goes back on the socket the move came from.",
        covers: ['BINARY_WORLD_NOT_SHARED', 'BINARY_POSITION_NOT_LATEST', 'BINARY_STATE_WRONG_COUNT', 'BINARY_STATE_TO_OTHERS'],
      },
      {
        text: 'For the single byte 0x03, send JSON text: socket.send(JSON.stringify({ type: "snapshot", players })), with players built from the Map and sorted by id as numbers, sort((a, b) => a.id - b.id). Put x and y in as they were read: float32 values, unrounded.',
        covers: ['BINARY_SNAPSHOT_NO_REPLY', 'BINARY_SNAPSHOT_NOT_JSON', 'BINARY_SNAPSHOT_WRONG_SHAPE', 'BINARY_SNAPSHOT_WRONG_PLAYERS', 'BINARY_SNAPSHOT_PRECISION_LOST', 'BINARY_SNAPSHOT_NOT_SORTED'],
      },
      {
        text: "Judge a message before you read it. isBinary false: socket.close(1003, …). Binary that is not exactly a move (13 bytes, type 0x01, finite x and y) or a snapshot request (1 byte, 0x03): socket.close(1007, …), before storing anything. Close that socket alone and return: an error thrown in 'message', yours or a RangeError from reading past data.length, ends the server.",
        covers: [
          'BINARY_TEXT_NOT_CLOSED',
          'BINARY_TEXT_WRONG_CLOSE_CODE',
          'BINARY_CRASHED_ON_TEXT',
          'BINARY_MALFORMED_NOT_CLOSED',
          'BINARY_MALFORMED_WRONG_CLOSE_CODE',
          'BINARY_MALFORMED_KEPT',
          'BINARY_CRASHED_ON_MALFORMED',
          'BINARY_OTHERS_CLOSED',
        ],
      },
      {
        text: 'Compression is an option of the server: new WebSocketServer({ port, perMessageDeflate: { threshold: 1024, serverNoContextTakeover: true } }). ws negotiates it with each client that offers it, and applies the threshold only with serverNoContextTakeover: without it, every message is compressed.',
        covers: ['DEFLATE_NOT_NEGOTIATED', 'DEFLATE_NOT_ASKED_FOR', 'DEFLATE_SMALL_COMPRESSED', 'DEFLATE_LARGE_NOT_COMPRESSED'],
      },
    ],
    // Every answer on loopback takes a millisecond; waiting longer only delays the verdict.
    timeouts: { stepMs: 1000 },
  },
  {
    slug: '12-backpressure',
    title: 'Backpressure',
    summary: 'A fast feed to every client: a client that cannot keep up gets only the latest state, and is closed if it stays behind.',
    hints: [
      {
        text: "One feed for the whole server: one setInterval with the delay Number(process.env.TICK_MS), started with the server, one seq counter outside every handler, and at each tick one JSON.stringify({ seq: ++seq, at: Date.now(), book }), the same text for every client.",
        covers: ['BACKPRESSURE_NO_UPDATE', 'BACKPRESSURE_WRONG_SHAPE', 'BACKPRESSURE_WRONG_RATE', 'BACKPRESSURE_SEQ_NOT_COUNTING', 'BACKPRESSURE_FEED_NOT_SHARED'],
      },
      {
        text: 'send() never refuses: what a client does not read waits in your process. Before each send, look at that socket\'s bufferedAmount: above Number(process.env.HIGH_WATER_BYTES), skip it this tick, and keep nothing for it (no queue of what it missed, not even the first update it missed). Compare bufferedAmount alone with the mark, as it is before this send.',
        covers: ['BACKPRESSURE_NEVER_SKIPPED', 'BACKPRESSURE_MEMORY_GREW', 'BACKPRESSURE_SKIPPED_UNDER_MARK', 'BACKPRESSURE_SENT_WHILE_BEHIND'],
      },
      {
        text: 'Decide for each socket on its own bufferedAmount, and go on to the next with continue: never break, never one flag for "someone is behind", never wait for one client (a send callback) before sending to the next.',
        covers: ['BACKPRESSURE_FAST_CLIENT_SKIPPED', 'BACKPRESSURE_FAST_CLIENT_SLOWED'],
      },
      {
        text: "Catching up needs no code of its own: at the next tick a client under the mark simply gets that tick's update, the latest. Replay nothing it missed, and keep no mark that skips it for good.",
        covers: ['BACKPRESSURE_NOT_RESUMED', 'BACKPRESSURE_STALE_ON_CATCH_UP'],
      },
      {
        text: "Keep when each client fell behind: a WeakMap from socket to Date.now(), set the first tick it is seen behind, deleted the first tick it is under the mark again. A timer works too, if you clear it when the client catches up.",
        covers: ['BACKPRESSURE_CLOSED_TOO_SOON', 'BACKPRESSURE_CLOSED_AFTER_CATCH_UP', 'BACKPRESSURE_GRACE_NOT_RESET'],
      },
      {
        text: "Once Date.now() - since >= Number(process.env.SLOW_GRACE_MS), socket.close(1013, 'too slow'): a close frame, not terminate(). The socket then stays in wss.clients for a while: skip every one whose readyState is not WebSocket.OPEN.",
        covers: ['BACKPRESSURE_NEVER_CLOSED', 'BACKPRESSURE_CLOSED_WITHOUT_FRAME', 'BACKPRESSURE_WRONG_CLOSE_CODE', 'BACKPRESSURE_SENT_AFTER_CLOSE'],
      },
      {
        text: "As in lesson 04, give every socket an 'error' listener in wss.on('connection', …), even one that only logs: ws reports a broken frame there, and an 'error' nobody listens for ends the process, and the feed with it.",
        covers: ['BACKPRESSURE_CRASHED_ON_BAD_FRAME'],
      },
    ],
    env: { TICK_MS: '5', STATE_BYTES: '65536', HIGH_WATER_BYTES: '2097152', SLOW_GRACE_MS: '600' },
    // A pass takes some 6 s: three graces, each after a stalled client has filled the kernel's buffers.
    // The ceiling ends a verification that hangs; a busy machine only makes it take longer.
    timeouts: { totalMs: 25000 },
  },
  {
    slug: '13-keep-the-loop-free',
    title: 'Keep the event loop free',
    summary: 'Heavy work in worker threads, answers matched to requests, work in flight limited: other clients never wait.',
    hints: [
      {
        text: "Everything your message handler calls runs on the main thread, async or not: async and await choose when code runs, never where. Heavy work needs a thread of its own: new Worker(new URL(import.meta.url)) runs this same file again where isMainThread is false, and there parentPort.on('message', (n) => parentPort.postMessage(nthPrime(n))) is all it does. Every prime goes there, small ones too.",
        covers: ['LOOP_BLOCKED', 'LOOP_NO_WORKERS', 'LOOP_COMPUTED_ON_MAIN'],
      },
      {
        text: 'Start the pool once, when the server starts: Array.from({ length: Number(process.env.POOL_SIZE) }, () => new Worker(new URL(import.meta.url))). A worker per request costs a thread, an engine and your file loaded again, every time.',
        covers: ['LOOP_POOL_WRONG_SIZE', 'LOOP_WORKER_PER_REQUEST'],
      },
      {
        text: "Keep a list of the idle workers and a queue of the jobs waiting. A new job goes to an idle worker, or into the queue; when a worker's 'message' comes back, that worker takes the oldest job waiting, or goes back to the idle list. Taking the workers in turn, or always the first, hands jobs to a busy one.",
        covers: ['LOOP_WORK_SERIALIZED', 'LOOP_GIVEN_TO_BUSY_WORKER', 'LOOP_QUEUE_NOT_DRAINED'],
      },
      {
        text: "Answer an echo in the message handler itself, at once; a prime when its worker's answer comes. A worker that computes one job at a time answers the job it was last given: keep that job (its socket's reply function and the client's id) beside the worker, in a Map from worker to job. The id goes back as it came, whatever it is; never look a socket up by the client's id, which two clients may share.",
        covers: ['LOOP_ECHO_NO_ANSWER', 'LOOP_ECHO_WRONG', 'LOOP_ECHO_QUEUED', 'LOOP_PRIME_NO_ANSWER', 'LOOP_PRIME_WRONG', 'LOOP_ID_NOT_KEPT', 'LOOP_ANSWER_TO_WRONG_CLIENT'],
      },
      {
        text: 'In flight is what is running plus what is queued: running.size + queue.length, counted from what is there rather than kept in a counter of your own. When it has reached POOL_SIZE + QUEUE_LIMIT, answer {"type":"busy","id":…} at once and drop the request: return, before it is queued.',
        covers: ['LOOP_QUEUE_UNLIMITED', 'LOOP_BUSY_TOO_SOON', 'LOOP_BUSY_NOT_SENT', 'LOOP_BUSY_WRONG_SHAPE', 'LOOP_BUSY_BUT_COMPUTED', 'LOOP_LIMIT_NEVER_FREED'],
      },
      {
        text: 'Check every request in the main thread, before the limit and before any worker: JSON.parse in try/catch, an object, an id (\'id\' in request), then Number.isInteger(n) && n >= 1 && n <= PRIME_LIMIT. Anything else gets {"type":"error","id":…,"message":…} at once, on an open connection.',
        covers: ['LOOP_INVALID_ACCEPTED', 'LOOP_INVALID_QUEUED', 'LOOP_ERROR_WRONG_SHAPE', 'LOOP_CLOSED_ON_BAD_INPUT', 'LOOP_CRASHED_ON_BAD_INPUT'],
      },
      {
        text: "A worker keeps the process alive, as a listening server does. On SIGTERM, close the server and call terminate() on every worker: process.on('SIGTERM', () => { wss.close(); for (const worker of workers) void worker.terminate(); }).",
        covers: ['LOOP_SIGTERM_NOT_HANDLED', 'LOOP_WORKERS_LEFT_RUNNING', 'LOOP_SERVER_NOT_CLOSED'],
      },
    ],
    env: { POOL_SIZE: '3', QUEUE_LIMIT: '2', PRIME_LIMIT: '100000' },
    // Starting a worker loads the file again (through tsx), and a prime takes a fifth of a second of CPU:
    // on a machine shared by a class, the first answers and the last of the five queued can take seconds.
    timeouts: { stepMs: 6000 },
  },
  {
    slug: '14-reconnecting-client',
    title: 'A reconnecting client',
    writes: 'client',
    summary: 'A client that survives drops: exponential backoff with full jitter, re-subscribe, an offline queue, a clean stop.',
    hints: [
      {
        text: "ws never reconnects by itself. Put new WebSocket(process.env.SERVER_URL) in a function connect(), and in that socket's 'close' handler, which runs once for every ending and every failed attempt, schedule connect() again with setTimeout. Add an 'error' listener too, that only logs: a refused attempt raises 'error', then 'close'.",
        covers: ['NEVER_CONNECTED', 'RECONNECT_NEVER_RETRIED', 'RECONNECT_CRASHED_ON_FAILURE', 'RECONNECT_WRONG_URL', 'RECONNECT_TWO_CONNECTIONS'],
      },
      {
        text: "In 'open', send the subscribe first, JSON.stringify({ type: 'subscribe', topics: process.env.TOPICS.split(',') }), on every connection: the server forgets a connection's subscriptions when it ends.",
        covers: ['RECONNECT_SUBSCRIBE_MISSING', 'RECONNECT_SUBSCRIBE_WRONG', 'RECONNECT_SUBSCRIBE_NOT_FIRST'],
      },
      {
        text: "readline.createInterface({ input: process.stdin }).on('line', …) gives each line as typed, empty ones too. If socket.readyState === WebSocket.OPEN, send { type: 'say', text: line } at once; otherwise queue.push(line). In 'open', after the subscribe, send the queue with queue.shift() until it is empty.",
        covers: ['RECONNECT_SAY_MISSING', 'RECONNECT_SAY_WRONG', 'RECONNECT_QUEUE_LOST', 'RECONNECT_QUEUE_OUT_OF_ORDER', 'RECONNECT_QUEUE_SENT_TWICE'],
      },
      {
        text: "Keep a count n of the attempts since the last stable connection. In 'close': bound = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** n), delay = Math.random() * bound, then n++. Full jitter means the whole range from 0: never the bound itself, never half of it plus a random half.",
        covers: ['RECONNECT_DELAY_TOO_LONG', 'RECONNECT_DELAY_NOT_CAPPED', 'RECONNECT_DELAY_NOT_GROWING', 'RECONNECT_NO_JITTER'],
      },
      {
        text: "Reset n only for a connection that stayed up: in 'open', start a timer of STABLE_AFTER_MS that sets n = 0, and clear it in 'close'. Resetting in 'open' itself lets a server that accepts and drops at once be hammered forever.",
        covers: ['RECONNECT_BACKOFF_NOT_RESET', 'RECONNECT_BACKOFF_RESET_TOO_SOON'],
      },
      {
        text: "process.on('SIGTERM', …): set stopping = true (so that 'close' schedules nothing), clearTimeout the pending retry, process.stdin.destroy(), and socket.close(1000) if it is open. Then let the process end by itself: no process.exit() before the close frame has gone.",
        covers: ['RECONNECT_SIGTERM_NOT_HANDLED', 'RECONNECT_SIGTERM_NO_CLOSE_FRAME', 'RECONNECT_SIGTERM_RETRIED', 'RECONNECT_SIGTERM_KEPT_RUNNING', 'RECONNECT_SIGTERM_EXIT_CODE'],
      },
    ],
    env: {
      TOPICS: 'prices,nouvelles-é,🎉',
      // Short, so that three outages of nine attempts each take a few seconds; the bounds still leave
      // room for a busy machine's late timers (see verify/14-reconnecting-client.ts).
      BACKOFF_BASE_MS: '25',
      BACKOFF_CAP_MS: '400',
      STABLE_AFTER_MS: '200',
    },
  },
  {
    slug: '15-handshake-by-hand',
    title: 'The protocol by hand',
    summary: 'No WebSocket library: the handshake, frames, masks, fragments, pings and the close handshake, byte by byte.',
    hints: [
      {
        text: "With node:http, an upgrade request comes as the server's 'upgrade' event, with the socket: check it is a GET with Upgrade: websocket, Sec-WebSocket-Version: 13 and a key, else end the socket with a 400. Then write the 101 yourself: createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64') is the accept value.",
        covers: ['HAND_UPGRADE_NOT_SWITCHED', 'HAND_UPGRADE_BAD_HEADERS', 'HAND_UPGRADE_BAD_ACCEPT', 'HAND_BAD_REQUEST_SWITCHED', 'HAND_BAD_REQUEST_NOT_400', 'HAND_BAD_REQUEST_NO_ANSWER', 'HAND_STOPPED_SERVING'],
      },
      {
        text: "One 'data' event is not one frame. Keep a buffer for each connection, append every chunk to it, and take frames off its front for as long as one is complete: 2 bytes, then 2 or 8 more when the length says 126 or 127, then the 4-byte key, then the payload. What is left waits for the next chunk.",
        covers: ['HAND_SPLIT_FRAME_LOST', 'HAND_FRAMES_IN_ONE_READ', 'HAND_CONNECTIONS_MIXED'],
      },
      {
        text: 'The second byte: 0x80 is the mask bit, the rest the length. 126 means readUInt16BE(2), 127 means Number(readBigUInt64BE(2)), both big-endian. Then payload[i] ^= key[i % 4]. Your own frames use the same length rules, and no mask.',
        covers: ['HAND_NOT_UNMASKED', 'HAND_LENGTH_16_WRONG', 'HAND_LENGTH_64_WRONG', 'HAND_ECHO_MASKED', 'HAND_ECHO_BAD_FRAME'],
      },
      {
        text: "Echo with the opcode of the message's first frame: 0x1 text, 0x2 binary. A frame without FIN starts a message: keep its opcode and payload, add each continuation (opcode 0), echo when FIN comes. A ping or a close may come in between: answer it at once, and keep the fragments.",
        covers: ['HAND_ECHO_WRONG', 'HAND_ECHO_WRONG_TYPE', 'HAND_FRAGMENTS_NOT_JOINED', 'HAND_CONTROL_AMID_FRAGMENTS'],
      },
      {
        text: 'Control frames have opcodes of 8 and more. A ping (0x9) gets a pong (0xA) with its payload; a pong gets nothing. A close (0x8) gets a close with the first 2 bytes of its payload, the status code, and then socket.end().',
        covers: ['HAND_PONG_MISSING', 'HAND_PONG_WRONG_PAYLOAD', 'HAND_PONG_ANSWERED', 'HAND_CLOSE_NOT_ANSWERED', 'HAND_CLOSE_WRONG_CODE', 'HAND_CLOSE_LEFT_OPEN'],
      },
      {
        text: "Check each frame before you act on it, and refuse with a close frame carrying 1002 and socket.end(): the mask bit clear, a reserved bit (0x70 of the first byte) set, an opcode other than 0, 1, 2, 8, 9, 10, a control frame without FIN or over 125 bytes, a continuation with no message open, or a text or binary frame while one is.",
        covers: ['HAND_UNMASKED_ACCEPTED', 'HAND_LONG_CONTROL_ACCEPTED', 'HAND_FRAGMENTED_CONTROL_ACCEPTED', 'HAND_RESERVED_ACCEPTED', 'HAND_BAD_CONTINUATION_ACCEPTED', 'HAND_REFUSED_WRONG_CODE'],
      },
      {
        text: "Check UTF-8 on the whole text message, once its last fragment has come: isUtf8(data) from node:buffer. Refuse it with 1007. Buffer's toString() never fails, it puts U+FFFD where bytes are broken, and a valid text may hold U+FFFD too.",
        covers: ['HAND_BAD_UTF8_ACCEPTED', 'HAND_VALID_UTF8_REFUSED', 'HAND_UTF8_WRONG_CODE'],
      },
      {
        text: "A refusal ends one socket, never the server: no throw, no process.exit(). Give every socket an 'error' handler: a client that resets its connection raises one, and without a handler the whole process ends.",
        covers: ['HAND_CRASHED_ON_BAD_FRAME', 'HAND_OTHERS_DISTURBED'],
      },
    ],
  },
  {
    slug: '16-sse-and-polling',
    title: 'Server-Sent Events and long polling',
    summary: 'One live feed, two ways over plain HTTP: an event stream that resumes from Last-Event-ID, and long polls held until there is news.',
    hints: [
      {
        text: "Route on the method and the path together, req.method === 'POST' && url.pathname === '/publish', and answer anything else 404. Read the whole body of POST /publish (req.on('data'), then req.on('end')) and JSON.parse it in try/catch. Only an object whose text is a string (typeof text === 'string') makes an event, with ++lastId from one counter for the whole server, answered 201 {\"id\": n}; anything else is a 400 and takes no id.",
        covers: ['SSE_OTHER_NOT_404', 'SSE_PUBLISH_REFUSED', 'SSE_PUBLISH_WRONG_ID', 'SSE_BAD_PUBLISH_ACCEPTED', 'SSE_BAD_PUBLISH_MADE_EVENT'],
      },
      {
        text: "An event stream is an answer that never ends: res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' }), then at once res.write(`retry: ${process.env.RETRY_MS}\\n\\n`), which sends the headers too. No compression in front of it: gzip holds bytes back until it has many.",
        covers: ['SSE_NOT_EVENT_STREAM', 'SSE_CACHEABLE', 'SSE_HEADERS_HELD', 'SSE_NO_RETRY'],
      },
      {
        text: "Keep the open streams in a Set and write each event to every one: `id: ${id}\\n`, then for each line of text.split(/\\r\\n|\\r|\\n/) a `data: ${line}\\n` (with the space), then '\\n'. An EventSource joins the data lines with \\n: that is how a text with line ends travels.",
        covers: ['SSE_EVENT_MISSING', 'SSE_NO_ID', 'SSE_DATA_WRONG'],
      },
      {
        text: "Keep the last Number(process.env.HISTORY) events (push, then shift() when there are more). When req.headers['last-event-id'] is a number n, write every kept event whose id is greater than n before the stream joins the Set, in the same turn. Without the header, nothing from the past: it is a new client.",
        covers: ['SSE_RESUME_LOST', 'SSE_RESUME_REPEATED', 'SSE_HISTORY_UNBOUNDED', 'SSE_BACKLOG_UNASKED'],
      },
      {
        text: "Give each stream a setInterval(() => res.write(': keep-alive\\n\\n'), Number(process.env.KEEPALIVE_MS)), and in res.on('close', …) clear it and delete the stream from the Set.",
        covers: ['SSE_NO_KEEPALIVE', 'SSE_STREAM_TIMER_LEAK'],
      },
      {
        text: "GET /poll: after = url.searchParams.get('after') ?? '0', and /^\\d+$/.test(after) or a 400. The kept events with an id greater than after, oldest first, are answered at once as {\"events\":[…]}, with Content-Type: application/json; only when there are none is the poll held.",
        covers: ['SSE_POLL_WRONG_EVENTS', 'SSE_POLL_HELD_WITH_NEWS', 'SSE_POLL_NOT_JSON', 'SSE_POLL_AFTER_REQUIRED', 'SSE_POLL_BAD_AFTER_ACCEPTED'],
      },
      {
        text: "A held poll is a function that answers it, kept in a Set: publish calls every one with [event]. Each has its setTimeout(() => answer([]), Number(process.env.POLL_TIMEOUT_MS)), answering 200 {\"events\":[]}; answering clears that timer and leaves the Set, and so does res.on('close', …) when the client goes first.",
        covers: ['SSE_POLL_NOT_HELD', 'SSE_POLL_NOT_WOKEN', 'SSE_POLL_ONE_WOKEN', 'SSE_POLL_NO_TIMEOUT', 'SSE_POLL_TIMEOUT_WRONG', 'SSE_POLL_TIMER_LEAK'],
      },
      {
        text: "server.close() waits for every open connection, and a stream never ends by itself. On SIGTERM: res.end() every stream, answer every held poll with [], then server.close() and, once those last answers are written, server.closeAllConnections() for the connections kept alive.",
        covers: ['SSE_SIGTERM_NOT_HANDLED', 'SSE_SIGTERM_KEPT_RUNNING', 'SSE_SIGTERM_CUT'],
      },
    ],
    env: { RETRY_MS: '200', KEEPALIVE_MS: '100', POLL_TIMEOUT_MS: '1000', HISTORY: '8' },
  },
  {
    slug: '17-socketio-cluster',
    title: 'socket.io across nodes',
    summary: 'One socket.io server run as two nodes: rooms, counts and acks across them through the Redis adapter, and the sticky sessions a load balancer needs.',
    hints: [
      {
        text: 'A node knows only its own sockets until it has an adapter. Open two connections, const pub = new Redis(process.env.REDIS_URL) and const sub = pub.duplicate(), and give the Server adapter: createAdapter(pub, sub, { key: process.env.ADAPTER_KEY }) from @socket.io/redis-adapter.',
        covers: ['CLUSTER_NO_ADAPTER', 'CLUSTER_KEY_IGNORED'],
      },
      {
        text: "Each acknowledgement is one object: join answers { ok: true, room, node } with node = process.env.NODE_ID, say answers { ok: true }, count { ok: true, room, count }. Call the callback the client passed, last argument of your handler.",
        covers: ['CLUSTER_JOIN_NOT_ACKED', 'CLUSTER_BAD_JOIN_ACK', 'CLUSTER_WRONG_NODE', 'CLUSTER_SAY_NOT_ACKED', 'CLUSTER_BAD_SAY_ACK', 'CLUSTER_COUNT_NOT_ACKED', 'CLUSTER_BAD_COUNT'],
      },
      {
        text: "Send a say with io.to(room).emit('said', { room, text, node }): every member of the room, on every node, the sender too. socket.to(room) leaves the sender out; io.emit reaches every room; io.local and loops over io.sockets.sockets stop at this process. One emit: the adapter does the rest.",
        covers: ['CLUSTER_NOT_DELIVERED', 'CLUSTER_NOT_ACROSS', 'CLUSTER_SENDER_LEFT_OUT', 'CLUSTER_WRONG_SAID', 'CLUSTER_TEXT_CHANGED', 'CLUSTER_LEAKED_TO_OTHER_ROOM', 'CLUSTER_DUPLICATE'],
      },
      {
        text: 'Ask the whole cluster: (await io.in(room).fetchSockets()).length counts the room on every node, and io.timeout(Number(process.env.ROLL_CALL_MS)).emit("roll-call", (err, answers) => …) collects every client\'s answer. err only says that someone was late: answers holds those that came, so acknowledge { ok: true, answers } either way (emitWithAck would reject instead).',
        covers: ['CLUSTER_COUNT_LOCAL_ONLY', 'CLUSTER_ROLL_CALL_NOT_ACKED', 'CLUSTER_ROLL_CALL_LOCAL_ONLY', 'CLUSTER_ROLL_CALL_GAVE_UP', 'CLUSTER_ROLL_CALL_WAITED_TOO_LONG', 'CLUSTER_BAD_ROLL_CALL'],
      },
      {
        text: 'Check before you act: a room is typeof room === "string" && room !== "", a say payload an object whose text is a string (any string, "" too). Refuse anything else with ack({ ok: false, error: "…" }) and return: nothing joined, nothing sent.',
        covers: ['CLUSTER_INVALID_NOT_REFUSED', 'CLUSTER_INVALID_DELIVERED', 'CLUSTER_REFUSED_TEXT', 'CLUSTER_INVALID_CRASHED'],
      },
      {
        text: "A polling session lives in one node's memory, so every request of it must reach that node. Give the Server cookie: { name: 'io', httpOnly: true, path: '/' }: the handshake's answer then sets io=<session id>, and a load balancer sticks on it.",
        covers: ['CLUSTER_NO_COOKIE', 'CLUSTER_COOKIE_NAME', 'CLUSTER_POLLING_FAILED'],
      },
    ],
    env: { ADAPTER_KEY: 'workshop17', ROLL_CALL_MS: '300' },
    needs: ['redis'],
    // Redis and both nodes are on loopback: every hop takes a millisecond or two.
    timeouts: { stepMs: 1500 },
  },
  {
    slug: '18-collaborative-drawing',
    title: 'A collaborative drawing board',
    summary: 'The capstone: a server that serves its own page and relays strokes between browsers, with the drawing so far for late joiners, a clear action, validated input, and strokes in JSON or in 16 bytes of binary.',
    hints: [
      {
        text: "One http.createServer answers GET / with the page (200, Content-Type: text/html; charset=utf-8), written in a template string, and 404 for anything else; new WebSocketServer({ server, path: '/draw', maxPayload: Number(process.env.MAX_MESSAGE_BYTES) }) shares its port, and refuses upgrades on every other path. maxPayload is in bytes, and ws closes a larger message with 1009 itself, after reporting it as an 'error' on the socket: give each socket socket.on('error', () => {}), or that error crashes the process.",
        covers: ['DRAW_PAGE_NOT_SERVED', 'DRAW_OTHER_PATH_NOT_404', 'DRAW_WS_ON_OTHER_PATH', 'DRAW_PAYLOAD_NOT_LIMITED', 'DRAW_PAYLOAD_LIMIT_TOO_SMALL', 'DRAW_CRASHED_ON_OVERSIZED'],
      },
      {
        text: "The page: <canvas id=\"board\" width=\"800\" height=\"600\"> with no CSS width or height, a <button id=\"clear\">, and new WebSocket('ws://' + location.host + '/draw'): the script is inside your server's template string, where a backtick would end the template and ${…} would be filled in by the server. Read the colour and width once from new URLSearchParams(location.search), with '#000000' and 4 when they are missing.",
        covers: ['DRAW_NO_CANVAS', 'DRAW_CANVAS_SCALED', 'DRAW_NO_CLEAR_BUTTON', 'DRAW_PAGE_NOT_CONNECTED'],
      },
      {
        text: "Keep the last point in a variable: set it on mousedown, and on each mousemove while it is set, draw from it to [e.offsetX, e.offsetY], send { type: 'stroke', from: last, to: next, color, width }, then last = next; on mouseup, last = null.",
        covers: ['DRAW_NO_STROKE_SENT', 'DRAW_STROKE_WRONG_SHAPE', 'DRAW_NOT_DRAWN_LOCALLY'],
      },
      {
        text: "One draw(stroke) for everything: ctx.strokeStyle = stroke.color; ctx.lineWidth = stroke.width; ctx.beginPath(); ctx.moveTo(...stroke.from); ctx.lineTo(...stroke.to); ctx.stroke(). Call it for your own segments, for each stroke that arrives, and for each stroke of the history.",
        covers: ['DRAW_RECEIVED_NOT_DRAWN', 'DRAW_DRAWN_WRONG', 'DRAW_HISTORY_NOT_DRAWN'],
      },
      {
        text: "Relay a valid stroke rebuilt from its five fields, { type: 'stroke', from, to, color, width }, to every client but the sender: for (const client of wss.clients) if (client !== socket && client.readyState === WebSocket.OPEN) client.send(text).",
        covers: ['DRAW_STROKE_NOT_RELAYED', 'DRAW_RELAYED_WRONG', 'DRAW_ECHOED_TO_SENDER'],
      },
      {
        text: "On 'connection', send { type: 'history', strokes: history } before anything else. Push each valid stroke, then if (history.length > Number(process.env.HISTORY_LIMIT)) history.shift(): the oldest go first.",
        covers: ['DRAW_NO_HISTORY', 'DRAW_HISTORY_WRONG', 'DRAW_HISTORY_UNBOUNDED'],
      },
      {
        text: "The button clears its own canvas (ctx.clearRect(0, 0, canvas.width, canvas.height)) and sends { type: 'clear' }. The server empties the history (history.length = 0) and relays { type: 'clear' } to the others, whose onmessage clears their canvas.",
        covers: ['DRAW_CLEAR_NOT_SENT', 'DRAW_CLEAR_NOT_RELAYED', 'DRAW_CLEAR_NOT_APPLIED', 'DRAW_HISTORY_NOT_EMPTIED'],
      },
      {
        text: "For text: JSON.parse in try/catch; then typeof message === 'object' && message !== null before reading message.type. A point is Array.isArray(p) && p.length === 2 with both typeof 'number' and inside 0…800, 0…600; the colour matches /^#[0-9a-fA-F]{6}$/; the width is a number from 1 to 50. Anything else: return, and nothing else happens.",
        covers: ['DRAW_INVALID_RELAYED', 'DRAW_INVALID_KEPT', 'DRAW_CLOSED_ON_INVALID', 'DRAW_CRASHED_ON_INVALID', 'DRAW_VALID_REFUSED'],
      },
      {
        text: "For binary (isBinary true, data a Buffer): if (data.length !== 16 || data[0] !== 1) return; then build { from: [data.readUInt16BE(1), data.readUInt16BE(3)], to: [data.readUInt16BE(5), data.readUInt16BE(7)], color: '#' + three bytes each as byte.toString(16).padStart(2, '0'), width: data[12] } and send it through the same checks as a JSON stroke: relayed and kept as JSON, like any stroke.",
        covers: ['DRAW_BINARY_NOT_RELAYED', 'DRAW_BINARY_RELAYED_WRONG', 'DRAW_BINARY_INVALID_RELAYED', 'DRAW_BINARY_NOT_KEPT'],
      },
      {
        text: "Per connection, in the 'connection' handler: let windowStart = Date.now(), count = 0. On each message, start a new window when 1000 ms have passed (windowStart = now, count = 0), then count++; if (count > Number(process.env.MAX_MESSAGES_PER_SECOND)) socket.close(1008, 'too many messages'), and return before anything else.",
        covers: ['DRAW_FLOOD_NOT_LIMITED', 'DRAW_FLOOD_WRONG_CLOSE', 'DRAW_POLITE_CLOSED', 'DRAW_LIMIT_SHARED', 'DRAW_WINDOW_NEVER_RESETS'],
      },
      {
        text: "process.on('SIGTERM', () => { for (const client of wss.clients) client.close(1001, 'server shutting down'); wss.close(); server.close(() => process.exit(0)); }).",
        covers: ['DRAW_SIGTERM_NOT_HANDLED', 'DRAW_SIGTERM_NO_1001'],
      },
    ],
    env: { HISTORY_LIMIT: '20', MAX_MESSAGE_BYTES: '1024', MAX_MESSAGES_PER_SECOND: '40' },
    needs: ['browser'],
  },
];
