// Lesson 06 — wss://: the echo server of lesson 02, now behind TLS. Same code for the WebSocket part;
// what changes is the server underneath it.
import fs from 'node:fs';
import https from 'node:https';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8443);

// Where the certificate and its key live is the business of whoever runs the server (a deploy script,
// a Let's Encrypt renewal), not of the code: the paths come from the environment, like the port.
const certFile = process.env.TLS_CERT;
const keyFile = process.env.TLS_KEY;
if (!certFile || !keyFile) {
  console.error('Set TLS_CERT and TLS_KEY to the paths of a PEM certificate and its private key.');
  process.exit(1);
}

// https.createServer wants the PEM text itself, not the file names. The key never leaves this process:
// the certificate is public and sent to every client; the key proves the certificate is ours.
const server = https.createServer(
  { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) },
  (req, res) => {
    // An HTTPS server is still an HTTP server: every request that is not an upgrade lands here.
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('This server speaks wss://. Connect a WebSocket client to it.\n');
  },
);

// ws rides on the HTTPS server: the upgrade request arrives inside the TLS connection, so every frame
// after it is encrypted too. No port of its own: wss:// and https:// share PORT.
const wss = new WebSocketServer({ server });

wss.on('connection', (socket) => {
  // As in lesson 04: a broken frame from one client is an 'error' on its socket, which ws then closes.
  // Unheard, that error would be thrown, and take every other client down with the server.
  socket.on('error', (error) => console.error(`a client's connection failed: ${error.message}`));
  socket.on('message', (data, isBinary) => {
    socket.send(data, { binary: isBinary });
  });
});

server.listen(port, () => console.log(`wss echo server listening on port ${port}`));
