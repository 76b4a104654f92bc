// Lesson 06 — wss://. Run `wsw print` to read the task again, `wsw verify` to check your work.
// This is the echo server of lesson 02. It works, but it speaks plain text: anyone on the way can read
// every frame. Put it behind TLS.
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8443);

// TODO: read the certificate and the private key from the files named by process.env.TLS_CERT and
//       process.env.TLS_KEY (fs.readFileSync gives you their PEM text).
// TODO: create an HTTPS server with them: https.createServer({ cert, key }, (req, res) => { ... }),
//       and answer every plain request with status 200 and a short text.
// TODO: attach the WebSocketServer to that HTTPS server, new WebSocketServer({ server }), instead of
//       giving it a port of its own, and make the HTTPS server listen on PORT.
const wss = new WebSocketServer({ port });

wss.on('connection', (socket) => {
  socket.on('error', (error) => console.error(`a client's connection failed: ${error.message}`));
  socket.on('message', (data, isBinary) => {
    socket.send(data, { binary: isBinary });
  });
});

wss.on('listening', () => console.log(`echo server listening on port ${port}, in plain text`));
