import { createHash } from 'node:crypto';
import type net from 'node:net';
import { computeAccept } from './handshake.ts';
import { headerValue, RawHttpClient, type RawExchange, type RawRequest } from './http.ts';
import { describeCloseCode, formatBytes, previewBinary, previewText } from './frames.ts';
import type { Transcript } from './transcript.ts';
import { OPCODE_NAMES } from './wire-frames.ts';

/**
 * A WebSocket client that writes every byte itself: frames masked or not, reserved bits and opcodes,
 * lengths in 7, 16 or 64 bits, and the bytes cut into TCP writes at chosen offsets. It reads the
 * server's frames with their headers as they came, and writes each frame, both ways, into the
 * transcript as bytes with their meaning: `→ 81 85 37 fa 21 3d | FIN text, masked, len 5, key 37fa213d | "Hello"`.
 */

/** A frame to write. Anything a correct client would never send can be asked for. */
export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  /** Default true. */
  fin?: boolean;
  /** The three reserved bits, as a number 0–7 (RSV1 is 4). */
  rsv?: number;
  /** The 4-byte masking key; `null` sends the frame unmasked. Default: the client's next key. */
  mask?: Buffer | null;
}

/** A frame read off the wire, header bytes kept. */
export interface RawFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** The header's bytes as sent: 2, plus 2 or 8 for longer lengths, plus 4 for a mask. */
  header: Buffer;
  /** How the length was written: 7, 16 or 64 bits. */
  lengthBits: 7 | 16 | 64;
  payload: Buffer;
}

/** What the next read gives: a frame, or the TCP connection's end. */
export type RawEvent = { type: 'frame'; frame: RawFrame } | { type: 'end' };

/** Time left between two pieces of a cut write, so that each reaches the server as a read of its own. */
export const PIECE_GAP_MS = 15;

