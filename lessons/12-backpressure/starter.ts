// Lesson 12 — backpressure. Run `wsw print` to read the task again, `wsw verify` to check your work.
// The feed works: every tick, one update goes to every client. But send() never says no: a client
// that stops reading gets an update a tick all the same, and your process keeps them all for it.
import { WebSocket, WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const tickMs = Number(process.env.TICK_MS ?? 50);
const stateBytes = Number(process.env.STATE_BYTES ?? 1024);
const highWaterBytes = Number(process.env.HIGH_WATER_BYTES ?? 1024 * 1024);
const slowGraceMs = Number(process.env.SLOW_GRACE_MS ?? 10_000);

const wss = new WebSocketServer({ port });

wss.on('connection', (socket) => {
  socket.on('error', (error) => console.error('socket error:', error.message));
});

// TODO: remember, for each client that is behind, when it fell behind (a WeakMap from socket to a time).

let seq = 0;
const book = 'x'.repeat(stateBytes);

setInterval(() => {
  const update = JSON.stringify({ seq: ++seq, at: Date.now(), book });
  for (const socket of wss.clients) {
    if (socket.readyState !== WebSocket.OPEN) continue;
    // TODO: above highWaterBytes, socket.bufferedAmount says this client is behind: skip it this
    //       tick (continue), and the next ones until it is under the mark again.
    // TODO: once it has been behind for slowGraceMs on end, close it: socket.close(1013, '…').
    // TODO: a client that is under the mark again has caught up: forget when it fell behind.
    socket.send(update);
  }
}, tickMs);

void highWaterBytes;
void slowGraceMs;

wss.on('listening', () => console.log(`feed listening on port ${port}: an update every ${tickMs} ms`));
