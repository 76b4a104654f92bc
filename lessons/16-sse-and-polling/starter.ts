// Lesson 16 — Server-Sent Events and long polling. Run `wsw print` to read the task again, `wsw verify` to check your work.
// Publishing works already: POST /publish {"text": "…"} makes an event with the next id. Serve the
// feed two ways: as an event stream on GET /events, and by long polling on GET /poll?after=<id>.
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const retryMs = Number(process.env.RETRY_MS ?? 3000);
const keepAliveMs = Number(process.env.KEEPALIVE_MS ?? 15000);
const pollTimeoutMs = Number(process.env.POLL_TIMEOUT_MS ?? 25000);
const historySize = Number(process.env.HISTORY ?? 100);

interface FeedEvent {
  id: number;
  text: string;
}

const history: FeedEvent[] = [];
let lastId = 0;
// TODO: keep the open event streams (a Set of responses) and the held polls.

function publish(text: string): FeedEvent {
  const event = { id: ++lastId, text };
  history.push(event);
  if (history.length > historySize) history.shift();
  // TODO: write the event to every open stream: `id: <n>`, one `data: <line>` per line of the text, a blank line.
  // TODO: answer every held poll with {"events":[event]}.
  return event;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

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

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'POST' && url.pathname === '/publish') {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = textOf(Buffer.concat(chunks).toString('utf8'));
      if (text === undefined) return sendJson(res, 400, { error: 'Send {"text": "…"}, with a string.' });
      sendJson(res, 201, { id: publish(text).id });
    });
    return;
  }
  if (req.method === 'GET' && url.pathname === '/events') {
    // TODO: 200 with Content-Type: text/event-stream and Cache-Control: no-cache, then `retry: ${retryMs}` at once;
    //       the kept events after the Last-Event-ID header, if any; a comment line every keepAliveMs; and when
    //       the client goes (res.on('close')), clear its timer and forget the stream.
    void [retryMs, keepAliveMs];
    return sendJson(res, 501, { error: 'The event stream is not written yet.' });
  }
  if (req.method === 'GET' && url.pathname === '/poll') {
    // TODO: after (default 0) must be digits, else 400. The kept events after it: answer {"events":[…]} at once.
    //       None: hold the request until the next publish, or answer {"events":[]} after pollTimeoutMs.
    void pollTimeoutMs;
    return sendJson(res, 501, { error: 'Long polling is not written yet.' });
  }
  sendJson(res, 404, { error: 'Not found.' });
});

// TODO: on SIGTERM, end every stream and every held poll, then close the server.

server.listen(port, () => console.log(`listening on port ${port}`));
