// `wsw run` and the learner's shell: a variable the lesson or run sets can be set by the learner
// instead, PORT included, and the banner says which values are theirs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lesson } from '../lessons/manifest.ts';
import { findLesson } from '../src/lessons.ts';
import { describeEnv, learnerEnv, learnerPort, slowerTimersTip, withLearnerValues } from '../src/cli/run-env.ts';
import { freePort } from '../verify/harness/ports.ts';
import { CliProcess } from './cli-process.ts';
import { processesMentioning } from './support.ts';

/** An echo server that prints the variables it was given, so the test sees what reached it. */
const ENV_ECHO = `import { WebSocketServer } from 'ws';
const wss = new WebSocketServer({ port: Number(process.env.PORT) });
wss.on('listening', () => console.log(\`given PORT=\${process.env.PORT} HEARTBEAT_INTERVAL_MS=\${process.env.HEARTBEAT_INTERVAL_MS}\`));
wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
`;

let home: string;

describe('wsw run with variables from the learner’s shell', () => {
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-run-env-'));
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('gives the server the learner’s value instead of the lesson’s, and marks it as theirs', async () => {
    const file = path.join(home, 'env-echo.ts');
    fs.writeFileSync(file, ENV_ECHO);
    const run = new CliProcess(home, ['run', file, '--lesson', 'heartbeat'], { HEARTBEAT_INTERVAL_MS: '1000', PORT: undefined });
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    expect(run.lines).toContainEqual(expect.stringMatching(/^\[your server\] given PORT=\d+ HEARTBEAT_INTERVAL_MS=1000$/));
    expect(run.lines).toContainEqual(expect.stringMatching(/^\[run\] Starting your server: \.\/env-echo\.ts with PORT=\d+ HEARTBEAT_INTERVAL_MS=1000 \(yours\)$/));
    expect(run.out, 'no tip to slow down a timer the learner set').not.toContain('is short so that verify is quick');
    expect(await run.end(), run.out).toBe(0);
    expect(processesMentioning(file)).toEqual([]);
  });

  it('keeps the lesson’s short timer otherwise, and says how to slow it down', async () => {
    const file = path.join(home, 'env-echo-default.ts');
    fs.writeFileSync(file, ENV_ECHO);
    const run = new CliProcess(home, ['run', file, '--lesson', 'heartbeat'], { HEARTBEAT_INTERVAL_MS: undefined, PORT: undefined });
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    expect(run.lines).toContainEqual(expect.stringMatching(/^\[your server\] given PORT=\d+ HEARTBEAT_INTERVAL_MS=100$/));
    expect(run.lines).toContainEqual(expect.stringMatching(/^\[run\] Starting your server: \.\/env-echo-default\.ts with PORT=\d+ HEARTBEAT_INTERVAL_MS=100$/));
    expect(run.out).toContain('HEARTBEAT_INTERVAL_MS=1000 wsw run');
    expect(await run.end(), run.out).toBe(0);
  });

  it('honours PORT from the shell, and says so', async () => {
    const file = path.join(home, 'env-echo-port.ts');
    fs.writeFileSync(file, ENV_ECHO);
    const port = await freePort();
    const run = new CliProcess(home, ['run', file, '--lesson', 'echo-server'], { PORT: String(port) });
    await run.untilLine(`[you] connecting to ws://127.0.0.1:${port}/`);
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    expect(run.lines).toContain(`[run] Starting your server: ./env-echo-port.ts with PORT=${port} (yours)`);
    expect(run.out).toContain(`PORT is set in your shell, so your server listens on ${port}`);
    await run.send('hello', '[you] ← text "hello"');
    expect(await run.end(), run.out).toBe(0);
  });

  it('never labels its own lines [verify]: nothing is being verified', async () => {
    const file = path.join(home, 'env-echo-labels.ts');
    fs.writeFileSync(file, ENV_ECHO);
    const run = new CliProcess(home, ['run', file, '--lesson', 'echo-server'], { PORT: undefined });
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    expect(await run.end(), run.out).toBe(0);
    expect(run.lines).toContainEqual(expect.stringMatching(/^\[run\] Your server is listening on 127\.0\.0\.1:\d+/));
    expect(run.lines.filter((line) => line.startsWith('[verify]'))).toEqual([]);
  });
});

describe('which values are the learner’s', () => {
  const heartbeat = findLesson('heartbeat');
  const chat: Lesson = { ...heartbeat, env: { CHAT_CHANNEL: 'workshop:chat', TICK_MS: '100' } };

  it('puts the learner’s values in the lesson, for the variables it names', () => {
    expect(withLearnerValues(chat, { TICK_MS: '1000', OTHER: 'x' }).env).toEqual({ CHAT_CHANNEL: 'workshop:chat', TICK_MS: '1000' });
    expect(withLearnerValues(chat, {}).env).toEqual(chat.env);
  });

  it('lets the learner’s value win over what run sets, and keeps what run made from theirs', () => {
    const given = { CHAT_CHANNEL: 'mine:1a2b', TICK_MS: '1000', INSTANCE_ID: 'A', REDIS_URL: 'redis://127.0.0.1:1' };
    const shell = { CHAT_CHANNEL: 'mine', TICK_MS: '1000', INSTANCE_ID: 'me' };
    const values = learnerEnv(given, new Set(['CHAT_CHANNEL', 'TICK_MS']), shell);
    expect(values.env).toEqual({ CHAT_CHANNEL: 'mine:1a2b', TICK_MS: '1000', INSTANCE_ID: 'me', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(describeEnv(4000, false, values)).toBe('PORT=4000 CHAT_CHANNEL=mine:1a2b (from yours) TICK_MS=1000 (yours) INSTANCE_ID=me (yours) REDIS_URL=redis://127.0.0.1:1');
  });

  it('hides the password of a URL', () => {
    const values = learnerEnv({ REDIS_URL: 'redis://user:secret@host:6379' }, new Set(), {});
    expect(describeEnv(4000, true, values)).toBe('PORT=4000 (yours) REDIS_URL=redis://user:***@host:6379');
  });

  it('takes PORT only when it is a port number', () => {
    expect(learnerPort({})).toBeUndefined();
    expect(learnerPort({ PORT: '' })).toBeUndefined();
    expect(learnerPort({ PORT: '3000' })).toEqual({ port: 3000 });
    for (const bad of ['0', '70000', 'abc', '3000x']) expect(learnerPort({ PORT: bad }), bad).toMatchObject({ unusable: expect.stringContaining(`PORT=${bad}`) });
  });

  it('suggests slower timers only for the numbers the learner kept', () => {
    expect(slowerTimersTip(chat, {})).toContain('TICK_MS=1000 wsw run');
    expect(slowerTimersTip(chat, { TICK_MS: '500' })).toBeUndefined();
    expect(slowerTimersTip({ ...chat, env: undefined }, {})).toBeUndefined();
    // A limit is not a timer: only the _MS values are offered slower.
    const limited = { ...chat, env: { RATE_LIMIT: '5', RATE_WINDOW_MS: '100' } };
    expect(slowerTimersTip(limited, {})).toBe('RATE_WINDOW_MS=100 is short so that verify is quick. To watch at a human pace, set your own in your shell: RATE_WINDOW_MS=1000 wsw run');
  });
});
