// The browser the dashboard and playground tests use, and the pages they set up: a class in the
// states a teacher meets, and an echo server tried from the playground. `npm run screenshots`
// photographs the same pages for the README, so a picture shows what the tests prove.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startClassServer, type ClassServer } from '../src/classroom/class-server.ts';
import type { Report } from '../src/classroom/learner-registry.ts';
import { lessons } from '../src/lessons.ts';
import { lessonPaths } from '../src/paths.ts';
import { browserAvailable, CHROMIUM_FLAGS, findBrowser } from '../verify/harness/browser.ts';
import { CliProcess, runCli, WAIT_MS } from './cli-process.ts';

/**
 * The browser the tests use: the one verify would use (CHROME_PATH, else Chromium or Chrome on PATH),
 * which under CI is Debian's Chromium, installed by .ci/run. Without one, browser tests skip locally
 * and fail under CI (`browserAvailable`).
 */
export const CHROMIUM = findBrowser()?.path ?? '/usr/bin/chromium';
export { browserAvailable };

/**
 * Launches headless Chromium the way this machine needs it: no sandbox (root), no GPU, and none of
 * the background networking that stalls on a closed network; a fresh profile each time, removed when
 * the context closes.
 */
export async function launchBrowser(): Promise<BrowserContext> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 800 },
    args: CHROMIUM_FLAGS,
  });
  context.on('close', () => {
    try {
      // Chromium may still be writing its last files as it goes.
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch {
      // A profile left in the temporary folder is harmless.
    }
  });
  return context;
}

/** A page whose waits fail after the suite's bound, with every script dialog it opened recorded. */
export async function newPage(browser: BrowserContext): Promise<{ page: Page; dialogs: string[] }> {
  const page = await browser.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return { page, dialogs };
}

/** A class server with its dashboard open and live. */
export interface ClassScene {
  server: ClassServer;
  base: string;
  code: string;
  page: Page;
  /** Script dialogs the dashboard opened: none, unless something a learner sent ran as markup. */
  dialogs: string[];
  /** The learners' HOME and working folder, for the real `wsw join` and `wsw verify`. */
  home: string;
  /** A learner who joins and sends these reports over HTTP, as `wsw verify` does. */
  learner(name: string, reports: Array<Partial<Report>>): Promise<void>;
  close(): Promise<void>;
}

/** Starts a class with this code and opens its dashboard, waiting until its feed is live. */
export async function openClass(browser: BrowserContext, code: string): Promise<ClassScene> {
  const server = await startClassServer({ host: '127.0.0.1', code });
  const base = `http://127.0.0.1:${server.port}`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-class-browser-'));
  const { page, dialogs } = await newPage(browser);
  let n = 0;
  const learner = async (name: string, reports: Array<Partial<Report>>) => {
    const { token } = server.registry.join(name);
    for (const r of reports) {
      const response = await fetch(`${base}/report`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Class-Code': code },
        body: JSON.stringify({ id: `browser-${++n}-report`, passed: false, failureCode: null, durationMs: 800, at: Date.now(), ...r }),
      });
      if (response.status !== 200) throw new Error(`a report of ${name} was refused: HTTP ${response.status}`);
    }
  };
  const close = async () => {
    await page.close();
    await server.close();
    fs.rmSync(home, { recursive: true, force: true });
  };
  // The dashboard's address, as `wsw classroom` prints it for the teacher alone.
  await page.goto(`${base}/?key=${encodeURIComponent(server.teacherKey)}`);
  await page.locator('#status', { hasText: 'live' }).waitFor();
  return { server, base, code, page, dialogs, home, learner, close };
}

/**
 * Fills the class with the learners a teacher meets: Ada, a real learner (`wsw join`, then a real
 * `wsw verify` of two lessons); Grace, working on lesson 03; Linus, stuck on the same failure three
 * times. Resolves once the dashboard shows all three.
 */
