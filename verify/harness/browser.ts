// A real browser for lessons whose learner writes a page: Chromium or Chrome already on the machine,
// driven through playwright-core. Each page gets a context of its own (its own cookies and storage,
// as two people at two computers), and every WebSocket frame a page sends or receives is written to
// the transcript, so a learner reads what their page did as they read what a ws client did.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CannotJudge, VerifyFailure } from './failure.ts';
import { frameSummary, type Frame } from './frames.ts';
import { findOnPath, isExecutable } from './find-on-path.ts';
import type { Verification } from './session.ts';

/** Codes of the verdicts "cannot judge" that come from the browser, not from the learner's code. */
export const BrowserCodes = {
  /** No Chromium or Chrome was found, and CHROME_PATH is not set. */
  UNAVAILABLE: 'BROWSER_UNAVAILABLE',
  /** CHROME_PATH names a file that is not there or cannot be run. */
  NOT_AT_CHROME_PATH: 'BROWSER_NOT_AT_CHROME_PATH',
  /** A browser was found but would not start. */
  START_FAILED: 'BROWSER_START_FAILED',
} as const;

/** The variable that names the browser to use, when it is not on PATH under a usual name. */
export const BROWSER_VARIABLE = 'CHROME_PATH';

/** How to get a browser, said wherever one is missing. */
export const HOW_TO_GET_A_BROWSER =
  'Install Chromium or Google Chrome (apt-get install chromium, brew install --cask chromium or google-chrome, ' +
  `or from google.com/chrome), or set ${BROWSER_VARIABLE} to the browser's executable, e.g. ` +
  `${BROWSER_VARIABLE}=/usr/bin/chromium.`;

/** Names Chromium and Chrome are installed under on PATH, most likely first. */
const NAMES_ON_PATH = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];

/** Where macOS and Windows put them, outside PATH. */
const WELL_KNOWN_PATHS = [
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
  'C:\\Program Files (x86)\\Google\\Chrome\\Application\\chrome.exe',
];

/**
 * The flags headless Chromium needs to start quickly anywhere: no sandbox (it refuses to run as root
 * with one), no GPU, and none of the background networking (updates, sync, field trials) that waits
 * for a network a classroom machine may not have.
 */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const LAUNCH_TIMEOUT_MS = 20_000;

/** A browser found on this machine, and how it was found (for doctor and the transcript). */
export interface FoundBrowser {
  path: string;
  how: string;
}

/**
 * Finds a browser: the one CHROME_PATH names (even if it is not there: the caller says so), else
 * Chromium or Chrome on PATH, else where macOS and Windows install them. Undefined when none is found.
 */
export function findBrowser(): FoundBrowser | undefined {
  const named = process.env[BROWSER_VARIABLE];
  if (named) return { path: named, how: `${BROWSER_VARIABLE}=${named}` };
  for (const name of NAMES_ON_PATH) {
    const found = findOnPath(name);
    if (found) return { path: found, how: `${name} on PATH (${found})` };
  }
  for (const candidate of WELL_KNOWN_PATHS) {
    if (isExecutable(candidate)) return { path: candidate, how: candidate };
  }
  return undefined;
}

/** Why no browser can be used here: a verdict code, what is wrong, and what to do about it. */
export interface BrowserProblem {
  code: (typeof BrowserCodes)['UNAVAILABLE' | 'NOT_AT_CHROME_PATH'];
  message: string;
  hint: string;
}

/**
 * The browser to use, or why there is none: what verify says before it gives up (exit 2), and what
 * doctor reports, in the same words.
 */
export function usableBrowser(): { browser: FoundBrowser } | { problem: BrowserProblem } {
  const found = findBrowser();
  if (!found) {
    return {
      problem: {
        code: BrowserCodes.UNAVAILABLE,
        message: `No browser was found: no Chromium or Chrome on your PATH, and ${BROWSER_VARIABLE} is not set.`,
        hint: HOW_TO_GET_A_BROWSER,
      },
    };
  }
  if (!isExecutable(found.path)) {
    return {
      problem: {
        code: BrowserCodes.NOT_AT_CHROME_PATH,
        message: `${BROWSER_VARIABLE} is set to ${found.path}, but there is no program there that can be run.`,
        hint: `Correct ${BROWSER_VARIABLE}, or unset it to use a Chromium or Chrome on your PATH. ${HOW_TO_GET_A_BROWSER}`,
      },
    };
  }
  return { browser: found };
}

/** True when a browser can be had here: for test suites to skip on. */
export function browserAvailable(): boolean {
  return 'browser' in usableBrowser();
}

/**
 * Launches the browser found by findBrowser() headless, with CHROMIUM_FLAGS and a fresh profile that
 * goes with it. Throws CannotJudge (verify exits 2) when there is none or it does not start.
 */
