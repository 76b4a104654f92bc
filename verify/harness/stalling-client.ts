import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { HarnessCodes, VerifyFailure } from './failure.ts';
import { describeCloseCode } from './frames.ts';
import type { RunningServer, Verification } from './session.ts';

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;

/** One message the server sent, with the moment the client read it off the socket. */
export interface StalledMessage {
  kind: 'text' | 'binary';
  /** The whole payload; only its first bytes (`head`) and its length when `keep` said no. */
  data: Buffer;
  /** The payload's length in bytes. */
  length: number;
  /** Its last two bytes (fewer for a shorter payload). */
  tail: Buffer;
  /** Date.now() when it was read: for a client that had stopped reading, when it started again. */
  readAt: number;
  /** The client's bytesRead at the end of its frame: where in the stream of bytes it ended. */
  endsAt: number;
}

/** Bytes of a payload read before `keep` decides whether the rest is kept. */
export const HEAD_BYTES = 64;

/** How the server ended the connection, as this client read it. */
export interface StalledEnd {
  /** The close frame's code; 1006 when the TCP connection ended without one. */
  code: number;
  reason: string;
  /** True when a close frame came. */
  clean: boolean;
  /** Date.now() when it was read. */
  readAt: number;
}

/**
 * A WebSocket client on a raw TCP socket that can stop reading at the TCP level, as a phone on a bad
 * network or a frozen browser tab does: `stall()` stops taking bytes off the socket, so the kernel's
 * buffers fill, then the server's own (its `bufferedAmount` grows); `resume()` reads on. It never
 * writes a frame of its own, and answers pings with nothing: it only listens.
 *
 * Messages are handed to `onMessage` as they are read, never logged one by one (a fast feed would
 * drown the transcript): the lesson says what they came to. On loopback the kernel takes some
 * megabytes before the server's `bufferedAmount` moves at all.
 */
export class StallingClient {
  /** Called with every text or binary message, in order, as it is read. */
  onMessage: (message: StalledMessage) => void = () => {};
  /** Called with the size of every chunk read off the socket, as it is read (a LoopbackTwin's consume). */
  onBytes: (bytes: number) => void = () => {};
  /**
   * Given the first HEAD_BYTES of a text or binary payload (all of it, if shorter) and its length:
   * false when the rest is not needed, so that a fast feed is read without copying every byte.
   */
  keep: (head: Buffer, length: number) => boolean = () => true;
  /** Set once the connection has ended: with a close frame, or without one. */
  end?: StalledEnd;
  /** Bytes read off the socket since the upgrade. */
  bytesRead = 0;
  private readonly frames = new FrameReader((opcode, head, length) => this.keep(head, length) || !isData(opcode));
  private readonly waiters = new Set<() => void>();
  private stalledNow = false;

  private constructor(
    private readonly v: Verification,
    readonly name: string,
    private readonly socket: net.Socket,
  ) {}

  /** Connects, by hand, the same upgrade request a ws client sends; resolves once the server has answered 101. */
  static async connect(v: Verification, name: string, server: RunningServer = v.servers[0]!, path = '/'): Promise<StallingClient> {
    const log = (text: string) => v.transcript.add({ kind: 'client', name }, text);
    log(`connecting to ${server.wsUrl}${path}`);
    const socket = net.connect({ host: server.host, port: server.port });
    socket.setNoDelay(true);
    socket.on('error', () => {});
    v.defer(() => socket.destroy());
    const client = new StallingClient(v, name, socket);
    const head = await client.handshake(server, path);
    const status = head.slice(0, head.indexOf('\r\n')).replace(/^HTTP\/1\.1 /, '');
    if (!status.startsWith('101')) {
      log(`← HTTP ${status} (not an upgrade)`);
      throw new VerifyFailure({ code: HarnessCodes.HANDSHAKE_REJECTED, expected: 'HTTP 101 Switching Protocols in answer to the upgrade request', actual: `HTTP ${status}` });
    }
    log('connected (HTTP 101 Switching Protocols)');
    return client;
  }

