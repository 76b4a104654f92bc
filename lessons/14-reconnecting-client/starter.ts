// Lesson 14 — A reconnecting client. Run `wsw print` to read the task again, `wsw verify` to check your work.
// This client connects once, subscribes, and sends what you type. When the connection ends, it stays
// ended: ws never reconnects by itself. Make it come back, with backoff and jitter.
import readline from 'node:readline';
import WebSocket from 'ws';

const url = process.env.SERVER_URL ?? 'ws://localhost:8080/live';
const topics = (process.env.TOPICS ?? 'news').split(',');
// TODO: read BACKOFF_BASE_MS, BACKOFF_CAP_MS and STABLE_AFTER_MS as numbers.

const socket = new WebSocket(url);

// TODO: move the socket and its handlers into a function connect(), so that it can run again.
socket.on('open', () => {
  socket.send(JSON.stringify({ type: 'subscribe', topics }));
  // TODO: send the lines that waited in a queue while offline, oldest first, each once.
});

socket.on('error', (error) => console.error(`connection failed: ${error.message}`));

socket.on('close', (code) => {
  console.log(`connection closed (${code})`);
  // TODO: schedule connect() again after Math.random() * Math.min(cap, base * 2 ** n), then n++.
  //       Set n back to 0 only for a connection that stayed open STABLE_AFTER_MS.
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  // TODO: when the socket is not OPEN, keep the line in a queue instead of dropping it.
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'say', text: line }));
});

// TODO: on SIGTERM, stop for good: no retry pending, close(1000) if connected, stop reading stdin.
