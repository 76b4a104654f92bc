import http from 'node:http';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const historyLimit = Number(process.env.HISTORY_LIMIT ?? 1000);
const maxMessageBytes = Number(process.env.MAX_MESSAGE_BYTES ?? 64 * 1024);
const maxPerSecond = Number(process.env.MAX_MESSAGES_PER_SECOND ?? 100);

const WIDTH = 800;
const HEIGHT = 600;

type Point = [number, number];
interface Stroke {
  type: 'stroke';
  from: Point;
  to: Point;
  color: string;
  width: number;
}

const page = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>Drawing board</title></head>
<body>
<canvas id="board" width="${WIDTH}" height="${HEIGHT}" style="border:1px solid #ccc"></canvas>
<button id="clear">Clear</button>
<script>
const params = new URLSearchParams(location.search);
const color = params.get('color') || '#000000';
const width = Number(params.get('width') || 4);
const canvas = document.getElementById('board');
const ctx = canvas.getContext('2d');
const socket = new WebSocket('ws://' + location.host + '/draw');

function draw(s) {
  ctx.strokeStyle = s.color;
  ctx.lineWidth = s.width;
  ctx.lineCap = 'round';
  ctx.beginPath();
  ctx.moveTo(s.from[0], s.from[1]);
  ctx.lineTo(s.to[0], s.to[1]);
  ctx.stroke();
}
function clearBoard() {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
}

socket.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (message.type === 'history') message.strokes.forEach(draw);
  if (message.type === 'stroke') draw(message);
  if (message.type === 'clear') clearBoard();
};

let last = null;
canvas.addEventListener('mousedown', (e) => { last = [e.offsetX, e.offsetY]; });
canvas.addEventListener('mousemove', (e) => {
  if (!last) return;
  const next = [e.offsetX, e.offsetY];
  const stroke = { type: 'stroke', from: last, to: next, color, width };
  draw(stroke);
  socket.send(JSON.stringify(stroke));
  last = next;
});
window.addEventListener('mouseup', () => { last = null; });
document.getElementById('clear').addEventListener('click', () => {
  clearBoard();
  socket.send(JSON.stringify({ type: 'clear' }));
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
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not found');
});

const wss = new WebSocketServer({ server, path: '/draw', maxPayload: maxMessageBytes });
const history: Stroke[] = [];

function isPoint(value: unknown): value is Point {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === 'number' &&
    typeof value[1] === 'number' &&
    value[0] >= 0 &&
    value[0] <= WIDTH &&
    value[1] >= 0 &&
    value[1] <= HEIGHT
  );
}

/** The stroke in a message, with only its five fields; undefined when the message is no valid stroke. */
function strokeIn(message: Record<string, unknown>): Stroke | undefined {
  const { from, to, color, width } = message;
  if (!isPoint(from) || !isPoint(to)) return undefined;
  if (typeof color !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(color)) return undefined;
  if (typeof width !== 'number' || !(width >= 1 && width <= 50)) return undefined;
  return { type: 'stroke', from: [from[0], from[1]], to: [to[0], to[1]], color, width };
}

/**
 * The stroke in a binary message: 16 bytes, big-endian, as problem.md lays them out; undefined when
 * the bytes are no valid stroke. It goes through the same checks as a stroke in JSON.
 */
function strokeInBytes(data: Buffer): Stroke | undefined {
  if (data.length !== 16 || data[0] !== 1) return undefined;
  const hex = (byte: number) => byte.toString(16).padStart(2, '0');
  return strokeIn({
    from: [data.readUInt16BE(1), data.readUInt16BE(3)],
    to: [data.readUInt16BE(5), data.readUInt16BE(7)],
    color: `#${hex(data[9]!)}${hex(data[10]!)}${hex(data[11]!)}`,
    width: data[12],
  });
}

/** What a text message asks for: a stroke, a clear, or nothing valid (undefined). */
function strokeInText(text: string): Stroke | 'clear' | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null) return undefined;
  const { type } = message as Record<string, unknown>;
  if (type === 'clear') return 'clear';
  if (type !== 'stroke') return undefined;
  return strokeIn(message as Record<string, unknown>);
}

function toOthers(sender: WebSocket, text: string): void {
  for (const client of wss.clients) {
    if (client !== sender && client.readyState === WebSocket.OPEN) client.send(text);
  }
}

wss.on('connection', (socket) => {
  socket.send(JSON.stringify({ type: 'history', strokes: history }));
  // ws reports a message over maxPayload here, after closing with 1009: nothing more to do.
  socket.on('error', () => {});
  let windowStart = Date.now();
  let count = 0;

  socket.on('message', (data: RawData, isBinary: boolean) => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      count = 0;
    }
    count++;
    if (count > maxPerSecond) {
      socket.close(1008, 'too many messages');
      return;
    }
    const stroke = isBinary ? strokeInBytes(data as Buffer) : strokeInText(data.toString());
    if (stroke === 'clear') {
      history.length = 0;
      toOthers(socket, JSON.stringify({ type: 'clear' }));
      return;
    }
    if (!stroke) return;
    history.push(stroke);
    if (history.length > historyLimit) history.shift();
    toOthers(socket, JSON.stringify(stroke));
  });
});

process.on('SIGTERM', () => {
  for (const client of wss.clients) client.close(1001, 'server shutting down');
  wss.close();
  server.close(() => process.exit(0));
});

server.listen(port, () => {
  console.log(`Drawing board on http://localhost:${port}/`);
});
