// The harness's real browser (verify/harness/browser.ts): found where learners have one, refused with
// a way to get one where they do not, and, once open, a witness of every frame a page sends and
// receives, which photographs the pages when a verification fails.
import fs from 'node:fs';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { browserAvailable, BrowserCodes, findBrowser, launchChromium, provideBrowser } from '../verify/harness/browser.ts';
import { CannotJudge, VerifyFailure } from '../verify/harness/failure.ts';
import { Verification } from '../verify/harness/session.ts';
import { Transcript, renderEntry } from '../verify/harness/transcript.ts';
import { findLesson, timeoutsOf } from '../src/lessons.ts';

const saved = { CHROME_PATH: process.env.CHROME_PATH, PATH: process.env.PATH };
afterEach(() => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('finding a browser', () => {
  it('takes the one CHROME_PATH names, and says so when nothing is there', async () => {
    process.env.CHROME_PATH = '/nowhere/chrome';
    expect(findBrowser()).toEqual({ path: '/nowhere/chrome', how: 'CHROME_PATH=/nowhere/chrome' });
    const refused = await launchChromium().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CannotJudge);
    expect((refused as CannotJudge).code).toBe(BrowserCodes.NOT_AT_CHROME_PATH);
    expect((refused as CannotJudge).message).toContain('/nowhere/chrome');
  });

  it('cannot judge without one, and says how to get one', async () => {
    delete process.env.CHROME_PATH;
    process.env.PATH = '/nonexistent';
    expect(findBrowser()).toBeUndefined();
    const refused = await launchChromium().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CannotJudge);
    expect((refused as CannotJudge).code).toBe(BrowserCodes.UNAVAILABLE);
    expect((refused as CannotJudge).hint).toMatch(/apt-get install chromium/);
    expect((refused as CannotJudge).hint).toMatch(/CHROME_PATH=/);
  });
});

describe.skipIf(!browserAvailable() && !process.env.CI)('a page in the real browser', () => {
  it('records what its WebSocket sends and receives, and photographs the pages when the story fails', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(`<!doctype html><canvas id="c" width="50" height="50"></canvas><script>
        const ws = new WebSocket('ws://' + location.host + '/');
        ws.onopen = () => ws.send('hello from the page');
        ws.onmessage = (e) => { document.title = e.data; };
      </script>`);
    });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`heard: ${String(data)}`)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const lesson = findLesson('echo-server')!;
    const transcript = new Transcript();
    const v = new Verification(lesson, 'page.ts', transcript, timeoutsOf(lesson));
    try {
      const browser = await provideBrowser(v);
      let dir = '';
      const failed = await browser
        .capturingFailures(async () => {
          const a = await browser.open('page A', `http://127.0.0.1:${port}/`);
          await a.page.waitForFunction(() => document.title === 'heard: hello from the page');
          expect(a.sockets).toEqual([`ws://127.0.0.1:${port}/`]);
          expect(a.sent.map((f) => f.data.toString())).toEqual(['hello from the page']);
          expect(a.received.map((f) => f.data.toString())).toEqual(['heard: hello from the page']);
          throw new VerifyFailure({ code: 'SOME_RULE_BROKEN', message: 'the story failed here' });
        })
        .catch((error: unknown) => error);
      expect(failed).toBeInstanceOf(VerifyFailure);
      const details = (failed as VerifyFailure).details;
      expect(details[0]).toMatch(/^Screenshots of the pages as they were when this failed, in /);
      dir = details[0]!.replace(/^.* in (.*):$/, '$1');
      expect(details[1]).toBe('  page-A.png');
      // A PNG, begun with its signature.
      expect(fs.readFileSync(`${dir}/page-A.png`).subarray(1, 4).toString()).toBe('PNG');
      fs.rmSync(dir, { recursive: true, force: true });
      const lines = transcript.entries.map(renderEntry);
      expect(lines).toContain('[page A] → text "hello from the page"');
      expect(lines).toContain('[page A] ← text "heard: hello from the page"');
    } finally {
      await v.teardown();
      wss.close();
      server.close();
    }
  });
});
