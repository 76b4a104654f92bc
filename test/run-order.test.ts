// `wsw run` prints what happened in the order it happened: a line typed, the server's log of it, the
// answer the client got; and it keeps printing the server's output live however much there is.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrivalOrder } from '../src/cli/run-printer.ts';
import { plain } from '../verify/harness/report.ts';
import type { TranscriptEntry } from '../verify/harness/transcript.ts';
import { CliProcess } from './cli-process.ts';

/** An echo server that logs each message before it answers it. */
const LOGGING_ECHO = `import { WebSocketServer } from 'ws';
const wss = new WebSocketServer({ port: Number(process.env.PORT) });
wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    console.log(\`got \${data.toString()}\`);
    socket.send(data, { binary: isBinary });
  });
});
`;

/** More than verify shows live (200 lines), sent at once so that logs and answers cross on the way. */
const MESSAGES = 250;

let home: string;

describe('the order of what wsw run prints', () => {
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-run-order-'));
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('prints each line sent, then the server’s log of it, then the answer, for every line', async () => {
    const file = path.join(home, 'logging-echo.ts');
    fs.writeFileSync(file, LOGGING_ECHO);
    const run = new CliProcess(home, ['run', file, '--lesson', 'echo-server']);
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    const numbers = Array.from({ length: MESSAGES }, (_, i) => i + 1);
    run.child.stdin.write(numbers.map((n) => `m${n}\n`).join(''));
    await run.untilLine(`[you] ← text "m${MESSAGES}"`);
    await run.untilLine(`[your server] got m${MESSAGES}`);
    const lines = run.lines;
    const misplaced = numbers.filter((n) => {
      const sent = lines.indexOf(`[you] → text "m${n}"`);
      const logged = lines.indexOf(`[your server] got m${n}`);
      const answered = lines.indexOf(`[you] ← text "m${n}"`);
      return !(sent !== -1 && sent < logged && logged < answered);
    });
    expect(misplaced, 'messages whose lines are missing or out of order').toEqual([]);
    expect(await run.end(), run.out).toBe(0);
    expect(run.out, 'every line was shown live: none held back for the end').not.toContain('of output not shown');
  });
});

describe('ArrivalOrder', () => {
  const program = (text: string): TranscriptEntry => ({ atMs: 0, source: { kind: 'program', name: 'your server' }, text });
  const client = (text: string): TranscriptEntry => ({ atMs: 0, source: { kind: 'client', name: 'you' }, text });
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('lets the server’s lines overtake news that is still waiting for the pipe to be read', async () => {
    const printed: string[] = [];
    const order = new ArrivalOrder((line) => printed.push(line), plain);
    order.entry(client('← text "hi"'));
    order.entry(program('got hi'));
    expect(printed).toEqual(['[your server] got hi']);
    await order.idle();
    expect(printed).toEqual(['[your server] got hi', '[you] ← text "hi"']);
  });

  it('never lets them overtake what the learner did, nor lines before it', async () => {
    const printed: string[] = [];
    const order = new ArrivalOrder((line) => printed.push(line), plain);
    order.entry(client('← text "earlier"'));
    order.doing(() => order.entry(client('→ text "hi"')));
    order.entry(program('got hi'));
    await nextTurn();
    await order.idle();
    expect(printed).toEqual(['[you] ← text "earlier"', '[you] → text "hi"', '[your server] got hi']);
  });

  it('shows the harness’s own lines as [run], and flushes everything on demand', () => {
    const printed: string[] = [];
    const order = new ArrivalOrder((line) => printed.push(line), plain);
    order.entry({ atMs: 0, source: { kind: 'verify' }, text: 'Starting your server' });
    order.print('a line of run’s own');
    order.flush();
    expect(printed).toEqual(['[run] Starting your server', 'a line of run’s own']);
  });
});
