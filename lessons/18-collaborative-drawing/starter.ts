// Lesson 18 — A collaborative drawing board. Run `wsw print` to read the task again, `wsw verify` to check your work.
// The page is served already and draws under your own mouse. Make it a shared board: the server keeps
// the drawing, relays each stroke to the other pages, clears, and refuses what no page should send.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const historyLimit = Number(process.env.HISTORY_LIMIT ?? 1000);
const maxMessageBytes = Number(process.env.MAX_MESSAGE_BYTES ?? 64 * 1024);
const maxPerSecond = Number(process.env.MAX_MESSAGES_PER_SECOND ?? 100);

const page = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>Drawing board</title></head>
<body>
<canvas id="board" width="800" height="600" style="border:1px solid #ccc"></canvas>
<button id="clear">Clear</button>
<script>
const params = new URLSearchParams(location.search);
const color = params.get('color') || '#000000';
const width = Number(params.get('width') || 4);
const canvas = document.getElementById('board');
const ctx = canvas.getContext('2d');
// TODO: open a WebSocket to ws://<this host>/draw. This script is inside the server's template
// string: no backticks in it, and no dollar sign before a brace, or the server reads them as its own.

function draw(s) {
  ctx.strokeStyle = s.color;
  ctx.lineWidth = s.width;
  ctx.lineCap = 'round';
  ctx.beginPath();
  ctx.moveTo(s.from[0], s.from[1]);
  ctx.lineTo(s.to[0], s.to[1]);
  ctx.stroke();
}

// TODO: on each message, draw a stroke, draw every stroke of a history, clear on a clear.

let last = null;
canvas.addEventListener('mousedown', (e) => { last = [e.offsetX, e.offsetY]; });
canvas.addEventListener('mousemove', (e) => {
  if (!last) return;
  const next = [e.offsetX, e.offsetY];
  draw({ type: 'stroke', from: last, to: next, color, width });
  // TODO: send the stroke to the server.
  last = next;
});
window.addEventListener('mouseup', () => { last = null; });
document.getElementById('clear').addEventListener('click', () => {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  // TODO: tell the server.
});
</script>
</body>
</html>`;

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url?.split('?')[0] === '/') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page);
    return;
  }
  res.writeHead(404);
  res.end();
});

const wss = new WebSocketServer({ server, path: '/draw' });
// TODO: limit the size of a message to maxMessageBytes.
void maxMessageBytes;

wss.on('connection', (socket) => {
  // TODO: send the history first: {"type":"history","strokes":[…]}, at most historyLimit of them.
  void historyLimit;
  socket.on('message', () => {
    // TODO: count messages (more than maxPerSecond in a second: close with 1008), validate, keep, relay, clear.
    // A binary message of 16 bytes is a stroke too (R13): relay and keep it as JSON.
    void maxPerSecond;
  });
});

// TODO: on SIGTERM, close every connection with 1001 and exit with code 0.

server.listen(port, () => {
  console.log(`Drawing board on http://localhost:${port}/`);
});
