// Lesson 16 — Server-Sent Events and long polling: one live feed, served two ways over plain HTTP.
// POST /publish makes an event; GET /events streams every event as it comes (and those missed, after
// a reconnection); GET /poll answers with the events after an id, or holds the request until there is one.
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
/** How long an EventSource waits before it reconnects: the server says so in the stream's first line. */
const retryMs = Number(process.env.RETRY_MS ?? 3000);
/** How often each open stream gets a comment line, so that nothing between gives up on a quiet connection. */
const keepAliveMs = Number(process.env.KEEPALIVE_MS ?? 15000);
/** How long a poll is held when there is no news. */
const pollTimeoutMs = Number(process.env.POLL_TIMEOUT_MS ?? 25000);
/** How many of the latest events are kept, for the clients that come back. */
const historySize = Number(process.env.HISTORY ?? 100);

interface FeedEvent {
  id: number;
  text: string;
}

// The feed: the latest events, oldest first, and the last id given out (ids never start again).
const history: FeedEvent[] = [];
let lastId = 0;
/** Every open event stream. */
const streams = new Set<http.ServerResponse>();
/** Every held poll, as the function that answers it. */
const waiting = new Set<(events: FeedEvent[]) => void>();

/** The kept events whose id is greater than `id`, in order. */
function eventsAfter(id: number): FeedEvent[] {
  return history.filter((event) => event.id > id);
}

/**
 * One event as the stream carries it: its id, one data line per line of its text, and the blank line
 * that ends it. A text may end its lines with \r\n, \n or \r: an EventSource splits on all three.
 */
function eventBlock(event: FeedEvent): string {
  const data = event.text
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('');
  return `id: ${event.id}\n${data}\n`;
}

function publish(text: string): FeedEvent {
  const event = { id: ++lastId, text };
  history.push(event);
  if (history.length > historySize) history.shift();
  for (const stream of streams) stream.write(eventBlock(event));
  // Answering a poll removes it from `waiting`: go through a copy.
  for (const answer of [...waiting]) answer([event]);
  return event;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The text of a publish request, or undefined when the body is not {"text": <a string>}. */
function textOf(body: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { text } = value as { text?: unknown };
  return typeof text === 'string' ? text : undefined;
}

function handlePublish(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    // Decoded once the whole body is here: a character may be split between two chunks.
    const text = textOf(Buffer.concat(chunks).toString('utf8'));
    if (text === undefined) return sendJson(res, 400, { error: 'Send {"text": "…"}, with a string.' });
    sendJson(res, 201, { id: publish(text).id });
  });
}

function handleEvents(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  // Written at once: the headers leave with it, and the client knows the stream is open.
  res.write(`retry: ${retryMs}\n\n`);
  // A client that comes back says the last id it saw: first what it missed, then the live ones. A new
  // client sends no Last-Event-ID: Number(undefined) is NaN, and no id is greater than NaN.
  for (const event of eventsAfter(Number(req.headers['last-event-id']))) res.write(eventBlock(event));
  streams.add(res);
  // A comment line: EventSource ignores it, and proxies see a connection that is still alive.
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), keepAliveMs);
  res.on('close', () => {
    clearInterval(keepAlive);
    streams.delete(res);
  });
}

function handlePoll(url: URL, res: http.ServerResponse): void {
  const after = url.searchParams.get('after') ?? '0';
  if (!/^\d+$/.test(after)) return sendJson(res, 400, { error: 'after must be a non-negative integer.' });
  const ready = eventsAfter(Number(after));
  if (ready.length > 0) return sendJson(res, 200, { events: ready });
  // No news: hold the request until there is some, or until the timeout.
  const answer = (events: FeedEvent[]) => {
    forget();
    sendJson(res, 200, { events });
  };
  const forget = () => {
    clearTimeout(timer);
    waiting.delete(answer);
  };
  const timer = setTimeout(() => answer([]), pollTimeoutMs);
  waiting.add(answer);
  // A client that leaves is forgotten: no timer, no answer written to a closed connection.
  res.on('close', forget);
}

const server = http.createServer((req, res) => {
  const url = new URL(`http://localhost${req.url}`);
  if (req.method === 'POST' && url.pathname === '/publish') return handlePublish(req, res);
  if (req.method === 'GET' && url.pathname === '/events') return handleEvents(req, res);
  if (req.method === 'GET' && url.pathname === '/poll') return handlePoll(url, res);
  sendJson(res, 404, { error: 'Not found.' });
});

// A deploy sends SIGTERM: end every stream and every held poll, so that the server can close.
process.on('SIGTERM', () => {
  for (const stream of streams) stream.end();
  for (const answer of [...waiting]) answer([]);
  server.close();
  // Clients keep their connections alive for the next request: once those last answers are written, close them all.
  setImmediate(() => server.closeAllConnections());
});

server.listen(port, () => console.log(`listening on port ${port}`));
