// `wsw run` for lesson 07: two servers on one Redis. The first client waits until both have
// subscribed, and /connect --server opens a client on either one, so a message can be seen crossing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lessonPaths } from '../src/paths.ts';
import { redisAvailable } from '../verify/harness/redis-server.ts';
import { CliProcess } from './cli-process.ts';
import { processesMentioning } from './support.ts';

let home: string;

describe.skipIf(!redisAvailable())('wsw run with two servers and Redis', () => {
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-run-redis-'));
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('connects the first client once both servers have subscribed, and a client on B hears it', async () => {
    const file = path.join(home, 'chat.ts');
    fs.copyFileSync(lessonPaths('07-redis-scaling').solution, file);
    // A Redis of the run's own, whatever the machine's environment says.
    const run = new CliProcess(home, ['run', file, '--lesson', 'redis-scaling'], { REDIS_URL: undefined, PORT: undefined });
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    const lines = run.lines;
    const subscribed = lines.indexOf('[run] Both servers have subscribed to workshop:chat: what one publishes there now reaches the other');
    expect(subscribed, run.out).toBeGreaterThan(-1);
    expect(subscribed, 'the first client waits for both subscriptions').toBeLessThan(lines.findIndex((l) => l.startsWith('[you] connecting to')));
    const [, portA] = (await run.untilMatch(/\[run\] server A is listening on 127\.0\.0\.1:(\d+)/)) as string[];
    const [, portB] = (await run.untilMatch(/\[run\] server B is listening on 127\.0\.0\.1:(\d+)/)) as string[];
    expect(lines).toContain(`[you] connecting to ws://127.0.0.1:${portA}/`);

    await run.send('/connect carol --server B', '[carol] connected (HTTP 101 Switching Protocols)');
    expect(run.lines).toContain(`[carol] connecting to ws://127.0.0.1:${portB}/`);
    await run.send('/json {"type":"chat","username":"carol","message":"hello from B"}', /^\[you\] ← text \{.*"message":"hello from B".*\}$/);
    await run.send('/clients', /^▸ carol +open, ws:\/\/127\.0\.0\.1:\d+\/ \(server B\)$/);
    expect(run.lines).toContainEqual(expect.stringMatching(/^ {2}you +open, ws:\/\/127\.0\.0\.1:\d+\/ \(server A\)$/));

    await run.send('/connect dave --server C', 'There is no server C: the servers are A and B (or 1 to 2). Nothing was opened.');
    await run.send('/connect dave --server 1', '[dave] connected (HTTP 101 Switching Protocols)');
    expect(run.lines).toContain(`[dave] connecting to ws://127.0.0.1:${portA}/`);
    await run.send('/help', /^ {2}\/connect \[name\] \[--server A\|B\] +open another client/);

    expect(await run.end(), run.out).toBe(0);
    expect(run.lines).toContain('The input ended: stopping your servers.');
    expect(processesMentioning(file)).toEqual([]);
  });

  it('opens socket.io clients on either node of lesson 17, and a say on B reaches a client on A', async () => {
    const file = path.join(home, 'cluster.ts');
    fs.copyFileSync(lessonPaths('17-socketio-cluster').solution, file);
    const run = new CliProcess(home, ['run', file, '--lesson', 'socketio-cluster'], { REDIS_URL: undefined, PORT: undefined });
    await run.untilLine('[you] connected (socket.io handshake done)');
    const [, portA] = (await run.untilMatch(/\[run\] node A is listening on 127\.0\.0\.1:(\d+)/)) as string[];
    const [, portB] = (await run.untilMatch(/\[run\] node B is listening on 127\.0\.0\.1:(\d+)/)) as string[];
    expect(run.lines.some((l) => l.startsWith(`[you] connecting to http://127.0.0.1:${portA} `)), run.out).toBe(true);
    await run.send('/join lobby', '[you] ← ack {"ok":true,"room":"lobby","node":"A"}');

    await run.send('/connect bob --server B', '[bob] connected (socket.io handshake done)');
    expect(run.lines.some((l) => l.startsWith(`[bob] connecting to http://127.0.0.1:${portB} `)), run.out).toBe(true);
    await run.send('/join lobby', '[bob] ← ack {"ok":true,"room":"lobby","node":"B"}');
    await run.send('/emit say {"room":"lobby","text":"hello from B"}', '[you] ← said {"room":"lobby","text":"hello from B","node":"B"}');
    await run.send('/clients', /^▸ bob +connected, socket\.id \S+ \(server B\)$/);
    expect(run.lines).toContainEqual(expect.stringMatching(/^ {2}you +connected, socket\.id \S+ \(server A\)$/));

    expect(await run.end(), run.out).toBe(0);
    expect(processesMentioning(file)).toEqual([]);
  });

  it('gives the prompt anyway when the servers never subscribe, and says so', async () => {
    const file = path.join(home, 'starter.ts');
    fs.copyFileSync(lessonPaths('07-redis-scaling').starter, file);
    const run = new CliProcess(home, ['run', file, '--lesson', 'redis-scaling'], { REDIS_URL: undefined, PORT: undefined });
    await run.untilLine(/^\[run\] Only 0 of the 2 servers subscribed to workshop:chat within \d+ ms/);
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    expect(await run.end(), run.out).toBe(0);
    expect(processesMentioning(file)).toEqual([]);
  });
});
