import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { lessons } from '../lessons.ts';
import { toCsv } from './csv.ts';
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from './dashboard-page.ts';
import { LearnerRegistry, type LearnerView, type Report } from './learner-registry.ts';
import { RateLimit } from './rate-limit.ts';

/** The largest request body accepted (join or report); a verdict report is a few hundred bytes. */
export const MAX_BODY_BYTES = 4096;
/** Reports per learner per window; a learner verifying on every save stays well below it. */
export const REPORTS_PER_WINDOW = 20;
export const REPORT_WINDOW_MS = 10_000;
/** A bound on the class, so a script cannot fill the teacher's memory with joins. */
export const MAX_LEARNERS = 2000;
/** A dashboard this far behind is disconnected (it reconnects and gets a fresh snapshot) rather than buffered forever. */
const MAX_FEED_BUFFER = 8 * 1024 * 1024;

/** Settings of a class server. */
export interface ClassServerOptions {
  /** 0 lets the system choose a free port. */
  port?: number;
  /** The interface to listen on; learners on other machines need '0.0.0.0' (the default). */
  host?: string;
  /** Minutes without a pass, while failing, after which a learner counts as stuck. */
  stuckAfterMinutes?: number;
  /** The class code; a random one when not given (tests pass their own). */
  code?: string;
  now?: () => number;
}

/** A running class server. */
export interface ClassServer {
  code: string;
  port: number;
  registry: LearnerRegistry;
  /** Emitted for each learner joining, for the teacher's terminal. */
  onJoin(listener: (name: string) => void): void;
  close(): Promise<void>;
}

/** A class code: 10 base32 characters from crypto.randomBytes (50 bits), easy to read aloud and type. */
export function newClassCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...crypto.randomBytes(10)].map((b) => alphabet[b % 32]).join('');
}

/** Compares secrets in constant time, so response timing says nothing about how much of a guess was right. */
function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Reads a JSON body of at most MAX_BODY_BYTES; larger bodies are refused as they arrive, not after. */
function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > MAX_BODY_BYTES) return reject(new HttpError(413, `At most ${MAX_BODY_BYTES} bytes.`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        reject(new HttpError(413, `At most ${MAX_BODY_BYTES} bytes.`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'The body must be JSON.'));
      }
    });
    req.on('error', reject);
  });
}

const SLUGS = new Set(lessons.map((l) => l.slug));

/** Checks a report from outside field by field: anything else in it is dropped, never stored. */
function parseReport(value: unknown): Report {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'A report is a JSON object.');
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(v.id)) throw new HttpError(400, 'id: 8 to 64 letters, digits, _ or -.');
  if (typeof v.lesson !== 'string' || !SLUGS.has(v.lesson)) throw new HttpError(400, 'lesson: a lesson slug.');
  if (typeof v.passed !== 'boolean') throw new HttpError(400, 'passed: true or false.');
  if (v.failureCode !== null && (typeof v.failureCode !== 'string' || !/^[A-Z0-9_]{1,64}$/.test(v.failureCode))) {
    throw new HttpError(400, 'failureCode: null or an upper-case code.');
  }
  if (typeof v.durationMs !== 'number' || !Number.isFinite(v.durationMs) || v.durationMs < 0) throw new HttpError(400, 'durationMs: a number.');
  if (typeof v.at !== 'number' || !Number.isFinite(v.at)) throw new HttpError(400, 'at: a time in ms.');
  return { id: v.id, lesson: v.lesson, passed: v.passed, failureCode: v.failureCode as string | null, durationMs: Math.round(v.durationMs), at: v.at };
}

/** A learner's name: trimmed, without control characters, 1 to 40 characters. Shown as text, never as markup. */
function parseName(value: unknown): string {
  const name = typeof value === 'string' ? value.replace(/\p{Cc}/gu, ' ').trim() : '';
  if (!name || [...name].length > 40) throw new HttpError(400, 'name: 1 to 40 characters.');
  return name;
}

function send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json; charset=utf-8'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(text);
}

/**
 * Starts a class server: the dashboard, the join and report endpoints and the dashboard's live feed, on
 * one HTTP server and one port, with ws attached to it — as lesson 01 teaches.
 */
