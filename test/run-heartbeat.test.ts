// `wsw run` for the heartbeat lesson: a client can stop answering pings, so that the learner watches
// their server terminate it, and answer them again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunLine } from '../src/cli/run-commands.ts';
import { lessonPaths } from '../src/paths.ts';
import { CliProcess } from './cli-process.ts';
import { processesMentioning } from './support.ts';

/** Pings the client when asked to, and says whether a pong came back: pings on demand, not on a clock. */
const PING_ON_DEMAND = `import { WebSocketServer } from 'ws';
const wss = new WebSocketServer({ port: Number(process.env.PORT) });
wss.on('connection', (socket) => {
  socket.on('pong', (data) => console.log(\`got a pong: \${data.toString()}\`));
  socket.on('message', (data) => {
    const text = data.toString();
    console.log(\`got \${text}\`);
    if (text === 'ping me') socket.ping('beat');
  });
});
`;

let home: string;

describe('wsw run and pings', () => {
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-run-heartbeat-'));
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('stops answering pings after /pong off, and the heartbeat solution terminates the client', async () => {
    const file = path.join(home, 'heartbeat.ts');
    fs.copyFileSync(lessonPaths('05-heartbeat').solution, file);
    const run = new CliProcess(home, ['run', file, '--lesson', 'heartbeat']);
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    await run.untilLine('[you] ← ping');
    await run.send('/pong off', /^\[you\] pongs off: pings go unanswered from now on/);
    await run.untilLine('[you] ← ping, not answered (pongs are off: /pong on answers again)');
    await run.untilLine('[you] ✂ connection dropped without a close frame (1006)');
    await run.untilLine('Every client is closed: stopping your server.');
    expect(await run.exitCode(), run.out).toBe(0);
    expect(processesMentioning(file)).toEqual([]);
  });

  it('answers pings again after /pong on, with the ping’s own bytes', async () => {
    const file = path.join(home, 'ping-on-demand.ts');
    fs.writeFileSync(file, PING_ON_DEMAND);
    const run = new CliProcess(home, ['run', file, '--lesson', 'echo-server']);
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    await run.send('/pong off', /^\[you\] pongs off/);
    await run.send('ping me', '[you] ← ping "beat", not answered (pongs are off: /pong on answers again)');
    await run.send('/pong off', 'you already leaves pings unanswered.');
    await run.send('/pong on', /^\[you\] pongs on: every ping is answered again/);
    await run.send('ping me', '[your server] got a pong: beat');
    // The client's line about the ping may come just after the server's about the pong: both are awaited.
    await run.untilLine('[you] ← ping "beat"');
    // A pong for the first ping would have reached the server before this message: there was none.
    await run.send('done', '[your server] got done');
    expect(run.lines.filter((line) => line.startsWith('[your server] got a pong'))).toHaveLength(1);
    expect(await run.end(), run.out).toBe(0);
  });
});

describe('/pong', () => {
  it('takes off or on, in plain WebSocket lessons only', () => {
    expect(parseRunLine('/pong off', 'websocket')).toEqual({ kind: 'pongs', on: false });
    expect(parseRunLine('/pong ON', 'websocket')).toEqual({ kind: 'pongs', on: true });
    expect(parseRunLine('/pong', 'websocket')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('/pong off|on') });
    expect(parseRunLine('/pong off', 'socket.io')).toMatchObject({ kind: 'invalid' });
  });
});
