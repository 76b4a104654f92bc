// Lesson 10 — Security at the door: a small chat that checks who knocks before it opens, and keeps an
// eye on what comes in once it has.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import express from 'express';
import { WebSocket, WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);
// Exact origins, scheme://host:port: a Set answers "is it this one?", never "does it look like it?".
const allowedOrigins = new Set((process.env.ALLOWED_ORIGINS ?? '').split(','));
// "alice:wonderland,bob:builder" → alice → wonderland. A real server keeps password hashes (scrypt), not passwords.
const users = new Map((process.env.USERS ?? '').split(',').map((pair) => pair.split(':') as [string, string]));
const sessionTtlMs = Number(process.env.SESSION_TTL_MS ?? 3_600_000);
const rateLimit = Number(process.env.RATE_LIMIT ?? 20);
const rateWindowMs = Number(process.env.RATE_WINDOW_MS ?? 1000);
const MAX_TEXT = 500;

/** token → whose session it is, and until when. The token is the only key: nothing else names a session. */
const sessions = new Map<string, { user: string; expires: number }>();

const app = express();
app.post('/login', express.json(), (req, res) => {
  const { user, password } = (req.body ?? {}) as { user?: unknown; password?: unknown };
  if (typeof user !== 'string' || typeof password !== 'string' || users.get(user) !== password) {
    res.status(401).end();
    return;
  }
  // 32 bytes from the operating system's generator: nobody can guess the next one from the last.
  // Math.random() or a counter would let an attacker compute other people's tokens.
  const token = randomBytes(32).toString('base64url');
  sessions.set(token, { user, expires: Date.now() + sessionTtlMs });
  // HttpOnly: page scripts cannot read it (an XSS cannot steal it). SameSite=Strict: other sites' pages
  // do not send it. The browser attaches it to the WebSocket upgrade by itself: a page cannot set headers there.
  res.cookie('session', token, { httpOnly: true, sameSite: 'strict', path: '/' }).end();
});

const server = http.createServer(app);
// ws refuses a larger frame itself, closing with 1009, before a byte of it reaches our handler.
const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });

/** The session's user, when the upgrade request carries a live session cookie. */
function sessionUser(req: http.IncomingMessage): string | undefined {
  // "theme=dark; session=abc" → find the pair named session; the cookie header holds every cookie of the site.
  const pair = (req.headers.cookie ?? '').split(';').map((c) => c.trim().split('=')).find(([name]) => name === 'session');
  const session = pair?.[1] ? sessions.get(pair[1]) : undefined;
  if (!session || session.expires <= Date.now()) return undefined;
  return session.user;
}

function refuse(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

// Both checks happen here, on the HTTP request, before any 101: once upgraded, the attacker's page is in.
server.on('upgrade', (req, socket, head) => {
  socket.on('error', (error) => console.error(`upgrade failed: ${error.message}`));
  // Browsers always send Origin. No Origin means no browser, so no victim's cookie sent behind their back.
  const origin = req.headers.origin;
  if (origin !== undefined && !allowedOrigins.has(origin)) return refuse(socket, '403 Forbidden');
  const user = sessionUser(req);
  if (!user) return refuse(socket, '401 Unauthorized');
  wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, user));
});

/** Sends to every open client; the sender too, who sees the name the room sees. */
function broadcast(value: unknown): void {
  const text = JSON.stringify(value);
  for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(text);
}

/** The chat text of a message, or why there is none. */
function chatText(data: Buffer, isBinary: boolean): { text: string } | { error: string } {
  if (isBinary) return { error: 'messages are JSON text' };
  let message: unknown;
  try {
    message = JSON.parse(data.toString('utf8'));
  } catch {
    return { error: 'not valid JSON' };
  }
  const { type, text } = (typeof message === 'object' && message !== null ? message : {}) as { type?: unknown; text?: unknown };
  if (type !== 'chat') return { error: 'expected {"type":"chat","text":…}' };
  if (typeof text !== 'string' || text.length < 1 || text.length > MAX_TEXT) return { error: `text must be a string of 1 to ${MAX_TEXT} characters` };
  return { text };
}

// `user` comes from the session, checked above: it is the only identity this connection will ever have.
function onConnection(socket: WebSocket, user: string): void {
  socket.on('error', (error) => console.error(`${user}'s connection failed: ${error.message}`));
  // This connection's own window: one client's flood must never cost another its turn.
  let windowStart = Date.now();
  let count = 0;
  socket.on('message', (data: Buffer, isBinary) => {
    const now = Date.now();
    if (now - windowStart >= rateWindowMs) {
      windowStart = now;
      count = 0;
    }
    // Every message counts, valid or not: a flood of garbage costs as much as a flood of chat.
    if (++count > rateLimit) {
      socket.close(1008, 'too many messages');
      return;
    }
    const chat = chatText(data, isBinary);
    if ('error' in chat) {
      socket.send(JSON.stringify({ type: 'error', message: chat.error }));
      return;
    }
    // A new object: whatever the client wrote beside text (a "from" of its own, say) is left behind.
    broadcast({ type: 'chat', from: user, text: chat.text });
  });
}

server.listen(port, () => console.log(`chat listening on port ${port}`));