  private handshake(server: RunningServer, path: string): Promise<string> {
    const timeoutMs = this.v.timeouts.stepMs;
    let received = Buffer.alloc(0);
    const answered = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new VerifyFailure({ code: HarnessCodes.CONNECT_FAILED, expected: `an answer to the upgrade request within ${timeoutMs} ms`, actual: `nothing (${this.name} was still waiting)` })),
        timeoutMs,
      );
      const onData = (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        clearTimeout(timer);
        this.socket.off('data', onData);
        this.socket.off('close', onClose);
        this.listen(received.subarray(end + 4));
        resolve(received.subarray(0, end).toString('latin1'));
      };
      const onClose = () => {
        clearTimeout(timer);
        reject(new VerifyFailure({ code: HarnessCodes.CONNECT_FAILED, message: 'The connection closed during the handshake.' }));
      };
      this.socket.on('data', onData);
      this.socket.once('close', onClose);
    });
    this.socket.write(
      [
        `GET ${path} HTTP/1.1`,
        `Host: ${server.wsUrl.replace(/^wss?:\/\//, '')}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n'),
    );
    return Promise.race([answered, this.v.programGone]);
  }

  private listen(first: Buffer): void {
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.once('close', () => {
      this.end ??= { code: 1006, reason: '', clean: false, readAt: Date.now() };
      this.wake();
    });
    if (first.length > 0) this.read(first);
  }

  private read(chunk: Buffer): void {
    const before = this.bytesRead;
    this.bytesRead += chunk.length;
    this.onBytes(chunk.length);
    const readAt = Date.now();
    for (const frame of this.frames.push(chunk)) {
      if (this.end) break;
      if (isData(frame.opcode)) {
        const kind = frame.opcode === OPCODE_TEXT ? 'text' : 'binary';
        this.onMessage({ kind, data: frame.payload, length: frame.length, tail: frame.tail, readAt, endsAt: before + frame.end });
      } else if (frame.opcode === OPCODE_CLOSE) {
        const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
        this.end = { code, reason: frame.payload.subarray(2).toString('utf8'), clean: true, readAt };
        this.v.transcript.add({ kind: 'client', name: this.name }, `← close ${describeCloseCode(code)}${this.end.reason ? ` reason ${JSON.stringify(this.end.reason)}` : ''}`);
      } else if (frame.opcode === OPCODE_PING) {
        // Listening only: a ping goes unanswered, as from a client too busy to answer anything.
      }
    }
    this.wake();
  }

  /** Stops reading at the TCP level: what the server sends piles up in the kernel, then in the server. */
  stall(): void {
    this.stalledNow = true;
    this.socket.pause();
  }

  /** Reads again, from where it stopped. */
  resume(): void {
    this.stalledNow = false;
    this.socket.resume();
  }

  /**
   * Bytes the socket took from the kernel that this client has not read yet: a stall stops the
   * socket reading, but what it had already taken waits in its own buffer until resume().
   */
  get unreadInProcess(): number {
    return this.socket.readableLength;
  }

  /** True between stall() and resume(). */
  get stalled(): boolean {
    return this.stalledNow;
  }

  /** The local port of its TCP connection. */
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  /** Drops the TCP connection, as a client that goes away for good. */
  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Resolves true once `ready()` holds (checked after each read and at the end of the connection),
   * false when `timeoutMs` passes first. Fails if the learner's program dies meanwhile.
   */
  async until(ready: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      let wake!: () => void;
      await Promise.race([
        new Promise<void>((resolve) => {
          wake = resolve;
          this.waiters.add(wake);
          timer = setTimeout(resolve, left);
        }),
        this.v.programGone,
      ]).finally(() => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      });
    }
    return true;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/**
 * A stand-in for a server's side of one client's connection: a loopback TCP connection whose both
 * ends the verifier holds, fed the same bytes at the same moments as the server feeds that client,
 * and read as much and as soon as the client reads (`consume`, from the client's `onBytes`). The
 * kernel treats it as it treats the client's own connection (its buffers grow with the same traffic),
 * so its `buffered` tells what a server's `bufferedAmount` for that client would be now: when a
 * stalled client is behind a mark, and by how much, without guessing the kernel's sizes.
 */
export class LoopbackTwin {
  /** Bytes the client has read that this end has not yet. */
  private owed = 0;

  private constructor(
    private readonly server: net.Server,
    private readonly writer: net.Socket,
    private readonly reader: net.Socket,
  ) {}

  /** Opens the connection, both ends. */
  static async open(v: Verification): Promise<LoopbackTwin> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
    const { port } = server.address() as net.AddressInfo;
    const reader = net.connect({ port, host: '127.0.0.1' });
    reader.setNoDelay(true);
    reader.on('error', () => {});
    const writer = await new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    writer.setNoDelay(true);
    writer.on('error', () => {});
    const twin = new LoopbackTwin(server, writer, reader);
    reader.on('readable', () => twin.pay());
    v.defer(() => twin.close());
    return twin;
  }

  /** The client read `bytes` more: this end reads as many, as soon as they are there. */
  consume(bytes: number): void {
    this.owed += bytes;
    this.pay();
  }

  private pay(): void {
    while (this.owed > 0 && this.reader.readableLength > 0) {
      const chunk = this.reader.read(Math.min(this.owed, this.reader.readableLength)) as Buffer | null;
      if (!chunk) break;
      this.owed -= chunk.length;
    }
  }

  /** Sends `bytes` bytes, as the server sends a message of that size. */
  send(bytes: number): void {
    this.writer.write(Buffer.allocUnsafe(bytes));
  }

  /** Bytes sent that the kernel has not taken yet: the server's bufferedAmount, on this connection. */
  get buffered(): number {
    return this.writer.writableLength;
  }

  close(): void {
    this.writer.destroy();
    this.reader.destroy();
    this.server.close();
  }
}

function isData(opcode: number): boolean {
  return opcode === OPCODE_TEXT || opcode === OPCODE_BINARY;
}

/** A frame of the server's (never masked, never fragmented here), as FrameReader gives it. */
interface ReadFrame {
  opcode: number;
  /** The payload, or only its first HEAD_BYTES when the rest was not kept. */
  payload: Buffer;
  length: number;
  tail: Buffer;
  /** Where in its chunk the frame ended. */
  end: number;
}

/**
 * Splits a server's bytes into frames as they come, chunk by chunk, copying a payload only when
 * `keep` asks for it: megabytes a second of a feed cost little more than reading them.
 */
class FrameReader {
  private header = Buffer.alloc(0);
  private frame?: { opcode: number; length: number; got: number; parts: Buffer[]; keep?: boolean; head: Buffer; tail: Buffer };

  constructor(private readonly keep: (opcode: number, head: Buffer, length: number) => boolean) {}

  push(chunk: Buffer): ReadFrame[] {
    const out: ReadFrame[] = [];
    let at = 0;
    while (at < chunk.length || (this.frame && this.frame.got === this.frame.length)) {
      if (!this.frame) {
        // The header: 2 bytes, then 2 or 8 more for a longer length (a server's frames carry no mask).
        const need = Math.min(chunk.length - at, 14 - this.header.length);
        this.header = Buffer.concat([this.header, chunk.subarray(at, at + need)]);
        const size = headerSize(this.header);
        if (size === undefined || this.header.length < size) {
          at += need;
          continue;
        }
        at += need - (this.header.length - size);
        const length = size === 2 ? this.header[1]! & 0x7f : size === 4 ? this.header.readUInt16BE(2) : Number(this.header.readBigUInt64BE(2));
        this.frame = { opcode: this.header[0]! & 0x0f, length, got: 0, parts: [], head: Buffer.alloc(0), tail: Buffer.alloc(0) };
        this.header = Buffer.alloc(0);
      }
      const frame = this.frame;
      const take = Math.min(chunk.length - at, frame.length - frame.got);
      const part = chunk.subarray(at, at + take);
      at += take;
      frame.got += take;
      if (frame.keep === undefined && frame.head.length < HEAD_BYTES) frame.head = Buffer.concat([frame.head, part.subarray(0, HEAD_BYTES - frame.head.length)]);
      if (frame.keep !== false) frame.parts.push(Buffer.from(part));
      frame.tail = Buffer.from(Buffer.concat([frame.tail, part.subarray(-2)]).subarray(-2));
      if (frame.keep === undefined && (frame.head.length >= HEAD_BYTES || frame.got === frame.length)) {
        frame.keep = this.keep(frame.opcode, frame.head, frame.length);
        if (!frame.keep) frame.parts = [];
      }
      if (frame.got < frame.length) continue;
      out.push({ opcode: frame.opcode, payload: frame.keep === false ? frame.head : Buffer.concat(frame.parts), length: frame.length, tail: frame.tail, end: at });
      this.frame = undefined;
    }
    return out;
  }
}

/** The size of a frame header that starts with `bytes`, once its second byte is there. */
function headerSize(bytes: Buffer): number | undefined {
  if (bytes.length < 2) return undefined;
  const length = bytes[1]! & 0x7f;
  return length === 126 ? 4 : length === 127 ? 10 : 2;
}

/** What the kernel holds for one TCP connection, both ends, in bytes (Linux: /proc/net/tcp). */
export interface KernelQueues {
  /** Received by this machine's client end and not yet read by it. */
  clientUnread: number;
  /** Written by the server end and not yet acknowledged by the client's kernel. */
  serverUnsent: number;
}

/**
 * Reads /proc/net/tcp (and tcp6) for the connection between the client socket on `clientPort` and the
 * server on `serverPort`, both on loopback: how much of what the server wrote sits in the kernel
 * rather than in the server's own buffer. Undefined where /proc is not there (not Linux) or the
 * connection is not listed.
 */
export function kernelQueues(clientPort: number, serverPort: number): KernelQueues | undefined {
  const hex = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const [client, server] = [hex(clientPort), hex(serverPort)];
  let clientUnread: number | undefined;
  let serverUnsent: number | undefined;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    // Only the lines that name the client's port are read: the file lists every socket of the machine.
    for (let at = text.indexOf(client); at !== -1; at = text.indexOf(client, at + 1)) {
      const line = text.slice(text.lastIndexOf('\n', at) + 1, text.indexOf('\n', at));
      const [local, remote, , queues] = line.trim().split(/\s+/).slice(1, 5);
      if (!local || !remote || !queues) continue;
      const [tx, rx] = queues.split(':').map((n) => parseInt(n, 16)) as [number, number];
      if (`${local} `.endsWith(client) && `${remote} `.endsWith(server)) clientUnread = rx;
      else if (`${local} `.endsWith(server) && `${remote} `.endsWith(client)) serverUnsent = tx;
    }
  }
  return clientUnread === undefined || serverUnsent === undefined ? undefined : { clientUnread, serverUnsent };
}
