// The class server against whatever anyone on the network can send: random and truncated HTTP requests
// and upgrades, closes and resets at every step, oversized and malformed WebSocket frames. A bounded
// number of cases from a fixed seed (so a failure can be replayed); afterwards a real learner still
// joins and reports, and a dashboard still sees it.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startClassServer, type ClassServer } from '../src/classroom/class-server.ts';

const CODE = 'FUZZCODE23';
const KEY = 'fuzz-teacher-key';
const CASES = Number(process.env.FUZZ_CASES ?? 400);
const AT_ONCE = 16;
// Wrong keys from the fuzzing address soon get it refused with 429; the cases that need a real feed,
// and the learner at the end, come from other loopback addresses (Linux answers on all of 127/8).
const FUZZ_ADDRESS = '127.0.0.1';
const FEED_ADDRESS = '127.0.0.3';
const LEARNER_ADDRESS = '127.0.0.2';

let server: ClassServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-fuzz-'));
  server = await startClassServer({ host: '127.0.0.1', code: CODE, teacherKey: KEY, dataDir });
});
afterAll(async () => {
  await server?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** mulberry32: a small seeded generator, so a failing run can be repeated with FUZZ_SEED. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.env.FUZZ_SEED ?? 1313);
const random = generator(seed);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));

/** A WebSocket frame as a client sends it (masked unless told otherwise). */
function frame(opcode: number, payload: Buffer, options: { fin?: boolean; mask?: boolean; declaredLength?: bigint } = {}): Buffer {
  const { fin = true, mask = true } = options;
  const length = options.declaredLength ?? BigInt(payload.length);
  const head: number[] = [(fin ? 0x80 : 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126n) head.push(maskBit | Number(length));
  else if (length < 65536n) head.push(maskBit | 126, Number(length >> 8n) & 255, Number(length) & 255);
  else {
    head.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((length >> shift) & 255n));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), key, masked]);
}

const joinBody = JSON.stringify({ name: 'fuzz', code: CODE });
const reportBody = JSON.stringify({ id: 'fuzz-report-1', lesson: '02-echo-server', passed: true, failureCode: null, durationMs: 1, at: Date.now() });

