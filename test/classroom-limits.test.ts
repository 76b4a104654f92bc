// Slow, silent and greedy clients: dashboards that stop reading are dropped while the rest of the class
// carries on, dead dashboards are found by ping/pong, slow senders are cut, connections and joins per
// address are bounded. Every wait is on an event; nothing asserts how long anything took.
import net from 'node:net';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { startClassServer, type ClassServer, type ClassServerOptions } from '../src/classroom/class-server.ts';
import { postJson, type Posted } from './post-json.ts';

const CODE = 'LIMITS2345';
const KEY = 'limits-teacher-key';
const servers: ClassServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(limits: ClassServerOptions['limits']): Promise<ClassServer> {
  const server = await startClassServer({ host: '127.0.0.1', code: CODE, teacherKey: KEY, limits });
  servers.push(server);
  return server;
}

function post(server: ClassServer, target: string, body: unknown, headers: Record<string, string> = {}, localAddress = '127.0.0.1'): Promise<Posted> {
  return postJson(`http://127.0.0.1:${server.port}${target}`, body, { headers, localAddress });
}

function openFeed(server: ClassServer, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/feed?key=${KEY}`, options);
  ws.on('error', () => {});
  return new Promise((resolve, reject) => ws.once('open', () => resolve(ws)).once('unexpected-response', () => reject(new Error('refused'))));
}

const closed = (socket: { once(event: 'close', listener: () => void): unknown }) => new Promise<void>((resolve) => socket.once('close', () => resolve()));

describe('dashboards', () => {
  it('drops dashboards that stop reading, while a reading one gets every report and every learner is answered', async () => {
    const server = await start({ feedBuffer: 32 * 1024, joinsPerAddress: Infinity });
    const STALLED = 20;
    const stalled = await Promise.all(Array.from({ length: STALLED }, () => openFeed(server)));
    // Paused: the socket is no longer read, as with a browser tab frozen in the background.
    for (const ws of stalled) ws.pause();
    const reader = await openFeed(server);
    const seen = new Set<string>();
    reader.on('message', (data) => {
      const { reportId } = JSON.parse(String(data)) as { reportId?: string };
      if (reportId) seen.add(reportId);
    });

    // Rounds of learners reporting until the stalled dashboards have fallen past the bound (how much the
    // system's socket buffers absorb first differs from machine to machine); ten rounds is far beyond it.
    const ROUND = 100;
    const REPORTS = 20;
    let learners = 0;
    const statuses: number[] = [];
    for (let round = 0; round < 10 && server.dashboards() > 1; round++) {
      const answers = await Promise.all(
        Array.from({ length: ROUND }, async () => {
          const i = learners++;
          // Long names make each message bigger, so the stalled dashboards fall behind sooner.
          const joined = await post(server, '/join', { name: `learner ${i} ${'x'.repeat(28)}`, code: CODE });
          const { token } = JSON.parse(joined.body) as { token: string };
          const mine: number[] = [];
          for (let n = 0; n < REPORTS; n++) {
            const report = { id: `stall-${i}-${n}`, lesson: '03-broadcast', passed: false, failureCode: 'BROADCAST_MISSED', durationMs: 1, at: Date.now() };
            mine.push((await post(server, '/report', report, { Authorization: `Bearer ${token}`, 'X-Class-Code': CODE })).status);
          }
          return mine;
        }),
      );
      statuses.push(...answers.flat());
    }
    expect(statuses.every((s) => s === 200), 'every learner was answered').toBe(true);
    await new Promise<void>((resolve) => {
      const check = () => (seen.size === learners * REPORTS ? resolve() : undefined);
      reader.on('message', check);
      check();
    });
    expect(reader.readyState, 'the reading dashboard kept its connection').toBe(WebSocket.OPEN);
    expect(server.dashboards(), 'only the reading dashboard is left').toBe(1);
    reader.terminate();
    for (const ws of stalled) ws.terminate();
  }, 60_000);

  it('finds a dashboard that no longer answers pings, and keeps one that does', async () => {
    // Long enough that a busy machine still reads each pong before the next ping is due.
    const server = await start({ feedPingMs: 300 });
    const silent = await openFeed(server, { autoPong: false });
    const alive = await openFeed(server);
    let pings = 0;
    const pinged = new Promise<void>((resolve) => alive.on('ping', () => (++pings === 3 ? resolve() : undefined)));
    await closed(silent);
    await pinged;
    expect(alive.readyState).toBe(WebSocket.OPEN);
    alive.terminate();
  });
});

describe('slow and greedy clients', () => {
  it('cuts a request whose headers or body never finish', async () => {
    const server = await start({});
    const slowHeaders = net.connect(server.port, '127.0.0.1');
    slowHeaders.on('error', () => {});
    slowHeaders.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const slowBody = net.connect(server.port, '127.0.0.1');
    slowBody.on('error', () => {});
    slowBody.write(`POST /join HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`);
    let answers = '';
    slowHeaders.on('data', (d: Buffer) => (answers += d.toString()));
    slowBody.on('data', (d: Buffer) => (answers += d.toString()));
    await Promise.all([closed(slowHeaders), closed(slowBody)]);
    expect(answers.match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 408', 'HTTP/1.1 408']);
  }, 30_000);

  it('refuses connections past the cap, and serves again once they close', async () => {
    const server = await start({ connections: 5 });
    const idle = await Promise.all(
      Array.from({ length: 5 }, () => new Promise<net.Socket>((resolve) => {
        const socket = net.connect(server.port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => {});
      })),
    );
    // The server has taken the five when a request over one of them is answered.
    idle[0]!.write('GET /dashboard.css HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => idle[0]!.once('data', resolve));
    const extra = net.connect(server.port, '127.0.0.1');
    extra.on('error', () => {});
    let answered = false;
    extra.on('data', () => (answered = true));
    extra.write('GET /dashboard.css HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed(extra);
    expect(answered, 'the sixth connection was closed unanswered').toBe(false);
    for (const socket of idle) socket.destroy();
    await Promise.all(idle.map(closed));
    // The server counts a connection as gone once it has seen it close; a retry covers the moment before.
    let status = 0;
    while (status !== 201) status = await post(server, '/join', { name: 'after', code: CODE }).then((r) => r.status, () => 0);
    expect(status).toBe(201);
  });

  it('lets one address add only so many learners', async () => {
    const server = await start({ joinsPerAddress: 3 });
    const from = (address: string, i: number) => post(server, '/join', { name: `n${i}`, code: CODE }, {}, address).then((r) => r.status);
    expect([await from('127.0.0.31', 1), await from('127.0.0.31', 2), await from('127.0.0.31', 3), await from('127.0.0.31', 4)]).toEqual([201, 201, 201, 429]);
    expect(await from('127.0.0.32', 5)).toBe(201);
  });
});
