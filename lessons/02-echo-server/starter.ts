// Lesson 02 — echo server. Run `wsw print` to read the task again, `wsw verify` to check your work.
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const wss = new WebSocketServer({ port });

wss.on('connection', (socket) => {
  console.log('a client connected');

  // TODO: listen for 'message' on this socket: socket.on('message', (data, isBinary) => { ... })
  // TODO: send the data back on the same socket, keeping text as text and binary as binary.
  void socket;
});

wss.on('listening', () => console.log(`echo server listening on port ${port}`));
