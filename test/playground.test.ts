// `wsw playground` as a learner uses it: a real CLI process with a temporary HOME, its page opened in
// a real Chromium, messages sent from the page to the learner's server through the browser's own
// WebSocket. Every wait is for something to appear, bounded; none is a fixed sleep.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parsePlaygroundArgs } from '../src/cli/playground-command.ts';
import { lessonPaths, ROOT } from '../src/paths.ts';
import { browserAvailable, CHROMIUM, column, launchBrowser, newPage, openPlayground, sendText, tryEcho } from './browser.ts';
import { CliProcess } from './cli-process.ts';
import { processesMentioning } from './support.ts';

let home: string;

/** `wsw playground` with these arguments, in the temporary HOME. */
function playgroundIn(args: string[]): CliProcess {
  const playground = new CliProcess(home, ['playground', ...args]);
  started.push(playground);
  return playground;
}

/** Playgrounds started by the running test, stopped after it whatever happened. */
const started: CliProcess[] = [];

/** SIGTERM stops the playground with exit 0, taking the learner's server with it. */
async function stopsCleanly(playground: CliProcess, file: string): Promise<void> {
  playground.signal('SIGTERM');
  expect(await playground.exitCode(), playground.out).toBe(0);
  expect(processesMentioning(file)).toEqual([]);
}

/** The page's address, once printed. */
async function pageUrl(playground: CliProcess): Promise<string> {
  return (await playground.untilMatch(/open (http:\/\/127\.0\.0\.1:\d+\/) in your browser/))[1]!;
}

/** A copy of a file in the temporary HOME: its path is this test's own, so a process left behind is found. */
function copyIn(file: string, name: string): string {
  const copy = path.join(home, name);
  fs.copyFileSync(file, copy);
  return copy;
}

describe('wsw playground: arguments', () => {
  it('takes a file, --lesson and --port, and refuses a port that is not one', () => {
    expect(parsePlaygroundArgs(['a.ts', '--lesson', 'echo-server', '--port', '8123'])).toEqual({ file: 'a.ts', lesson: 'echo-server', port: 8123 });
    expect(parsePlaygroundArgs([])).toEqual({ file: undefined, lesson: undefined, port: 0 });
    expect(() => parsePlaygroundArgs(['--port', 'eighty'])).toThrow(/--port wants a port number/);
    expect(() => parsePlaygroundArgs(['a.ts', 'b.ts'])).toThrow(/one file/);
  });
});

if (!browserAvailable() && !process.env.CI) {
  // Loud, so that a machine without a browser is never mistaken for a pass.
  console.warn(`\n!!! test/playground.test.ts: no browser at ${CHROMIUM}; the playground's browser tests are SKIPPED. Install chromium (or set CHROME_PATH).\n`);
}

