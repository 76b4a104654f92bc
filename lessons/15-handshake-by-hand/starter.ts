// Lesson 15 — The protocol by hand. Run `wsw print` to read the task again, `wsw verify` to check your work.
// No WebSocket library: node:http hands you the upgrade request and its socket, and every byte
// from there on is yours to read and write.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';

/** The fixed string of RFC 6455 §1.3, hashed after the client's key. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const port = Number(process.env.PORT ?? 8080);

// Requests that ask for no upgrade come here.
const server = http.createServer((_request, response) => {
  response.writeHead(400).end();
});

server.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
  socket.on('error', (error) => console.error(`a connection failed: ${error.message}`));
  const key = String(request.headers['sec-websocket-key']);
  // TODO: answer 400 Bad Request when this is not a valid upgrade: the method is GET, Upgrade is
  //       websocket (in any case), Sec-WebSocket-Version is 13, a Sec-WebSocket-Key is there.
  // TODO: the accept value is base64(SHA-1(key + GUID)): createHash('sha1').update(…).digest('base64').
  const accept = createHash('sha1').update(GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  console.log(`switched to WebSocket for the key ${key}`);
  serve(socket, head);
});

/** Speaks WebSocket on one upgraded socket. */
function serve(socket: Duplex, head: Buffer): void {
  // Bytes received and not read as frames yet: `head` holds any that came with the request.
  let buffered = head;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    // TODO: take complete frames off the front of `buffered`, as long as there are: the first two
    //       bytes (FIN, RSV, opcode; mask bit, length), 2 or 8 more for a length of 126 or 127,
    //       the 4-byte key, the payload, unmasked with payload[i] ^= key[i % 4]. Keep the rest.
    // TODO: echo text and binary messages (joined from their fragments), answer pings with pongs
    //       and close frames with close frames, and refuse what RFC 6455 refuses: 1002, 1007.
    console.log(`${buffered.length} bytes waiting to be read as frames`);
  });
  socket.on('end', () => socket.end());
}

/** A server frame: FIN set, no mask, the length in as few bytes as fit. Use it for every frame you send. */
export function frame(opcode: number, payload: Buffer): Buffer {
  let header: Buffer;
  if (payload.length < 126) header = Buffer.from([0x80 | opcode, payload.length]);
  else if (payload.length < 0x10000) {
    header = Buffer.from([0x80 | opcode, 126, 0, 0]);
    header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([header, payload]);
}

server.listen(port, () => console.log(`listening on port ${port}, speaking WebSocket by hand (not yet)`));
