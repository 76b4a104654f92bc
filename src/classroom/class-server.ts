import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { lessons } from '../lessons.ts';
import { FolderStore, type ClassEvent, type ClassStore } from './class-store.ts';
import { RedisStore } from './redis-store.ts';
import { classCsv } from './csv.ts';
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from './dashboard-page.ts';
import { loadFailureGuide } from './failure-guide.ts';
import { ClassFeed } from './feed.ts';
import { HttpError, readJson, requestUrl, sameHost, send } from './http-body.ts';
import { LearnerRegistry, type LearnerView } from './learner-registry.ts';
import { parseName } from './names.ts';
import { RateLimit } from './rate-limit.ts';
import { parseReport } from './report-input.ts';
import { newClassCode, newLearner, newTeacherKey, sameSecret } from './secrets.ts';
import { WrongSecretLimit } from './wrong-secret-limit.ts';

export { newClassCode, newTeacherKey } from './secrets.ts';

/** The largest request body accepted (join or report); a verdict report is a few hundred bytes. */
export const MAX_BODY_BYTES = 4096;
/** Reports per learner per window; a learner verifying on every save stays well below it. */
export const REPORTS_PER_WINDOW = 20;
export const REPORT_WINDOW_MS = 10_000;
/** A bound on the class, so a script cannot fill the teacher's memory with joins. */
export const MAX_LEARNERS = 2000;
/** Open connections at most: every learner and dashboard at once, with room to spare, but not a flood. */
export const MAX_CONNECTIONS = 4000;
/** Learners joining from one address at most: a lab machine shared by a few, not a script filling the class. */
export const JOINS_PER_ADDRESS = 20;
/** A request's headers must arrive within this, and the whole request within twice it: a slow sender cannot hold a socket. */
export const HEADERS_TIMEOUT_MS = 5000;

/** Settings of a class server. */
export interface ClassServerOptions {
  /** 0 lets the system choose a free port. */
  port?: number;
  /** The interface to listen on; learners on other machines need '0.0.0.0' (the default). */
  host?: string;
  /** Minutes without a pass, while failing, after which a learner counts as stuck. */
  stuckAfterMinutes?: number;
  /** The class code, for learners; a random one when not given (tests pass their own). Ignored when a class is resumed. */
  code?: string;
  /** The teacher's key, for the feed and the export; a random one when not given. Ignored when a class is resumed. */
  teacherKey?: string;
  /** A folder to keep the class in: a class found there is resumed. Without it the class lives in memory only. */
  dataDir?: string;
  /** A Redis URL to keep the class in instead, shared by every class server given the same URL. */
  redisUrl?: string;
  /** Bounds for slow and greedy clients; the defaults suit a class, tests and benchmarks lower or raise them. */
  limits?: {
    /** Bytes a dashboard may fall behind before it is dropped (default MAX_FEED_BUFFER). */
    feedBuffer?: number;
    /** How often dashboards are pinged (default FEED_PING_MS). */
    feedPingMs?: number;
    /** Open connections at most (default MAX_CONNECTIONS). */
    connections?: number;
    /** Learners joining from one address (default JOINS_PER_ADDRESS). */
    joinsPerAddress?: number;
  };
  now?: () => number;
}

/** Why a request was refused for its secret, for the teacher's log. */
export interface Refusal {
  address: string;
  /** What was wrong. */
  what: 'class code' | 'teacher key' | 'learner token';
  /** Wrong secrets from this address within the window, this one included. */
  count: number;
  /** True once the address is refused with 429 for the rest of the window. */
  blocked: boolean;
}

/** A running class server. */
export interface ClassServer {
  code: string;
  /** The teacher's key: the feed, the dashboard's data and the export need it; learners never see it. */
  teacherKey: string;
  port: number;
  registry: LearnerRegistry;
  /** True when the class was found in `dataDir` and resumed. */
  resumed: boolean;
  /** How many dashboards are connected to the feed now. */
  dashboards(): number;
  /** Emitted for each learner joining, for the teacher's terminal. */
  onJoin(listener: (name: string) => void): void;
  /** Emitted for wrong codes, keys and tokens, for the teacher's terminal. */
  onRefusal(listener: (refusal: Refusal) => void): void;
  close(): Promise<void>;
}

