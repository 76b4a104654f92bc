// Lesson 04 — lifecycle. Run `wsw print` to read the task again, `wsw verify` to check your work.
import { WebSocketServer, WebSocket } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const wss = new WebSocketServer({ port });

// Every open connection and its id. The presence count is online.size: keep it exact.
const online = new Map<WebSocket, number>();
let lastId = 0;

/** Sends a JSON message, but only on a socket that is still OPEN. */
function sendJson(socket: WebSocket, message: object): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

wss.on('connection', (socket) => {
  const id = ++lastId;
  console.log(`client ${id} connected`);
  // TODO: add the socket to `online`, then send it {"type":"welcome","id":id,"online":online.size}.
  // TODO: send {"type":"join", ...} to every *other* socket in `online`.

  socket.on('message', (data) => {
    let message: { type?: unknown } | null;
    try {
      message = JSON.parse(data.toString()) as { type?: unknown } | null;
    } catch {
      return; // not JSON: nothing this lesson asks for
    }
    // JSON.parse('null') is null: ?. keeps a message like that from crashing the server.
    if (message?.type === 'who') {
      // TODO: answer on this socket only: {"type":"presence","online":N}.
    } else if (message?.type === 'quit') {
      // TODO: close this socket with code 1000 and a short reason. Not terminate(): why not?
    }
  });

  socket.on('close', (code) => {
    console.log(`client ${id} closed with code ${code}`);
    // TODO: this runs for every connection that ends, however it ends. Remove the socket from `online`
    //       and tell everyone still here: {"type":"leave","id":id,"online":N,"code":code}.
  });

  // TODO: listen for 'error' on the socket. Without a listener, one broken frame crashes the server.
});

wss.on('listening', () => console.log(`lifecycle server listening on port ${port}`));
// Until your code uses them, this keeps TypeScript from complaining that they are unused.
void [online, sendJson];
