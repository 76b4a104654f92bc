// A client's memory stays bounded whatever the server sends: an endless stream of frames and a frame
// larger than the lesson allows both end in a clear failure.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { MAX_UNREAD_FRAMES, TestClient } from '../verify/harness/client.ts';
import type { VerifyFailure } from '../verify/harness/failure.ts';
import { Transcript } from '../verify/harness/transcript.ts';

let wss: WebSocketServer | undefined;
afterEach(() => new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve())));

async function serve(onConnection: (socket: import('ws').WebSocket) => void): Promise<string> {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  wss.on('connection', onConnection);
  await new Promise((resolve) => wss!.once('listening', resolve));
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

function client(maxFrameBytes?: number): TestClient {
  return new TestClient('alice', { transcript: new Transcript(), stepTimeoutMs: 2000, programGone: new Promise<never>(() => {}), maxFrameBytes });
}

describe('a test client', () => {
  it('stops listening to an endless stream of frames and fails with FRAME_FLOOD', async () => {
    const url = await serve((socket) => {
      const flood = () => {
        if (socket.readyState !== socket.OPEN) return;
        for (let i = 0; i < 100; i++) socket.send(`message ${i}`);
        setImmediate(flood);
      };
      flood();
    });
    const alice = await client().connect(url);
    await new Promise<void>((resolve) => alice.ws.once('close', () => resolve()));
    expect(alice.pending.length).toBeLessThanOrEqual(MAX_UNREAD_FRAMES);
    const failure = await alice.nextFrame('an answer').catch((e: VerifyFailure) => e);
    expect((failure as VerifyFailure).code).toBe('FRAME_FLOOD');
    expect((failure as VerifyFailure).message).toMatch(/more than 2000 messages that alice never asked for/);
  });

  it('refuses a frame larger than the lesson allows with FRAME_TOO_LARGE', async () => {
    const url = await serve((socket) => socket.send(Buffer.alloc(2048)));
    const alice = await client(1024).connect(url);
    const failure = (await alice.nextFrame('a small message').catch((e: VerifyFailure) => e)) as VerifyFailure;
    expect(failure.code).toBe('FRAME_TOO_LARGE');
    expect(failure.actual).toMatch(/closed the connection with 1009/);
  });
});
