// Lesson 04 — lifecycle: welcome, join, leave, and a presence count that stays exact whatever way a
// connection ends.
import { WebSocketServer, WebSocket } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const wss = new WebSocketServer({ port });

// Every open connection and the id it was given. The presence count is the size of this map and
// nothing else, so it can only be right if every connection that is added is also removed.
const online = new Map<WebSocket, number>();
let lastId = 0;

/** Sends a JSON message, but only on a socket that is still OPEN: a closing one would drop it. */
function sendJson(socket: WebSocket, message: object): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

/** Sends a message to every connection except one. */
function sendToOthers(except: WebSocket, message: object): void {
  for (const other of online.keys()) if (other !== except) sendJson(other, message);
}

wss.on('connection', (socket) => {
  const id = ++lastId;
  online.set(socket, id);
  // The newcomer learns who it is; the others learn that someone arrived. Nobody hears both.
  sendJson(socket, { type: 'welcome', id, online: online.size });
  sendToOthers(socket, { type: 'join', id, online: online.size });

  // Every handler is attached here, synchronously, before this function returns. A client may leave
  // a moment after it arrives: a 'close' handler attached later (after an await) would never run.
  socket.on('message', (data) => {
    // Anything can arrive (lesson 03): text that is not JSON, JSON that is not an object (null, a
    // number, an array), an object without a type. None of it may crash the server or reach anyone else.
    let message: unknown;
    try {
      message = JSON.parse(data.toString());
    } catch {
      sendJson(socket, { type: 'error', message: 'messages must be JSON' });
      return;
    }
    // JSON.parse('null') is null, and null.type would throw: ?. reads a type from whatever JSON gives.
    const type = (message as { type?: unknown } | null)?.type;
    if (type === 'who') {
      sendJson(socket, { type: 'presence', online: online.size });
    } else if (type === 'quit') {
      // close() starts the closing handshake: the client gets a close frame with a code and a reason,
      // answers it, and only then does 'close' fire below. terminate() would skip all of that.
      socket.close(1000, 'goodbye');
    } else {
      sendJson(socket, { type: 'error', message: 'expected {"type":"who"} or {"type":"quit"}' });
    }
  });

  // 'close' fires once for every connection, however it ends: a quit, the client closing, or the
  // connection simply dropping (code 1006). It is the one place to clean up and to announce the leave.
  socket.on('close', (code) => {
    online.delete(socket);
    sendToOthers(socket, { type: 'leave', id, online: online.size, code });
  });

  // A socket emits 'error' on a broken frame (invalid UTF-8, a protocol violation). With no listener,
  // Node throws it and the whole server dies with every connection on it. ws closes the socket for us
  // and 'close' still follows, so logging is all that is left to do.
  socket.on('error', (error) => console.error(`client ${id}: ${error.message}`));
});

wss.on('listening', () => console.log(`lifecycle server listening on port ${port}`));
