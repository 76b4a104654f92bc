// Lesson 05 — heartbeat: ping every client on a timer, and terminate the ones that stopped answering.
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.env.PORT ?? 8080);
// The verifier shortens the interval so a verdict comes quickly; 30 s is a common production value.
const intervalMs = Number(process.env.HEARTBEAT_INTERVAL_MS ?? 30_000);

const wss = new WebSocketServer({ port });

// One flag per socket: "has it shown a sign of life since the last round?". A shared variable would
// let one healthy client vouch for all the others. A WeakMap keeps the flag beside the socket without
// adding a property the WebSocket type does not have, and forgets it once the socket is gone.
const isAlive = new WeakMap<WebSocket, boolean>();

wss.on('connection', (socket) => {
  // A client that has just connected is obviously there: it gets a full round to answer its first ping.
  isAlive.set(socket, true);
  // Every client answers a ping with a pong on its own (browsers too, without any code). The pong is
  // the proof of life we wait for: no answer by the next round means nobody is listening any more.
  socket.on('pong', () => isAlive.set(socket, true));
  // A socket that dies can emit 'error'; without a listener, that would crash the whole server.
  socket.on('error', (error) => console.error('socket error:', error.message));
});

// One timer for the whole server, not one per connection: each round looks at every client once.
const heartbeat = setInterval(() => {
  for (const socket of wss.clients) {
    if (isAlive.get(socket) === false) {
      // It did not answer the previous ping. A dead peer cannot take part in a close handshake, so
      // close() would wait for an answer that never comes; terminate() destroys the connection now.
      socket.terminate();
      continue;
    }
    // Assume the worst until the pong proves otherwise, then ask.
    isAlive.set(socket, false);
    socket.ping();
  }
}, intervalMs);

// A running interval keeps Node alive: once the server has closed, stop the rounds too.
wss.on('close', () => clearInterval(heartbeat));

// A deploy or `docker stop` sends SIGTERM. Closing the server stops new connections; once the last
// connection is gone, 'close' fires, the interval is cleared, and the process ends by itself.
process.on('SIGTERM', () => wss.close());

wss.on('listening', () => console.log(`heartbeat server listening on port ${port}, pinging every ${intervalMs} ms`));