describe.skipIf(!browserAvailable() && !process.env.CI)('wsw playground in a real browser', () => {
  let browser: BrowserContext;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-playground-'));
    if (!browserAvailable()) throw new Error(`CI must provide a browser at ${CHROMIUM}: .ci/run installs chromium`);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });
  // Through teardown, so that a failed test leaves no server behind either.
  afterEach(async () => {
    for (const playground of started.splice(0)) {
      playground.signal('SIGTERM');
      await playground.ended;
    }
  });

  /** A new page that fails slow waits with the suite's bound, and records any dialog a script opens. */
  const openPage = () => newPage(browser);

  it('echoes a message sent from the page, in two client columns, and stops everything on SIGTERM', async () => {
    const file = copyIn(lessonPaths('02-echo-server').solution, 'echo.ts');
    const playground = playgroundIn([file, '--lesson', 'echo-server']);
    const { page, dialogs } = await openPlayground(browser, playground);
    // The session the README's screenshot shows; each step waits for its answer.
    await tryEcho(page);

    const you = column(page, 'you');
    const echo = you.locator('li[data-dir="in"][data-type="text"]').filter({ hasText: 'hello' });
    expect(await echo.locator('.type').textContent()).toBe('text');
    expect(await echo.locator('.size').textContent()).toBe('5 bytes');
    expect(await echo.locator('.content').textContent()).toBe('hello');
    expect(await you.locator('li[data-dir="out"][data-type="text"] .content').first().textContent()).toBe('hello');
    // Binary, as hex, came back as binary.
    expect(await you.locator('li[data-dir="in"][data-type="binary"] .content').first().textContent()).toBe('<00 ff 10>');
    // The invalid JSON was refused before anything was sent: only the valid one went out.
    expect(await you.locator('li[data-dir="out"] .content').allTextContents()).toEqual(['hello', '<00 ff 10>', '{"chat":"hi"}']);
    const second = column(page, 'client-2');
    expect(await you.locator('li').filter({ hasText: 'from the second client' }).count(), 'the echo goes to its sender alone').toBe(0);
    // The close, with its code and reason, is named as the transcript names it, both ways.
    expect(await second.locator('li[data-type="close"] .content').allTextContents()).toEqual([
      '4000 (application-defined) reason "bye"',
      '4000 (application-defined) reason "bye"',
    ]);
    expect(dialogs).toEqual([]);

    await stopsCleanly(playground, file);
    expect(playground.out).toContain('SIGTERM: stopping your server and the page.');
    await page.close();
  });

  it('shows a frame holding markup as text: nothing in it is parsed or run', async () => {
    const file = copyIn(lessonPaths('02-echo-server').solution, 'echo-markup.ts');
    const playground = playgroundIn([file, '--lesson', 'echo-server']);
    const { page, dialogs } = await openPage();
    await page.goto(await pageUrl(playground));
    const you = column(page, 'you');
    await you.locator('.state.open').waitFor();
    const markup = '<img src=x onerror=alert(1)>';
    await sendText(page, 'you', markup);
    const echo = you.locator('li[data-dir="in"][data-type="text"]');
    await echo.waitFor();
    expect(await echo.locator('.content').textContent()).toBe(markup);
    expect(await page.locator('img').count(), 'no element was made from the frame').toBe(0);
    expect(dialogs).toEqual([]);

    await stopsCleanly(playground, file);
    await page.close();
  });

  it('speaks socket.io for the socket.io lesson: emits with JSON arguments, acks, received events', async () => {
    const file = copyIn(lessonPaths('08-socketio-contrast').solution, 'socketio.ts');
    const playground = playgroundIn([file, '--lesson', 'socketio-contrast']);
    const { page } = await openPage();
    await page.goto(await pageUrl(playground));
    const you = column(page, 'you');
    await you.locator('.state.open').waitFor();
    // The page's defaults are join ["lobby"] with an ack callback.
    await you.getByRole('button', { name: 'Emit' }).click();
    await you.locator('li[data-dir="in"][data-type="ack"]').filter({ hasText: 'ack for join [{"ok":true}]' }).waitFor();

    await page.getByRole('button', { name: 'Add a client' }).click();
    const bob = column(page, 'client-2');
    await bob.locator('.state.open').waitFor();
    await bob.getByRole('button', { name: 'Emit' }).click();
    await bob.locator('li[data-type="ack"]').waitFor();

    await you.locator('input.event').fill('chat');
    await you.locator('textarea').fill('[{"message":"hi <b>bob</b>"}]');
    await you.getByRole('button', { name: 'Emit' }).click();
    const received = bob.locator('li[data-dir="in"][data-type="event"]');
    await received.waitFor();
    expect(await received.locator('.content').textContent()).toBe('chat [{"sender":"you","message":"hi <b>bob</b>"}]');
    await you.locator('li[data-type="ack"]').filter({ hasText: 'ack for chat [{"ok":true}]' }).waitFor();
    expect(await page.locator('b').count(), 'no element was made from the event').toBe(0);

    await stopsCleanly(playground, file);
    await page.close();
  });

  it('says, on the page and in the terminal, that the self-signed certificate must be trusted first', async () => {
    const file = copyIn(lessonPaths('06-tls').solution, 'tls.ts');
    const playground = playgroundIn([file, '--lesson', 'tls']);
    const url = await pageUrl(playground);
    await playground.untilMatch(/Or use `wsw run`, whose client trusts exactly this certificate\./);
    expect(playground.out).toMatch(/the page cannot connect until you choose to trust it yourself/);
    expect(playground.out).toMatch(/^ {2}https:\/\/localhost:\d+\/$/m);
    const { page } = await openPage();
    await page.goto(url);
    await page.locator('.banner[data-kind="warning"]').filter({ hasText: 'self-signed certificate' }).waitFor();
    // The browser's certificate checks stay on: the connection fails, and the page says why it may have.
    const you = column(page, 'you');
    await you.locator('li[data-type="error"]').filter({ hasText: 'may not trust the certificate' }).waitFor();
    await you.locator('.state.closed').waitFor();

    await stopsCleanly(playground, file);
    await page.close();
  });

  it('serves the page on the port --port names, and says so when that port is taken', async () => {
    const file = copyIn(lessonPaths('02-echo-server').solution, 'echo-port.ts');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const taken = playgroundIn([file, '--lesson', 'echo-server', '--port', String(port)]);
      expect(await taken.exitCode(), taken.out).toBe(2);
      expect(taken.out).toContain(`The page cannot listen on port ${port} (it is in use)`);
      expect(processesMentioning(file)).toEqual([]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    // The port is free now: the page comes up on it.
    const playground = playgroundIn([file, '--lesson', 'echo-server', '--port', String(port)]);
    expect(await pageUrl(playground)).toBe(`http://127.0.0.1:${port}/`);
    const { page } = await openPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await column(page, 'you').locator('.state.open').waitFor();
    await page.close();
    await stopsCleanly(playground, file);
  });

  it('shows on the page, and explains in the terminal, a server that crashes', async () => {
    const file = copyIn(path.join(ROOT, 'verify', 'fixtures', 'harness', 'crashes-on-message.ts'), 'crashes.ts');
    const playground = playgroundIn([file, '--lesson', 'echo-server']);
    const { page } = await openPage();
    await page.goto(await pageUrl(playground));
    const you = column(page, 'you');
    await you.locator('.state.open').waitFor();
    await sendText(page, 'you', 'boom');
    await page.locator('.banner[data-kind="error"]').filter({ hasText: 'PROGRAM_CRASHED' }).waitFor();
    expect(await playground.exitCode(), playground.out).toBe(1);
    expect(playground.out).toMatch(/PROGRAM_CRASHED: /);
    expect(processesMentioning(file)).toEqual([]);
    await page.close();
  });
});
