// The teacher's dashboard in a real browser: live updates after a real `wsw verify`, learner text shown as
// text, and the screenshot in docs/dashboard.png.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClassServer, type ClassServer } from '../src/classroom/class-server.ts';
import type { Report } from '../src/classroom/learner-registry.ts';
import { lessons } from '../src/lessons.ts';
import { lessonPaths, ROOT } from '../src/paths.ts';
import { browserAvailable, launchBrowser, screenshotPath } from './browser.ts';

const BIN = path.join(ROOT, 'bin', 'websocket-workshop.js');
const CODE = 'BROWSER234';
const HOSTILE = '<img src=x onerror=alert(1)>';
// Without a browser the tests are skipped, loudly; under CI a missing browser fails them instead.
const canRun = browserAvailable() || Boolean(process.env.CI);
if (!canRun) console.warn('\n*** SKIPPED: the dashboard browser tests need Chromium at /usr/bin/chromium (or CHROMIUM_PATH). ***\n');

function wsw(args: string[], home: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: home,
      env: { ...process.env, HOME: home, USERPROFILE: home, NO_COLOR: '1', FORCE_COLOR: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe.skipIf(!canRun)('the class dashboard in a browser', () => {
  let server: ClassServer;
  let base: string;
  let browser: BrowserContext;
  let home: string;
  let n = 0;

  async function learner(name: string, reports: Array<Partial<Report>>): Promise<void> {
    const { token } = server.registry.join(name);
    for (const r of reports) {
      const response = await fetch(`${base}/report`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Class-Code': CODE },
        body: JSON.stringify({ id: `browser-${++n}-report`, passed: false, failureCode: null, durationMs: 800, at: Date.now(), ...r }),
      });
      expect(response.status).toBe(200);
    }
  }

  beforeAll(async () => {
    expect(browserAvailable(), 'under CI the browser must be installed').toBe(true);
    server = await startClassServer({ host: '127.0.0.1', code: CODE });
    base = `http://127.0.0.1:${server.port}`;
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-class-browser-'));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('shows a real verify live, shows a hostile name as text, and is photographed for the docs', async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(`${base}/?code=${CODE}`);
    await page.locator('#status', { hasText: 'live' }).waitFor({ timeout: 10_000 });

    // A real learner: `wsw join`, then a real `wsw verify` of a passing file.
    const joined = await wsw(['join', base, '--name', 'Ada Lovelace', '--code', CODE], home);
    expect(joined.code, joined.out).toBe(0);
    const ada = page.locator('#learners tbody tr', { hasText: 'Ada Lovelace' });
    await ada.waitFor({ timeout: 10_000 });
    const verified = await wsw(['verify', lessonPaths('01-http-vs-websocket').solution, '--lesson', 'http-vs-websocket'], home);
    expect(verified.code, verified.out).toBe(0);
    const verified2 = await wsw(['verify', lessonPaths('02-echo-server').solution, '--lesson', 'echo-server'], home);
    expect(verified2.code, verified2.out).toBe(0);
    await page.locator('#learners tbody tr', { hasText: 'Ada Lovelace' }).filter({ hasText: `2 / ${lessons.length}` }).waitFor({ timeout: 10_000 });
    expect(await ada.locator('td').allTextContents()).toEqual(expect.arrayContaining(['Ada Lovelace', '02-echo-server', 'pass']));

    // Learners in the other states a teacher meets.
    await learner('Grace Hopper', [
      { lesson: '01-http-vs-websocket', passed: true },
      { lesson: '02-echo-server', passed: true },
      { lesson: '03-broadcast', failureCode: 'BROADCAST_ECHOED_TO_SENDER' },
    ]);
    await learner('Linus', [
      { lesson: '01-http-vs-websocket', passed: true },
      ...Array.from({ length: 3 }, () => ({ lesson: '02-echo-server', failureCode: 'ECHO_TEXT_BECAME_BINARY' })),
    ]);
    await learner(HOSTILE, [{ lesson: '01-http-vs-websocket', failureCode: 'HTTP_TIME_BAD_STATUS' }]);

    const hostileCell = page.locator('#learners td.name', { hasText: HOSTILE });
    await hostileCell.waitFor({ timeout: 10_000 });
    expect(await hostileCell.isVisible()).toBe(true);
    expect(await hostileCell.textContent()).toBe(HOSTILE);
    expect(await page.locator('img').count(), 'the name became markup').toBe(0);
    expect(dialogs).toEqual([]);

    const linus = page.locator('#learners tbody tr', { hasText: 'Linus' });
    await linus.filter({ hasText: 'stuck: same failure 3 times' }).waitFor({ timeout: 10_000 });
    expect(await linus.getAttribute('class')).toBe('stuck');
    const echoSummary = page.locator('#lessons tbody tr', { hasText: '02-echo-server' });
    await echoSummary.filter({ hasText: /02-echo-server\s*2\s*0\s*1/ }).waitFor({ timeout: 10_000 });

    expect(await page.locator('#export').getAttribute('href')).toBe(`/export.csv?code=${CODE}`);
    await page.screenshot({ path: screenshotPath('dashboard.png'), fullPage: true });
  });
});
