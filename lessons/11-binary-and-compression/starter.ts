// Lesson 11 — Binary frames and compression. Run `wsw print` to read the task again, `wsw verify` to check your work.
// A game server that listens, and prints the bytes of every message it gets. Make it speak the protocol.
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT ?? 8080);

// TODO: keep one world for every client: a Map from id to its latest { x, y }, outside 'connection'.

// TODO: turn on permessage-deflate with a threshold of 1024 bytes:
//       perMessageDeflate: { threshold: 1024, serverNoContextTakeover: true }.
const wss = new WebSocketServer({ port });

wss.on('connection', (socket) => {
  socket.on('error', (error) => console.error(`a client's connection failed: ${error.message}`));
  socket.on('message', (data: Buffer, isBinary) => {
    console.log(`${isBinary ? 'binary' : 'text'} message, ${data.length} bytes: ${data.toString('hex')}`);
    // TODO: a text frame breaks the protocol: socket.close(1003, …).
    // TODO: a move is exactly 13 bytes, type 0x01: read id with data.readUInt32BE(1), x and y with
    //       data.readFloatBE(5) and data.readFloatBE(9); refuse NaN and Infinity; store the position, and
    //       answer with a 15-byte state (Buffer.alloc(15), then writeUInt8, writeUInt32BE, writeFloatBE,
    //       writeUInt16BE) on this socket.
    // TODO: a snapshot request is the single byte 0x03: answer with JSON text, every player in order of id.
    // TODO: anything else binary: socket.close(1007, …), and keep nothing of it.
  });
});

wss.on('listening', () => console.log(`game server listening on port ${port}`));
