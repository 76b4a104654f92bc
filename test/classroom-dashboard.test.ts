// The dashboard through a class server's restart, in a real browser: it says its data is stale while
// the server is gone, comes back live by itself when the class resumes, and says plainly when its key
// no longer opens the class on that address.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClassServer, type ClassServer } from '../src/classroom/class-server.ts';
import { browserAvailable, launchBrowser, newPage } from './browser.ts';

const CODE = 'RESUME2345';
const KEY = 'dashboard-teacher-key';
const canRun = browserAvailable() || Boolean(process.env.CI);
if (!canRun) console.warn('\n*** SKIPPED: the dashboard browser tests need Chromium or Chrome on PATH (or CHROME_PATH). ***\n');

describe.skipIf(!canRun)('the dashboard across a restart', () => {
  let browser: BrowserContext;
  let server: ClassServer | undefined;
  let dataDir: string;

  beforeAll(async () => {
    browser = await launchBrowser();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-dashboard-'));
  });
  afterAll(async () => {
    await server?.close();
    await browser?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows stale data while disconnected, reconnects by itself, and says when the key is refused', async () => {
    server = await startClassServer({ host: '127.0.0.1', code: CODE, teacherKey: KEY, dataDir });
    const port = server.port;
    const { page, dialogs } = await newPage(browser);
    await page.goto(`http://127.0.0.1:${port}/?key=${KEY}`);
    const status = page.locator('#status');
    await page.locator('#status.live').waitFor();
    const joined = await fetch(`http://127.0.0.1:${port}/join`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'Grace', code: CODE }) });
    expect(joined.status).toBe(201);
    const grace = page.locator('#learners td.name', { hasText: 'Grace' });
    await grace.waitFor();

    await server.close();
    server = undefined;
    await page.locator('#status.stale').waitFor();
    expect(await status.textContent()).toMatch(/^disconnected: showing the class as of .+, reconnecting…$/);
    expect(await page.locator('body.stale').count(), 'the old data is shown dimmed').toBe(1);
    expect(await grace.isVisible(), 'what it knew stays on screen').toBe(true);

    // The same class again, on the same port: the page needs no reload.
    server = await startClassServer({ host: '127.0.0.1', port, dataDir });
    await page.locator('#status.live').waitFor();
    expect(await grace.isVisible()).toBe(true);
    expect(await page.locator('#notice').isHidden()).toBe(true);

    // A different class on that address: the page stops guessing and says why.
    await server.close();
    server = await startClassServer({ host: '127.0.0.1', port, code: 'OTHER23456', teacherKey: 'another-key' });
    await page.locator('#status.refused').waitFor();
    const notice = page.locator('#notice');
    expect(await notice.isVisible()).toBe(true);
    expect(await notice.textContent()).toContain('This address no longer opens the class');
    expect(dialogs).toEqual([]);
  }, 60_000);

  it('shows the common mistakes with their meaning, hint and who, and opens a learner to their latest verdicts', async () => {
    const classServer = await startClassServer({ host: '127.0.0.1', code: CODE, teacherKey: KEY });
    try {
      const base = `http://127.0.0.1:${classServer.port}`;
      const learner = async (name: string, reports: Array<[string, string | null]>) => {
        const joined = await fetch(`${base}/join`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, code: CODE }) });
        const { token } = (await joined.json()) as { token: string };
        for (const [n, [lesson, failureCode]] of reports.entries()) {
          const body = { id: `${name.replace(/\W/g, '')}-${n}-report`, lesson, passed: failureCode === null, failureCode, durationMs: 10, at: Date.now() };
          const sent = await fetch(`${base}/report`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Class-Code': CODE }, body: JSON.stringify(body) });
          expect(sent.status).toBe(200);
        }
      };
      await learner('Ada', [['01-http-vs-websocket', null], ['02-echo-server', 'ECHO_TEXT_BECAME_BINARY']]);
      await learner('Bob', [['02-echo-server', 'ECHO_TEXT_BECAME_BINARY']]);
      await learner('Cy', [['02-echo-server', 'ECHO_NO_REPLY'], ['02-echo-server', 'ECHO_TEXT_BECAME_BINARY']]);
      await learner('Dee', [['02-echo-server', 'ECHO_TEXT_BECAME_BINARY'], ['02-echo-server', 'ECHO_NO_REPLY']]);
      await learner('Eve', [['02-echo-server', null]]);

      const { page } = await newPage(browser);
      await page.goto(`${base}/?key=${KEY}`);
      const first = page.locator('#mistakes li').first();
      await first.filter({ hasText: '3 learners' }).waitFor();
      expect(await first.getAttribute('data-code')).toBe('ECHO_TEXT_BECAME_BINARY');
      expect(await first.locator('.meaning').textContent()).toBe('R3: A text frame comes back as a text frame; a binary frame as a binary frame.');
      expect(await first.locator('.hint').textContent()).toMatch(/^Hint 3: Pass the flag back: socket\.send\(data, \{ binary: isBinary \}\)/);
      expect(await first.locator('.who').textContent()).toBe('Ada, Bob, Cy');
      expect(await page.locator('#mistakes li').nth(1).locator('.who').textContent()).toBe('Dee');
      expect(await page.locator('#mistakes li').count(), 'a learner who passed is in no mistake').toBe(2);

      await page.locator('#learners tbody tr', { hasText: 'Ada' }).click();
      const detail = page.locator('#learners tr.detail');
      await detail.locator('table').waitFor();
      const rows = await detail.locator('tr').allTextContents();
      expect(rows).toHaveLength(3);
      expect(rows[1]).toMatch(/^02-echo-serverfailECHO_TEXT_BECAME_BINARYR3: A text frame comes back as a text frame/);
      expect(rows[2]).toMatch(/^01-http-vs-websocketpass/);
      await page.locator('#learners tbody tr', { hasText: 'Ada' }).first().click();
      // A second click closes it (drawn on the next frame: waited for, not checked at once).
      await detail.waitFor({ state: 'detached' });
    } finally {
      await classServer.close();
    }
  }, 60_000);
});
