// Lesson 10 — Security at the door. Run `wsw print` to read the task again, `wsw verify` to check your work.
// This chat works, and lets anyone in: any page, any client, any name, any size, any pace. Lock it.
import http from 'node:http';
import express from 'express';
import { WebSocket, WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);
// TODO: read the rest of the setup from process.env too: ALLOWED_ORIGINS (comma-separated origins, a
//       Set), USERS ("alice:wonderland,bob:builder", a Map from user to password), SESSION_TTL_MS,
//       RATE_LIMIT and RATE_WINDOW_MS (numbers). And keep the sessions in a Map: token → { user, expires }.

const app = express();
app.post('/login', express.json(), (req, res) => {
  // TODO: when req.body's user and password are strings and match a pair of USERS, make a token with
  //       randomBytes(32).toString('base64url') (from node:crypto), remember it with Date.now() +
  //       SESSION_TTL_MS, and set it as the cookie "session":
  //       res.cookie('session', token, { httpOnly: true, sameSite: 'strict', path: '/' }). Else, 401.
  res.status(401).json({ error: 'nobody can log in yet' });
});

const server = http.createServer(app);
// TODO: maxPayload: 4096, so that ws refuses larger frames with 1009.
const wss = new WebSocketServer({ noServer: true });

server.on('upgrade', (req, socket, head) => {
  // TODO: before handleUpgrade, answer "HTTP/1.1 403 Forbidden\r\n\r\n" (socket.end) when
  //       req.headers.origin is there and not one of ALLOWED_ORIGINS, and "HTTP/1.1 401 Unauthorized\r\n\r\n"
  //       unless req.headers.cookie holds session=<a token of your sessions that has not expired>.
  //       Then hand the session's user to onConnection.
  wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, 'anonymous'));
});

function onConnection(socket: WebSocket, user: string): void {
  socket.on('error', (error) => console.error(`${user}'s connection failed: ${error.message}`));
  socket.on('message', (data) => {
    // TODO: count this connection's messages; over RATE_LIMIT within RATE_WINDOW_MS, socket.close(1008, reason).
    // TODO: accept only {"type":"chat","text":<1 to 500 characters>}; answer anything else with
    //       {"type":"error","message":…} on this socket, instead of crashing.
    const message = JSON.parse(data.toString());
    // TODO: the name is the session's, never what the message claims.
    const relay = JSON.stringify({ type: 'chat', from: message.from ?? user, text: message.text });
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(relay);
  });
}

server.listen(port, () => console.log(`chat listening on port ${port}`));
