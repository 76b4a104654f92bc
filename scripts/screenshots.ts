// `npm run screenshots [dashboard] [playground] [board] [--out <dir>]`: photographs the README's pictures into
// docs/ (or <dir>) from the pages the browser tests set up and check (test/browser.ts), so a picture
// always shows what the suite proves. The suite itself never writes docs/. Needs Chromium
// (the one verify finds: CHROME_PATH, else Chromium or Chrome on PATH). Run it after changing the dashboard, the playground or lesson 18's page,
// and look at the pictures before committing them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { lessonPaths, ROOT } from '../src/paths.ts';
import { browserAvailable, CHROMIUM, drawPicture, fillClass, launchBrowser, openBoard, openClass, openPlayground, tryEcho } from '../test/browser.ts';
import { CliProcess } from '../test/cli-process.ts';

/** The class dashboard with learners in every state: docs/dashboard.png. */
async function dashboard(browser: BrowserContext, file: string): Promise<void> {
  const scene = await openClass(browser, 'SCREEN234');
  try {
    await fillClass(scene);
    await scene.page.screenshot({ path: file, fullPage: true });
  } finally {
    await scene.close();
  }
}

/** The playground, two clients side by side against the echo solution: docs/playground.png. */
async function playground(browser: BrowserContext, file: string): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-screenshot-'));
  const echo = path.join(home, 'echo.ts');
  fs.copyFileSync(lessonPaths('02-echo-server').solution, echo);
  const cli = new CliProcess(home, ['playground', echo, '--lesson', 'echo-server']);
  try {
    const { page } = await openPlayground(browser, cli);
    await tryEcho(page);
    await page.screenshot({ path: file });
    await page.close();
  } finally {
    cli.signal('SIGTERM');
    await cli.ended;
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** Lesson 18's board, a picture drawn on two pages, as page A shows it: docs/board.png. */
async function board(browser: BrowserContext, file: string): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-screenshot-'));
  const scene = await openBoard(browser, home);
  try {
    await drawPicture(scene);
    await scene.a.screenshot({ path: file, clip: { x: 0, y: 0, width: 880, height: 620 } });
  } finally {
    await scene.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

const SHOTS: Record<string, (browser: BrowserContext, file: string) => Promise<void>> = { dashboard, playground, board };

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt === -1 ? path.join(ROOT, 'docs') : path.resolve(args[outAt + 1] ?? '.');
const asked = outAt === -1 ? args : args.filter((_, i) => i !== outAt && i !== outAt + 1);
const unknown = asked.filter((name) => !(name in SHOTS));
if (unknown.length) {
  console.error(`No screenshot named ${unknown.join(', ')}. There are: ${Object.keys(SHOTS).join(', ')}.`);
  process.exit(2);
}
if (!browserAvailable()) {
  console.error(`No browser at ${CHROMIUM}: install chromium, or set CHROME_PATH.`);
  process.exit(2);
}

fs.mkdirSync(out, { recursive: true });
const browser = await launchBrowser();
let failed = false;
try {
  for (const name of asked.length ? asked : Object.keys(SHOTS)) {
    const file = path.join(out, `${name}.png`);
    try {
      await SHOTS[name]!(browser, file);
      console.log(`wrote ${path.relative(process.cwd(), file)}`);
    } catch (error) {
      failed = true;
      console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
