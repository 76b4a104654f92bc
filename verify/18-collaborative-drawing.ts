/**
 * Lesson 18 — A collaborative drawing board (the capstone). The story: fetch the page; open it in two
 * real browsers, draw on one and look at the other's pixels, both ways; a late page gets the drawing
 * so far; clear on one page blanks the others and the history; then ws clients on /draw play the
 * hostile page (junk, invalid strokes, binary, null, oversized frames, a flood) while the pages and
 * the other clients are checked unaffected; the history keeps its bound; SIGTERM ends it all with 1001.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { provideBrowser, type BrowserPage } from './harness/browser.ts';
import {
  defineRules,
  describeCloseCode,
  describeFrame,
  HarnessCodes,
  previewText,
  type Frame,
  type LessonVerifier,
  type PrepareRun,
  type TestClient,
} from './harness/index.ts';
import { asObject, delay, parseJson } from './harness/json.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  WS_ON_OTHER_PATH: 'DRAW_WS_ON_OTHER_PATH',
  PAGE_NOT_SERVED: 'DRAW_PAGE_NOT_SERVED',
  OTHER_PATH_NOT_404: 'DRAW_OTHER_PATH_NOT_404',
  NO_CANVAS: 'DRAW_NO_CANVAS',
  CANVAS_SCALED: 'DRAW_CANVAS_SCALED',
  NO_CLEAR_BUTTON: 'DRAW_NO_CLEAR_BUTTON',
  PAGE_NOT_CONNECTED: 'DRAW_PAGE_NOT_CONNECTED',
  NO_STROKE_SENT: 'DRAW_NO_STROKE_SENT',
  STROKE_WRONG_SHAPE: 'DRAW_STROKE_WRONG_SHAPE',
  NOT_DRAWN_LOCALLY: 'DRAW_NOT_DRAWN_LOCALLY',
  STROKE_NOT_RELAYED: 'DRAW_STROKE_NOT_RELAYED',
  RELAYED_WRONG: 'DRAW_RELAYED_WRONG',
  ECHOED: 'DRAW_ECHOED_TO_SENDER',
  RECEIVED_NOT_DRAWN: 'DRAW_RECEIVED_NOT_DRAWN',
  DRAWN_WRONG: 'DRAW_DRAWN_WRONG',
  NO_HISTORY: 'DRAW_NO_HISTORY',
  HISTORY_WRONG: 'DRAW_HISTORY_WRONG',
  HISTORY_NOT_DRAWN: 'DRAW_HISTORY_NOT_DRAWN',
  HISTORY_UNBOUNDED: 'DRAW_HISTORY_UNBOUNDED',
  CLEAR_NOT_SENT: 'DRAW_CLEAR_NOT_SENT',
  CLEAR_NOT_RELAYED: 'DRAW_CLEAR_NOT_RELAYED',
  CLEAR_NOT_APPLIED: 'DRAW_CLEAR_NOT_APPLIED',
  HISTORY_NOT_EMPTIED: 'DRAW_HISTORY_NOT_EMPTIED',
  INVALID_RELAYED: 'DRAW_INVALID_RELAYED',
  INVALID_KEPT: 'DRAW_INVALID_KEPT',
  VALID_REFUSED: 'DRAW_VALID_REFUSED',
  CLOSED_ON_INVALID: 'DRAW_CLOSED_ON_INVALID',
  CRASHED_ON_INVALID: 'DRAW_CRASHED_ON_INVALID',
  PAYLOAD_NOT_LIMITED: 'DRAW_PAYLOAD_NOT_LIMITED',
  PAYLOAD_LIMIT_TOO_SMALL: 'DRAW_PAYLOAD_LIMIT_TOO_SMALL',
  CRASHED_ON_OVERSIZED: 'DRAW_CRASHED_ON_OVERSIZED',
  FLOOD_NOT_LIMITED: 'DRAW_FLOOD_NOT_LIMITED',
  FLOOD_WRONG_CLOSE: 'DRAW_FLOOD_WRONG_CLOSE',
  POLITE_CLOSED: 'DRAW_POLITE_CLOSED',
  LIMIT_SHARED: 'DRAW_LIMIT_SHARED',
  WINDOW_NEVER_RESETS: 'DRAW_WINDOW_NEVER_RESETS',
  BINARY_NOT_RELAYED: 'DRAW_BINARY_NOT_RELAYED',
  BINARY_RELAYED_WRONG: 'DRAW_BINARY_RELAYED_WRONG',
  BINARY_INVALID_RELAYED: 'DRAW_BINARY_INVALID_RELAYED',
  BINARY_NOT_KEPT: 'DRAW_BINARY_NOT_KEPT',
  SIGTERM_NOT_HANDLED: 'DRAW_SIGTERM_NOT_HANDLED',
  SIGTERM_NO_1001: 'DRAW_SIGTERM_NO_1001',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: {
    text: 'Listen on the port in `process.env.PORT`: the page over HTTP and the WebSocket on the path `/draw`, and on no other path, on that one port.',
    codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED, Codes.WS_ON_OTHER_PATH],
  },
  R2: {
    text: '`GET /` answers 200 with `Content-Type: text/html` and the page; any other path answers 404.',
    codes: [Codes.PAGE_NOT_SERVED, Codes.OTHER_PATH_NOT_404],
  },
  R3: {
    text: 'The page has `<canvas id="board" width="800" height="600">`, not resized by CSS, and a `<button id="clear">`, and connects to `ws://${location.host}/draw`.',
    codes: [Codes.NO_CANVAS, Codes.CANVAS_SCALED, Codes.NO_CLEAR_BUTTON, Codes.PAGE_NOT_CONNECTED],
  },
  R4: {
    text: 'Dragging the mouse on the board draws each segment at once and sends it as `{"type":"stroke","from":[x,y],"to":[x,y],"color":…,"width":…}`, in the colour of the `color` query parameter and the width of `width` (`/?color=%23e63946&width=6`; `#000000` and 4 without them).',
    codes: [Codes.NO_STROKE_SENT, Codes.STROKE_WRONG_SHAPE, Codes.NOT_DRAWN_LOCALLY],
  },
  R5: {
    text: 'The server sends each valid stroke to every other open connection, never back to its sender, as exactly the five fields `type`, `from`, `to`, `color` and `width`.',
    codes: [Codes.STROKE_NOT_RELAYED, Codes.RELAYED_WRONG, Codes.ECHOED],
  },
  R6: {
    text: 'A page draws every stroke it receives, in its colour and width, and clears its board when it receives `{"type":"clear"}`.',
    codes: [Codes.RECEIVED_NOT_DRAWN, Codes.DRAWN_WRONG, Codes.CLEAR_NOT_APPLIED],
  },
  R7: {
    text: 'The first message on every connection is `{"type":"history","strokes":[…]}`: the valid strokes so far, oldest first, at most `HISTORY_LIMIT` of them (the oldest dropped); the page draws them on arrival.',
    codes: [Codes.NO_HISTORY, Codes.HISTORY_WRONG, Codes.HISTORY_NOT_DRAWN, Codes.HISTORY_UNBOUNDED],
  },
  R8: {
    text: 'A click on `#clear` clears the page\'s board and sends `{"type":"clear"}`; the server then empties its history and sends `{"type":"clear"}` to every other open connection.',
    codes: [Codes.CLEAR_NOT_SENT, Codes.CLEAR_NOT_RELAYED, Codes.HISTORY_NOT_EMPTIED],
  },
  R9: {
    text: 'Anything else is dropped, unsent and unkept, and the connection stays open: text that is not JSON, binary that is not a stroke (R13), `null`, another `type`, coordinates that are not numbers from 0 to 800 (x) and 0 to 600 (y), a `color` that is not `#` and six hex digits, a `width` that is not a number from 1 to 50.',
    codes: [Codes.INVALID_RELAYED, Codes.INVALID_KEPT, Codes.VALID_REFUSED, Codes.CLOSED_ON_INVALID, Codes.CRASHED_ON_INVALID],
  },
  R10: {
    text: 'A message over `MAX_MESSAGE_BYTES` bytes closes its connection with 1009 (`maxPayload`).',
    codes: [Codes.PAYLOAD_NOT_LIMITED, Codes.PAYLOAD_LIMIT_TOO_SMALL, Codes.CRASHED_ON_OVERSIZED],
  },
  R11: {
    text: 'More than `MAX_MESSAGES_PER_SECOND` messages from one connection within a second close that connection with 1008; a burst of exactly that many is fine, so is the same burst a second later, every second is counted (not only a connection\'s first), and each connection has its own count.',
    codes: [Codes.FLOOD_NOT_LIMITED, Codes.FLOOD_WRONG_CLOSE, Codes.POLITE_CLOSED, Codes.LIMIT_SHARED, Codes.WINDOW_NEVER_RESETS],
  },
  R12: {
    text: 'On SIGTERM, close every connection with 1001, close the server and exit with code 0.',
    codes: [Codes.SIGTERM_NOT_HANDLED, Codes.SIGTERM_NO_1001],
  },
  R13: {
    text: 'A binary message is a stroke too when it is exactly 16 bytes: byte 0 is 1, then `from` x, `from` y, `to` x and `to` y as big-endian uint16 (bytes 1 to 8), red, green and blue (bytes 9 to 11), the width (byte 12) and three bytes of padding. Checked as R9 checks a stroke, it is sent to the others and kept in the history as the JSON stroke it stands for, its colour in lower case.',
    codes: [Codes.BINARY_NOT_RELAYED, Codes.BINARY_RELAYED_WRONG, Codes.BINARY_INVALID_RELAYED, Codes.BINARY_NOT_KEPT],
  },
});

export const prepareRun: PrepareRun = async () => ({
  client: { path: '/draw' },
  tryIt: (base) => [`Your page: open ${base}/?color=%23e63946 and ${base}/?color=%231d3557&width=12 in two browser windows, and draw in one.`],
});

type Point = [number, number];
interface Stroke {
  type: 'stroke';
  from: Point;
  to: Point;
  color: string;
  width: number;
}

const W = 800;
const H = 600;
/** How long a thing that must not happen is given to happen. */
const QUIET_MS = 150;
const EXIT_MS = 1500;

