// Lesson 15 — The protocol by hand: a WebSocket echo server with no WebSocket library. node:http
// hands over the upgrade request and its socket; from there on, every byte is ours to read and write:
// the handshake's answer, the frames' headers, the mask, fragments, pings, the close handshake, and
// the close codes RFC 6455 answers broken frames with.
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';

/** The fixed string of RFC 6455 §1.3: a server proves it read the key by hashing it with this. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Opcodes (RFC 6455 §5.2). 0x3–0x7 and 0xB–0xF are reserved. */
const CONTINUATION = 0x0;
const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

/** Close codes (RFC 6455 §7.4.1). */
const PROTOCOL_ERROR = 1002;
const INVALID_PAYLOAD = 1007;

/** One frame, read off the wire, its payload unmasked. */
interface Frame {
  fin: boolean;
  /** The three reserved bits: 0 unless an extension was agreed, and this server agrees none. */
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

const port = Number(process.env.PORT ?? 8080);

// Requests that ask for no upgrade reach this handler: this server speaks WebSocket only.
const server = http.createServer((_request, response) => {
  response.writeHead(400, { 'Content-Type': 'text/plain' }).end('This server speaks WebSocket only.\n');
});

server.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
  // A client that resets its connection would otherwise throw here, and end the whole server.
  socket.on('error', (error) => console.error(`a connection failed: ${error.message}`));
  const key = request.headers['sec-websocket-key'];
  // Header names arrive lower-cased; values are compared without regard to case where the RFC says so.
  if (
    request.method !== 'GET' ||
    request.headers.upgrade?.toLowerCase() !== 'websocket' ||
    request.headers['sec-websocket-version'] !== '13' ||
    key === undefined
  ) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  // The digest's 20 bytes in base64: not its hex, not the key's own bytes.
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  serve(socket, head);
});

/** Speaks WebSocket on one upgraded socket: reads its frames, answers them. */
function serve(socket: Duplex, head: Buffer): void {
  // Bytes received and not yet read as a frame: TCP delivers a stream, not frames. One 'data' event
  // may hold half a header, or three frames and the start of a fourth.
  let buffered = head;
  // The fragments of a message still arriving, and the opcode its first frame gave.
  let message: { opcode: number; parts: Buffer[] } | undefined;
  let closing = false;

  const send = (opcode: number, payload: Buffer) => socket.write(Buffer.concat([header(opcode, payload.length), payload]));

  // "Fail the WebSocket connection" (RFC 6455 §7.1.7): say why in a close frame, and hang up.
  const refuse = (code: number) => {
    closing = true;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    send(CLOSE, payload);
    socket.end();
  };

  const handle = ({ fin, rsv, opcode, masked, payload }: Frame): void => {
    // Every client frame is masked (§5.1), and no extension was agreed that could set a reserved bit.
    if (!masked || rsv !== 0) return refuse(PROTOCOL_ERROR);
    if (opcode >= CLOSE) {
      // Control frames are short, and never fragmented, so they can come between a message's fragments.
      if (!fin || payload.length > 125) return refuse(PROTOCOL_ERROR);
      if (opcode === PING) return void send(PONG, payload);
      if (opcode === PONG) return;
      if (opcode === CLOSE) {
        // The close handshake: answer with the same status code (none, if none came), then hang up.
        closing = true;
        send(CLOSE, payload.subarray(0, 2));
        socket.end();
        return;
      }
      return refuse(PROTOCOL_ERROR);
    }
    if (opcode === CONTINUATION) {
      if (!message) return refuse(PROTOCOL_ERROR);
      message.parts.push(payload);
    } else if (opcode === TEXT || opcode === BINARY) {
      if (message) return refuse(PROTOCOL_ERROR);
      message = { opcode, parts: [payload] };
    } else {
      return refuse(PROTOCOL_ERROR);
    }
    if (!fin) return;
    const data = Buffer.concat(message.parts);
    const type = message.opcode;
    message = undefined;
    // UTF-8 is checked on the whole message: a character may be split across two fragments.
    if (type === TEXT && !isUtf8(data)) return refuse(INVALID_PAYLOAD);
    send(type, data);
  };

  /** The next complete frame in `buffered`, taken off it; undefined while more bytes are needed. */
  const nextFrame = (): Frame | undefined => {
    if (buffered.length < 2) return undefined;
    const [b0, b1] = [buffered[0]!, buffered[1]!];
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let offset = 2;
    // 126: the length is in the next 2 bytes; 127: in the next 8. Network byte order, big-endian.
    if (length === 126) {
      if (buffered.length < 4) return undefined;
      length = buffered.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buffered.length < 10) return undefined;
      length = Number(buffered.readBigUInt64BE(2));
      offset = 10;
    }
    const keyAt = offset;
    if (masked) offset += 4;
    if (buffered.length < offset + length) return undefined;
    const payload = Buffer.from(buffered.subarray(offset, offset + length));
    // Byte i of the payload was XORed with byte i % 4 of the key: XOR again to get it back.
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buffered[keyAt + (i % 4)]!;
    buffered = buffered.subarray(offset + length);
    return { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 0x7, opcode: b0 & 0x0f, masked, payload };
  };

  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    // As many frames as are complete; what is left waits for the next chunk.
    for (let frame = closing ? undefined : nextFrame(); frame; frame = closing ? undefined : nextFrame()) handle(frame);
  });
  // A client that hangs up without a close frame: hang up too, or the socket stays half open.
  socket.on('end', () => socket.end());
}

/** A server frame's header: FIN set, no mask (a server never masks), the length in as few bytes as fit. */
function header(opcode: number, length: number): Buffer {
  if (length < 126) return Buffer.from([0x80 | opcode, length]);
  if (length < 0x10000) {
    const bytes = Buffer.from([0x80 | opcode, 126, 0, 0]);
    bytes.writeUInt16BE(length, 2);
    return bytes;
  }
  const bytes = Buffer.alloc(10);
  bytes[0] = 0x80 | opcode;
  bytes[1] = 127;
  bytes.writeBigUInt64BE(BigInt(length), 2);
  return bytes;
}

server.listen(port, () => console.log(`listening on port ${port}, speaking WebSocket by hand`));