/** Requests that are almost right: each is cut short, garbled or stretched by the case that uses it. */
function httpRequest(): string {
  const target = pick(['/', '/join', '/report', '/export.csv?key=x', `/export.csv?key=${KEY}`, '/feed', '//x:99999/feed', '*', 'http://[', '/%zz', '/dashboard.js', '/?key=' + 'k'.repeat(5000)]);
  const method = pick(['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'G E T', '']);
  const body = pick(['', joinBody, reportBody, '{', 'null', '[]', '\xff\xfe', 'x'.repeat(5000)]);
  const headers = [
    `Host: 127.0.0.1`,
    pick(['Content-Type: application/json', 'Content-Type: text/plain', '']),
    pick([`Content-Length: ${Buffer.byteLength(body)}`, `Content-Length: ${Buffer.byteLength(body) + 100}`, 'Content-Length: -1', 'Content-Length: 99999999999', 'Transfer-Encoding: chunked', '']),
    pick([`X-Class-Code: ${CODE}`, 'X-Class-Code: WRONG', '']),
    pick(['Authorization: Bearer nobody', 'Authorization: Basic', '']),
    pick(['', `X-Big: ${'y'.repeat(20_000)}`]),
  ].filter(Boolean);
  return `${method} ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n${body}`;
}

/** An upgrade to the feed: sometimes with the right key, sometimes not, sometimes not an upgrade at all. */
function upgradeRequest(key: string, valid = false): string {
  if (valid) {
    const secWebSocketKey = crypto.randomBytes(16).toString('base64');
    return `GET /feed?key=${key} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${secWebSocketKey}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  }
  const target = pick([`/feed?key=${key}`, '/feed', `/elsewhere?key=${key}`, '//x:99999/feed', 'http://[', `/feed?key=${key}&key=2`]);
  return [
    `GET ${target} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${pick([crypto.randomBytes(16).toString('base64'), 'short', ''])}`,
    `Sec-WebSocket-Version: ${pick(['13', '8', 'x'])}`,
    pick(['', 'Origin: http://evil.example', 'Origin: not a url', 'Origin: http://127.0.0.1']),
    '',
    '',
  ].join('\r\n');
}

/** Frames a dashboard should never send: oversized, invalid UTF-8, unmasked, unknown opcodes, lies about length. */
function badFrames(): Buffer[] {
  return Array.from({ length: 1 + int(4) }, () =>
    pick([
      () => frame(1, Buffer.from('x'.repeat(2000))),
      () => frame(1, Buffer.from([0xc3, 0x28, 0xff])),
      () => frame(1, Buffer.from('hello'), { mask: false }),
      () => frame(3 + int(5), bytes(10)),
      () => frame(2, bytes(10), { declaredLength: 2n ** 62n }),
      () => frame(9, bytes(200)),
      () => frame(8, Buffer.from([0x03, 0xe8, 0xff, 0xfe])),
      () => frame(0, bytes(5)),
      () => frame(1, Buffer.from('part'), { fin: false }),
      () => bytes(1 + int(64)),
    ])(),
  );
}

/** Writes `parts` one by one, then ends as told: gently, abruptly, with a TCP reset, or by waiting for the server. */
async function oneCase(localAddress: string, parts: Buffer[]): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port: server.port, localAddress });
  socket.on('error', () => {});
  socket.on('data', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', resolve).once('error', () => resolve()));
  // Stop at any step: before the first byte, in the middle of a request, between frames.
  const stopAfter = int(parts.length + 1);
  for (const part of parts.slice(0, stopAfter)) {
    if (socket.destroyed) break;
    const cut = random() < 0.3 ? part.subarray(0, int(part.length + 1)) : part;
    socket.write(cut);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const ending = pick(['end', 'destroy', 'reset', 'wait'] as const);
  if (ending === 'end') socket.end();
  else if (ending === 'destroy') socket.destroy();
  else if (ending === 'reset') socket.resetAndDestroy();
  else {
    // Waiting for the server to answer or close; a socket it keeps open (a feed that is fine) is closed by us.
    const guard = setTimeout(() => socket.destroy(), 300);
    await Promise.race([closed, new Promise((resolve) => socket.once('data', resolve))]);
    clearTimeout(guard);
    socket.destroy();
  }
  await closed;
}

function nextCase(): Promise<void> {
  const kind = int(5);
  if (kind === 0) return oneCase(FUZZ_ADDRESS, [bytes(int(2000))]);
  if (kind === 1) {
    const request = Buffer.from(httpRequest(), 'latin1');
    const cut = int(request.length);
    return oneCase(FUZZ_ADDRESS, [request.subarray(0, cut), request.subarray(cut)]);
  }
  if (kind === 2) return oneCase(FUZZ_ADDRESS, [Buffer.from(upgradeRequest(pick(['wrong', CODE, ''])), 'latin1')]);
  // A real dashboard's upgrade, then garbage frames: the feed must close it, not the process.
  return oneCase(FEED_ADDRESS, [Buffer.from(upgradeRequest(KEY, random() < 0.8), 'latin1'), ...badFrames()]);
}

/** A request from a given local address, as `wsw join` and `wsw verify` make them. */
function request(method: string, target: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path: target, headers, localAddress: LEARNER_ADDRESS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

it(`survives ${CASES} hostile connections (seed ${seed}), then serves a real learner and dashboard`, async () => {
  let next = 0;
  const worker = async () => {
    while (next < CASES) {
      next += 1;
      await nextCase();
    }
  };
  await Promise.all(Array.from({ length: AT_ONCE }, worker));

  // The server is still whole: a learner joins and reports, and a dashboard sees the report.
  const feed = new WebSocket(`ws://127.0.0.1:${server.port}/feed?key=${KEY}`, { localAddress: LEARNER_ADDRESS });
  const seen = new Promise<unknown>((resolve) => feed.on('message', (data) => {
    const message = JSON.parse(String(data)) as { reportId?: string };
    if (message.reportId === 'after-the-fuzz') resolve(message);
  }));
  await new Promise((resolve, reject) => feed.once('open', resolve).once('error', reject));
  const joined = await request('POST', '/join', { 'Content-Type': 'application/json' }, JSON.stringify({ name: 'after', code: CODE }));
  expect(joined.status, joined.body).toBe(201);
  const { token } = JSON.parse(joined.body) as { token: string };
  const reported = await request(
    'POST',
    '/report',
    { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Class-Code': CODE },
    JSON.stringify({ id: 'after-the-fuzz', lesson: '02-echo-server', passed: true, failureCode: null, durationMs: 5, at: Date.now() }),
  );
  expect(reported.status, reported.body).toBe(200);
  expect(await seen).toMatchObject({ reportId: 'after-the-fuzz' });
  feed.terminate();
}, 120_000);
