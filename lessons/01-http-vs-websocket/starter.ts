// Lesson 01 — HTTP vs WebSocket. Run `wsw print` to read the task again, `wsw verify` to check your work.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const tickMs = Number(process.env.TICK_MS ?? 1000);

const server = http.createServer((req, res) => {
  // TODO: when req.method is 'GET' and req.url is '/time', answer 200 with a JSON body such as
  //       {"time":"2025-01-01T12:00:00.000Z"}, and finish the response with res.end(body).
  console.log(`${req.method} ${req.url}`);
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not found\n');
});

// TODO: attach a WebSocketServer to this same server (not to a port of its own).
// TODO: on each 'connection', send {"tick": n} every tickMs milliseconds, without waiting to be asked,
//       and stop that timer when the socket closes.
void WebSocketServer;
void tickMs;

server.listen(port, () => console.log(`listening on port ${port}`));
