// Lesson 09 — Express on one port: a REST API and a WebSocket server on one http.Server, sharing state.
import http from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { WebSocket, WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 3000);

const app = express();
// Without it, req.body is undefined: Express reads no body unless a parser is mounted.
app.use(express.json());

// One http.Server for both: Express answers its requests, ws takes its upgrades. One port, one address
// for proxies and firewalls, and no CORS, since the page and its socket come from the same origin.
const server = http.createServer(app);
// ws compares the pathname: /ws?room=1 is /ws. It answers any other path with 400 and closes it.
const wss = new WebSocketServer({ server, path: '/ws' });

/**
 * The sockets an announcement would reach now. wss.clients is the state routes and sockets share, but
 * a socket that has begun to close stays in it until its closing handshake is over: count OPEN ones.
 */
function openSockets(): WebSocket[] {
  return [...wss.clients].filter((socket) => socket.readyState === WebSocket.OPEN);
}

app.get('/online', (req, res) => {
  res.json({ online: openSockets().length });
});

app.post('/announce', (req: Request, res: Response) => {
  // req.body is whatever JSON the client sent (an array, a number in place of the text, no text at all),
  // and undefined when the request was not JSON: check it before you trust it.
  const text: unknown = req.body?.text;
  if (typeof text !== 'string') {
    res.status(400).json({ error: 'Send a JSON object with a string "text".' });
    return;
  }
  // A new object with the two fields announced, whatever else the body carried.
  const announcement = JSON.stringify({ type: 'announcement', text });
  const receivers = openSockets();
  for (const socket of receivers) socket.send(announcement);
  // 202 Accepted: handed to the sockets, which is all a server can promise; no client has answered yet.
  res.status(202).json({ delivered: receivers.length });
});

// express.json() passes a body it cannot parse to the error handlers, and Express's own answers with an
// HTML page. An API answers in JSON; whatever else went wrong keeps Express's default.
app.use((error: { type?: string }, req: Request, res: Response, next: NextFunction) => {
  if (error.type !== 'entity.parse.failed') return next(error);
  res.status(400).json({ error: 'The body is not valid JSON.' });
});

// Sockets only listen in this lesson: nothing they send needs an answer, and nothing in it can crash us.
wss.on('connection', (socket) => {
  socket.on('error', (error) => console.error(`a socket failed: ${error.message}`));
});

// server.listen, not app.listen: app.listen would make a second http.Server, one ws knows nothing about.
server.listen(port, () => console.log(`API and WebSocket server listening on port ${port}`));
