import type net from 'node:net';

/** One WebSocket frame as it crossed the wire, with its header measured, not assumed. */
export interface WireFrame {
  fin: boolean;
  /** RSV1: set on the first frame of a message compressed with permessage-deflate (RFC 7692 §6). */
  rsv1: boolean;
  /** 0x1 text, 0x2 binary, 0x8 close, 0x9 ping, 0xA pong, 0x0 continuation. */
  opcode: number;
  masked: boolean;
  /** Bytes of the frame header: 2, plus 2 or 8 for longer lengths, plus 4 when masked. */
  headerBytes: number;
  /** The payload, unmasked. */
  payload: Buffer;
}

/** Names of the opcodes a transcript shows. */
export const OPCODE_NAMES: Record<number, string> = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

/**
 * Splits raw bytes into complete frames (RFC 6455 §5.2) and returns them with the bytes left over
 * (an incomplete frame still arriving).
 */
export function splitFrames(data: Buffer): { frames: WireFrame[]; rest: Buffer } {
  const frames: WireFrame[] = [];
  let at = 0;
  for (;;) {
    if (data.length - at < 2) break;
    const b0 = data[at]!;
    const b1 = data[at + 1]!;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let headerBytes = 2;
    if (length === 126) {
      if (data.length - at < 4) break;
      length = data.readUInt16BE(at + 2);
      headerBytes = 4;
    } else if (length === 127) {
      if (data.length - at < 10) break;
      length = Number(data.readBigUInt64BE(at + 2));
      headerBytes = 10;
    }
    if (masked) headerBytes += 4;
    if (data.length - at < headerBytes + length) break;
    const payload = Buffer.from(data.subarray(at + headerBytes, at + headerBytes + length));
    if (masked) {
      const mask = data.subarray(at + headerBytes - 4, at + headerBytes);
      for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
    }
    frames.push({ fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, opcode: b0 & 0x0f, masked, headerBytes, payload });
    at += headerBytes + length;
  }
  return { frames, rest: data.subarray(at) };
}

/**
 * Reads the frames a server sends on an upgraded raw socket, without answering anything: a tap that
 * shows exactly what each message costs on the wire.
 */
export class FrameTap {
  readonly frames: WireFrame[] = [];
  private pending: Buffer;
  private wake?: () => void;
  private ended = false;

  /** `first`: bytes that arrived with the handshake's answer, already read off the socket. */
  constructor(socket: net.Socket, first: Buffer = Buffer.alloc(0)) {
    this.pending = first;
    this.take(Buffer.alloc(0));
    socket.on('data', (chunk: Buffer) => this.take(chunk));
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.resume();
  }

  private take(chunk: Buffer): void {
    const { frames, rest } = splitFrames(Buffer.concat([this.pending, chunk]));
    this.pending = rest;
    this.frames.push(...frames);
    if (frames.length) this.wake?.();
  }

  /** Waits until `count` frames have arrived; resolves with how many there are when it stops waiting. */
  async waitFor(count: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < count && !this.ended && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.frames.length;
  }
}
