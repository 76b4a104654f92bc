// The teacher's dashboard in a real browser: live updates after a real `wsw verify`, the states a
// teacher meets, and learner text shown as text.
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, fillClass, launchBrowser, openClass, type ClassScene } from './browser.ts';

const CODE = 'BROWSER234';
const HOSTILE = '<img src=x onerror=alert(1)>';
// Without a browser the tests are skipped, loudly; under CI a missing browser fails them instead.
const canRun = browserAvailable() || Boolean(process.env.CI);
if (!canRun) console.warn('\n*** SKIPPED: the dashboard browser tests need Chromium or Chrome on PATH (or CHROME_PATH). ***\n');

describe.skipIf(!canRun)('the class dashboard in a browser', () => {
  let browser: BrowserContext;
  let scene: ClassScene | undefined;

  beforeAll(async () => {
    expect(browserAvailable(), 'under CI the browser must be installed').toBe(true);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await scene?.close();
    await browser?.close();
  });

  it('shows a real verify live, the states a teacher meets, and a hostile name as text', async () => {
    // The class the README's screenshot shows: a real `wsw join` and `wsw verify`, and learners
    // reporting over HTTP; each step waits for the dashboard to show it.
    scene = await openClass(browser, CODE);
    await fillClass(scene);
    const { page, dialogs } = scene;

    const ada = page.locator('#learners tbody tr', { hasText: 'Ada Lovelace' });
    expect(await ada.locator('td').allTextContents()).toEqual(expect.arrayContaining(['Ada Lovelace', '02-echo-server', 'pass']));
    const linus = page.locator('#learners tbody tr', { hasText: 'Linus' });
    expect(await linus.getAttribute('class')).toBe('stuck');

    await scene.learner(HOSTILE, [{ lesson: '01-http-vs-websocket', failureCode: 'HTTP_TIME_BAD_STATUS' }]);
    const hostileCell = page.locator('#learners td.name', { hasText: HOSTILE });
    await hostileCell.waitFor();
    expect(await hostileCell.isVisible()).toBe(true);
    expect(await hostileCell.textContent()).toBe(HOSTILE);
    expect(await page.locator('img').count(), 'the name became markup').toBe(0);
    expect(dialogs).toEqual([]);

    const echoSummary = page.locator('#lessons tbody tr', { hasText: '02-echo-server' });
    await echoSummary.filter({ hasText: /02-echo-server\s*2\s*0\s*1/ }).waitFor();
    expect(await page.locator('#export').getAttribute('href')).toBe(`/export.csv?key=${encodeURIComponent(scene.server.teacherKey)}`);
  });
});