export async function fillClass(scene: ClassScene): Promise<void> {
  const { base, code, home, page } = scene;
  const wsw = async (args: string[]) => {
    const run = await runCli(home, args);
    if (run.code !== 0) throw new Error(`wsw ${args.join(' ')} exited with ${run.code}:\n${run.out}`);
  };
  await wsw(['join', base, '--name', 'Ada Lovelace', '--code', code]);
  await page.locator('#learners tbody tr', { hasText: 'Ada Lovelace' }).waitFor();
  await wsw(['verify', lessonPaths('01-http-vs-websocket').solution, '--lesson', 'http-vs-websocket']);
  await wsw(['verify', lessonPaths('02-echo-server').solution, '--lesson', 'echo-server']);
  await page.locator('#learners tbody tr', { hasText: 'Ada Lovelace' }).filter({ hasText: `2 / ${lessons.length}` }).waitFor();

  await scene.learner('Grace Hopper', [
    { lesson: '01-http-vs-websocket', passed: true },
    { lesson: '02-echo-server', passed: true },
    { lesson: '03-broadcast', failureCode: 'BROADCAST_ECHOED_TO_SENDER' },
  ]);
  await scene.learner('Linus', [
    { lesson: '01-http-vs-websocket', passed: true },
    ...Array.from({ length: 3 }, () => ({ lesson: '02-echo-server', failureCode: 'ECHO_TEXT_BECAME_BINARY' })),
  ]);
  await page.locator('#learners tbody tr', { hasText: 'Grace Hopper' }).filter({ hasText: 'BROADCAST_ECHOED_TO_SENDER' }).waitFor();
  await page.locator('#learners tbody tr', { hasText: 'Linus' }).filter({ hasText: 'stuck: same failure 3 times' }).waitFor();
}

/** Opens the page of a running `wsw playground` once it prints its address; resolves when its first client is open. */
export async function openPlayground(browser: BrowserContext, playground: CliProcess): Promise<{ page: Page; dialogs: string[] }> {
  const url = (await playground.untilMatch(/open (http:\/\/127\.0\.0\.1:\d+\/) in your browser/))[1]!;
  const opened = await newPage(browser);
  await opened.page.goto(url);
  await column(opened.page, 'you').locator('.state.open').waitFor();
  return opened;
}

/** The column of one client on the playground's page. */
export function column(page: Page, name: string) {
  return page.locator(`section.client[data-name="${name}"]`);
}

/** Types a message into a client's column and sends it as text. */
export async function sendText(page: Page, name: string, text: string): Promise<void> {
  await column(page, name).locator('textarea').fill(text);
  await column(page, name).getByRole('button', { name: 'Send' }).click();
}

/**
 * A learner trying an echo server from the page, each step waiting for its answer: text, binary as
 * hex, JSON refused while it does not parse and then sent, a second client with its own echo, and
 * that client closed with 4000 "bye".
 */
export async function tryEcho(page: Page): Promise<void> {
  const you = column(page, 'you');
  await sendText(page, 'you', 'hello');
  await you.locator('li[data-dir="in"][data-type="text"]').filter({ hasText: 'hello' }).waitFor();

  await you.locator('select').nth(1).selectOption('binary');
  await you.locator('textarea').fill('00 ff 10');
  await you.getByRole('button', { name: 'Send' }).click();
  await you.locator('li[data-dir="in"][data-type="binary"]').filter({ hasText: '<00 ff 10>' }).waitFor();

  await you.locator('select').nth(1).selectOption('json');
  await you.locator('textarea').fill('{"a":');
  await you.getByRole('button', { name: 'Send' }).click();
  await you.locator('.error-line', { hasText: 'not valid JSON' }).waitFor();
  await you.locator('textarea').fill('{"chat": "hi"}');
  await you.getByRole('button', { name: 'Send' }).click();
  await you.locator('li[data-dir="in"][data-type="text"]').filter({ hasText: '{"chat":"hi"}' }).waitFor();

  await page.getByRole('button', { name: 'Add a client' }).click();
  const second = column(page, 'client-2');
  await second.locator('.state.open').waitFor();
  await sendText(page, 'client-2', 'from the second client');
  await second.locator('li[data-dir="in"][data-type="text"]').filter({ hasText: 'from the second client' }).waitFor();

  await second.locator('input.code').fill('4000');
  await second.locator('input.reason').fill('bye');
  await second.getByRole('button', { name: 'Close' }).click();
  await second.locator('li[data-dir="in"][data-type="close"]').filter({ hasText: '4000 (application-defined) reason "bye"' }).waitFor();
}

