// Lesson 12 — backpressure: a fast feed to every client; one that cannot keep up is skipped, gets the
// latest state once it has caught up, and is closed if it stays behind too long.
import { WebSocket, WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);
// The verifier makes the feed fast and the updates big, so that a client that stops reading is behind
// within a fraction of a second; production values would come from measurements of your own traffic.
const tickMs = Number(process.env.TICK_MS ?? 50);
const stateBytes = Number(process.env.STATE_BYTES ?? 1024);
const highWaterBytes = Number(process.env.HIGH_WATER_BYTES ?? 1024 * 1024);
const slowGraceMs = Number(process.env.SLOW_GRACE_MS ?? 10_000);

// 1013 "Try Again Later": the server is casting off a client for a condition of its own, here load,
// and the client may come back later. (1008 would accuse it of breaking a policy with what it sent.)
const TRY_AGAIN_LATER = 1013;

const wss = new WebSocketServer({ port });

// When each client fell behind, for those that are behind now. A WeakMap forgets a socket once it is
// gone, so nothing is left to clean up when a client leaves.
const behindSince = new WeakMap<WebSocket, number>();

wss.on('connection', (socket) => {
  // As in lesson 04: a broken frame is an 'error' on that socket, which ws then closes. Unheard, it
  // would be thrown, and end the feed for everyone.
  socket.on('error', (error) => console.error('socket error:', error.message));
});

let seq = 0;
const book = 'x'.repeat(stateBytes); // stands in for the real order book

// One timer for the whole feed: every client gets the same update, made once.
setInterval(() => {
  const now = Date.now();
  // Stringified once per tick, not once per client: the same text goes to everyone.
  const update = JSON.stringify({ seq: ++seq, at: now, book });
  for (const socket of wss.clients) {
    if (socket.readyState !== WebSocket.OPEN) continue;
    // bufferedAmount: bytes send() has accepted that the kernel has not taken yet. Above the mark,
    // this client is not reading; another update would only wait in this process's memory, and be
    // stale by the time it arrives.
    if (socket.bufferedAmount > highWaterBytes) {
      const since = behindSince.get(socket) ?? now;
      behindSince.set(socket, since);
      // Behind for the whole grace, without a break: let it go. The close frame waits behind what
      // is queued; ws destroys the connection itself if the client never answers it.
      if (now - since >= slowGraceMs) socket.close(TRY_AGAIN_LATER, 'too slow for this feed');
      continue; // skip it, and only it: the others get this update now
    }
    // Caught up (or never behind): this update is the latest state, so sending it is all the
    // catching up there is to do. Its next fall behind gets a whole grace again.
    behindSince.delete(socket);
    socket.send(update);
  }
}, tickMs);

wss.on('listening', () => console.log(`feed listening on port ${port}: an update every ${tickMs} ms`));
