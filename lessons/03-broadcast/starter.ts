// Lesson 03 — broadcast. Run `wsw print` to read the task again, `wsw verify` to check your work.
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const wss = new WebSocketServer({ port });

wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    console.log('received', data.toString());

    // TODO: parse the text with JSON.parse, inside try/catch. If it fails, or the result is not
    //       {"type":"chat","message":<a string>} (with "username", if there is one, a string too),
    //       send {"type":"error","message":"…"} on this socket only, and stop there.
    // TODO: build a new relay {"type":"chat","sender":<username, or "Anonymous" when it is missing
    //       or "">,"message":…}, with those three fields only.
    // TODO: loop over wss.clients and send the relay (as a JSON string) to every client that is not
    //       this socket and whose readyState is WebSocket.OPEN (import WebSocket from 'ws' too).
  });
});

wss.on('listening', () => console.log(`chat server listening on port ${port}`));
