// Lesson 02 — echo server: every message goes back to the client that sent it, unchanged.
import { WebSocketServer } from 'ws';

// The verifier (and `run`) choose the port; a hard-coded one would collide with other programs.
const port = Number(process.env.PORT ?? 8080);
const wss = new WebSocketServer({ port });

wss.on('connection', (socket) => {
  // Each client gets its own socket; replying on it reaches that client and nobody else.
  socket.on('message', (data, isBinary) => {
    // ws hands over a Buffer for text and binary alike. Passing isBinary back keeps a text frame text;
    // without it, send() would turn every echo into a binary frame.
    socket.send(data, { binary: isBinary });
  });
});

wss.on('listening', () => console.log(`echo server listening on port ${port}`));
