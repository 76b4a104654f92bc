// Lesson 18's board as a learner tries it: `wsw playground` on the reference solution, the
// playground's own client connected to /draw, and the server's page open twice in a real Chromium,
// each line dragged on one page appearing on the other. `npm run screenshots board` photographs the
// same scene for the README.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, column, drawPicture, launchBrowser, openBoard } from './browser.ts';

const canRun = browserAvailable() || Boolean(process.env.CI);
if (!canRun) console.warn('\n*** SKIPPED: the drawing board browser test needs Chromium or Chrome on PATH (or CHROME_PATH). ***\n');

describe.skipIf(!canRun)('lesson 18 in the playground, with two pages of the board', () => {
  let browser: BrowserContext;
  let home: string;
  beforeAll(async () => {
    expect(browserAvailable(), 'under CI the browser must be installed').toBe(true);
    browser = await launchBrowser();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-board-'));
  });
  afterAll(async () => {
    await browser?.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('connects the playground to /draw, prints the page, and relays lines between two pages', async () => {
    const scene = await openBoard(browser, home);
    try {
      // The playground's client got the history, as every new connection does.
      await column(scene.playground, 'you').locator('li[data-dir="in"]').filter({ hasText: '"type":"history"' }).first().waitFor();
      await drawPicture(scene);
      // The playground's client saw the strokes go by too.
      await column(scene.playground, 'you').locator('li[data-dir="in"]').filter({ hasText: '"color":"#1d3557"' }).first().waitFor();
      expect(scene.base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await scene.close();
    }
  });
});
