// `wsw run` as a learner drives it: a real process, a temporary HOME, lines written to its standard
// input one at a time, each after the answer to the one before has been printed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunLine } from '../src/cli/run-commands.ts';
import { lessonPaths, ROOT } from '../src/paths.ts';
import { CliProcess } from './cli-process.ts';
import { processesMentioning } from './support.ts';

let home: string;

/** `wsw run` with these arguments, in the temporary HOME. */
function runIn(args: string[]): CliProcess {
  return new CliProcess(home, ['run', ...args]);
}

/** A copy of a file in the temporary HOME: its path is this test's own, so a process left behind is found. */
function copyIn(file: string, name: string): string {
  const copy = path.join(home, name);
  fs.copyFileSync(file, copy);
  return copy;
}

describe('wsw run', () => {
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-run-'));
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  it('runs a server that speaks plain HTTP (lesson 16) with no client, printing the requests to make; playground refuses it', async () => {
    const file = copyIn(lessonPaths('16-sse-and-polling').solution, 'feed.ts');
    const run = runIn([file, '--lesson', 'sse-and-polling']);
    const [, port] = (await run.untilMatch(/\[run\] Your server is listening on 127\.0\.0\.1:(\d+)/)) as string[];
    await run.untilLine(`  curl -N http://127.0.0.1:${port}/events`);
    const response = await fetch(`http://127.0.0.1:${port}/publish`, { method: 'POST', body: '{"text":"from outside"}' });
    expect(response.status).toBe(201);
    await run.send('hello', 'Nothing is sent from here: type the commands above in another terminal.');
    expect(run.lines.some((l) => l.startsWith('[you]')), 'no client is opened').toBe(false);
    expect(await run.end(), run.out).toBe(0);
    expect(run.lines).toContain('The input ended: stopping your server.');
    expect(processesMentioning(file)).toEqual([]);

    const playground = new CliProcess(home, ['playground', file, '--lesson', 'sse-and-polling']);
    playground.child.stdin.end();
    expect((await playground.ended).code, playground.out).toBe(2);
    expect(playground.out).toContain('16-sse-and-polling speaks plain HTTP, not WebSocket');
    expect(processesMentioning(file)).toEqual([]);
  });

  it('connects its client to /draw for the drawing board (lesson 18), and prints the page to open', async () => {
    const file = copyIn(lessonPaths('18-collaborative-drawing').solution, 'board.ts');
    const run = runIn([file, '--lesson', 'collaborative-drawing']);
    const [, port] = (await run.untilMatch(/\[run\] Your server is listening on 127\.0\.0\.1:(\d+)/)) as string[];
    await run.untilLine('[you] ← text {"type":"history","strokes":[]}');
    // What to open in a browser, after the line that says what to type.
    await run.untilMatch(new RegExp(`http://127\\.0\\.0\\.1:${port}/`));
    expect(await run.end(), run.out).toBe(0);
    expect(processesMentioning(file)).toEqual([]);
  });

  it('leaves no server behind when it is itself killed outright (SIGKILL: no handler of its own runs)', async () => {
    const file = copyIn(lessonPaths('02-echo-server').solution, 'orphaned.ts');
    const run = runIn([file, '--lesson', 'echo-server']);
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    // The command line of run itself names the file too.
    expect(processesMentioning(file).filter((pid) => pid !== run.child.pid), 'the server is running').toHaveLength(1);
    run.child.kill('SIGKILL');
    await run.ended;
    // The program finds its parent gone on its next look (every 500 ms); the test's timeout bounds the wait.
    while (processesMentioning(file).length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(processesMentioning(file)).toEqual([]);
  });

  it('sends lines and slash commands from the echo solution, and prints what comes back', async () => {
    const file = copyIn(lessonPaths('02-echo-server').solution, 'echo.ts');
    const run = runIn([file, '--lesson', 'echo-server']);
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    await run.send('hello there', '[you] ← text "hello there"');
    expect(run.lines).toContain('[you] → text "hello there"');

    await run.send('/binary 00ff', '[you] ← binary 2 bytes <00 ff>');
    expect(run.lines).toContain('[you] → binary 2 bytes <00 ff>');

    await run.send('/json {"a": 1}', '[you] ← text {"a":1}');
    expect(run.lines, 'sent compact').toContain('[you] → text {"a":1}');

    await run.send('/json {"a":', /^\/json <json>: that is not valid JSON \(.+\)\. Nothing was sent\.$/);

    await run.send('/ping', /^\[you\] ← pong \(round trip \d+(\.\d)? ms\)$/);
    expect(run.lines).toContain('[you] → ping');

    await run.send('/connect', '[client-2] connected (HTTP 101 Switching Protocols)');
    await run.send('from the second client', '[client-2] ← text "from the second client"');
    expect(run.lines).toContain('[client-2] → text "from the second client"');
    expect(run.lines.filter((l) => l.includes('from the second client') && l.startsWith('[you]')), 'the echo goes to client-2 alone').toEqual([]);

    await run.send('/close 4000 bye', '[client-2] ← close 4000 (application-defined) reason "bye"');
    expect(run.lines).toContain('[client-2] → close 4000 (application-defined) reason "bye"');
    await run.untilLine('client-2 is closed: lines are now sent from you.');
    await run.send('/clients', '  client-2  closed 4000 (application-defined) reason "bye"');
    expect(run.lines).toContainEqual(expect.stringMatching(/^▸ you {7}open, ws:\/\/127\.0\.0\.1:\d+\/$/));

    await run.send('/connect bob --server B', 'This lesson runs one server, so there is no other to choose: /connect [name] opens a client on it. Nothing was opened.');

    await run.send('/frobnicate', 'There is no command /frobnicate. To send a line that starts with /, begin it with //.');
    await run.untilLine(/^ {2}\/binary <hex\|text> +send a binary frame/);

    // The end of the input stops the run, and the server with it.
    expect(await run.end(), run.out).toBe(0);
    expect(run.lines).toContain('The input ended: stopping your server.');
    expect(processesMentioning(file)).toEqual([]);
  });

  it('speaks socket.io for the socket.io lesson: rooms, events, acknowledgements', async () => {
    const file = copyIn(lessonPaths('08-socketio-contrast').solution, 'socketio.ts');
    const run = runIn([file, '--lesson', 'socketio-contrast']);
    await run.untilLine('[you] connected (socket.io handshake done)');
    await run.send('/join lobby', '[you] ← ack {"ok":true}');
    expect(run.lines).toContain('[you] → join "lobby" (with an ack callback)');

    await run.send('/emit chat {"message":"hi"}', '[you] → chat {"message":"hi"} (with an ack callback)');
    // The second ack is the chat's: the join's was the first.
    await run.untilLine('[you] ← ack {"ok":true}', 2);

    await run.send('/connect bob', '[bob] connected (socket.io handshake done)');
    await run.send('/join lobby', '[bob] ← ack {"ok":true}');
    await run.send('hello, you', '[you] ← chat {"sender":"bob","message":"hello, you"}');
    expect(run.lines).toContain('[bob] → chat {"message":"hello, you"} (with an ack callback)');

    await run.send('/ping', '/ping is for plain WebSocket lessons, and this lesson speaks socket.io.');
    expect(await run.end(), run.out).toBe(0);
    expect(processesMentioning(file)).toEqual([]);
  });

  it('explains why the server exited, and exits 1', async () => {
    const file = copyIn(path.join(ROOT, 'verify/fixtures/harness/crashes-on-message.ts'), 'crashes.ts');
    const run = runIn([file, '--lesson', 'echo-server']);
    await run.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    await run.send('not json', /^PROGRAM_CRASHED: Your program exited with code 1 while you were trying it\. The error was raised at crashes\.ts:\d+:\d+\.$/);
    expect(await run.exitCode(), run.out).toBe(1);
    expect(processesMentioning(file)).toEqual([]);
  });

  it('plays the server for a client lesson: lines go to the client, slash commands drop, refuse and take the server down', async () => {
    const file = copyIn(lessonPaths('14-reconnecting-client').solution, 'reconnecting.ts');
    const run = runIn([file, '--lesson', 'reconnecting-client']);
    await run.untilLine('[run] attempt 1: accepted');
    await run.send('hello there', '[server] ← text {"type":"say","text":"hello there"}');
    await run.send('/drop 4000', /^\[run\] attempt 2 \d+ ms after attempt 1 ended: accepted$/);
    await run.send('/refuse 503', /refuses every attempt with 503/);
    await run.send('/kill', /^\[run\] attempt \d+ \d+ ms after attempt \d+ ended: refused with 503$/);
    await run.send('typed offline', '[stdin] ⌨ "typed offline"');
    await run.send('/accept', /^\[run\] attempt \d+ \d+ ms after attempt \d+ ended: accepted$/);
    await run.untilLine('[server] ← text {"type":"say","text":"typed offline"}');
    await run.send('/down', /^\[run\] attempt \d+ .*refused: nothing listening/);
    await run.send('/up', /^\[run\] attempt \d+ \d+ ms after attempt \d+ ended: accepted$/);
    await run.send('/nonsense', 'Unknown command /nonsense: /help lists the commands.');
    // The end of the input stops the client as a deploy would: SIGTERM, and its close frame.
    expect(await run.end(), run.out).toBe(0);
    expect(run.out).toContain('[server] ← close 1000');
    expect(processesMentioning(file)).toEqual([]);
  });

  it('stops when the last client closes, and on Ctrl-C, leaving nothing behind', async () => {
    const file = copyIn(lessonPaths('02-echo-server').solution, 'echo-stops.ts');
    const closing = runIn([file, '--lesson', 'echo-server']);
    await closing.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    await closing.send('/close', 'Every client is closed: stopping your server.');
    expect(await closing.exitCode(), closing.out).toBe(0);
    expect(closing.lines).toContain('[you] ← close 1000 (normal closure)');

    const interrupted = runIn([file, '--lesson', 'echo-server']);
    await interrupted.untilLine('[you] connected (HTTP 101 Switching Protocols)');
    interrupted.signal('SIGINT');
    expect(await interrupted.exitCode(), interrupted.out).toBe(0);
    expect(interrupted.lines).toContain('Ctrl-C: stopping your server.');
    expect(processesMentioning(file)).toEqual([]);
  });
});

describe('what a typed line means', () => {
  it('reads pairs of hex digits as bytes, and anything else as UTF-8 text', () => {
    expect(parseRunLine('/binary 00 ff 10', 'websocket')).toEqual({ kind: 'binary', data: Buffer.from([0, 0xff, 0x10]) });
    expect(parseRunLine('/binary 00FF10', 'websocket')).toEqual({ kind: 'binary', data: Buffer.from([0, 0xff, 0x10]) });
    expect(parseRunLine('/binary hi!', 'websocket')).toEqual({ kind: 'binary', data: Buffer.from('hi!') });
    expect(parseRunLine('/binary abc', 'websocket'), 'an odd number of hex digits is text').toEqual({ kind: 'binary', data: Buffer.from('abc') });
  });

  it('refuses what a close frame cannot carry, before anything is sent', () => {
    expect(parseRunLine('/close', 'websocket')).toEqual({ kind: 'close', code: 1000, reason: '' });
    expect(parseRunLine('/close 4001 two words', 'websocket')).toEqual({ kind: 'close', code: 4001, reason: 'two words' });
    for (const line of ['/close 1006', '/close 1005', '/close 2000', '/close bye', `/close 1000 ${'x'.repeat(124)}`]) {
      expect(parseRunLine(line, 'websocket'), line).toMatchObject({ kind: 'invalid' });
    }
  });

  it('sends lines as text, or as chat events in socket.io; // escapes a slash', () => {
    expect(parseRunLine('hello', 'websocket')).toEqual({ kind: 'text', text: 'hello' });
    expect(parseRunLine('//help', 'websocket')).toEqual({ kind: 'text', text: '/help' });
    expect(parseRunLine('hello', 'socket.io')).toEqual({ kind: 'chat', message: 'hello' });
    expect(parseRunLine('/join lobby', 'socket.io')).toEqual({ kind: 'emit', event: 'join', args: ['lobby'] });
    expect(parseRunLine('/emit chat {"message":"hi"}', 'socket.io')).toEqual({ kind: 'emit', event: 'chat', args: [{ message: 'hi' }] });
    expect(parseRunLine('/emit leave', 'socket.io')).toEqual({ kind: 'emit', event: 'leave', args: [] });
    expect(parseRunLine('/emit chat hi', 'socket.io')).toMatchObject({ kind: 'invalid', showCommands: false });
  });

  it('reads /connect as an optional name and an optional --server, in either order', () => {
    expect(parseRunLine('/connect', 'websocket')).toEqual({ kind: 'connect' });
    expect(parseRunLine('/connect bob', 'websocket')).toEqual({ kind: 'connect', name: 'bob' });
    expect(parseRunLine('/connect bob --server B', 'websocket')).toEqual({ kind: 'connect', name: 'bob', server: 'B' });
    expect(parseRunLine('/connect --server 2 bob', 'websocket')).toEqual({ kind: 'connect', name: 'bob', server: '2' });
    expect(parseRunLine('/connect --server=b', 'websocket')).toEqual({ kind: 'connect', server: 'b' });
    for (const line of ['/connect bob --server', '/connect bob carol', '/connect --port 3', '/connect b@d']) {
      expect(parseRunLine(line, 'websocket'), line).toMatchObject({ kind: 'invalid', showCommands: false });
    }
  });

  it('names the other protocol’s commands instead of calling them unknown', () => {
    expect(parseRunLine('/close', 'socket.io')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('use /disconnect') });
    expect(parseRunLine('/emit x', 'websocket')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('/emit is for socket.io lessons') });
    expect(parseRunLine('/nope', 'websocket')).toMatchObject({ kind: 'invalid', showCommands: true });
  });
});