const stroke = (from: Point, to: Point, color: string, width: number): Stroke => ({ type: 'stroke', from, to, color, width });

/** A stroke in the binary form of R13: 16 bytes, big-endian. `length` and `type` make it wrong on purpose. */
function strokeBytes(s: Stroke, { length = 16, type = 1 }: { length?: number; type?: number } = {}): Buffer {
  const bytes = Buffer.alloc(Math.max(length, 16));
  bytes[0] = type;
  [s.from[0], s.from[1], s.to[0], s.to[1]].forEach((n, i) => bytes.writeUInt16BE(n, 1 + 2 * i));
  for (let i = 0; i < 3; i++) bytes[9 + i] = parseInt(s.color.slice(1 + 2 * i, 3 + 2 * i), 16);
  bytes[12] = s.width;
  return bytes.subarray(0, length);
}

function text(frame: Frame | undefined): string {
  return frame ? frame.data.toString('utf8') : '';
}

function jsonOf(frame: Frame | undefined): Record<string, unknown> | undefined {
  return frame && frame.kind === 'text' ? asObject(parseJson(text(frame))) : undefined;
}

/** Waits, with a bound, until `check` holds; true when it did. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await delay(10);
  }
  return true;
}

/** How many pixels of the board are inked, and how many near `color`, in a square of side 2r+1 around (x, y). */
async function inkAround(page: Page, x: number, y: number, r: number, color?: string): Promise<{ inked: number; matching: number }> {
  return page.evaluate(
    ({ x, y, r, color }) => {
      const canvas = document.getElementById('board') as HTMLCanvasElement | null;
      const ctx = canvas?.getContext('2d');
      if (!canvas || !ctx) return { inked: 0, matching: 0 };
      const x0 = Math.max(0, Math.round(x - r));
      const y0 = Math.max(0, Math.round(y - r));
      const w = Math.min(canvas.width, Math.round(x + r) + 1) - x0;
      const h = Math.min(canvas.height, Math.round(y + r) + 1) - y0;
      if (w <= 0 || h <= 0) return { inked: 0, matching: 0 };
      const data = ctx.getImageData(x0, y0, w, h).data;
      const want = color ? [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16)) : undefined;
      let inked = 0;
      let matching = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3]! < 128) continue;
        inked++;
        if (want && Math.abs(data[i]! - want[0]!) < 24 && Math.abs(data[i + 1]! - want[1]!) < 24 && Math.abs(data[i + 2]! - want[2]!) < 24) matching++;
      }
      return { inked, matching };
    },
    { x, y, r, color },
  );
}

/**
 * Tries a WebSocket upgrade at `url` and says what became of it: 'accepted', or how it was refused.
 * Any refusal will do (ws answers 400; a hand-written upgrade handler may answer 404 or hang up).
 */
function tryUpgrade(url: string, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { handshakeTimeout: ms });
    const done = (said: string) => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.terminate();
      resolve(said);
    };
    socket.once('open', () => done('accepted'));
    socket.once('unexpected-response', (_request, response) => done(`refused with ${response.statusCode}`));
    socket.once('error', (error) => done(`refused (${error.message})`));
  });
}

/** Inked pixels of the whole board. */
async function inkTotal(page: Page): Promise<number> {
  return (await inkAround(page, W / 2, H / 2, W)).inked;
}

