// What a verifier can ask a running program from inside (the preload's answer to SIGWINCH): its
// memory always, and with watchEventLoop the longest its event loop stood still since the last ask.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LearnerProgram } from '../verify/harness/program.ts';
import { freePort } from '../verify/harness/ports.ts';
import { Transcript } from '../verify/harness/transcript.ts';

/** Listens on PORT; a client that sends `block` holds its event loop for 300 ms and 64 MiB more. */
const BLOCKS_WHEN_ASKED = `import net from 'node:net';
const kept = [];
net.createServer((socket) => {
  socket.on('data', () => {
    const until = Date.now() + 300;
    while (Date.now() < until);
    kept.push(Buffer.alloc(64 * 1024 * 1024, 1));
    socket.end('done');
  });
}).listen(Number(process.env.PORT));
`;

/** Listens once a worker thread, started on this same TypeScript file, has answered; the worker stays. */
const STARTS_A_WORKER = `import net from 'node:net';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
if (isMainThread) {
  const worker = new Worker(new URL(import.meta.url));
  worker.once('message', (text: string) => {
    console.log(text);
    net.createServer((socket) => socket.end()).listen(Number(process.env.PORT));
  });
} else {
  const typed: string = 'a TypeScript worker runs';
  parentPort!.postMessage(typed);
  setInterval(() => {}, 1000);
}
`;

const running: LearnerProgram[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const program of running.splice(0)) await program.stop();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function start(watchEventLoop: boolean, source = BLOCKS_WHEN_ASKED): Promise<{ program: LearnerProgram; port: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-probes-'));
  dirs.push(dir);
  const file = path.join(dir, 'program.ts');
  fs.writeFileSync(file, source);
  const port = await freePort();
  const program = new LearnerProgram({ file, port, transcript: new Transcript(), watchEventLoop });
  running.push(program);
  await program.waitUntilListening(10_000);
  return { program, port };
}

/** Asks the server to block, and resolves once it has answered and hung up. */
async function block(port: number): Promise<void> {
  const net = await import('node:net');
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', reject);
    socket.on('connect', () => socket.write('block'));
    socket.on('data', () => {});
    socket.on('close', () => resolve());
  });
}

describe('the program probe', () => {
  it("tells the event loop's longest pause since the last ask, and the memory the program holds", async () => {
    const { program, port } = await start(true);
    const before = await program.resources(5000);
    expect(before?.loopMaxMs, 'watched').toBeTypeOf('number');
    await block(port);
    const after = await program.resources(5000);
    // The handler held the loop for 300 ms at least: no pause can be measured shorter than that.
    expect(after!.loopMaxMs!).toBeGreaterThanOrEqual(290);
    expect(after!.memory.arrayBuffers - before!.memory.arrayBuffers).toBeGreaterThanOrEqual(60 * 1024 * 1024);
    expect(after!.memory.rss).toBeGreaterThan(0);
  });

  it('leaves the event loop unwatched unless asked, and reports memory all the same', async () => {
    const { program } = await start(false);
    const report = await program.resources(5000);
    expect(report?.loopMaxMs).toBeUndefined();
    expect(report?.memory.heapUsed).toBeGreaterThan(0);
    expect(report?.resources).toContain('TCPServerWrap');
  });

  it('runs a worker thread started on the TypeScript file itself, and counts the workers', async () => {
    const { program } = await start(true, STARTS_A_WORKER);
    const report = await program.resources(5000);
    // It has posted nothing to its worker: the worker spoke first.
    expect(report?.workers).toEqual({ started: 1, alive: 1, posted: 0 });
  });
});
