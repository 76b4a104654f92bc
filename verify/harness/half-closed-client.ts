import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { HarnessCodes, VerifyFailure } from './failure.ts';
import { describeCloseCode, type Frame } from './frames.ts';
import type { RunningServer, Verification } from './session.ts';

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const NORMAL_CLOSURE = 1000;

/**
 * Connects a raw client named `name`, starts the closing handshake and never finishes it: the client
 * sends its close frame, reads the server's close frame, and then keeps the TCP connection open without
 * ever ending it, as a client on a slow or vanishing network would.
 *
 * From the moment the server has answered the close frame its socket is CLOSING (readyState 2), and it
 * stays CLOSING, still in `wss.clients`, until the TCP connection ends: here, until the verification
 * is over (ws itself gives up after 30 s). Anything the server sends to it meanwhile is a send on a
 * socket that is not OPEN, which the preload reports in `program.sendsNotOpen`.
 *
 * Resolves once the server's close frame has arrived, so the server's state is known, not guessed.
 */
export async function leaveHalfClosed(v: Verification, name: string, server: RunningServer = v.servers[0]!): Promise<void> {
  const client = await connectHalfClosable(v, name, server);
  await client.leaveHalfClosed();
}

/** A raw client that is connected and open, and can later leave half-closed. */
export interface HalfClosableClient {
  /**
   * Starts the closing handshake and never finishes it, as leaveHalfClosed() does. Resolves once the
   * server's close frame arrived, with the text and binary frames the server sent before it.
   */
  leaveHalfClosed(): Promise<Frame[]>;
}

/**
 * Connects a raw client named `name` and leaves it open, keeping whatever the server sends without
 * logging it, until `leaveHalfClosed()` is called. A client that connects early and starts closing late
 * sits where it joined in the server's set of clients: first, if it connected first.
 */
export async function connectHalfClosable(
  v: Verification,
  name: string,
  server: RunningServer = v.servers[0]!,
  /** The path (and query) of the upgrade request. */
  path = '/',
): Promise<HalfClosableClient> {
  const log = (text: string) => v.transcript.add({ kind: 'client', name }, text);
  log(`connecting to ${server.wsUrl}${path}`);
  // allowHalfOpen: when the server ends its side after the close frame, Node must not end ours for us.
  const socket = net.connect({ host: server.host, port: server.port, allowHalfOpen: true });
  v.defer(() => socket.destroy());
  socket.on('error', () => {});

  const reader = new ByteReader(socket);
  const timeoutMs = v.timeouts.stepMs;
  const within = <T>(awaiting: string, work: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new VerifyFailure({
              code: HarnessCodes.NO_REPLY,
              expected: `${awaiting} within ${timeoutMs} ms`,
              actual: `nothing (${name} was still waiting)`,
            }),
          ),
        timeoutMs,
      );
    });
    return Promise.race([work, late, v.programGone]).finally(() => clearTimeout(timer));
  };

  // The opening handshake, by hand: the same request a ws client sends.
  socket.write(
    [
      `GET ${path} HTTP/1.1`,
      `Host: ${server.wsUrl.slice('ws://'.length)}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n'),
  );
  const head = (await within('the answer to the upgrade request', reader.until(Buffer.from('\r\n\r\n')))).toString('latin1');
  const status = head.slice(0, head.indexOf('\r\n')).replace(/^HTTP\/1\.1 /, '');
  if (!status.startsWith('101')) {
    log(`← HTTP ${status} (not an upgrade)`);
    throw new VerifyFailure({
      code: HarnessCodes.HANDSHAKE_REJECTED,
      expected: 'HTTP 101 Switching Protocols in answer to the upgrade request',
      actual: `HTTP ${status}`,
    });
  }
  log('connected (HTTP 101 Switching Protocols)');

  return {
    async leaveHalfClosed() {
      log(`→ close ${describeCloseCode(NORMAL_CLOSURE)}`);
      socket.write(maskedCloseFrame(NORMAL_CLOSURE));

      // Frames the server sent before it saw the close are kept for the caller, not logged.
      const received: Frame[] = [];
      for (;;) {
        const frame = await within('the server to answer the close frame', readFrame(reader));
        if (frame.opcode === OPCODE_TEXT || frame.opcode === OPCODE_BINARY) {
          received.push({ kind: frame.opcode === OPCODE_TEXT ? 'text' : 'binary', data: Buffer.from(frame.payload) });
        }
        if (frame.opcode !== OPCODE_CLOSE) continue;
        const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
        log(`← close ${describeCloseCode(code)}`);
        return received;
      }
    },
  };
}

/** A client's close frame: FIN + opcode 8, masked as RFC 6455 §5.3 requires of every client frame. */
function maskedCloseFrame(code: number): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  const mask = randomBytes(4);
  const masked = payload.map((byte, i) => byte ^ mask[i % 4]!);
  return Buffer.concat([Buffer.from([0x80 | OPCODE_CLOSE, 0x80 | payload.length]), mask, masked]);
}

/** Reads one server frame (servers never mask). */
async function readFrame(reader: ByteReader): Promise<{ opcode: number; payload: Buffer }> {
  const [first, second] = await reader.take(2);
  let length = second! & 0x7f;
  if (length === 126) length = (await reader.take(2)).readUInt16BE(0);
  else if (length === 127) length = Number((await reader.take(8)).readBigUInt64BE(0));
  return { opcode: first! & 0x0f, payload: await reader.take(length) };
}

/** Buffers what a socket receives and hands it out on demand, in order. */
class ByteReader {
  private buffered = Buffer.alloc(0);
  private wake?: () => void;
  private ended = false;

  constructor(socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  /** Exactly `n` bytes. */
  async take(n: number): Promise<Buffer> {
    await this.waitFor(() => this.buffered.length >= n);
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  /** Everything up to and including `marker`. */
  async until(marker: Buffer): Promise<Buffer> {
    await this.waitFor(() => this.buffered.includes(marker));
    return this.take(this.buffered.indexOf(marker) + marker.length);
  }

  private async waitFor(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.ended) {
        throw new VerifyFailure({
          code: HarnessCodes.CONNECTION_CLOSED,
          message: 'The server closed the TCP connection before the closing handshake was done.',
        });
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
