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
];