/** Lesson 18's board, run under `wsw playground`: the playground's page and two pages of the learner's own server. */
export interface BoardScene {
  playground: Page;
  /** The learner's server, as the playground printed it: http://127.0.0.1:PORT. */
  base: string;
  a: Page;
  b: Page;
  close(): Promise<void>;
}

/**
 * Starts `wsw playground` on lesson 18's reference solution, opens the playground's page (its client
 * on /draw) and then the server's own page twice, as the playground says to: page A in red, page B in
 * blue, 12 wide. Resolves once both pages are connected.
 */
export async function openBoard(browser: BrowserContext, home: string): Promise<BoardScene> {
  const file = path.join(home, 'board.ts');
  fs.copyFileSync(lessonPaths('18-collaborative-drawing').solution, file);
  const cli = new CliProcess(home, ['playground', file, '--lesson', 'collaborative-drawing']);
  const { page: playground } = await openPlayground(browser, cli);
  const own = new URL((await cli.untilMatch(/open (http:\/\/127\.0\.0\.1:\d+)\/ in your browser/))[1]!).port;
  const ports = [...cli.out.matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => m[1]).filter((p) => p !== own);
  if (ports.length === 0) throw new Error(`the playground did not print the server's own page:\n${cli.out}`);
  const base = `http://127.0.0.1:${ports[0]}`;
  const open = async (query: string) => {
    const { page } = await newPage(browser);
    const connected = page.waitForEvent('websocket');
    await page.goto(`${base}/${query}`);
    await (await connected).waitForEvent('framereceived');
    return page;
  };
  const a = await open('?color=%23e63946&width=8');
  const b = await open('?color=%231d3557&width=12');
  const close = async () => {
    for (const page of [a, b, playground]) await page.close();
    cli.signal('SIGTERM');
    await cli.ended;
  };
  return { playground, base, a, b, close };
}

/** Drags the mouse across a board page's canvas from one canvas pixel to another. */
export async function dragOnBoard(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  const box = (await page.locator('#board').boundingBox())!;
  const [left, top] = await page.locator('#board').evaluate((el) => [el.clientLeft, el.clientTop]);
  await page.mouse.move(box.x + left! + from[0], box.y + top! + from[1]);
  await page.mouse.down();
  await page.mouse.move(box.x + left! + to[0], box.y + top! + to[1], { steps: 12 });
  await page.mouse.up();
}

/** Resolves once the board page's canvas shows `hex` at canvas pixel (x, y). */
export async function waitForInk(page: Page, [x, y]: [number, number], hex: string): Promise<void> {
  const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  await page.waitForFunction(
    ({ x, y, want }) => {
      const canvas = document.getElementById('board') as HTMLCanvasElement;
      const [r, g, b, alpha] = canvas.getContext('2d')!.getImageData(x, y, 1, 1).data;
      return alpha! > 200 && [r, g, b].every((n, i) => Math.abs(n! - want[i]!) <= 8);
    },
    { x, y, want },
  );
}

/** A small drawing on the board, made on both pages: each line appears on the other page too. */
export async function drawPicture(scene: BoardScene): Promise<void> {
  const { a, b } = scene;
  await dragOnBoard(a, [80, 480], [400, 120]);
  await dragOnBoard(a, [400, 120], [720, 480]);
  await waitForInk(b, [400, 121], '#e63946');
  await dragOnBoard(b, [200, 340], [600, 340]);
  await waitForInk(a, [400, 340], '#1d3557');
}
