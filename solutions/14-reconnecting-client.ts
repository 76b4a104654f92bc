// Lesson 14 — A reconnecting client: it stays subscribed to a feed through every drop. It reconnects
// after each close or failed attempt, waiting a random delay that grows up to a cap, queues what is
// typed while offline, and never holds two connections at once.
import readline from 'node:readline';
import WebSocket from 'ws';

const url = process.env.SERVER_URL ?? 'ws://localhost:8080/live';
const topics = (process.env.TOPICS ?? 'news').split(',');
const baseMs = Number(process.env.BACKOFF_BASE_MS ?? 500);
const capMs = Number(process.env.BACKOFF_CAP_MS ?? 30_000);
const stableAfterMs = Number(process.env.STABLE_AFTER_MS ?? 5000);

/** The connection, from the moment an attempt starts until it has closed: never more than one. */
let socket: WebSocket | undefined;
/** Attempts since the last stable connection: the n of the backoff's bound. */
let failures = 0;
let retryTimer: NodeJS.Timeout | undefined;
let stableTimer: NodeJS.Timeout | undefined;
let stopping = false;
/** Lines typed while not connected, oldest first. */
const queue: string[] = [];

const say = (ws: WebSocket, text: string) => ws.send(JSON.stringify({ type: 'say', text }));

function connect(): void {
  const ws = new WebSocket(url);
  socket = ws;
  ws.on('open', () => {
    // The server forgets a connection's subscriptions when it ends: every new one subscribes again,
    // before anything else it sends.
    ws.send(JSON.stringify({ type: 'subscribe', topics }));
    // Each queued line leaves the queue as it is sent: a later reconnect never sends it again.
    while (queue.length > 0) say(ws, queue.shift()!);
    // Only a connection that stayed up resets the backoff. Resetting on 'open' would let a server that
    // accepts and drops at once be hammered at the base delay forever.
    stableTimer = setTimeout(() => (failures = 0), stableAfterMs);
  });
  // A refused handshake or ECONNREFUSED is reported here, then 'close' follows: without a listener,
  // an 'error' would end the process. Reconnect from 'close' alone, or every failure counts twice.
  ws.on('error', (error) => console.error(`connection failed: ${error.message}`));
  ws.on('close', (code) => {
    clearTimeout(stableTimer);
    socket = undefined;
    if (stopping) return;
    // Full jitter: anywhere from 0 to the bound, so that many clients dropped at once come back spread out.
    const bound = Math.min(capMs, baseMs * 2 ** failures);
    const delay = Math.random() * bound;
    failures++;
    console.log(`closed (${code}); trying again in ${Math.round(delay)} ms (bound ${bound} ms)`);
    retryTimer = setTimeout(connect, delay);
  });
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (socket?.readyState === WebSocket.OPEN) say(socket, line);
  else queue.push(line);
});

process.on('SIGTERM', () => {
  // Stop for good: no retry pending, none scheduled by the close that follows.
  stopping = true;
  clearTimeout(retryTimer);
  clearTimeout(stableTimer);
  process.stdin.destroy();
  if (socket?.readyState === WebSocket.OPEN) socket.close(1000, 'client stopping');
  else socket?.terminate();
});

connect();