export default (async (v) => {
  const server = await v.start();
  const limit = Number(v.lessonEnv.HISTORY_LIMIT ?? 5);
  const maxBytes = Number(v.lessonEnv.MAX_MESSAGE_BYTES ?? 2048);
  const perSecond = Number(v.lessonEnv.MAX_MESSAGES_PER_SECOND ?? 30);
  const base = server.httpUrl;

  await v.step('serves the page on GET /, 404 elsewhere, and WebSockets on /draw only', ['R2', 'R1'], async () => {
    const got = await fetch(`${base}/`, { signal: AbortSignal.timeout(v.timeouts.stepMs) }).catch((error: Error) => error);
    if (got instanceof Error) throw v.fail({ code: Codes.PAGE_NOT_SERVED, expected: 'GET / to answer 200 with the page', actual: `no answer (${got.message})`, hint: 'Create the server with http.createServer((req, res) => …) and answer GET / with res.writeHead(200, { "Content-Type": "text/html" }) and res.end(page).' });
    const body = await got.text();
    v.note(`GET / → ${got.status} ${got.headers.get('content-type') ?? '(no Content-Type)'}, ${body.length} characters`);
    if (got.status !== 200) throw v.fail({ code: Codes.PAGE_NOT_SERVED, expected: 'GET / to answer 200 with the page', actual: `${got.status} ${previewText(body)}`, hint: 'Answer GET / (the path /, with or without a query string such as ?color=…) with 200 and the page, written in your server file as a template string.' });
    if (!/^text\/html\b/i.test(got.headers.get('content-type') ?? '')) throw v.fail({ code: Codes.PAGE_NOT_SERVED, expected: 'Content-Type: text/html', actual: `Content-Type: ${got.headers.get('content-type') ?? '(none)'}`, hint: 'A browser shows a page only when told it is one: res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).' });
    const other = await fetch(`${base}/nothing-here`, { signal: AbortSignal.timeout(v.timeouts.stepMs) }).catch(() => undefined);
    v.note(`GET /nothing-here → ${other?.status ?? 'no answer'}`);
    if (other?.status !== 404) throw v.fail({ code: Codes.OTHER_PATH_NOT_404, expected: 'GET /nothing-here to answer 404', actual: other ? `${other.status}` : 'no answer', hint: 'Answer the page on / only; everything else res.writeHead(404) and res.end().' });
    const elsewhere = await tryUpgrade(`${server.wsUrl}/nothing-here`, v.timeouts.stepMs);
    v.note(`a WebSocket to /nothing-here → ${elsewhere}`);
    if (elsewhere === 'accepted') throw v.fail({ code: Codes.WS_ON_OTHER_PATH, expected: 'a WebSocket upgrade to /nothing-here refused: the board is on /draw only', actual: 'the upgrade was accepted', hint: "Give ws the path, new WebSocketServer({ server, path: '/draw' }): without one it takes upgrades on every path. With noServer, compare the pathname in 'upgrade' before handleUpgrade, and socket.destroy() the others." });
  });

  const browser = await provideBrowser(v);
  const viewport = { width: 1000, height: 800 };
  const openPage = async (name: string, query: string): Promise<BrowserPage> => {
    const opened = await browser.open(name, `${base}/${query}`, { viewport });
    const up = await until(() => opened.received.length > 0 || opened.sockets.length > 0, v.timeouts.stepMs);
    if (up) await until(() => opened.received.length > 0, v.timeouts.stepMs);
    return opened;
  };

  await browser.capturingFailures(async () => {
    const RED = '#E63946';
    const BLUE = '#1d3557';
    let a!: BrowserPage;
    let b!: BrowserPage;
    await v.step('opens the page in two browsers: an 800×600 board, a clear button, a WebSocket on /draw', ['R3', 'R7'], async () => {
      a = await openPage('page A', `?color=${encodeURIComponent(RED)}&width=6`);
      b = await openPage('page B', `?color=${encodeURIComponent(BLUE)}&width=4`);
      for (const p of [a, b]) {
        const board = await p.page.evaluate(() => {
          const c = document.getElementById('board');
          const r = c?.getBoundingClientRect();
          return c instanceof HTMLCanvasElement && r ? { w: c.width, h: c.height, cw: r.width, ch: r.height, clear: document.getElementById('clear') instanceof HTMLButtonElement } : undefined;
        });
        if (!board || board.w !== W || board.h !== H) throw v.fail({ code: Codes.NO_CANVAS, expected: `${p.name} to have <canvas id="board" width="800" height="600">`, actual: board ? `a canvas of ${board.w}×${board.h}` : 'no canvas with id "board"', hint: 'Give the page <canvas id="board" width="800" height="600">: the attributes set the pixels the board has.' });
        const shown = `${Math.round(board.cw)}×${Math.round(board.ch)}`;
        if (Math.abs(board.cw - W) > 4 || Math.abs(board.ch - H) > 4) throw v.fail({ code: Codes.CANVAS_SCALED, expected: `${p.name}'s board shown at 800×600 CSS pixels, one per canvas pixel`, actual: `shown at ${shown}`, hint: 'Give the canvas no CSS width or height (nor 100%, nor a flex that stretches it): a stretched canvas draws at pixels that are not where the mouse is, and offsetX no longer is a canvas x.' });
        if (!board.clear) throw v.fail({ code: Codes.NO_CLEAR_BUTTON, expected: `${p.name} to have <button id="clear">`, actual: 'no button with id "clear"', hint: 'Add <button id="clear">Clear</button> to the page.' });
        const socket = p.sockets[0];
        if (socket && new URL(socket).pathname === '/draw' && p.received.length === 0) {
          const probe = await v.client('probe', { path: '/draw' }).catch(() => undefined);
          if (probe) {
            probe.dispose();
            throw v.fail({ code: Codes.NO_HISTORY, expected: `${p.name}'s WebSocket on /draw to receive {"type":"history","strokes":[]} at once (nothing drawn yet)`, actual: 'nothing', hint: "On 'connection', send JSON.stringify({ type: 'history', strokes: history }) before anything else." });
          }
        }
        if (!socket || new URL(socket).pathname !== '/draw' || p.received.length === 0) throw v.fail({ code: Codes.PAGE_NOT_CONNECTED, expected: `${p.name} to open a WebSocket to ws://${new URL(base).host}/draw and get its history`, actual: !socket ? 'no WebSocket' : p.received.length === 0 ? `a WebSocket to ${socket} that received nothing` : `a WebSocket to ${socket}`, hint: 'In the page: new WebSocket("ws://" + location.host + "/draw"), with no backticks inside your server\'s template string; on the server: new WebSocketServer({ server, path: "/draw" }), on the same server as the page.' });
        const first = jsonOf(p.received[0]);
        if (!first || first.type !== 'history' || !isDeepStrictEqual(first.strokes, [])) throw v.fail({ code: Codes.NO_HISTORY, expected: `${p.name}'s first message to be {"type":"history","strokes":[]} (nothing drawn yet)`, actual: p.received[0] ? describeFrame(p.received[0]) : 'no message', hint: "On 'connection', send JSON.stringify({ type: 'history', strokes: history }) before anything else." });
      }
    });

    const drag = async (p: BrowserPage, points: Point[]): Promise<void> => {
      const box = await p.page.locator('#board').boundingBox();
      if (!box) throw v.fail({ code: Codes.NO_CANVAS, expected: 'the board on screen', actual: 'no #board to draw on', hint: 'Keep <canvas id="board"> in the page.' });
      const [first, ...rest] = points;
      await p.page.mouse.move(box.x + first![0], box.y + first![1]);
      await p.page.mouse.down();
      for (const pt of rest) await p.page.mouse.move(box.x + pt[0], box.y + pt[1], { steps: 4 });
      await p.page.mouse.up();
    };

    const strokesIn = (frames: Frame[]) => frames.map(jsonOf).filter((m) => m?.type === 'stroke');

    const drawsAcross = async (from: BrowserPage, to: BrowserPage, points: Point[], color: string, width: number) => {
      const sentBefore = from.sent.length;
      const toBefore = to.received.length;
      const fromBefore = from.received.length;
      await drag(from, points);
      await until(() => from.sent.length >= sentBefore + (points.length - 1) * 4, v.timeouts.stepMs);
      const sent = from.sent.slice(sentBefore).map(jsonOf);
      if (sent.length === 0) throw v.fail({ code: Codes.NO_STROKE_SENT, expected: `${from.name} to send strokes while the mouse was dragged from (${points[0]!.join(',')})`, actual: 'nothing sent', hint: 'On mousedown remember the point; on each mousemove while the button is down, send a stroke from the last point to this one (event.offsetX, event.offsetY), and make it the last point.' });
      for (const m of sent) {
        const good = m && m.type === 'stroke' && Object.keys(m).length === 5 && Array.isArray(m.from) && Array.isArray(m.to) && typeof m.color === 'string' && m.color.toLowerCase() === color.toLowerCase() && m.width === width;
        if (!good) throw v.fail({ code: Codes.STROKE_WRONG_SHAPE, expected: `each message ${from.name} sends while drawing to be {"type":"stroke","from":[x,y],"to":[x,y],"color":"${color}","width":${width}}`, actual: previewText(JSON.stringify(m) ?? 'not JSON'), hint: 'Read the colour and width from the URL: new URLSearchParams(location.search).get("color") and Number(…get("width")), with #000000 and 4 when they are missing.' });
      }
      const sentStrokes = sent as unknown as Stroke[];
      const ownInk = await inkAround(from.page, points[1]![0], points[1]![1], width, color);
      if (ownInk.matching === 0) throw v.fail({ code: Codes.NOT_DRAWN_LOCALLY, expected: `${from.name}'s own board inked in ${color} at (${points[1]!.join(',')}), where its mouse went`, actual: 'no ink there', hint: 'Draw each segment on your own canvas as you send it: the server does not send it back to you.' });
      const arrived = await until(() => strokesIn(to.received.slice(toBefore)).length >= sentStrokes.length, v.timeouts.stepMs);
      const got = strokesIn(to.received.slice(toBefore));
      if (!arrived) throw v.fail({ code: Codes.STROKE_NOT_RELAYED, expected: `${to.name} to receive the ${sentStrokes.length} strokes ${from.name} sent`, actual: `${got.length} of them`, hint: 'For each valid stroke, send it to every client of wss.clients that is open and is not the sender.' });
      for (const [i, m] of got.entries()) {
        if (!isDeepStrictEqual(m, sentStrokes[i])) throw v.fail({ code: Codes.RELAYED_WRONG, expected: `${to.name} to receive ${JSON.stringify(sentStrokes[i])}`, actual: previewText(JSON.stringify(m)), hint: 'Send each stroke on as { type, from, to, color, width }: those five fields, with the values it came with.' });
      }
      await delay(50);
      const echoed = strokesIn(from.received.slice(fromBefore));
      if (echoed.length > 0) throw v.fail({ code: Codes.ECHOED, expected: `${from.name} to receive none of its own strokes (it drew them already)`, actual: `${echoed.length} of them sent back to it`, hint: 'Skip the sender when you relay: if (client !== socket && client.readyState === WebSocket.OPEN).' });
      for (const pt of points.slice(1)) {
        const ink = await inkAround(to.page, pt[0], pt[1], width, color);
        if (ink.matching === 0) throw v.fail({ code: Codes.RECEIVED_NOT_DRAWN, expected: `${to.name}'s board inked in ${color} around (${pt.join(',')}), where ${from.name} drew`, actual: ink.inked > 0 ? `ink of another colour there (${ink.inked} pixels)` : 'no ink there', hint: 'On each stroke message, draw it: ctx.strokeStyle = stroke.color, ctx.lineWidth = stroke.width, beginPath, moveTo(from), lineTo(to), stroke().' });
      }
    };

    const inkOnlyNear = async (p: BrowserPage, far: Point[]) => {
      for (const pt of far) {
        const ink = await inkAround(p.page, pt[0], pt[1], 8);
        if (ink.inked > 0) throw v.fail({ code: Codes.DRAWN_WRONG, expected: `${p.name}'s board blank around (${pt.join(',')}), far from every line drawn`, actual: `${ink.inked} inked pixels there`, hint: 'Draw each stroke at its own from and to, in canvas pixels: no offset, no scaling, no line from the last stroke to this one (beginPath() for each).' });
      }
    };

    await v.step("a drag on page A appears on page B's board, in A's colour; A gets nothing back", ['R4', 'R5', 'R6'], async () => {
      await drawsAcross(a, b, [[100, 100], [200, 150], [300, 150]], RED, 6);
      await inkOnlyNear(b, [[600, 400], [100, 500], [700, 80]]);
    });

    await v.step("a drag on page B appears on page A's board, in B's colour", ['R4', 'R5', 'R6'], async () => {
      await drawsAcross(b, a, [[500, 300], [600, 450], [700, 450]], BLUE, 4);
      await inkOnlyNear(a, [[100, 500], [700, 80]]);
    });

    let c!: BrowserPage;
    await v.step('a late page C gets the drawing so far as its first message, and draws it', ['R7'], async () => {
      const drawn = [...strokesIn(a.sent), ...strokesIn(b.sent)];
      // The server's order is the order it read them: A drew first, then B.
      c = await openPage('page C', '');
      const first = jsonOf(c.received[0]);
      if (!first || first.type !== 'history') throw v.fail({ code: Codes.NO_HISTORY, expected: 'page C\'s first message to be {"type":"history","strokes":[…]}', actual: c.received[0] ? describeFrame(c.received[0]) : 'nothing', hint: "On 'connection', send the history first, before anything else." });
      const want = drawn.slice(-limit);
      if (!isDeepStrictEqual(first.strokes, want)) throw v.fail({ code: Codes.HISTORY_WRONG, expected: `history to hold the last ${want.length} strokes drawn (HISTORY_LIMIT=${limit}), oldest first, as the five fields each`, actual: previewText(JSON.stringify(first.strokes)), hint: 'Push each valid stroke (the five fields) onto an array, and when it holds more than HISTORY_LIMIT, shift() the oldest.' });
      const last = want[want.length - 1] as unknown as Stroke;
      const ink = await inkAround(c.page, last.to[0], last.to[1], 3, last.color);
      if (ink.matching === 0) throw v.fail({ code: Codes.HISTORY_NOT_DRAWN, expected: `page C's board inked in ${last.color} around (${last.to.join(',')}), from its history`, actual: 'no ink there', hint: 'On the history message, draw every stroke of message.strokes, oldest first.' });
    });

    await v.step("clear on page B blanks A's and C's boards; a later client gets an empty history", ['R8', 'R6', 'R7'], async () => {
      const before = b.sent.length;
      const aBefore = a.received.length;
      await b.page.click('#clear');
      await until(() => b.sent.length > before, v.timeouts.stepMs);
      const sent = b.sent.slice(before).map(jsonOf);
      if (!sent.some((m) => isDeepStrictEqual(m, { type: 'clear' }))) throw v.fail({ code: Codes.CLEAR_NOT_SENT, expected: 'page B to send {"type":"clear"} when #clear is clicked', actual: sent.length ? previewText(JSON.stringify(sent)) : 'nothing sent', hint: "document.getElementById('clear').addEventListener('click', () => { clear the board; socket.send(JSON.stringify({ type: 'clear' })); })." });
      const relayed = await until(() => a.received.slice(aBefore).some((f) => isDeepStrictEqual(jsonOf(f), { type: 'clear' })), v.timeouts.stepMs);
      if (!relayed) throw v.fail({ code: Codes.CLEAR_NOT_RELAYED, expected: 'page A to receive {"type":"clear"}', actual: a.received.slice(aBefore).length ? previewText(a.received.slice(aBefore).map(text).join(' ')) : 'nothing', hint: 'On a clear message, send {"type":"clear"} to every other open client, as you do strokes.' });
      await until(() => false, 30);
      for (const p of [a, c]) {
        const ink = await inkTotal(p.page);
        if (ink > 0) throw v.fail({ code: Codes.CLEAR_NOT_APPLIED, expected: `${p.name}'s board blank after the clear`, actual: `${ink} inked pixels left`, hint: 'On a received {"type":"clear"}: ctx.clearRect(0, 0, canvas.width, canvas.height).' });
      }
      const d = await v.client('late client D', { path: '/draw' });
      const history = await d.expectJson<unknown>('the history', { code: Codes.NO_HISTORY });
      if (!isDeepStrictEqual(history, { type: 'history', strokes: [] })) throw v.fail({ code: Codes.HISTORY_NOT_EMPTIED, expected: '{"type":"history","strokes":[]} after a clear', actual: previewText(JSON.stringify(history)), hint: 'On a clear message, empty the history (history.length = 0) before you relay it.' });
      // Its close is awaited here, so that the server's answer is not written into the next step's lines.
      d.close();
      await d.expectClose();
    });

    // From here on, ws clients on /draw play the other pages: faster, and able to send what no page would.
    // Frames are logged as the story reads them: several clients' arrivals interleave as the network likes.
    const connect = async (name: string, log: 'silent' | 'read' = 'read'): Promise<{ client: TestClient; history: Record<string, unknown> }> => {
      const client = await v.client(name, { path: '/draw', log });
      const got = await client.expectJson<unknown>(`${name}'s history`, { code: Codes.NO_HISTORY });
      const history = asObject(got);
      if (!history || history.type !== 'history' || !Array.isArray(history.strokes)) throw v.fail({ code: Codes.NO_HISTORY, expected: '{"type":"history","strokes":[…]} first', actual: previewText(JSON.stringify(got)), hint: "On 'connection', send the history first." });
      return { client, history };
    };

    const good = [
      stroke([0, 0], [800, 600], '#ABCDEF', 1),
      stroke([800, 0], [0, 600], '#00ff7f', 50),
      stroke([12.5, 7.25], [400, 300], '#0a0B0c', 7.5),
    ];

    await v.step(`closes a connection that sends more than ${perSecond} messages in a second with 1008; exactly ${perSecond} is fine, so is the same a second later, and each has its own count`, ['R11'], async () => {
      const { client: polite } = await connect('polite P');
      const { client: second } = await connect('second S');
      const { client: y } = await connect('watcher Y');
      // Second S speaks twice first: with one count for the whole server, P's burst then goes over.
      for (let i = 0; i < 2; i++) second.sendJson(stroke([5, 5 + i], [6, 6 + i], '#445566', 2));
      for (let i = 0; i < perSecond; i++) polite.sendJson(stroke([i, 1], [i, 2], '#445566', 2));
      const fromPolite = perSecond + 2;
      let relayed = 0;
      await until(() => {
        relayed = y.pending.length;
        return relayed >= fromPolite || !polite.isOpen || !second.isOpen;
      }, v.timeouts.stepMs);
      await until(() => y.pending.length >= fromPolite, 50);
      relayed = y.pending.length;
      if (relayed < fromPolite || !polite.isOpen || !second.isOpen) {
        const ownCount = relayed - 2;
        const shared = !second.isOpen || (ownCount < perSecond - 1 && !polite.isOpen);
        throw v.fail({
          code: shared ? Codes.LIMIT_SHARED : Codes.POLITE_CLOSED,
          expected: `second S's 2 strokes and polite P's ${perSecond} (exactly MAX_MESSAGES_PER_SECOND) relayed, both still connected`,
          actual: `${relayed} of the ${fromPolite} relayed; ${[polite, second].map((c) => `${c.name} ${c.isOpen ? 'open' : `closed${c.closed ? ` ${describeCloseCode(c.closed.code)}` : ''}`}`).join(', ')}`,
          hint: shared
            ? "Count each connection's messages in variables of its own, made in the 'connection' handler: one page's messages cost no other page anything."
            : 'Close only when the count goes over the limit: count > MAX_MESSAGES_PER_SECOND, not >=. A burst of exactly the limit is fine.',
        });
      }
      // Every message of P's burst has reached the server by now: a new second starts after this.
      const burstRelayedAt = Date.now();
      for (let i = 0; i < fromPolite; i++) await y.nextFrame('a relayed stroke');
      const { client: flood } = await connect('flooder F', 'silent');
      v.note(`flooder F sends ${perSecond + 5} strokes at once`);
      for (const p of browser.pages) p.logFrames = false;
      for (let i = 0; i < perSecond + 5; i++) flood.sendJson(stroke([i, 3], [i, 4], '#778899', 2));
      const close = await flood.expectClose('the connection to close with 1008', { timeoutCode: Codes.FLOOD_NOT_LIMITED, timeoutHint: 'Count each connection\'s messages in the current second; when the count goes over MAX_MESSAGES_PER_SECOND, socket.close(1008, "too many messages").' });
      if (close.code !== 1008) throw v.fail({ code: Codes.FLOOD_WRONG_CLOSE, expected: 'a close with 1008 (policy violation)', actual: `a close ${describeCloseCode(close.code)}`, hint: 'socket.close(1008, "too many messages"): not terminate(), not another code.' });
      if (!polite.isOpen || !second.isOpen || !y.isOpen) throw v.fail({ code: Codes.LIMIT_SHARED, expected: 'the other connections still open after the flood', actual: 'one of them closed', hint: 'Close only the connection that flooded.' });

      // The count starts over each second: P's same burst again, a second after the first, is fine.
      await delay(Math.max(0, burstRelayedAt + 1100 - Date.now()));
      v.note(`a second later, polite P sends ${perSecond} strokes at once again`);
      const AGAIN = '#556677';
      for (let i = 0; i < perSecond; i++) polite.sendJson(stroke([i, 7], [i, 8], AGAIN, 2));
      const isAgain = (frame: Frame) => jsonOf(frame)?.color === AGAIN;
      await until(() => y.pending.filter(isAgain).length >= perSecond || !polite.isOpen, v.timeouts.stepMs);
      const again = y.pending.filter(isAgain).length;
      if (again < perSecond || !polite.isOpen) {
        throw v.fail({
          code: Codes.WINDOW_NEVER_RESETS,
          expected: `polite P's second burst of ${perSecond}, sent more than a second after its first, relayed, and P still connected`,
          actual: `${again} of them relayed; polite P ${polite.isOpen ? 'open' : `closed${polite.closed ? ` ${describeCloseCode(polite.closed.code)}` : ''}`}`,
          hint: 'Start counting again each second: when 1000 ms have passed since windowStart, set windowStart = now and count = 0, before you count this message.',
        });
      }
      // The pages have received the burst (the last of it, at least) before their frames are shown again.
      await until(() => a.received.some((f) => isDeepStrictEqual(jsonOf(f), stroke([perSecond - 1, 7], [perSecond - 1, 8], AGAIN, 2))), v.timeouts.stepMs);
      // The new window counts too: a connection over a second old that goes over the limit is closed.
      v.note(`polite P, connected over a second ago, sends 5 more in the same second`);
      for (let i = 0; i < 5; i++) polite.sendJson(stroke([i, 9], [i, 10], AGAIN, 2));
      const over = await polite.expectClose('the connection to close with 1008', {
        timeoutCode: Codes.FLOOD_NOT_LIMITED,
        timeoutHint: 'Keep counting in every window, not only in a connection\'s first second: when a second has passed, start a new window (windowStart = now, count = 0) and go on counting in it.',
      });
      if (over.code !== 1008) throw v.fail({ code: Codes.FLOOD_WRONG_CLOSE, expected: 'a close with 1008 (policy violation)', actual: `a close ${describeCloseCode(over.code)}`, hint: 'socket.close(1008, "too many messages"): not terminate(), not another code.' });
      for (const p of browser.pages) p.logFrames = true;
    });

    await v.blameDeath(
      () =>
    v.step('drops junk, invalid strokes, binary and null, keeps the sender connected, and relays the valid ones between them', ['R9', 'R5', 'R8'], async () => {
      const { client: x } = await connect('hostile X');
      const { client: y } = await connect('watcher Y');
      // A clean board first: the history then holds what this step sends, and nothing before it.
      const aFrames = a.received.length;
      x.sendJson({ type: 'clear' });
      const cleared = await y.expectJson<unknown>('{"type":"clear"}', { code: Codes.CLEAR_NOT_RELAYED, timeoutCode: Codes.CLEAR_NOT_RELAYED });
      if (!isDeepStrictEqual(cleared, { type: 'clear' })) throw v.fail({ code: Codes.CLEAR_NOT_RELAYED, expected: '{"type":"clear"}', actual: previewText(JSON.stringify(cleared)), hint: 'On a clear message, send {"type":"clear"} to every other open client.' });
      await until(() => a.received.slice(aFrames).some((f) => isDeepStrictEqual(jsonOf(f), { type: 'clear' })), v.timeouts.stepMs);
      const aBefore = strokesIn(a.received).length;
      const invalid: Array<[string, () => void]> = [
        ['not JSON', () => x.sendText('{"type":"stroke",')],
        ['null', () => x.sendText('null')],
        ['a number', () => x.sendText('42')],
        ['a binary frame', () => x.sendBinary(Buffer.from(JSON.stringify(good[0])))],
        ['another type', () => x.sendJson({ ...good[0], type: 'line' })],
        ['x = -1', () => x.sendJson(stroke([-1, 10], [10, 10], '#112233', 4))],
        ['x = 801', () => x.sendJson(stroke([10, 10], [801, 10], '#112233', 4))],
        ['y = 601', () => x.sendJson(stroke([10, 601], [10, 10], '#112233', 4))],
        ['y = -1', () => x.sendJson(stroke([10, 10], [10, -1], '#112233', 4))],
        ['a string coordinate', () => x.sendJson({ ...good[0], from: ['10', 10] })],
        ['a null coordinate', () => x.sendJson({ ...good[0], to: [10, null] })],
        ['three coordinates', () => x.sendJson({ ...good[0], to: [10, 10, 10] })],
        ['from missing', () => x.sendJson({ type: 'stroke', to: [1, 1], color: '#112233', width: 4 })],
        ['a colour name', () => x.sendJson({ ...good[0], color: 'red' })],
        ['a three-digit colour', () => x.sendJson({ ...good[0], color: '#abc' })],
        ['a colour with more after it', () => x.sendJson({ ...good[0], color: '#abcdef0' })],
        ['a colour with a space before it', () => x.sendJson({ ...good[0], color: ' #abcdef' })],
        ['a colour in an array', () => x.sendJson({ ...good[0], color: ['#abcdef'] })],
        ['width 0', () => x.sendJson({ ...good[0], width: 0 })],
        ['width 51', () => x.sendJson({ ...good[0], width: 51 })],
        ['width "4"', () => x.sendJson({ ...good[0], width: '4' })],
      ];
      const send = (i: number) => {
        const [what, act] = invalid[i]!;
        v.note(`hostile X sends ${what}`);
        act();
      };
      const expectExactly = async (want: Stroke, after: string) => {
        await until(() => y.pending.length > 0 || !x.isOpen, v.timeouts.stepMs);
        if (!x.isOpen && y.pending.length === 0) throw v.fail({ code: Codes.CLOSED_ON_INVALID, expected: `hostile X still connected, and its valid stroke sent ${after} relayed`, actual: x.closed ? `hostile X closed ${describeCloseCode(x.closed.code)}${x.closed.reason ? ` reason ${JSON.stringify(x.closed.reason)}` : ''}` : 'hostile X closed', hint: 'Drop an invalid message with return; do not close the connection for it: the next message may be fine.' });
        const got = await y.expectJson<unknown>(`the valid stroke hostile X sent ${after}`, { code: Codes.INVALID_RELAYED, timeoutCode: Codes.VALID_REFUSED, timeoutHint: 'Check what a valid stroke is: every coordinate a number from 0 to 800 (x) or 600 (y), the edges included; a colour in upper or lower case hex; a width from 1 to 50, fractions too.' });
        const gotObject = asObject(got);
        const stripped = gotObject && Object.fromEntries(Object.keys(want).map((k) => [k, gotObject[k]]));
        if (!isDeepStrictEqual(got, want) && isDeepStrictEqual(stripped, want)) throw v.fail({ code: Codes.RELAYED_WRONG, expected: `${JSON.stringify(want)}: the five fields only`, actual: previewText(JSON.stringify(got)), hint: 'Relay a stroke rebuilt from its five fields, { type, from, to, color, width }, never the message as it came: anything else in it would reach every page.' });
        if (!isDeepStrictEqual(got, want)) throw v.fail({ code: Codes.INVALID_RELAYED, expected: `${JSON.stringify(want)}, the only valid message hostile X sent ${after}`, actual: previewText(JSON.stringify(got)), hint: 'Check every field before you relay: Array.isArray(from) && from.length === 2, typeof x === "number" and in range, /^#[0-9a-fA-F]{6}$/.test(color), typeof width === "number" && width >= 1 && width <= 50. Relay nothing else.' });
      };
      {
        {
          send(0);
          x.sendJson(good[0]);
          await expectExactly(good[0]!, 'first');
          for (let i = 1; i < 10; i++) send(i);
          x.sendJson({ ...good[1], id: 7, user: 'mallory' });
          await expectExactly(good[1]!, 'in the middle (its extra fields stripped)');
          for (let i = 10; i < invalid.length; i++) send(i);
          x.sendJson(good[2]);
          await expectExactly(good[2]!, 'last');
          await y.expectSilence(QUIET_MS, { code: Codes.INVALID_RELAYED, expected: 'nothing more for watcher Y', hint: 'Relay valid strokes only.' });
        }
      }
      if (!x.isOpen) throw v.fail({ code: Codes.CLOSED_ON_INVALID, expected: 'hostile X still connected after invalid messages', actual: x.closed ? `closed ${describeCloseCode(x.closed.code)}` : 'closed', hint: 'Drop an invalid message with return; do not close the connection for it.' });
      const aGot = strokesIn(a.received).slice(aBefore);
      if (!isDeepStrictEqual(aGot, good)) throw v.fail({ code: Codes.INVALID_RELAYED, expected: `page A to receive the 3 valid strokes and nothing else`, actual: previewText(JSON.stringify(aGot)), hint: 'Relay valid strokes only, to every open client but the sender.' });
      const { client: z, history } = await connect('late client Z');
      if (!isDeepStrictEqual(history.strokes, good.slice(-limit))) throw v.fail({ code: Codes.INVALID_KEPT, expected: `history to hold the valid strokes only: ${JSON.stringify(good.slice(-limit))}`, actual: previewText(JSON.stringify(history.strokes)), hint: 'Keep a stroke in the history only once it is valid, and keep the five fields, not the message as it came.' });
      z.close();
      x.close();
      y.close();
    }),
      () => ({ code: Codes.CRASHED_ON_INVALID, when: 'after hostile X sent an invalid message', hint: 'Wrap JSON.parse in try/catch, check the value is an object and not null before reading .type, and check isBinary: a message that crashes your server ends the board for everyone.' }),
    );

    await v.step(`keeps only the last ${limit} strokes in the history, dropping the oldest`, ['R7'], async () => {
      const { client: x } = await connect('artist X');
      const many = Array.from({ length: limit + 3 }, (_, i) => stroke([i, i], [i + 10, i + 20], '#123456', 1 + i));
      for (const s of many) x.sendJson(s);
      const { client: w } = await connect('watcher W');
      void w;
      await until(() => strokesIn(a.received).some((m) => isDeepStrictEqual(m, many[many.length - 1])), v.timeouts.stepMs);
      const { client: z, history } = await connect('late client Z');
      const want = [...good, ...many].slice(-limit);
      if (!isDeepStrictEqual(history.strokes, want)) {
        const got = Array.isArray(history.strokes) ? history.strokes : [];
        throw v.fail({ code: got.length > limit ? Codes.HISTORY_UNBOUNDED : Codes.HISTORY_WRONG, expected: `the last ${limit} strokes (HISTORY_LIMIT), oldest first: widths ${want.map((s) => s.width).join(', ')}`, actual: `${got.length} strokes${got.length ? `, widths ${got.map((s) => asObject(s)?.width).join(', ')}` : ''}`, hint: 'After each push, while history.length > HISTORY_LIMIT, history.shift(): the oldest goes, the newest stays.' });
      }
      x.close();
      w.close();
      z.close();
    });

    // A server without an 'error' listener dies of the message too big: that is this rule's failure, not a crash of no rule.
    await v.blameDeath(
      () =>
        v.step(`closes a connection that sends more than ${maxBytes} bytes with 1009; the others stay`, ['R10'], async () => {
        const { client: fits } = await connect('full-size X');
        const { client: y } = await connect('watcher Y');
        const base = JSON.stringify(good[0]);
        const exact = base.slice(0, -1) + ' '.repeat(maxBytes - Buffer.byteLength(base)) + '}';
        v.note(`full-size X sends a valid stroke padded with spaces to exactly ${maxBytes} bytes`);
        fits.sendText(exact);
        const got = await y.expectJson<unknown>('the full-size stroke, relayed', { timeoutCode: Codes.PAYLOAD_LIMIT_TOO_SMALL, timeoutHint: 'maxPayload is the largest message allowed, in bytes: Number(process.env.MAX_MESSAGE_BYTES), not one less.' });
        if (!isDeepStrictEqual(got, good[0]) || !fits.isOpen) throw v.fail({ code: Codes.PAYLOAD_LIMIT_TOO_SMALL, expected: `a message of exactly ${maxBytes} bytes read and relayed, its sender still connected`, actual: `${previewText(JSON.stringify(got))}${fits.isOpen ? '' : ', and its sender closed'}`, hint: 'maxPayload: Number(process.env.MAX_MESSAGE_BYTES): a message of that many bytes is allowed; one more is not.' });
        const { client: big } = await connect('oversized X');
        big.sendText(exact + ' ');
        const close = await big.expectClose('the connection to close with 1009', { timeoutCode: Codes.PAYLOAD_NOT_LIMITED, timeoutHint: 'new WebSocketServer({ server, path: "/draw", maxPayload: Number(process.env.MAX_MESSAGE_BYTES) }): ws then closes with 1009 itself.' });
        if (close.code !== 1009) throw v.fail({ code: Codes.PAYLOAD_NOT_LIMITED, expected: 'a close with 1009 (message too big)', actual: `a close ${describeCloseCode(close.code)}`, hint: 'Let ws refuse it: maxPayload: Number(process.env.MAX_MESSAGE_BYTES).' });
        await y.expectSilence(QUIET_MS, { code: Codes.INVALID_RELAYED, expected: 'nothing for watcher Y', hint: 'Relay nothing of a message that was refused.' });
        if (!y.isOpen || !fits.isOpen) throw v.fail({ code: Codes.PAYLOAD_NOT_LIMITED, expected: 'the other connections still open', actual: 'one of them closed', hint: 'Let maxPayload close only the connection that sent too much.' });
        y.close();
        fits.close();
      }),
      () => ({ code: Codes.CRASHED_ON_OVERSIZED, when: `after oversized X sent ${maxBytes + 1} bytes`, hint: "ws reports a message over maxPayload as an 'error' on that socket, then closes it with 1009; an 'error' nobody listens to crashes the process. socket.on('error', () => {}) in the connection handler." }),
    );

    await v.blameDeath(
      () =>
        v.step('relays a binary stroke of 16 bytes as its JSON stroke and keeps it; drops any other binary', ['R13', 'R9'], async () => {
          const { client: x } = await connect('binary artist X');
          const { client: y } = await connect('watcher Y');
          const aBefore = strokesIn(a.received).length;
          // The edges of every field, and colour bytes under 16, whose hex needs its leading 0.
          const first = stroke([800, 600], [0, 1], '#05a0ff', 50);
          const last = stroke([258, 513], [772, 3], '#0a0b0c', 1);
          const invalid: Array<[string, Buffer]> = [
            ['5 bytes (a stroke cut short)', strokeBytes(first, { length: 5 })],
            ['15 bytes', strokeBytes(first, { length: 15 })],
            ['17 bytes', strokeBytes(first, { length: 17 })],
            ['a type byte of 2', strokeBytes(first, { type: 2 })],
            ['x = 801', strokeBytes(stroke([801, 10], [10, 10], '#112233', 4))],
            ['y = 601', strokeBytes(stroke([10, 10], [10, 601], '#112233', 4))],
            ['width 0', strokeBytes(stroke([10, 10], [20, 20], '#112233', 0))],
            ['width 51', strokeBytes(stroke([10, 10], [20, 20], '#112233', 51))],
          ];
          const binaryHint = 'For a binary message: exactly 16 bytes and data[0] === 1, then data.readUInt16BE(1), (3), (5) and (7) for the coordinates (big-endian: not LE, and not a DataView over data.buffer, which starts at someone else\'s bytes), data[9], data[10] and data[11] as two hex digits each (padStart(2, "0")), data[12] the width; then the same checks as a JSON stroke.';
          const expectStroke = async (want: Stroke, which: string) => {
            await until(() => y.pending.length > 0 || !x.isOpen, v.timeouts.stepMs);
            if (!x.isOpen && y.pending.length === 0) throw v.fail({ code: Codes.CLOSED_ON_INVALID, expected: `binary artist X still connected, and its ${which} binary stroke relayed`, actual: x.closed ? `binary artist X closed ${describeCloseCode(x.closed.code)}` : 'binary artist X closed', hint: 'Drop binary that is not a stroke with return; do not close the connection for it.' });
            const frame = await y.nextFrame(`the ${which} binary stroke, as JSON`, { timeoutCode: Codes.BINARY_NOT_RELAYED, timeoutHint: binaryHint });
            if (frame.kind !== 'text') throw v.fail({ code: Codes.BINARY_RELAYED_WRONG, expected: `${JSON.stringify(want)}, as text`, actual: `a ${frame.kind} frame of ${frame.data.length} bytes`, hint: 'Send the others the JSON stroke the bytes stand for, JSON.stringify({ type, from, to, color, width }): every page then reads one form only.' });
            const got = jsonOf(frame);
            if (!isDeepStrictEqual(got, want)) throw v.fail({ code: Codes.BINARY_RELAYED_WRONG, expected: JSON.stringify(want), actual: previewText(text(frame)), hint: binaryHint });
          };
          v.note(`binary artist X sends ${JSON.stringify(first)} as 16 bytes`);
          x.sendBinary(strokeBytes(first));
          await expectStroke(first, 'first');
          for (const [what, bytes] of invalid) {
            v.note(`binary artist X sends ${what}`);
            x.sendBinary(bytes);
          }
          v.note(`binary artist X sends ${JSON.stringify(last)} as 16 bytes`);
          x.sendBinary(strokeBytes(last));
          await until(() => y.pending.length > 0 || !x.isOpen, v.timeouts.stepMs);
          const next = y.pending[0];
          if (next && !isDeepStrictEqual(jsonOf(next), last)) throw v.fail({ code: Codes.BINARY_INVALID_RELAYED, expected: `${JSON.stringify(last)}, the only valid binary stroke sent after the first`, actual: previewText(next.kind === 'text' ? text(next) : `a ${next.kind} frame of ${next.data.length} bytes`), hint: `Drop binary that is not a stroke: a length other than 16, a type byte other than 1, coordinates past 800 or 600, a width outside 1 to 50. ${binaryHint}` });
          await expectStroke(last, 'last');
          await y.expectSilence(QUIET_MS, { code: Codes.BINARY_INVALID_RELAYED, expected: 'nothing more for watcher Y', hint: 'Relay valid strokes only, binary ones too.' });
          if (!x.isOpen) throw v.fail({ code: Codes.CLOSED_ON_INVALID, expected: 'binary artist X still connected', actual: x.closed ? `closed ${describeCloseCode(x.closed.code)}` : 'closed', hint: 'Drop binary that is not a stroke with return; do not close the connection for it.' });
          const reachedA = await until(() => strokesIn(a.received).slice(aBefore).length >= 2, v.timeouts.stepMs);
          const aGot = strokesIn(a.received).slice(aBefore);
          if (!reachedA || !isDeepStrictEqual(aGot, [first, last])) throw v.fail({ code: Codes.BINARY_NOT_RELAYED, expected: 'page A to receive the 2 binary strokes, as JSON', actual: previewText(JSON.stringify(aGot)), hint: 'Send a binary stroke to every open client but its sender, as JSON, as any stroke.' });
          const { client: z, history } = await connect('late client Z');
          const kept = Array.isArray(history.strokes) ? history.strokes.slice(-2) : [];
          if (!isDeepStrictEqual(kept, [first, last])) throw v.fail({ code: Codes.BINARY_NOT_KEPT, expected: `the history to end with the 2 binary strokes, as JSON: ${JSON.stringify([first, last])}`, actual: previewText(JSON.stringify(kept)), hint: 'Keep a binary stroke in the history as the JSON stroke it stands for, as any stroke: a late page must see it too.' });
          x.close();
          y.close();
          z.close();
        }),
      () => ({ code: Codes.CRASHED_ON_INVALID, when: 'after binary artist X sent a binary message', hint: 'Check a binary message\'s length before reading it: data.readUInt16BE(7) on 15 bytes throws, and a throw in a message handler ends the board for everyone.' }),
    );

  });

  await v.step('on SIGTERM, closes every connection with 1001 and exits with code 0', ['R12'], async () => {
    const last = await v.client('last client L', { path: '/draw', log: 'silent' });
    const { program } = server;
    const stopping = v.stopServer(server, EXIT_MS);
    const ended = await Promise.race([program.exited.then(() => true), delay(EXIT_MS).then(() => false)]);
    await stopping;
    const exit = program.exitInfo ?? { code: null, signal: null };
    if (!ended || exit.code !== 0 || exit.signal) throw v.fail({ code: Codes.SIGTERM_NOT_HANDLED, expected: 'your server to exit by itself with code 0 on SIGTERM', actual: !ended ? 'it was still running, and had to be killed' : exit.signal ? `it was killed by ${exit.signal}: nothing listened for the signal` : `it exited with code ${exit.code}`, hint: "process.on('SIGTERM', () => { for (const c of wss.clients) c.close(1001); wss.close(); server.close(() => process.exit(0)); })." });
    await until(() => last.closed !== undefined, v.timeouts.stepMs);
    if (last.closed?.code !== 1001) throw v.fail({ code: Codes.SIGTERM_NO_1001, expected: 'last client L closed with 1001 (going away)', actual: last.closed ? `a close ${describeCloseCode(last.closed.code)}` : 'no close', hint: 'Close each client with client.close(1001, "server shutting down") before the server.' });
  });
}) satisfies LessonVerifier;

