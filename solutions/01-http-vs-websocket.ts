// Lesson 01 — HTTP vs WebSocket: one server, one port. Plain HTTP gets one answer per request;
// a WebSocket stays open, and the server pushes on it without being asked.
import http from 'node:http';
import { WebSocketServer } from 'ws';

// The verifier (and `run`) choose the port; a hard-coded one would collide with other programs.
const port = Number(process.env.PORT ?? 8080);
// How often to push. Read from the environment so the verifier can make it short and judge quickly.
const tickMs = Number(process.env.TICK_MS ?? 1000);

// The HTTP side: a request comes in, one response goes out, and that exchange is over.
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/time') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    // end() sends the body and finishes the response; without it the client would wait forever.
    res.end(JSON.stringify({ time: new Date().toISOString() }));
    return;
  }
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not found\n');
});

// The WebSocket side is attached to the same server, so it shares PORT: ws takes the requests that
// ask for an upgrade, and every other request goes on to the handler above.
const wss = new WebSocketServer({ server });

wss.on('connection', (socket) => {
  let tick = 0;
  // Nobody asked: on an open WebSocket the server may speak first, as often as it likes.
  const timer = setInterval(() => socket.send(JSON.stringify({ tick: ++tick })), tickMs);
  // A timer outlives its socket unless stopped: without this it would fire forever for a client that left.
  socket.on('close', () => clearInterval(timer));
});

server.listen(port, () => console.log(`HTTP and WebSocket on port ${port}: GET /time, or connect to ws://localhost:${port}`));
