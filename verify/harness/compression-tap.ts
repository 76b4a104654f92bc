import type net from 'node:net';
import { splitFrames, type WireFrame } from './wire-frames.ts';

/** Opcodes of the frames that carry a message (RFC 6455 §5.6), continuation included. */
const DATA_OPCODES = new Set([0x0, 0x1, 0x2]);

/** One message as the wire carried it, whatever the client library made of it afterwards. */
export interface WireMessage {
  /** 0x1 text, 0x2 binary. */
  opcode: number;
  /** RSV1 on its first frame: the payload is compressed with permessage-deflate (RFC 7692 §6). */
  compressed: boolean;
  /** How many frames it took (1 unless the server fragmented it). */
  frames: number;
  /** Bytes of frame headers. */
  headerBytes: number;
  /** Bytes of payload on the wire: compressed ones, when it was compressed. */
  payloadBytes: number;
}

/**
 * Reads, beside a real ws client, the frames a server sends on the same TCP socket: what ws hides once
 * it has inflated a message, whether it was compressed (RSV1) and how many bytes it really took.
 *
 * Give `attach` as the `tap` of a client (`v.client(name, { tap: (s) => wire.attach(s) })`): it then
 * sees every byte from the first, skips the handshake's answer, and splits the rest into messages, in
 * the order the client receives them. Take them in that order with `take()`.
 */
export class WireMessages {
  private readonly messages: WireMessage[] = [];
  private readonly partial: WireFrame[] = [];
  private pending = Buffer.alloc(0);
  private upgraded = false;

  /** Listens to `socket` from now on. */
  attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
  }

  private read(chunk: Buffer): void {
    if (!this.upgraded) {
      this.pending = Buffer.concat([this.pending, chunk]);
      const end = this.pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.upgraded = true;
      // Bytes after the answer's head come again: Node's HTTP client hands them to ws, which puts them
      // back on the socket (socket.unshift), and this listener hears them then, in their place.
      this.pending = Buffer.alloc(0);
      return;
    }
    const { frames, rest } = splitFrames(Buffer.concat([this.pending, chunk]));
    this.pending = Buffer.from(rest);
    for (const frame of frames) {
      if (!DATA_OPCODES.has(frame.opcode)) continue;
      this.partial.push(frame);
      if (frame.fin) this.messages.push(toMessage(this.partial.splice(0)));
    }
  }

  /** The oldest message not taken yet, if it has arrived. */
  take(): WireMessage | undefined {
    return this.messages.shift();
  }

  /** Messages that arrived and were not taken. */
  get waiting(): number {
    return this.messages.length;
  }
}

function toMessage(frames: WireFrame[]): WireMessage {
  return {
    opcode: frames[0]!.opcode,
    compressed: frames[0]!.rsv1,
    frames: frames.length,
    headerBytes: frames.reduce((sum, f) => sum + f.headerBytes, 0),
    payloadBytes: frames.reduce((sum, f) => sum + f.payload.length, 0),
  };
}
