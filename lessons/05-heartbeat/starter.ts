// Lesson 05 — heartbeat. Run `wsw print` to read the task again, `wsw verify` to check your work.
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const intervalMs = Number(process.env.HEARTBEAT_INTERVAL_MS ?? 30_000);

const wss = new WebSocketServer({ port });

// One flag per socket: has it shown a sign of life since the last round?
const isAlive = new WeakMap<WebSocket, boolean>();

wss.on('connection', (socket) => {
  console.log('a client connected');
  // TODO: a client that has just connected is alive: isAlive.set(socket, true).
  // TODO: listen for 'pong' on this socket, and mark it alive again there.
  socket.on('error', (error) => console.error('socket error:', error.message));
});

// TODO: every intervalMs, visit each socket in wss.clients:
//   - if its flag is still false, it missed the previous ping: terminate() it (a dead peer cannot close);
//   - otherwise set its flag to false and ping() it.
// TODO: keep the timer you create, and clear it when the server closes: wss.on('close', ...).
void isAlive;

// A deploy sends SIGTERM. Closing the server is not enough while a timer still runs.
process.on('SIGTERM', () => wss.close());

wss.on('listening', () => console.log(`heartbeat server listening on port ${port}, pinging every ${intervalMs} ms`));
