// The harness's client mode: the verifier's own server meets attempts as it is told, records each with
// its outcome, and sees two connections held at once.
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ControlledServer } from '../verify/harness/client-mode/controlled-server.ts';
import { Transcript } from '../verify/harness/transcript.ts';

const servers: ControlledServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(): Promise<{ server: ControlledServer; transcript: Transcript }> {
  const transcript = new Transcript();
  const server = await ControlledServer.start({ transcript, name: 'server', stepTimeoutMs: 1000 });
  servers.push(server);
  return { server, transcript };
}

/** Opens a ws client and resolves with how its attempt ended: 'open', or the HTTP status it was refused with. */
function attempt(url: string): Promise<{ ws: WebSocket; result: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.on('open', () => resolve({ ws, result: 'open' }));
    ws.on('unexpected-response', (_req, res) => resolve({ ws, result: String(res.statusCode) }));
    ws.on('error', () => {});
  });
}

describe('the controlled server of client mode', () => {
  it('refuses the planned attempts, then accepts, recording each with its path and outcome', async () => {
    const { server } = await serve();
    server.meet({ kind: 'refuse', status: 503 }, 2);
    expect((await attempt(server.url('/a?b=1'))).result).toBe('503');
    expect((await attempt(server.url('/a?b=2'))).result).toBe('503');
    const third = await attempt(server.url('/a?b=3'));
    expect(third.result).toBe('open');
    const taken = [await server.nextAttempt(1000), await server.nextAttempt(1000), await server.nextAttempt(1000)];
    expect(taken.map((a) => a?.outcome)).toEqual(['refused with 503', 'refused with 503', 'accepted']);
    expect(taken.map((a) => a?.path)).toEqual(['/a?b=1', '/a?b=2', '/a?b=3']);
    expect(taken[0]!.endedAt).toBeGreaterThanOrEqual(taken[0]!.at);
    third.ws.terminate();
  });

  it('reads what the client sends, in order, and tells an attempt made while another is open', async () => {
    const { server, transcript } = await serve();
    const first = await attempt(server.url());
    first.ws.send('{"type":"subscribe","topics":["é"]}');
    const connection = (await server.nextAttempt(1000))!.connection!;
    const frame = await connection.nextFrame('the subscribe');
    expect(frame.data.toString()).toBe('{"type":"subscribe","topics":["é"]}');
    expect(transcript.entries.map((e) => e.text)).toContain('← text {"type":"subscribe","topics":["é"]}');
    const second = await attempt(server.url());
    const overlapping = await server.nextAttempt(1000);
    expect(overlapping?.overlapped?.number).toBe(1);
    first.ws.terminate();
    second.ws.terminate();
  });

  it('drops a connection after its first frame, and refuses nothing at the TCP level while up', async () => {
    const { server } = await serve();
    server.meet({ kind: 'drop-after-first-frame' }, 1);
    const dropped = await attempt(server.url());
    const closed = new Promise<number>((resolve) => dropped.ws.on('close', resolve));
    dropped.ws.send('hello');
    expect(await closed).toBe(1006);
    const taken = await server.nextAttempt(1000);
    expect(taken?.outcome).toBe('accepted, then dropped');
    expect(server.up).toBe(true);
  });

  it('goes down (connections refused) and comes back on the same port', async () => {
    const { server } = await serve();
    await server.goDown();
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(server.url());
      ws.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? ''));
    });
    expect(refused).toBe('ECONNREFUSED');
    await server.comeBack();
    const back = await attempt(server.url());
    expect(back.result).toBe('open');
    back.ws.terminate();
  });
});
