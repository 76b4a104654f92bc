// One class on two machines: two `wsw classroom --redis` processes behind one address share a class
// through a real redis-server. A learner reporting to one appears on a dashboard connected to the other,
// and a report sent once the first is killed arrives through the second.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../verify/harness/ports.ts';
import { CliProcess } from './cli-process.ts';
import { postJson, type Posted } from './post-json.ts';

const REDIS = '/usr/bin/redis-server';
const canRun = fs.existsSync(REDIS) || Boolean(process.env.CI);
if (!canRun) console.warn('\n*** SKIPPED: the class-over-Redis test needs redis-server at /usr/bin/redis-server. ***\n');

/** A redis-server of this test's own on a free port, ready once it says so. */
async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', () => reject(new Error(`redis-server ended before it was ready:\n${out}`)));
  });
  return { url: `redis://127.0.0.1:${port}`, child };
}

/** A POST on a connection of its own, as each `wsw verify` makes (a kept-alive one would still lead to a killed server). */
function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Posted> {
  return postJson(url, body, { headers, agent: false });
}

/**
 * One address in front of the class servers, as a load balancer is: each connection goes to the first
 * server that accepts it, so once one is gone the next takes over.
 */
async function frontDoor(ports: number[]): Promise<net.Server> {
  const door = net.createServer((client) => {
    client.on('error', () => {});
    const tryPort = (i: number) => {
      if (i >= ports.length) return void client.destroy();
      const upstream = net.connect(ports[i]!, '127.0.0.1');
      let connected = false;
      upstream.once('error', () => (connected ? client.destroy() : tryPort(i + 1)));
      upstream.once('connect', () => {
        connected = true;
        client.pipe(upstream).pipe(client);
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
      });
    };
    tryPort(0);
  });
  await new Promise<void>((resolve) => door.listen(0, '127.0.0.1', resolve));
  return door;
}

describe.skipIf(!canRun)('a class served by two class servers over Redis', () => {
  let redis: { url: string; child: ChildProcess };
  const teachers: CliProcess[] = [];
  let door: net.Server | undefined;
  const homes: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const cli of teachers) if (cli.child.exitCode === null && cli.child.signalCode === null) cli.signal('SIGKILL');
    await Promise.all(teachers.map((cli) => cli.ended));
    door?.close();
    redis?.child.kill('SIGKILL');
    for (const home of homes) fs.rmSync(home, { recursive: true, force: true });
  });

  async function teacher(): Promise<{ cli: CliProcess; port: number; code: string; key: string }> {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-redis-class-'));
    homes.push(home);
    const cli = new CliProcess(home, ['classroom', '--host', '127.0.0.1', '--redis', redis.url]);
    cli.child.stdin.end();
    teachers.push(cli);
    const [, port, code] = await cli.untilMatch(/wsw join http:\/\/127\.0\.0\.1:(\d+) --name <your name> --code ([A-Z2-9]{10})/);
    const [, key] = await cli.untilMatch(/\/\?key=([A-Za-z0-9_-]+)/);
    return { cli, port: Number(port), code: code!, key: key! };
  }

  it('shows a report sent to one on the other’s dashboard, and keeps serving when one is killed', async () => {
    const first = await teacher();
    const second = await teacher();
    expect([second.code, second.key], 'the second server serves the same class').toEqual([first.code, first.key]);
    expect(first.cli.out).toContain(`Kept in Redis at ${redis.url}`);
    door = await frontDoor([first.port, second.port]);
    const base = `http://127.0.0.1:${(door.address() as net.AddressInfo).port}`;

    // The teacher's dashboard is on the second server; the learner's requests reach the first.
    const feed = new WebSocket(`ws://127.0.0.1:${second.port}/feed?key=${second.key}`);
    const reports: string[] = [];
    const waiters: Array<() => void> = [];
    feed.on('message', (data) => {
      const message = JSON.parse(String(data)) as { reportId?: string };
      if (message.reportId) reports.push(message.reportId);
      for (const wake of waiters.splice(0)) wake();
    });
    await new Promise((resolve, reject) => feed.once('open', resolve).once('error', reject));
    const seen = (id: string) =>
      new Promise<void>((resolve) => {
        const check = () => (reports.includes(id) ? resolve() : waiters.push(check));
        check();
      });

    const joined = await post(`${base}/join`, { name: 'Ada', code: first.code });
    expect(joined.status).toBe(201);
    const { token } = JSON.parse(joined.body) as { token: string };
    expect(await first.cli.untilMatch(/"Ada" joined/)).toBeTruthy();
    const report = (id: string) =>
      post(`${base}/report`, { id, lesson: '07-redis-scaling', passed: false, failureCode: 'SCALING_NOT_SUBSCRIBED', durationMs: 9, at: Date.now() }, {
        Authorization: `Bearer ${token}`,
        'X-Class-Code': first.code,
      });
    expect((await report('through-the-first')).status).toBe(200);
    await seen('through-the-first');

    first.cli.signal('SIGKILL');
    await first.cli.ended;
    // The same address, the same token: the second server knows the learner, and its dashboard shows the report.
    expect((await report('while-the-first-is-gone')).status).toBe(200);
    await seen('while-the-first-is-gone');
    expect(reports).toEqual(['through-the-first', 'while-the-first-is-gone']);

    // A dashboard opened now on the second server sees the whole class.
    const csv = await (await fetch(`http://127.0.0.1:${second.port}/export.csv?key=${second.key}`)).text();
    expect(csv).toContain('"Ada"');
    feed.terminate();
  }, 60_000);
});
