import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's Chromium, which .ci/run installs; tests that need a browser use this one. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Where a test saves the screenshot named `name` (`dashboard.png`): into docs/, for the README, only
 * when WSW_UPDATE_SCREENSHOTS=1 asks for it; otherwise into a temporary folder, so that a run of the
 * suite leaves the checkout as it found it.
 */
export function screenshotPath(name: string): string {
  const dir = process.env.WSW_UPDATE_SCREENSHOTS === '1' ? path.join(import.meta.dirname, '..', 'docs') : fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-screenshot-'));
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

/** True when a browser is installed here. Under CI its absence is a failure, never a skip. */
export function browserAvailable(): boolean {
  return fs.existsSync(CHROMIUM);
}

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
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
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