/** The class from the store, or a new one kept there (or the one another class server created there at the same moment). */
async function openClass(store: ClassStore | undefined, options: ClassServerOptions, now: () => number) {
  const found = await store?.load();
  if (found) return { ...found.identity, events: found.events, resumed: true };
  const ours = { code: options.code ?? newClassCode(), teacherKey: options.teacherKey ?? newTeacherKey(), createdAt: now() };
  const identity = (await store?.create(ours)) ?? ours;
  const theirs = identity.teacherKey !== ours.teacherKey;
  return { ...identity, events: theirs ? ((await store?.shared?.since(0)) ?? []) : [], resumed: theirs };
}

/**
 * Starts a class server: the dashboard, the join and report endpoints and the dashboard's live feed, on
 * one HTTP server and one port, with ws attached to it — as lesson 01 teaches.
 */
export async function startClassServer(options: ClassServerOptions = {}): Promise<ClassServer> {
  const now = options.now ?? Date.now;
  const stuckAfterMs = (options.stuckAfterMinutes ?? 10) * 60_000;
  const store: ClassStore | undefined = options.redisUrl ? new RedisStore(options.redisUrl) : options.dataDir ? new FolderStore(options.dataDir) : undefined;
  let opened;
  try {
    opened = await openClass(store, options, now);
  } catch (error) {
    await store?.close();
    throw error;
  }
  const { code, teacherKey, events, resumed } = opened;
  const registry = new LearnerRegistry({ repeatedFailures: 3, noPassMs: stuckAfterMs }, now);
  // How many of the store's changes this server has applied: with a shared store, the rest are read from there.
  let applied = 0;
  const limit = new RateLimit(REPORTS_PER_WINDOW, REPORT_WINDOW_MS, now);
  const wrong = new WrongSecretLimit(undefined, undefined, now);
  const slugs = lessons.map((l) => l.slug);
  const joinListeners: Array<(name: string) => void> = [];
  const refusalListeners: Array<(refusal: Refusal) => void> = [];
  // What each failure code means and which hint explains it: sent once with each snapshot.
  const guide = await loadFailureGuide();
  const snapshot = () => ({ type: 'snapshot', lessons: slugs, stuckAfterMs, guide, learners: registry.views(), summary: registry.summary(slugs) });
  const limits = options.limits ?? {};
  const feed = new ClassFeed(snapshot, limits.feedPingMs, limits.feedBuffer);
  const joinsPerAddress = limits.joinsPerAddress ?? JOINS_PER_ADDRESS;
  const joinsFrom = new Map<string, number>();

  /** Refuses an address that sent too many wrong secrets, then checks this one; a wrong one is counted and logged. */
  function check(address: string, given: unknown, expected: string, what: Refusal['what'], status: number): void {
    if (wrong.blocked(address)) {
      throw new HttpError(429, `Too many wrong codes from your address; try again in ${wrong.retryAfterSeconds(address)} s.`, {
        'Retry-After': String(wrong.retryAfterSeconds(address)),
      });
    }
    if (!sameSecret(given, expected)) refuse(address, what, status);
  }

  /** Counts a wrong secret against its address, tells the teacher, and refuses the request. */
  function refuse(address: string, what: Refusal['what'], status: number): never {
    const count = wrong.fail(address);
    for (const listener of refusalListeners) listener({ address, what, count, blocked: count >= wrong.perWindow });
    throw new HttpError(status, what === 'learner token' ? 'Unknown learner: run wsw join again.' : `Wrong ${what}.`);
  }

  /** Applies one change to the class in memory and puts it on this server's dashboards' feeds. */
  function apply(event: ClassEvent): void {
    if (event.type === 'join') {
      const joined = registry.join(event.name, event);
      broadcast({ type: 'learners', learners: [registry.viewOf(joined.id)!], summary: registry.summary(slugs) });
      for (const listener of joinListeners) listener(event.name);
      return;
    }
    const view = registry.record(event.token, event.report);
    if (view && view !== 'duplicate') {
      broadcast({ type: 'learners', learners: [view], summary: registry.summary(slugs), reportId: event.report.id, receivedAt: now() });
    }
  }

  // Changes other class servers stored: read in the store's order, one reading at a time.
  let reading: Promise<void> = Promise.resolve();
  function catchUp(): Promise<void> {
    const shared = store?.shared;
    if (!shared) return reading;
    reading = reading
      .then(async () => {
        for (const event of await shared.since(applied)) {
          applied += 1;
          apply(event);
        }
      })
      .catch(() => {});
    return reading;
  }

  /**
   * Keeps a change, then applies it: with a store, nothing is acknowledged before it would survive a
   * crash. With a shared store the change is applied in the order the store gave it, among the other
   * servers' changes, so every server's class is the same.
   */
  async function commit(event: ClassEvent): Promise<void> {
    try {
      await store?.append(event);
    } catch (error) {
      throw new HttpError(503, `The class could not be saved (${(error as Error).message}); try again.`);
    }
    if (store?.shared) await catchUp();
    else apply(event);
  }

  // Timeouts are checked every second rather than every 30: a slow sender is cut close to its bound.
  const server = http.createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      // After a refused body the rest of the upload is not wanted: close instead of reading it.
      if (status === 413) res.setHeader('Connection', 'close');
      if (error instanceof HttpError && !res.headersSent) for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
      send(res, status, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = 2 * HEADERS_TIMEOUT_MS;
  server.maxConnections = limits.connections ?? MAX_CONNECTIONS;
  // A reset or a write to a socket the client already closed: the response is simply lost, never the process.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    if (socket.writable && !socket.destroyed) socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroy();
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.on('error', () => res.destroy());
    const url = requestUrl(req);
    if (!url) throw new HttpError(400, 'Not a path.');
    const address = req.socket.remoteAddress ?? 'unknown';
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /') {
      res.setHeader('Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'");
      // The teacher key is in the address: do not hand it to other sites.
      res.setHeader('Referrer-Policy', 'no-referrer');
      return send(res, 200, DASHBOARD_HTML, 'text/html; charset=utf-8');
    }
    if (route === 'GET /dashboard.js') return send(res, 200, DASHBOARD_JS, 'text/javascript; charset=utf-8');
    if (route === 'GET /dashboard.css') return send(res, 200, DASHBOARD_CSS, 'text/css; charset=utf-8');
    if (route === 'POST /join') {
      const body = (await readJson(req, MAX_BODY_BYTES)) as Record<string, unknown> | null;
      check(address, body?.code, code, 'class code', 403);
      const name = parseName(body?.name);
      if (registry.size >= MAX_LEARNERS) throw new HttpError(503, 'The class is full.');
      const from = joinsFrom.get(address) ?? 0;
      if (from >= joinsPerAddress) throw new HttpError(429, `${from} learners have already joined from your address; ask your teacher.`);
      joinsFrom.set(address, from + 1);
      const joined = newLearner();
      await commit({ type: 'join', name, ...joined, joinedAt: now() });
      return send(res, 201, joined);
    }
    if (route === 'POST /report') {
      // Every report carries the class code as well as the learner's token: the code says "this class",
      // the token says "this learner", and neither alone is enough.
      check(address, req.headers['x-class-code'], code, 'class code', 403);
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      // A learner who joined through another class server may not have reached this one yet: look there first.
      if (!registry.knows(token)) await catchUp();
      if (!registry.knows(token)) refuse(address, 'learner token', 401);
      // Counted before the body is read, so a flood costs the server as little as possible.
      if (!limit.take(token)) {
        throw new HttpError(429, 'Too many reports; they are kept and sent later.', { 'Retry-After': String(Math.ceil(REPORT_WINDOW_MS / 1000)) });
      }
      const report = parseReport(await readJson(req, MAX_BODY_BYTES));
      // A report the outbox sent again is acknowledged without being kept twice. The learner's clock is
      // capped at this server's now before it is kept, so every replay of the class gives the same times.
      if (!registry.hasSeen(token, report.id)) await commit({ type: 'report', token, report: { ...report, at: Math.min(report.at, now()) } });
      return send(res, 200, { ok: true });
    }
    if (route === 'GET /class') {
      // The dashboard's data without the feed: what a dashboard asks when its feed was refused, to tell
      // "the server is down" from "this key no longer opens the class".
      check(address, url.searchParams.get('key'), teacherKey, 'teacher key', 401);
      return send(res, 200, snapshot());
    }
    if (route === 'GET /learner') {
      // One learner's latest verdicts for the teacher: what was reported, never the learner's code.
      check(address, url.searchParams.get('key'), teacherKey, 'teacher key', 401);
      const recent = registry.recentOf(url.searchParams.get('id') ?? '');
      if (!recent) throw new HttpError(404, 'No such learner.');
      return send(res, 200, { recent });
    }
    if (route === 'GET /export.csv') {
      check(address, url.searchParams.get('key'), teacherKey, 'teacher key', 403);
      res.setHeader('Content-Disposition', 'attachment; filename="class-progress.csv"');
      return send(res, 200, classCsv(registry.views(), slugs), 'text/csv; charset=utf-8');
    }
    throw new HttpError(404, 'Not found.');
  }

  /** Refuses an upgrade with a bare HTTP answer; a client that already left is simply dropped. */
  function refuseUpgrade(socket: Duplex, status: number, headers: Record<string, string> = {}): void {
    if (!socket.writable) return void socket.destroy();
    const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
    // A client that never reads its refusal must not keep the socket open.
    setTimeout(() => socket.destroy(), HEADERS_TIMEOUT_MS).unref();
  }

  // The feed is for the teacher: without the teacher key the upgrade is refused before any WebSocket exists.
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    const url = requestUrl(req);
    if (!url || url.pathname !== '/feed') return refuseUpgrade(socket, 404);
    // A browser always says which page opened the socket: only the dashboard's own may (another site
    // holding a stolen key is still refused). Clients that are not browsers send no Origin.
    const origin = req.headers.origin;
    if (origin !== undefined && !sameHost(origin, req.headers.host)) return refuseUpgrade(socket, 403);
    try {
      check(req.socket.remoteAddress ?? 'unknown', url.searchParams.get('key'), teacherKey, 'teacher key', 401);
    } catch (error) {
      const refused = error as HttpError;
      return refuseUpgrade(socket, refused.status, refused.headers);
    }
    feed.accept(req, socket, head);
  });

  // What each learner's stuck marker was when last sent, so the timer below sends only changes.
  const lastStuck = new Map<string, LearnerView['stuck']>();
  function broadcast(message: { type: string; learners: LearnerView[]; [field: string]: unknown }): void {
    for (const v of message.learners) lastStuck.set(v.id, v.stuck);
    feed.broadcast(message);
  }

  // "No pass for M minutes" changes with time alone: look again regularly and send only what changed.
  const stuckTimer = setInterval(() => {
    const changed = registry.views().filter((v) => (lastStuck.get(v.id) ?? null) !== v.stuck);
    if (changed.length) broadcast({ type: 'learners', learners: changed, summary: registry.summary(slugs) });
  }, Math.min(5000, Math.max(50, stuckAfterMs / 10)));
  stuckTimer.unref();

  // The class as it was kept, before anyone can connect: no dashboard or listener hears the replay.
  for (const event of events) apply(event);
  applied = events.length;
  store?.shared?.onAppend(() => void catchUp());

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '0.0.0.0', () => resolve());
    });
  } catch (error) {
    clearInterval(stuckTimer);
    feed.close();
    await store?.close();
    throw error;
  }
  // From here on an error on the listening socket is not worth the class: it is ignored, not thrown.
  server.on('error', () => {});

  return {
    code,
    teacherKey,
    port: (server.address() as AddressInfo).port,
    registry,
    resumed,
    dashboards: () => feed.size,
    onJoin: (listener) => joinListeners.push(listener),
    onRefusal: (listener) => refusalListeners.push(listener),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(stuckTimer);
        feed.close();
        server.closeAllConnections();
        server.close(() => void (store?.close() ?? Promise.resolve()).then(resolve, resolve));
      }),
  };
}