export async function startClassServer(options: ClassServerOptions = {}): Promise<ClassServer> {
  const now = options.now ?? Date.now;
  const code = options.code ?? newClassCode();
  const stuckAfterMs = (options.stuckAfterMinutes ?? 10) * 60_000;
  const registry = new LearnerRegistry({ repeatedFailures: 3, noPassMs: stuckAfterMs }, now);
  const limit = new RateLimit(REPORTS_PER_WINDOW, REPORT_WINDOW_MS, now);
  const slugs = lessons.map((l) => l.slug);
  const joinListeners: Array<(name: string) => void> = [];

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      // After a refused body the rest of the upload is not wanted: close instead of reading it.
      if (status === 413) res.setHeader('Connection', 'close');
      send(res, status, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  const feed = new WebSocketServer({ noServer: true, maxPayload: 1024 });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://class');
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /') {
      res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'");
      // The class code is in the address: do not hand it to other sites.
      res.setHeader('Referrer-Policy', 'no-referrer');
      return send(res, 200, DASHBOARD_HTML, 'text/html; charset=utf-8');
    }
    if (route === 'GET /dashboard.js') return send(res, 200, DASHBOARD_JS, 'text/javascript; charset=utf-8');
    if (route === 'GET /dashboard.css') return send(res, 200, DASHBOARD_CSS, 'text/css; charset=utf-8');
    if (route === 'POST /join') {
      const body = (await readJson(req)) as Record<string, unknown> | null;
      if (!sameSecret(body?.code, code)) throw new HttpError(403, 'Wrong class code.');
      const name = parseName(body?.name);
      if (registry.size >= MAX_LEARNERS) throw new HttpError(503, 'The class is full.');
      const joined = registry.join(name);
      broadcast({ type: 'learners', learners: registry.views().filter((v) => v.id === joined.id), summary: registry.summary(slugs) });
      for (const listener of joinListeners) listener(name);
      return send(res, 201, joined);
    }
    if (route === 'POST /report') {
      // Every report carries the class code as well as the learner's token: the code says "this class",
      // the token says "this learner", and neither alone is enough.
      if (!sameSecret(req.headers['x-class-code'], code)) throw new HttpError(403, 'Wrong class code.');
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!registry.knows(token)) throw new HttpError(401, 'Unknown learner: run wsw join again.');
      // Counted before the body is read, so a flood costs the server as little as possible.
      if (!limit.take(token)) {
        res.setHeader('Retry-After', String(Math.ceil(REPORT_WINDOW_MS / 1000)));
        throw new HttpError(429, 'Too many reports; they are kept and sent later.');
      }
      const report = parseReport(await readJson(req));
      const view = registry.record(token, report);
      if (view && view !== 'duplicate') {
        broadcast({ type: 'learners', learners: [view], summary: registry.summary(slugs), reportId: report.id, receivedAt: now() });
      }
      return send(res, 200, { ok: true });
    }
    if (route === 'GET /export.csv') {
      if (!sameSecret(url.searchParams.get('code'), code)) throw new HttpError(403, 'Wrong class code.');
      const header = ['name', 'current lesson', 'lessons done', 'last lesson', 'last result', 'failure code', 'last verdict at', 'stuck', ...slugs];
      const rows = registry.views().map((v) => [
        v.name,
        v.currentLesson,
        v.lessonsDone.length,
        v.last?.lesson,
        v.last ? (v.last.passed ? 'pass' : 'fail') : '',
        v.last?.failureCode,
        v.last ? new Date(v.last.at).toISOString() : '',
        v.stuck ?? '',
        ...slugs.map((s) => (v.lessonsDone.includes(s) ? 'done' : v.currentLesson === s ? 'trying' : '')),
      ]);
      res.setHeader('Content-Disposition', 'attachment; filename="class-progress.csv"');
      return send(res, 200, toCsv([header, ...rows]), 'text/csv; charset=utf-8');
    }
    throw new HttpError(404, 'Not found.');
  }

  // The feed is for the teacher: without the class code the upgrade is refused before any WebSocket exists.
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://class');
    if (url.pathname !== '/feed' || !sameSecret(url.searchParams.get('code'), code)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    feed.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ type: 'snapshot', lessons: slugs, stuckAfterMs, learners: registry.views(), summary: registry.summary(slugs) }));
    });
  });

  // What each learner's stuck marker was when last sent, so the timer below sends only changes.
  const lastStuck = new Map<string, LearnerView['stuck']>();

  function broadcast(message: { type: string; learners?: LearnerView[]; [field: string]: unknown }): void {
    for (const v of message.learners ?? []) lastStuck.set(v.id, v.stuck);
    const text = JSON.stringify(message);
    for (const client of feed.clients) {
      if (client.readyState !== WebSocket.OPEN) continue;
      // A dashboard that cannot keep up is dropped whole, never sent a feed with holes in it.
      if (client.bufferedAmount > MAX_FEED_BUFFER) client.terminate();
      else client.send(text);
    }
  }

  // "No pass for M minutes" changes with time alone: look again regularly and send only what changed.
  const stuckTimer = setInterval(() => {
    const changed = registry.views().filter((v) => (lastStuck.get(v.id) ?? null) !== v.stuck);
    if (changed.length) broadcast({ type: 'learners', learners: changed, summary: registry.summary(slugs) });
  }, Math.min(5000, Math.max(50, stuckAfterMs / 10)));
  stuckTimer.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '0.0.0.0', () => resolve());
  });

  return {
    code,
    port: (server.address() as AddressInfo).port,
    registry,
    onJoin: (listener) => joinListeners.push(listener),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(stuckTimer);
        for (const client of feed.clients) client.terminate();
        feed.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