/** Bytes as hex pairs, bounded: `81 85 37 fa`. */
export function hexBytes(bytes: Buffer, max = 16): string {
  const shown = [...bytes.subarray(0, max)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return bytes.length > max ? `${shown} …` : shown;
}

/** The bytes of one frame, exactly as `spec` asks. */
export function encodeFrame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : (spec.payload ?? Buffer.alloc(0));
  const mask = spec.mask === undefined ? derivedBytes('mask', 4) : spec.mask;
  const b0 = ((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode;
  const maskBit = mask ? 0x80 : 0;
  let length: Buffer;
  if (payload.length < 126) length = Buffer.from([maskBit | payload.length]);
  else if (payload.length < 0x10000) {
    length = Buffer.from([maskBit | 126, 0, 0]);
    length.writeUInt16BE(payload.length, 1);
  } else {
    length = Buffer.alloc(9);
    length[0] = maskBit | 127;
    length.writeBigUInt64BE(BigInt(payload.length), 1);
  }
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
  return Buffer.concat([Buffer.from([b0]), length, mask ?? Buffer.alloc(0), body]);
}

/**
 * Bytes that look random but are the same every run, so that a transcript can be compared with the
 * last one: a real client draws its keys at random, and a server must take any key.
 */
export function derivedBytes(seed: string, length: number): Buffer {
  return createHash('sha256').update(seed).digest().subarray(0, length);
}

/** Reads the frame at the start of `data`; undefined while it is incomplete. */
export function decodeFrame(data: Buffer): { frame: RawFrame; size: number } | undefined {
  if (data.length < 2) return undefined;
  const b0 = data[0]!;
  const b1 = data[1]!;
  const masked = (b1 & 0x80) !== 0;
  let length = b1 & 0x7f;
  let at = 2;
  let lengthBits: 7 | 16 | 64 = 7;
  if (length === 126) {
    if (data.length < 4) return undefined;
    length = data.readUInt16BE(2);
    at = 4;
    lengthBits = 16;
  } else if (length === 127) {
    if (data.length < 10) return undefined;
    length = Number(data.readBigUInt64BE(2));
    at = 10;
    lengthBits = 64;
  }
  const keyAt = at;
  if (masked) at += 4;
  if (data.length < at + length) return undefined;
  const payload = Buffer.from(data.subarray(at, at + length));
  if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= data[keyAt + (i % 4)]!;
  const frame: RawFrame = { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, header: Buffer.from(data.subarray(0, at)), lengthBits, payload };
  return { frame, size: at + length };
}

/** "text", "ping", "opcode 0x3 (reserved)". */
export function opcodeName(opcode: number): string {
  return OPCODE_NAMES[opcode] ?? `opcode 0x${opcode.toString(16)} (reserved)`;
}

/** A control character other than tab, line feed and carriage return: a sign of binary data. */
function isControlCharacter(char: string): boolean {
  const code = char.charCodeAt(0);
  return code < 0x09 || (code > 0x0d && code < 0x20) || code === 0x7f;
}

/** What a payload says, for a transcript line: text quoted, binary in hex, a close's code and reason. */
export function payloadSummary(opcode: number, payload: Buffer): string {
  if (opcode === 0x8) {
    if (payload.length === 0) return 'no status code';
    if (payload.length === 1) return `1 byte <${hexBytes(payload)}>: not a status code`;
    const reason = payload.subarray(2).toString('utf8');
    return `${describeCloseCode(payload.readUInt16BE(0))}${reason ? ` reason ${previewText(reason)}` : ''}`;
  }
  if (payload.length === 0) return 'empty';
  const text = payload.toString('utf8');
  // Text as text; a ping's or a continuation's payload too, when it reads as text.
  const readable = Buffer.from(text).equals(payload) && (opcode === 0x1 || ![...text].some(isControlCharacter));
  if (readable && opcode !== 0x2) return previewText(text);
  return `${formatBytes(payload.length)} ${previewBinary(payload)}${opcode === 0x1 ? ', not UTF-8' : ''}`;
}

/** `FIN text, masked, len 5, key 37fa213d`. */
export function frameMeaning(frame: Pick<RawFrame, 'fin' | 'rsv' | 'opcode' | 'masked' | 'header' | 'lengthBits'> & { payload: Buffer }): string {
  const parts = [`${frame.fin ? 'FIN' : 'not FIN'} ${opcodeName(frame.opcode)}`];
  if (frame.rsv) parts.push(`RSV${[4, 2, 1].map((bit, i) => (frame.rsv & bit ? String(i + 1) : '')).join('')} set`);
  if (frame.masked) parts.push('masked');
  parts.push(`len ${frame.payload.length}${frame.lengthBits === 7 ? '' : ` (${frame.lengthBits}-bit)`}`);
  if (frame.masked) parts.push(`key ${frame.header.subarray(frame.header.length - 4).toString('hex')}`);
  return parts.join(', ');
}

/** One transcript line for a frame: header bytes, their meaning, the payload. */
export function frameLine(frame: RawFrame): string {
  return `${hexBytes(frame.header, 14)} | ${frameMeaning(frame)} | ${payloadSummary(frame.opcode, frame.payload)}`;
}

export interface RawFrameClientOptions {
  host: string;
  port: number;
  transcript: Transcript;
  stepTimeoutMs: number;
  /** Rejects when the learner's program dies, so no wait outlives it. */
  programGone: Promise<never>;
}

/** A failed wait: what was awaited and what came instead. The verifier turns it into its own failure. */
export class RawWaitTimeout extends Error {}

/**
 * A raw client on one upgraded connection. Open it with `RawFrameClient.handshake`, which sends the
 * upgrade request (headers as given) and returns the answer, with a client when the server switched.
 */
export class RawFrameClient {
  private pending = Buffer.alloc(0);
  private readonly events: RawEvent[] = [];
  private wake?: () => void;
  private tcpEnded = false;
  /** Frames masked so far: each gets a key of its own. */
  private masks = 0;
  /** Every frame the server sent, in order, as read. */
  readonly received: RawFrame[] = [];

  constructor(
    readonly name: string,
    readonly socket: net.Socket,
    first: Buffer,
    private readonly options: RawFrameClientOptions,
  ) {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.take(chunk));
    socket.on('close', () => {
      this.tcpEnded = true;
      this.events.push({ type: 'end' });
      this.wake?.();
    });
    this.take(first);
    socket.resume();
  }

  /**
   * Sends an upgrade request over a fresh TCP connection. `headers` replaces the usual ones when given;
   * `key` is the Sec-WebSocket-Key of the usual ones. Logs the request and the answer.
   */
  static async handshake(
    name: string,
    options: RawFrameClientOptions,
    request: { key?: string; method?: string; headers?: Array<[string, string]>; show?: string } = {},
  ): Promise<{ exchange: RawExchange; client?: RawFrameClient; accept: string; key: string }> {
    const key = request.key ?? derivedBytes(`key ${name}`, 16).toString('base64');
    const http = new RawHttpClient(name, { host: options.host, port: options.port, timeoutMs: options.stepTimeoutMs, transcript: options.transcript });
    const headers: Array<[string, string]> = request.headers ?? [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', key],
      ['Sec-WebSocket-Version', '13'],
    ];
    const raw: RawRequest = { method: request.method ?? 'GET', path: '/', headers };
    http.log(`→ ${request.show ?? `${raw.method} / with ${headers.map(([n, v]) => `${n}: ${v}`).join(', ')}`}`);
    const upgrade = await Promise.race([http.upgrade(raw), options.programGone]);
    const { exchange } = upgrade;
    const head = exchange.complete ? exchange.response : exchange.head;
    if (head) {
      const accept = headerValue(head, 'sec-websocket-accept');
      http.log(`← HTTP ${head.statusCode} ${head.statusMessage}${accept !== undefined ? `, Sec-WebSocket-Accept: ${accept}` : ''}`);
    } else {
      http.log(exchange.complete ? '← ?' : exchange.stopped === 'closed' ? '✂ connection closed with no answer' : '… no answer yet', 'error');
    }
    const switched = exchange.complete && exchange.response.statusCode === 101;
    if (!switched) {
      upgrade.socket.destroy();
      return { exchange, accept: computeAccept(key).accept, key };
    }
    const client = new RawFrameClient(name, upgrade.socket, upgrade.rest, options);
    return { exchange, client, accept: computeAccept(key).accept, key };
  }

  /** Writes a line into the transcript under this client's name. */
  log(text: string, tone?: 'detail' | 'error'): void {
    this.options.transcript.add({ kind: 'client', name: this.name }, text, tone);
  }

  private take(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (let next = decodeFrame(this.pending); next; next = decodeFrame(this.pending)) {
      this.pending = this.pending.subarray(next.size);
      this.received.push(next.frame);
      this.events.push({ type: 'frame', frame: next.frame });
    }
    this.wake?.();
  }

  /** True once the server has closed the TCP connection. */
  get ended(): boolean {
    return this.tcpEnded;
  }

  /**
   * Writes frames, logging each as bytes and meaning. All of them go in one write, or cut at the byte
   * offsets in `cuts` (counted from the start of the first frame), each piece a write of its own,
   * given time to reach the server as a read of its own. Returns the key each frame was masked with.
   */
  async send(specs: FrameSpec | FrameSpec[], cuts: number[] = []): Promise<Array<Buffer | null>> {
    const masks = (Array.isArray(specs) ? specs : [specs]).map((spec) => (spec.mask === undefined ? derivedBytes(`${this.name} ${this.masks++}`, 4) : spec.mask));
    const frames = (Array.isArray(specs) ? specs : [specs]).map((spec, i) => {
      const bytes = encodeFrame({ ...spec, mask: masks[i] });
      const frame = decodeFrame(bytes)!.frame;
      this.log(`→ ${frameLine(frame)}`);
      return bytes;
    });
    const bytes = Buffer.concat(frames);
    const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
    if (frames.length > 1 && points.length === 0) this.log(`  (${frames.length} frames in one TCP write of ${formatBytes(bytes.length)})`, 'detail');
    if (points.length > 0) {
      const sizes = [...points, bytes.length].map((p, i, all) => p - (i === 0 ? 0 : all[i - 1]!));
      this.log(`  (written in ${sizes.length} TCP writes: ${sizes.join(' + ')} bytes)`, 'detail');
    }
    let from = 0;
    for (const point of [...points, bytes.length]) {
      await this.write(bytes.subarray(from, point));
      from = point;
      if (point < bytes.length) await new Promise((resolve) => setTimeout(resolve, PIECE_GAP_MS));
    }
    return masks;
  }

  /** Writes bytes and waits until they have left for the kernel. */
  private write(bytes: Buffer): Promise<void> {
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => this.socket.write(bytes, () => resolve()));
  }

  /** The next frame, or the end of the connection; fails with RawWaitTimeout when nothing comes in time. */
  async next(timeoutMs = this.options.stepTimeoutMs): Promise<RawEvent> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new RawWaitTimeout(`nothing within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          this.wake = resolve;
          timer = setTimeout(resolve, left);
        }),
        this.options.programGone,
      ]).finally(() => clearTimeout(timer));
      this.wake = undefined;
    }
    const event = this.events.shift()!;
    if (event.type === 'frame') this.log(`← ${frameLine(event.frame)}`);
    else this.log('✂ the server closed the TCP connection');
    return event;
  }

  /** Frames received and not read yet. */
  get unread(): RawFrame[] {
    return this.events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
  }

  /** Ends our side of the TCP connection (a FIN), without a close frame. */
  end(): void {
    this.socket.end();
  }

  /** Drops the connection with a TCP reset, as a client that crashed might. */
  reset(): void {
    this.log('✂ resets the TCP connection');
    this.socket.resetAndDestroy();
  }

  /** Releases the connection quietly, at the end. */
  dispose(): void {
    this.socket.destroy();
  }
}
