/**
 * Mutants of the reference solutions that behave exactly as the original, each with the reason. A
 * survivor matching one of these counts as equivalent, not as a gap in the verifier. Add one only when
 * no program the lesson's text allows could tell the two apart; never to raise a score.
 *
 * A mutant is matched by its mutator, the original code and the replacement, so that it stays matched
 * when lines move.
 */
export interface Equivalent {
  lesson: string;
  mutator: string;
  original: string;
  replacement: string;
  reason: string;
}

export const equivalents: Equivalent[] = [
  {
    lesson: '03-broadcast',
    mutator: 'BlockStatement',
    original: "{\n    // Without this catch, one client typing nonsense would stop the server for everybody.\n    return 'Not valid JSON.';\n  }",
    replacement: '{}',
    reason:
      'With the catch emptied, text that is not JSON leaves value undefined, which the object check refuses next: the client still gets an error and the server stays up. Only the wording differs, and problem.md leaves the wording to the learner.',
  },
  {
    lesson: '03-broadcast',
    mutator: 'ConditionalExpression',
    original: "typeof value !== 'object'",
    replacement: 'false',
    reason:
      'Without the typeof test, a number, string or boolean passes the object check, but destructuring it gives no type, so the type check answers with an error instead: the same refusal, in other words (null and arrays are still caught by the rest of the test).',
  },
  {
    lesson: '04-lifecycle',
    mutator: 'ConditionalExpression',
    original: 'socket.readyState === WebSocket.OPEN',
    replacement: 'true',
    reason:
      'ws 8 drops a send on a socket that is closing or closed without a word, and a socket in the Map is never still connecting: sending without the check reaches nobody more. problem.md asks nothing about sends to closing sockets (lesson 03 does).',
  },
  {
    lesson: '04-lifecycle',
    mutator: 'UpdateOperator',
    original: '++lastId',
    replacement: '--lastId',
    reason: 'Counting down gives -1, -2, -3…: still a number of its own for every connection, which is all problem.md asks of an id.',
  },
  {
    lesson: '04-lifecycle',
    mutator: 'BlockStatement',
    original: "{\n      sendJson(socket, { type: 'error', message: 'messages must be JSON' });\n      return;\n    }",
    replacement: '{}',
    reason:
      'With the catch emptied, text that is not JSON leaves message undefined, whose type is neither who nor quit: the other error reply goes out instead. problem.md leaves both whether to answer and the wording to the learner.',
  },
  {
    lesson: '04-lifecycle',
    mutator: 'BlockStatement',
    original: "{\n      sendJson(socket, { type: 'error', message: 'expected {\"type\":\"who\"} or {\"type\":\"quit\"}' });\n    }",
    replacement: '{}',
    reason: 'R13 lets a server ignore what it cannot use or answer it with an error: without the reply, an unknown type is ignored, which is allowed.',
  },
  {
    lesson: '01-http-vs-websocket',
    mutator: 'ObjectLiteral',
    original: "{ 'Content-Type': 'text/plain' }",
    replacement: '{}',
    reason: 'The headers of the 404: R5 asks for the status 404 and an answer that ends, with any body or none, so the type of that body is the learner\'s to choose.',
  },
  {
    lesson: '01-http-vs-websocket',
    mutator: 'StringLiteral',
    original: "'text/plain'",
    replacement: '""',
    reason: 'The Content-Type of the 404, left empty: R5 asks for the status 404 and an answer that ends, with any body or none.',
  },
  {
    lesson: '01-http-vs-websocket',
    mutator: 'StringLiteral',
    original: "'Not found\\n'",
    replacement: '""',
    reason: 'The body of the 404, left empty: R5 says any body, or none, will do.',
  },
  {
    lesson: '06-tls',
    mutator: 'ConditionalExpression',
    original: '!certFile || !keyFile',
    replacement: 'false',
    reason:
      'Both variables are always set by whoever runs the lesson, so the guard never fires; without it, a missing path makes fs.readFileSync throw and the server exits all the same. problem.md says nothing of a server started without them.',
  },
  {
    lesson: '06-tls',
    mutator: 'LogicalOperator',
    original: '!certFile || !keyFile',
    replacement: '!certFile && !keyFile',
    reason:
      'With one variable missing, the guard lets the start go on to fs.readFileSync(undefined), which throws: the server exits either way, only the message differs. problem.md always gives both.',
  },
  {
    lesson: '06-tls',
    mutator: 'BlockStatement',
    original: "{\n  console.error('Set TLS_CERT and TLS_KEY to the paths of a PEM certificate and its private key.');\n  process.exit(1);\n}",
    replacement: '{}',
    reason:
      'The guard emptied: a missing path then makes fs.readFileSync throw, and the server exits as it would have, without the friendlier message. problem.md always gives both paths.',
  },
  {
    lesson: '07-redis-scaling',
    mutator: 'StringLiteral',
    original: "'redis://127.0.0.1:6379'",
    replacement: '""',
    reason: 'The fallback when REDIS_URL is not set: the verifier and wsw run always set it (R2), so the fallback never runs.',
  },
  {
    lesson: '07-redis-scaling',
    mutator: 'StringLiteral',
    original: "'chat'",
    replacement: '""',
    reason: 'The fallback when CHAT_CHANNEL is not set: the verifier and wsw run always set it (R3), so the fallback never runs.',
  },
  {
    lesson: '07-redis-scaling',
    mutator: 'LogicalOperator',
    original: 'process.env.INSTANCE_ID ?? randomUUID()',
    replacement: 'process.env.INSTANCE_ID && randomUUID()',
    reason: 'With INSTANCE_ID set, the mutant takes a random UUID instead: still an id no other instance has, which R13 allows as well.',
  },
  {
    lesson: '07-redis-scaling',
    mutator: 'ArrowFunction',
    original: "(error: Error) => console.error('publish failed:', error.message)",
    replacement: '() => undefined',
    reason: 'A catch that only prints: console output is not part of the lesson.',
  },
  {
    lesson: '07-redis-scaling',
    mutator: 'ArrowFunction',
    original: '() => console.log(`instance ${instanceId} subscribed to ${channel}`)',
    replacement: '() => undefined',
    reason: 'A then that only prints: console output is not part of the lesson.',
  },
  {
    lesson: '07-redis-scaling',
    mutator: 'ArrowFunction',
    original: "(error: Error) => console.error('subscribe failed:', error.message)",
    replacement: '() => undefined',
    reason: 'A catch that only prints: console output is not part of the lesson.',
  },
  {
    lesson: '07-redis-scaling',
    mutator: 'BlockStatement',
    original: "{\n    return 'Not valid JSON.';\n  }",
    replacement: '{}',
    reason:
      'With the catch emptied, text that is not JSON leaves value undefined, which the object check refuses next: the client still gets an error, nothing is published, and the server stays up. Only the wording differs, and R11 leaves it to the learner.',
  },
  {
    lesson: '07-redis-scaling',
    mutator: 'ConditionalExpression',
    original: "typeof value !== 'object'",
    replacement: 'false',
    reason:
      'Without the typeof test, a number, string or boolean passes the object check, but destructuring it gives no type, so the type check refuses it instead: the same error reply, in other words (null and arrays are still caught by the rest of the test).',
  },
  {
    lesson: '07-redis-scaling',
    mutator: 'ConditionalExpression',
    original: "typeof value?.origin === 'string'",
    replacement: 'true',
    reason:
      'Only what reaches clients is judged by R12: a message of the server\'s shape whose id is not a string, but whose sender and message are strings, is another instance\'s, and problem.md says to pass it on.',
  },
  {
    lesson: '07-redis-scaling',
    mutator: 'OptionalChaining',
    original: 'value?.origin',
    replacement: 'value.origin',
    reason: 'For a payload of null, value.origin throws inside the try, whose catch ignores the payload: the same as the optional chain does.',
  },
  {
    lesson: '08-socketio-contrast',
    mutator: 'ObjectLiteral',
    original: '{ maxDisconnectionDuration: 2 * 60 * 1000 }',
    replacement: '{}',
    reason:
      "socket.io's own default maxDisconnectionDuration is 2 * 60 * 1000: connectionStateRecovery: {} keeps sessions exactly as long, and R7 leaves the duration to the learner.",
  },
  {
    lesson: '08-socketio-contrast',
    mutator: 'ConditionalExpression',
    original: 'socket.data.room',
    replacement: 'true',
    reason:
      'On a first join there is no room to leave, and socket.leave(undefined) takes the socket out of nothing: the same as skipping the call. Every later join has a room, so the test is true anyway.',
  },
  {
    lesson: '08-socketio-contrast',
    mutator: 'ConditionalExpression',
    original: "typeof payload === 'object'",
    replacement: 'true',
    reason:
      'Only null needs the test (payload !== null still catches it): a string, number or boolean payload has no message property, so reading one gives undefined and the chat is refused all the same. JSON brings nothing else but objects and arrays.',
  },
  {
    lesson: '08-socketio-contrast',
    mutator: 'ConditionalExpression',
    original: '!room',
    replacement: 'false',
    reason:
      'A chat from a client in no room then goes to socket.to(undefined), a room nobody is in, and is acknowledged { ok: true } instead of refused: R4 lets the learner answer a roomless chat either way, as long as it reaches nobody, which it does.',
  },
  {
    lesson: '09-express-one-port',
    mutator: 'ConditionalExpression',
    original: "error.type !== 'entity.parse.failed'",
    replacement: 'false',
    reason:
      "The routes cannot throw, so the only errors that reach the handler are express.json()'s. A body it cannot parse gets 400 in JSON either way; the others come from bodies problem.md never speaks of (over 100 kB, a charset other than UTF-8, a compressed body), which either answer refuses: 400 in JSON, or Express's own 413 or 415.",
  },
  {
    lesson: '11-binary-and-compression',
    mutator: 'StringLiteral',
    original: "'this protocol is binary'",
    replacement: '""',
    reason: 'A close frame may carry no reason at all: R6 asks for the code 1003 and leaves the reason, like every wording, to the learner.',
  },
  {
    lesson: '10-origin-and-auth',
    mutator: 'StringLiteral',
    original: "''",
    replacement: '"Stryker was here!"',
    reason:
      "The three ?? '' fallbacks: ALLOWED_ORIGINS and USERS are always set by verify and run, so theirs is never used; and a request with no Cookie header then searches another string without a session= pair in it, which finds no session either: 401 all the same.",
  },
  {
    lesson: '10-origin-and-auth',
    mutator: 'ConditionalExpression',
    original: "typeof user !== 'string'",
    replacement: 'false',
    reason:
      'Every key of the users Map is a string, and Map.get compares keys by identity: a user that is not a string is never found, so users.get(user) is undefined, which a password that is a string (checked next) never equals. The login is refused all the same.',
  },
  {
    lesson: '10-origin-and-auth',
    mutator: 'EqualityOperator',
    original: 'session.expires <= Date.now()',
    replacement: 'session.expires < Date.now()',
    reason: 'The two differ only in the one millisecond at which the session expires: no client can time an upgrade to land on it, and problem.md does not say which side of it the session is on.',
  },
  {
    lesson: '10-origin-and-auth',
    mutator: 'ConditionalExpression',
    original: 'client.readyState === WebSocket.OPEN',
    replacement: 'true',
    reason:
      'ws 8 drops a send on a socket that is closing or closed without a word, and a socket in wss.clients is never still connecting: sending without the check reaches nobody more. Sends to closing sockets are lesson 03\'s subject; this lesson asks nothing new about them.',
  },
  {
    lesson: '10-origin-and-auth',
    mutator: 'BlockStatement',
    original: "{\n    return { error: 'not valid JSON' };\n  }",
    replacement: '{}',
    reason:
      'With the catch emptied, text that is not JSON leaves message undefined, which the type check refuses next: the client still gets an error and the connection stays open. Only the wording differs, and problem.md leaves the wording to the learner.',
  },
  {
    lesson: '10-origin-and-auth',
    mutator: 'EqualityOperator',
    original: 'now - windowStart >= rateWindowMs',
    replacement: 'now - windowStart > rateWindowMs',
    reason: 'The window starts anew one millisecond later: no client can time a message to land on that millisecond, and problem.md leaves the exact edges of a window (fixed or sliding) to the learner.',
  },
  {
    lesson: '13-keep-the-loop-free',
    mutator: 'ConditionalExpression',
    original: 'socket.readyState === WebSocket.OPEN',
    replacement: 'true',
    reason:
      'The check spares a send to a client that left while its prime was computed; ws 8 drops such a send without a word, so nothing reaches anyone either way, and the server goes on.',
  },
  {
    lesson: '13-keep-the-loop-free',
    mutator: 'ConditionalExpression',
    original: "typeof n !== 'number'",
    replacement: 'false',
    reason:
      'Number.isInteger(n) is false for every n that is not a number, so the request is refused all the same; the typeof test is there for TypeScript, which narrows n to a number only through it.',
  },
  {
    lesson: '12-backpressure',
    mutator: 'ArithmeticOperator',
    original: '1024 * 1024',
    replacement: '1024 / 1024',
    reason: 'The default of HIGH_WATER_BYTES, used only when the variable is not set: the verifier and `run` always set it.',
  },
  {
    lesson: '12-backpressure',
    mutator: 'EqualityOperator',
    original: 'now - since >= slowGraceMs',
    replacement: 'now - since > slowGraceMs',
    reason:
      'Closing at the first tick once the grace is over, or at the first tick after it, differs by one tick (5 ms) at most: no client can tell a grace of 600 ms from one of 600 ms and a tick, when timers run late by more than that.',
  },
  {
    lesson: '12-backpressure',
    mutator: 'EqualityOperator',
    original: 'socket.bufferedAmount > highWaterBytes',
    replacement: 'socket.bufferedAmount >= highWaterBytes',
    reason:
      'They differ only when exactly HIGH_WATER_BYTES bytes wait, to the byte: with updates of 65 KiB and the kernel taking what it takes, no client can make that happen, nor tell a mark from the mark and one byte.',
  },
  {
    lesson: '12-backpressure',
    mutator: 'StringLiteral',
    original: "'too slow for this feed'",
    replacement: '""',
    reason: 'A close frame may carry no reason at all: R6 asks for the code 1013 and leaves the reason, like every wording, to the learner.',
  },
  {
    lesson: '15-handshake-by-hand',
    mutator: 'ObjectLiteral',
    original: "{ 'Content-Type': 'text/plain' }",
    replacement: '{}',
    reason:
      'The 400 for a request that asks for no upgrade may carry any headers and body: R3 asks for the status, and leaves the rest to the learner.',
  },
  {
    lesson: '15-handshake-by-hand',
    mutator: 'StringLiteral',
    original: "'text/plain'",
    replacement: '""',
    reason:
      'An empty Content-Type on the 400 is still a 400: R3 asks for the status alone, and a client reads no further.',
  },
  {
    lesson: '15-handshake-by-hand',
    mutator: 'StringLiteral',
    original: "'This server speaks WebSocket only.\\n'",
    replacement: '""',
    reason:
      'The body of the 400 is the learner\'s to word, or to leave out: R3 asks for the status alone.',
  },
  {
    lesson: '15-handshake-by-hand',
    mutator: 'OptionalChaining',
    original: 'request.headers.upgrade?.toLowerCase',
    replacement: 'request.headers.upgrade.toLowerCase',
    reason:
      "node:http emits 'upgrade' only for a request that has an Upgrade header: in that handler the header is always there, and the ?. never matters.",
  },
  {
    lesson: '15-handshake-by-hand',
    mutator: 'BooleanLiteral',
    original: 'true',
    replacement: 'false',
    reason:
      'closing = true stops reading frames once the connection is refused or closed. Without it, later frames are still parsed, but every answer is written after socket.end(), which Node refuses: nothing more reaches the client either way.',
  },
  {
    lesson: '15-handshake-by-hand',
    mutator: 'ConditionalExpression',
    original: 'buffered.length < 2',
    replacement: 'false',
    reason:
      'With fewer than 2 bytes, the second byte reads as undefined, so the length as 0 and the header as 2 bytes: the check of the whole frame\'s size that follows waits for more bytes just the same.',
  },
  {
    lesson: '15-handshake-by-hand',
    mutator: 'EqualityOperator',
    original: 'buffered.length < 2',
    replacement: 'buffered.length <= 2',
    reason:
      'A client frame is masked, so it has 6 bytes at least: with exactly 2 bytes there is never a whole frame to read, and waiting for more changes nothing.',
  },
  {
    lesson: '15-handshake-by-hand',
    mutator: 'EqualityOperator',
    original: 'buffered.length < 4',
    replacement: 'buffered.length <= 4',
    reason:
      'A frame with a 16-bit length has 126 bytes of payload at least: with exactly 4 bytes it is never complete, and waiting for more changes nothing.',
  },
  {
    lesson: '15-handshake-by-hand',
    mutator: 'EqualityOperator',
    original: 'buffered.length < 10',
    replacement: 'buffered.length <= 10',
    reason:
      'A frame with a 64-bit length has 65536 bytes of payload at least: with exactly 10 bytes it is never complete, and waiting for more changes nothing.',
  },
  {
    lesson: '15-handshake-by-hand',
    mutator: 'ConditionalExpression',
    original: 'masked',
    replacement: 'true',
    reason:
      'Unmasking an unmasked frame garbles a payload nobody reads: an unmasked frame is refused with 1002 before its payload is used.',
  },
  {
    lesson: '15-handshake-by-hand',
    mutator: 'EqualityOperator',
    original: 'i < payload.length',
    replacement: 'i <= payload.length',
    reason:
      'One more turn writes payload[payload.length], past the end of the Buffer, which a typed array ignores: the payload is the same.',
  },
  {
    lesson: '14-reconnecting-client',
    mutator: 'StringLiteral',
    original: "'ws://localhost:8080/live'",
    replacement: '""',
    reason: 'The address used when SERVER_URL is missing, for running the file by hand: the verifier always sets SERVER_URL, and problem.md asks for it.',
  },
  {
    lesson: '14-reconnecting-client',
    mutator: 'StringLiteral',
    original: "'news'",
    replacement: '""',
    reason: 'The topic used when TOPICS is missing, for running the file by hand: the verifier always sets TOPICS, and problem.md asks for it.',
  },
  {
    lesson: '14-reconnecting-client',
    mutator: 'StringLiteral',
    original: "'client stopping'",
    replacement: '""',
    reason: 'A close frame may carry no reason at all: R9 asks for the code 1000 and leaves the reason, like every wording, to the learner.',
  },
  {
    lesson: '17-socketio-cluster',
    mutator: 'StringLiteral',
    original: "'A'",
    replacement: '""',
    reason:
      'The fallback when NODE_ID is not set: the verifier and wsw run always set it (R3), so the fallback never runs.',
  },
  {
    lesson: '17-socketio-cluster',
    mutator: 'StringLiteral',
    original: "'redis://127.0.0.1:6379'",
    replacement: '""',
    reason:
      'The fallback when REDIS_URL is not set: the verifier and wsw run always set it (R2), so the fallback never runs.',
  },
  {
    lesson: '17-socketio-cluster',
    mutator: 'StringLiteral',
    original: "'socket.io'",
    replacement: '""',
    reason:
      'The fallback when ADAPTER_KEY is not set: the verifier and wsw run always set it (R2), so the fallback never runs.',
  },
  {
    lesson: '17-socketio-cluster',
    mutator: 'ObjectLiteral',
    original: "{ name: 'io', httpOnly: true, sameSite: 'lax', path: '/' }",
    replacement: '{}',
    reason:
      'engine.io fills an empty cookie option with its defaults, which are these: name io, path /, httpOnly, SameSite Lax (cookie: {} is cookie: true). R8 allows either.',
  },
  {
    lesson: '17-socketio-cluster',
    mutator: 'BooleanLiteral',
    original: 'true',
    replacement: 'false',
    reason:
      'HttpOnly keeps the session id from scripts on a page; R8 asks for a cookie named io that a load balancer can stick on, and httpOnly does not change what the balancer sees.',
  },
  {
    lesson: '17-socketio-cluster',
    mutator: 'StringLiteral',
    original: "'lax'",
    replacement: '""',
    reason:
      'An empty sameSite leaves the attribute out: R8 asks for the name io only, and SameSite does not change what a load balancer sees or what the same-site verifier clients send.',
  },
  {
    lesson: '17-socketio-cluster',
    mutator: 'StringLiteral',
    original: "'/'",
    replacement: '""',
    reason:
      "An empty path leaves the attribute out, and the cookie's path is then that of the handshake, /socket.io/, where every later request of the session goes: R8 asks for the name io only.",
  },
  {
    lesson: '17-socketio-cluster',
    mutator: 'ConditionalExpression',
    original: "typeof payload === 'object'",
    replacement: 'true',
    reason:
      'Without the typeof test, a string, number or boolean payload passes the null check, but destructuring it gives no room, so it is refused by the room check next: the same refusal (null is still caught by payload !== null).',
  },
  {
    lesson: '16-sse-and-polling',
    mutator: 'ArrayDeclaration',
    original: "[]",
    replacement: "[\"Stryker was here\"]",
    reason:
      "The feed's history starting with a string in it: a string has no id, so eventsAfter never gives it to a stream or a poll, and once HISTORY events are kept the shift() takes it out first. (The other [] of the solution, the empty answer to held polls on SIGTERM, is killed by R15's check of that answer.)",
  },
  {
    lesson: '16-sse-and-polling',
    mutator: 'BlockStatement',
    original: "{\n    return undefined;\n  }",
    replacement: "{}",
    reason:
      "With the catch emptied, text that is not JSON leaves value undefined, which the object check refuses next: the publish is still a 400, and makes no event.",
  },
  {
    lesson: '16-sse-and-polling',
    mutator: 'ConditionalExpression',
    original: "typeof value !== 'object'",
    replacement: "false",
    reason:
      "Destructuring a JSON number, string or boolean gives no text (none of them has a text property), so textOf still refuses it; only null would throw, and value === null still catches it.",
  },
  {
    lesson: '16-sse-and-polling',
    mutator: 'ObjectLiteral',
    original: "{ error: 'Send {\"text\": \"…\"}, with a string.' }",
    replacement: "{}",
    reason:
      "The body of a 400: R3 asks for the status and no event, and leaves what the answer says, like every wording, to the learner.",
  },
  {
    lesson: '16-sse-and-polling',
    mutator: 'StringLiteral',
    original: "'Send {\"text\": \"…\"}, with a string.'",
    replacement: "\"\"",
    reason:
      "The wording of a 400's error: R3 asks for the status and no event, and leaves the words to the learner.",
  },
  {
    lesson: '16-sse-and-polling',
    mutator: 'ObjectLiteral',
    original: "{ error: 'after must be a non-negative integer.' }",
    replacement: "{}",
    reason:
      "The body of a 400 to a bad after: R13 asks for the status, and leaves what the answer says to the learner.",
  },
  {
    lesson: '16-sse-and-polling',
    mutator: 'StringLiteral',
    original: "'after must be a non-negative integer.'",
    replacement: "\"\"",
    reason:
      "The wording of a 400's error: R13 asks for the status, and leaves the words to the learner.",
  },
  {
    lesson: '16-sse-and-polling',
    mutator: 'ObjectLiteral',
    original: "{ error: 'Not found.' }",
    replacement: "{}",
    reason:
      "The body of a 404: R16 asks for the status and no event, and leaves what the answer says to the learner.",
  },
  {
    lesson: '16-sse-and-polling',
    mutator: 'StringLiteral',
    original: "'Not found.'",
    replacement: "\"\"",
    reason:
      "The wording of a 404: R16 asks for the status, and leaves the words to the learner.",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'ConditionalExpression',
    original: "req.method === 'GET'",
    replacement: "true",
    reason:
      "R2 asks for the page on GET / and 404 on every other path: what another method on / gets is left to the learner (a plain http handler that tests the path only is as right as Express's app.get).",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'OptionalChaining',
    original: "req.url?.split",
    replacement: "req.url.split",
    reason:
      "node:http always gives a server's request a url: the optional chaining is there for TypeScript's sake, and no request can tell the two apart.",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'ObjectLiteral',
    original: "{ 'Content-Type': 'text/plain' }",
    replacement: "{}",
    reason:
      "The headers of the 404: R2 asks for the status only, so the type of its body is the learner's to choose.",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'StringLiteral',
    original: "'text/plain'",
    replacement: "\"\"",
    reason:
      "The Content-Type of the 404, left empty: R2 asks for the status only.",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'StringLiteral',
    original: "'Not found'",
    replacement: "\"\"",
    reason:
      "The body of the 404: R2 asks for the status only, with any body or none.",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'ConditionalExpression',
    original: "client.readyState === WebSocket.OPEN",
    replacement: "true",
    reason:
      "ws 8 drops a send on a socket that is closing or closed without a word, and a socket in wss.clients is never still connecting: sending without the check reaches nobody more.",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'EqualityOperator',
    original: "now - windowStart >= 1000",
    replacement: "now - windowStart > 1000",
    reason:
      "The window starts anew one millisecond later: no client can time a message to land on that millisecond, and problem.md leaves the exact edges of a window (fixed or sliding) to the learner.",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'StringLiteral',
    original: "'too many messages'",
    replacement: "\"\"",
    reason:
      "A close frame may carry no reason at all: R11 asks for the code 1008 and leaves the reason, like every wording, to the learner.",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'StringLiteral',
    original: "'server shutting down'",
    replacement: "\"\"",
    reason:
      "A close frame may carry no reason at all: R12 asks for the code 1001 and leaves the reason to the learner.",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'BlockStatement',
    original: "{\n    return undefined;\n  }",
    replacement: "{}",
    reason:
      "With the catch emptied, text that is not JSON leaves message undefined, which the object check drops next: the same message dropped, one line later.",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'ConditionalExpression',
    original: "typeof message !== 'object'",
    replacement: "false",
    reason:
      "Without the typeof test, a number, string or boolean passes the null check, but destructuring it gives no type, so the type check drops it instead: the same message dropped (null is still caught by the rest of the test).",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'ArrowFunction',
    original: "() => process.exit(0)",
    replacement: "() => undefined",
    reason:
      "Once every connection is closed, wss and the http server closed, nothing is left to keep Node running: it exits with code 0 by itself, which is all R12 asks. Calling process.exit is one way to say so, not the only one.",
  },
  {
    lesson: '18-collaborative-drawing',
    mutator: 'ArithmeticOperator',
    original: "64 * 1024",
    replacement: "64 / 1024",
    reason:
      'The default of MAX_MESSAGE_BYTES, used only when the variable is not set, for running the file by hand: the verifier and `run` always set it.',
  },
];
