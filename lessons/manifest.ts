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
  /** Tools outside Node the verification needs; `doctor` checks them, and the suite skips loudly without them. */
  needs?: Array<'redis'>;
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
];