export async function launchChromium(): Promise<Browser> {
  const usable = usableBrowser();
  if ('problem' in usable) {
    const { code, message, hint } = usable.problem;
    throw new CannotJudge({ code, message: `This lesson is judged in a real browser. ${message}`, hint });
  }
  const found = usable.browser;
  try {
    return await chromium.launch({
      executablePath: found.path,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: LAUNCH_TIMEOUT_MS,
      // The workshop stops the browser itself, after the learner's program, in teardown.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (error) {
    const said = (error as Error).message.split('\n').filter(Boolean).slice(0, 3).join(' ');
    throw new CannotJudge({
      code: BrowserCodes.START_FAILED,
      message: `The browser at ${found.path} did not start: ${said}`,
      hint: `Check that \`${found.path} --headless --version\` works in your terminal. ${HOW_TO_GET_A_BROWSER}`,
    });
  }
}

/** One page the verifier opened, with what its WebSockets did. */
export interface BrowserPage {
  name: string;
  page: Page;
  /** The URL of every WebSocket the page opened, in order. */
  sockets: string[];
  /** Every frame the page's WebSockets sent, in order. */
  sent: Frame[];
  /** Every frame they received, in order. */
  received: Frame[];
  /** Uncaught errors and console.error lines of the page's own script. */
  errors: string[];
  /** Whether its frames are written to the transcript (true unless turned off: a flood is not worth reading line by line). */
  logFrames: boolean;
}

/** The browser of one verification. */
export interface BrowserForVerification {
  /** Opens `url` in a page of its own (a context of its own) named `name` in the transcript ("page A"). */
  open(name: string, url: string, options?: { viewport?: { width: number; height: number } }): Promise<BrowserPage>;
  /** Every page opened so far, still open or not. */
  readonly pages: readonly BrowserPage[];
  /** Saves a screenshot of every open page into a folder of its own; resolves with the folder and files. */
  screenshots(): Promise<{ dir: string; files: string[] }>;
  /**
   * Runs `body` (the lesson's story); when it fails with a VerifyFailure, saves a screenshot of every
   * open page first and adds to the failure's details where they are.
   */
  capturingFailures(body: () => Promise<void>): Promise<void>;
}

/**
 * Gives one verification a real browser, closed with the verification (through `v.defer`). Throws
 * CannotJudge (verify exits 2) when there is none, saying how to get one.
 */
export async function provideBrowser(v: Verification): Promise<BrowserForVerification> {
  const started = Date.now();
  const browser = await launchChromium();
  v.defer(() => browser.close());
  v.note(`Opened headless ${browser.browserType().name()} ${browser.version()} (${Date.now() - started} ms): each page in a window of its own`);
  const pages: BrowserPage[] = [];
  const contexts: BrowserContext[] = [];

  const open: BrowserForVerification['open'] = async (name, url, options = {}) => {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1000, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(v.timeouts.stepMs);
    const opened: BrowserPage = { name, page, sockets: [], sent: [], received: [], errors: [], logFrames: true };
    pages.push(opened);
    const source = { kind: 'client', name } as const;
    const line = (text: string, tone?: 'detail' | 'error') => v.transcript.add(source, text, tone);
    page.on('pageerror', (error) => {
      opened.errors.push(error.message);
      line(`page error: ${error.message}`, 'error');
    });
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      opened.errors.push(message.text());
      line(`console.error: ${message.text()}`, 'error');
    });
    page.on('websocket', (socket) => {
      opened.sockets.push(socket.url());
      line(`opened a WebSocket to ${socket.url()}`);
      socket.on('framesent', ({ payload }) => {
        const frame = toFrame(payload);
        opened.sent.push(frame);
        if (opened.logFrames) line(`→ ${frameSummary(frame)}`);
      });
      socket.on('framereceived', ({ payload }) => {
        const frame = toFrame(payload);
        opened.received.push(frame);
        if (opened.logFrames) line(`← ${frameSummary(frame)}`);
      });
      socket.on('close', () => line('its WebSocket closed', 'detail'));
      socket.on('socketerror', (error) => line(`its WebSocket failed: ${error}`, 'detail'));
    });
    line(`opens ${url}`);
    await page.goto(url, { waitUntil: 'load' });
    return opened;
  };

  const screenshots: BrowserForVerification['screenshots'] = async () => {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const dir = path.join(os.tmpdir(), 'websocket-workshop-screenshots', `${v.lesson.slug}-${stamp}`);
    fs.mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    for (const { name, page } of pages) {
      if (page.isClosed()) continue;
      const file = path.join(dir, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`);
      try {
        await page.screenshot({ path: file, timeout: 5000 });
        files.push(file);
      } catch {
        // A page that cannot be photographed (its renderer crashed) is left out.
      }
    }
    return { dir, files };
  };

  return {
    open,
    pages,
    screenshots,
    async capturingFailures(body) {
      try {
        await body();
      } catch (error) {
        if (error instanceof VerifyFailure && !(error instanceof CannotJudge)) {
          const { dir, files } = await screenshots().catch(() => ({ dir: '', files: [] as string[] }));
          if (files.length > 0) {
            error.details.push(`Screenshots of the pages as they were when this failed, in ${dir}:`);
            for (const file of files) error.details.push(`  ${path.basename(file)}`);
          }
        }
        throw error;
      }
    },
  };
}

function toFrame(payload: string | Buffer): Frame {
  return typeof payload === 'string' ? { kind: 'text', data: Buffer.from(payload, 'utf8') } : { kind: 'binary', data: payload };
}
