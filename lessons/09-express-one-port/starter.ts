// Lesson 09 — Express on one port. Run `wsw print` to read the task again, `wsw verify` to check your work.
// An Express API that knows nothing of WebSockets yet. Give it a ws server on the same port, and let
// its routes reach the sockets.
import express from 'express';

const port = Number(process.env.PORT ?? 3000);

const app = express();
app.use(express.json());

// TODO: make the http.Server yourself, http.createServer(app) (import http from 'node:http'), and
//       attach ws to it: new WebSocketServer({ server, path: '/ws' }). Listen with that server, on PORT.
// TODO: count the sockets whose readyState is WebSocket.OPEN (wss.clients holds closing ones too).
app.get('/online', (req, res) => {
  res.json({ online: 0 });
});

// TODO: POST /announce: check that req.body.text is a string (or answer 400 with {"error":"…"}), send
//       {"type":"announcement","text":…} to every open socket, and answer 202 with {"delivered":n}.
// TODO: a body that is not JSON at all never reaches your route: express.json() hands it to the error
//       handlers, app.use((error, req, res, next) => …), and Express's own answers with an HTML page.

app.listen(port, () => console.log(`API listening on port ${port}`));
