// Lesson 11 — Binary frames and compression: a game server. Moves arrive as 13 bytes and states leave
// as 15, every number big-endian; the whole world leaves as JSON, compressed once it is large enough.
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.env.PORT ?? 8080);

// The protocol, written down once: type bytes and exact sizes.
const MOVE = 0x01;
const STATE = 0x02;
const SNAPSHOT = 0x03;
const MOVE_BYTES = 13;
const STATE_BYTES = 15;

// RFC 6455 §7.4.1: 1003 for a kind of frame this protocol never takes, 1007 for binary that is not one
// of its messages.
const UNSUPPORTED_DATA = 1003;
const INVALID_PAYLOAD = 1007;

/** One world for every client: each id's latest position, as float32 made it. */
const world = new Map<number, { x: number; y: number }>();

const wss = new WebSocketServer({
  port,
  // Off by default in ws: zlib costs memory on every connection and CPU on every message. Below 1024
  // bytes deflate saves next to nothing (a 15-byte state would grow), so small messages go as they
  // are; ws applies the threshold only when each message starts from a fresh compression context.
  perMessageDeflate: { threshold: 1024, serverNoContextTakeover: true },
});

wss.on('connection', (socket) => {
  socket.on('error', (error) => console.error(`a client's connection failed: ${error.message}`));
  socket.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) {
      socket.close(UNSUPPORTED_DATA, 'this protocol is binary');
      return;
    }
    const problem = handle(socket, data);
    // Closing this socket alone: the other players never notice one client's broken frame.
    if (problem) socket.close(INVALID_PAYLOAD, problem);
  });
});

/** Answers one binary message; returns why it is not a message of this protocol, if it is not. */
function handle(socket: WebSocket, data: Buffer): string | undefined {
  // data[0] of an empty Buffer is undefined, which is no type: no read can go past the end.
  if (data[0] === MOVE && data.length === MOVE_BYTES) {
    // The Buffer's own methods read at its own offsets: data.buffer is the socket's whole read.
    const id = data.readUInt32BE(1);
    const x = data.readFloatBE(5);
    const y = data.readFloatBE(9);
    // NaN passes every length check; JSON cannot even carry it.
    if (!Number.isFinite(x) || !Number.isFinite(y)) return 'coordinates must be finite numbers';
    world.set(id, { x, y });
    const state = Buffer.alloc(STATE_BYTES);
    state.writeUInt8(STATE, 0);
    state.writeUInt32BE(id, 1);
    state.writeFloatBE(x, 5);
    state.writeFloatBE(y, 9);
    state.writeUInt16BE(world.size, 13);
    socket.send(state);
    return undefined;
  }
  if (data[0] === SNAPSHOT && data.length === 1) {
    // Map keys come in insertion order; sort by number, as sort() alone would compare them as text.
    const players = [...world].sort(([a], [b]) => a - b).map(([id, { x, y }]) => ({ id, x, y }));
    socket.send(JSON.stringify({ type: 'snapshot', players }));
    return undefined;
  }
  return 'not a message of this protocol';
}

wss.on('listening', () => console.log(`game server listening on port ${port}`));
