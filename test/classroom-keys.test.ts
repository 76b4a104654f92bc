// The two keys: the class code lets a learner join and report, the teacher key opens the feed and the
// export. Wrong ones are counted per address, refused with 429 past a bound, and told to the teacher.
import http from 'node:http';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClassServer, type ClassServer, type Refusal } from '../src/classroom/class-server.ts';
import { WRONG_SECRETS_PER_WINDOW } from '../src/classroom/wrong-secret-limit.ts';

const CODE = 'KEYSCODE23';
const KEY = 'keys-teacher-key';
let server: ClassServer;
const refusals: Refusal[] = [];

beforeAll(async () => {
  server = await startClassServer({ host: '127.0.0.1', code: CODE, teacherKey: KEY });
  server.onRefusal((refusal) => refusals.push(refusal));
});
afterAll(() => server.close());

/** One request from a chosen loopback address (Linux answers on all of 127/8), so each test is its own address. */
function request(from: string, method: string, target: string, body = '', headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path: target, headers: { 'Content-Type': 'application/json', ...headers }, localAddress: from }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens the feed from an address; resolves 'open' or the refusal's status line. */
function feed(from: string, query: string, origin?: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/feed${query}`, { localAddress: from, ...(origin ? { origin } : {}) });
    ws.once('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(String(res.statusCode));
      ws.terminate();
    });
    ws.once('error', () => {});
  });
}

const join = (from: string, code: string, name = 'ada') => request(from, 'POST', '/join', JSON.stringify({ name, code }));

describe('class code and teacher key', () => {
  it('a learner holding the class code joins and reports, but gets 401 from the feed and 403 from the export', async () => {
    const joined = await join('127.0.0.11', CODE);
    expect(joined.status).toBe(201);
    const { token } = JSON.parse(joined.body) as { token: string };
    const report = JSON.stringify({ id: 'keys-report-1', lesson: '02-echo-server', passed: true, failureCode: null, durationMs: 3, at: Date.now() });
    expect((await request('127.0.0.11', 'POST', '/report', report, { Authorization: `Bearer ${token}`, 'X-Class-Code': CODE })).status).toBe(200);
    expect(await feed('127.0.0.11', `?key=${CODE}`)).toBe('401');
    expect(await feed('127.0.0.11', `?code=${CODE}`)).toBe('401');
    expect((await request('127.0.0.11', 'GET', `/export.csv?key=${CODE}`)).status).toBe(403);
    expect((await request('127.0.0.11', 'GET', `/export.csv?code=${CODE}`)).status).toBe(403);
    expect((await request('127.0.0.11', 'GET', `/class?key=${CODE}`)).status, 'nor the dashboard’s data').toBe(401);
    const id = (JSON.parse(joined.body) as { id: string }).id;
    expect((await request('127.0.0.11', 'GET', `/learner?key=${CODE}&id=${id}`)).status, 'nor a learner’s verdicts').toBe(401);
    // And the learner's token is no key either.
    expect(await feed('127.0.0.11', `?key=${token}`)).toBe('401');
  });

  it('the teacher key opens the feed and the export, and is not a class code', async () => {
    expect(await feed('127.0.0.12', `?key=${KEY}`)).toBe('open');
    const csv = await request('127.0.0.12', 'GET', `/export.csv?key=${KEY}`);
    expect(csv.status).toBe(200);
    expect(csv.body).toContain('"ada"');
    const data = await request('127.0.0.12', 'GET', `/class?key=${KEY}`);
    expect(JSON.parse(data.body)).toMatchObject({ type: 'snapshot', learners: [{ name: 'ada' }] });
    const ada = (JSON.parse(data.body) as { learners: Array<{ id: string }> }).learners[0]!;
    const recent = JSON.parse((await request('127.0.0.12', 'GET', `/learner?key=${KEY}&id=${ada.id}`)).body) as { recent: unknown[] };
    expect(recent).toEqual({ recent: [{ lesson: '02-echo-server', passed: true, failureCode: null, durationMs: 3, at: expect.any(Number) }] });
    expect((await join('127.0.0.12', KEY)).status).toBe(403);
  });

  it('the feed opens only from the dashboard’s own origin (or from a client that is not a browser)', async () => {
    expect(await feed('127.0.0.13', `?key=${KEY}`, 'http://evil.example')).toBe('403');
    expect(await feed('127.0.0.13', `?key=${KEY}`, `http://127.0.0.1:${server.port + 1}`)).toBe('403');
    expect(await feed('127.0.0.13', `?key=${KEY}`, `http://127.0.0.1:${server.port}`)).toBe('open');
  });
});

describe('wrong codes and keys', () => {
  it(`refuse an address with 429 after ${WRONG_SECRETS_PER_WINDOW} within a minute, even with the right code; other addresses are untouched`, async () => {
    const attacker = '127.0.0.21';
    const statuses: number[] = [];
    for (let i = 0; i < WRONG_SECRETS_PER_WINDOW; i++) {
      // Codes, keys and tokens all count: whichever the guesser tries.
      if (i % 3 === 0) statuses.push((await join(attacker, `GUESS${i}`)).status);
      else if (i % 3 === 1) statuses.push((await request(attacker, 'GET', `/export.csv?key=guess${i}`)).status);
      else statuses.push(Number(await feed(attacker, `?key=guess${i}`)));
    }
    expect(statuses.every((s) => s === 401 || s === 403)).toBe(true);
    const blocked = await join(attacker, CODE);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(await feed(attacker, `?key=${KEY}`)).toBe('429');
    expect((await request(attacker, 'GET', `/export.csv?key=${KEY}`)).status).toBe(429);
    expect((await join('127.0.0.22', CODE, 'bea')).status, 'another address still joins').toBe(201);

    const fromAttacker = refusals.filter((r) => r.address === attacker);
    expect(fromAttacker.map((r) => r.count)).toEqual(Array.from({ length: WRONG_SECRETS_PER_WINDOW }, (_, i) => i + 1));
    expect(fromAttacker.at(-1)).toMatchObject({ blocked: true });
    expect(new Set(fromAttacker.map((r) => r.what))).toEqual(new Set(['class code', 'teacher key']));
  });

  it('an unknown learner token counts as a wrong secret too', async () => {
    const report = JSON.stringify({ id: 'keys-report-2', lesson: '02-echo-server', passed: true, failureCode: null, durationMs: 3, at: Date.now() });
    const refused = await request('127.0.0.23', 'POST', '/report', report, { Authorization: 'Bearer made-up', 'X-Class-Code': CODE });
    expect(refused.status).toBe(401);
    expect(refusals.filter((r) => r.address === '127.0.0.23')).toEqual([{ address: '127.0.0.23', what: 'learner token', count: 1, blocked: false }]);
  });
});
