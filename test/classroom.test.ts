// The class server, its rules and the learner's reporter, in-process: every endpoint over real HTTP and ws.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, newClassCode, REPORTS_PER_WINDOW, startClassServer, type ClassServer } from '../src/classroom/class-server.ts';
import { csvCell, toCsv } from '../src/classroom/csv.ts';
import { LearnerRegistry, type LearnerView, type Report } from '../src/classroom/learner-registry.ts';
import { RateLimit } from '../src/classroom/rate-limit.ts';
import { queuedReports, readMembership, reportVerdicts, saveMembership } from '../src/classroom/reporter.ts';
import { asTyped } from '../src/cli/command-name.ts';
import type { Verdict } from '../verify/harness/run-verifier.ts';

interface FeedMessage {
  type: string;
  learners?: LearnerView[];
  reportId?: string;
  summary?: Array<{ lesson: string; passed: number; trying: number; stuck: number }>;
}

/** A dashboard's feed as a test sees it: every message kept, and a way to wait for one. */
class Feed {
  readonly messages: FeedMessage[] = [];
  private readonly listeners = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)) as FeedMessage);
      for (const listener of this.listeners) listener();
    });
  }

  static open(url: string): Promise<Feed> {
    const ws = new WebSocket(url);
    const feed = new Feed(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(feed));
      ws.once('error', reject);
    });
  }

  /** Resolves with the first value `find` returns, checked after each message; fails after `ms`. */
  until<T>(find: () => T | undefined, ms = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found === undefined) return;
        this.listeners.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`feed: not seen within ${ms} ms; last message: ${JSON.stringify(this.messages.at(-1))}`));
      }, ms);
      this.listeners.add(check);
      check();
    });
  }

  /** The latest view of a learner by name. */
  learner(name: string): LearnerView | undefined {
    for (const message of [...this.messages].reverse()) {
      const found = message.learners?.find((l) => l.name === name);
      if (found) return found;
    }
    return undefined;
  }
}

const CODE = 'TESTCODE23';
const KEY = 'teacher-key-for-tests-only';
let server: ClassServer;
let base: string;
const feeds: Feed[] = [];

async function join(name: string, code = CODE): Promise<Response> {
  return fetch(`${base}/join`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, code }) });
}

async function joined(name: string): Promise<string> {
  const response = await join(name);
  expect(response.status).toBe(201);
  return ((await response.json()) as { token: string }).token;
}

let reportCount = 0;
function report(overrides: Partial<Report> = {}): Report {
  return { id: `report-${++reportCount}-${Date.now()}`, lesson: '02-echo-server', passed: false, failureCode: 'ECHO_NO_REPLY', durationMs: 120, at: Date.now(), ...overrides };
}

function send(token: string, body: unknown): Promise<Response> {
  return fetch(`${base}/report`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Class-Code': CODE },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function openFeed(key = KEY): Promise<Feed> {
  const feed = await Feed.open(`ws://127.0.0.1:${server.port}/feed?key=${key}`);
  feeds.push(feed);
  return feed;
}

describe('class server', () => {
  beforeAll(async () => {
    server = await startClassServer({ host: '127.0.0.1', code: CODE, teacherKey: KEY });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterEach(() => {
    for (const feed of feeds.splice(0)) feed.ws.terminate();
  });
  afterAll(() => server.close());

  it('issues unguessable class codes', () => {
    const codes = new Set(Array.from({ length: 50 }, newClassCode));
    expect(codes.size).toBe(50);
    for (const code of codes) expect(code).toMatch(/^[A-Z2-9]{10}$/);
  });

  it('refuses to join without the class code', async () => {
    expect((await join('mallory', 'WRONGCODE1')).status).toBe(403);
    expect((await fetch(`${base}/join`, { method: 'POST', body: JSON.stringify({ name: 'mallory' }) })).status).toBe(403);
    expect((await join('')).status).toBe(400);
  });

  it('refuses the feed and the export without the teacher key, even to a learner holding the class code', async () => {
    await expect(Feed.open(`ws://127.0.0.1:${server.port}/feed?key=NOPE`)).rejects.toThrow(/401/);
    await expect(Feed.open(`ws://127.0.0.1:${server.port}/feed`)).rejects.toThrow(/401/);
    await expect(Feed.open(`ws://127.0.0.1:${server.port}/feed?key=${CODE}`)).rejects.toThrow(/401/);
    await expect(Feed.open(`ws://127.0.0.1:${server.port}/feed?code=${CODE}`)).rejects.toThrow(/401/);
    expect((await fetch(`${base}/export.csv?key=NOPE`)).status).toBe(403);
    expect((await fetch(`${base}/export.csv?code=${CODE}`)).status).toBe(403);
    expect((await fetch(`${base}/export.csv?key=${CODE}`)).status).toBe(403);
  });

  it('puts a report on the feed under the name of the token that sent it', async () => {
    const feed = await openFeed();
    const alice = await joined('alice');
    await joined('bob');
    const sent = report({ passed: true, failureCode: null });
    // A name in the body changes nothing: only the token says who reports.
    expect((await send(alice, { ...sent, name: 'bob' })).status).toBe(200);
    const message = await feed.until(() => feed.messages.find((m) => m.reportId === sent.id));
    expect(message.learners).toHaveLength(1);
    expect(message.learners![0]).toMatchObject({ name: 'alice', currentLesson: '02-echo-server', lessonsDone: ['02-echo-server'] });
    expect(JSON.stringify(message), 'the token is never on the feed').not.toContain(alice);
    expect((await send('made-up-token', report())).status, 'no token, no report').toBe(401);
  });

  it('refuses a report without the class code, even with a valid token', async () => {
    const alice = await joined('alice');
    const response = await fetch(`${base}/report`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${alice}` },
      body: JSON.stringify(report()),
    });
    expect(response.status).toBe(403);
  });

  it('counts a report sent twice (an outbox retry) once', async () => {
    const token = await joined('carol');
    const twice = report();
    await send(token, twice);
    await send(token, twice);
    expect(server.registry.views().find((v) => v.name === 'carol')!.reports).toBe(1);
  });

  it('refuses malformed reports, and bodies over the size limit with 413', async () => {
    const token = await joined('dave');
    expect((await send(token, report({ lesson: '99-nothing' }))).status).toBe(400);
    expect((await send(token, { ...report(), failureCode: '<b>' })).status).toBe(400);
    expect((await send(token, 'not json')).status).toBe(400);
    expect((await send(token, { ...report(), padding: 'x'.repeat(MAX_BODY_BYTES) })).status).toBe(413);
  });

  it('limits each learner to its own rate, with 429', async () => {
    const eve = await joined('eve');
    const frank = await joined('frank');
    const statuses = [];
    for (let i = 0; i < REPORTS_PER_WINDOW + 1; i++) statuses.push((await send(eve, report())).status);
    expect(statuses.slice(0, REPORTS_PER_WINDOW).every((s) => s === 200)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    expect((await send(frank, report())).status, 'another learner is not slowed').toBe(200);
  });

  it('exports the class as CSV, quoted and safe from formulas', async () => {
    const token = await joined('=HYPERLINK("http://x")');
    await send(token, report());
    const response = await fetch(`${base}/export.csv?key=${KEY}`);
    expect(response.headers.get('content-type')).toContain('text/csv');
    const text = await response.text();
    expect(text.split('\r\n')[0]).toMatch(/^"name","learner id","current lesson","lessons done"/);
    expect(text).toMatch(/"'=HYPERLINK\(""http:\/\/x""\)","[0-9a-f]{12}","02-echo-server"/);
  });

  it('serves the dashboard with a policy that forbids inline scripts', async () => {
    const response = await fetch(`${base}/?key=${KEY}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await response.text()).toContain('<table id="learners">');
    // The page's script is served as text: a syntax error in it would only show in a browser.
    const script = await (await fetch(`${base}/dashboard.js`)).text();
    expect(() => new Function(script)).not.toThrow();
  });
});

describe('stuck rules', () => {
  let now = 1_000_000;
  const registry = new LearnerRegistry({ repeatedFailures: 3, noPassMs: 10 * 60_000 }, () => now);
  const fail = (id: string, lesson: string, code: string): Report => ({ id, lesson, passed: false, failureCode: code, durationMs: 1, at: now });

  it('marks the same failure three times in a row on one lesson', () => {
    const { token } = registry.join('gina');
    registry.record(token, fail('a1', '02-echo-server', 'ECHO_NO_REPLY'));
    registry.record(token, fail('a2', '02-echo-server', 'ECHO_NO_REPLY'));
    expect(registry.record(token, fail('a3', '02-echo-server', 'ECHO_TEXT_BECAME_BINARY'))).toMatchObject({ stuck: null });
    registry.record(token, fail('a4', '02-echo-server', 'ECHO_TEXT_BECAME_BINARY'));
    expect(registry.record(token, fail('a5', '02-echo-server', 'ECHO_TEXT_BECAME_BINARY'))).toMatchObject({ stuck: 'repeated-failure' });
    expect(registry.summary(['02-echo-server'])).toEqual([{ lesson: '02-echo-server', passed: 0, trying: 0, stuck: 1 }]);
    const passed = registry.record(token, { ...fail('a6', '02-echo-server', ''), passed: true, failureCode: null });
    expect(passed).toMatchObject({ stuck: null, lessonsDone: ['02-echo-server'] });
  });

  it('marks a learner still failing long after the last pass, and only then', () => {
    const { token } = registry.join('hal');
    registry.record(token, fail('b1', '03-broadcast', 'X'));
    expect(registry.views().find((v) => v.name === 'hal')!.stuck).toBeNull();
    now += 10 * 60_000;
    expect(registry.views().find((v) => v.name === 'hal')!.stuck).toBe('no-pass');
    expect(registry.summary(['03-broadcast'])[0]).toMatchObject({ stuck: 1, trying: 0 });
  });
});

describe('rate limit and CSV cells', () => {
  it('allows `limit` events per window, per key', () => {
    let now = 0;
    const limit = new RateLimit(2, 1000, () => now);
    expect([limit.take('a'), limit.take('a'), limit.take('a'), limit.take('b')]).toEqual([true, true, false, true]);
    now = 1000;
    expect(limit.take('a')).toBe(true);
  });

  it('quotes every cell and defuses formulas, also behind invisible characters and spaces', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', 'a "b", c', 3, null].map(csvCell)).toEqual([
      `"'=1+1"`, `"'+1"`, `"'-1"`, `"'@SUM(A1)"`, '"a ""b"", c"', '"3"', '""',
    ]);
    expect(['\u200B=1+1', '\uFEFF@SUM(A1)', '\u200D=1', '  =1', '\u00A0-1', '👩‍💻 Ada'].map(csvCell)).toEqual([
      `"'=1+1"`, `"'@SUM(A1)"`, `"'\u200D=1"`, `"'  =1"`, `"'\u00A0-1"`, '"👩‍💻 Ada"',
    ]);
    expect(toCsv([['a', 'b'], ['c', 'd']])).toBe('"a","b"\r\n"c","d"\r\n');
  });
});

describe('the reporter', () => {
  const savedHome = process.env.HOME;
  let home: string;
  const verdict = (lesson: string, passed: boolean): Verdict => ({
    lesson, file: '/secret/path.ts', passed, failure: passed ? undefined : { code: 'ECHO_NO_REPLY', message: 'm', details: [], cannotJudge: false },
    steps: [], durationMs: 42, transcript: [],
  });

  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-reporter-'));
    process.env.HOME = home;
  });
  afterAll(() => {
    process.env.HOME = savedHome;
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('does nothing outside a class', async () => {
    await reportVerdicts([verdict('02-echo-server', true)]);
    expect(readMembership()).toBeUndefined();
    expect(queuedReports()).toEqual([]);
  });

  it('gives up on a server that never answers within about a second, keeping the reports', async () => {
    // A server that accepts connections and says nothing: the worst case for a learner's wait.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    saveMembership({ url: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, name: 'ida', token: 't', code: CODE });
    // Resolves at all (the test's own timeout is the bound), and keeps both reports for later.
    await reportVerdicts([verdict('02-echo-server', false), verdict('03-broadcast', false)]);
    expect(queuedReports()).toHaveLength(2);
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('sends every queued report, in order, once the class is reachable', async () => {
    const classServer = await startClassServer({ host: '127.0.0.1', code: CODE, teacherKey: KEY });
    try {
      const url = `http://127.0.0.1:${classServer.port}`;
      const { token } = classServer.registry.join('ida');
      saveMembership({ url, name: 'ida', token, code: CODE });
      const feed = await Feed.open(`ws://127.0.0.1:${classServer.port}/feed?key=${KEY}`);
      await reportVerdicts([verdict('04-lifecycle', true)]);
      expect(queuedReports()).toEqual([]);
      const lessonsReported = await feed.until(() => {
        const seen = feed.messages.filter((m) => m.reportId).map((m) => m.learners![0].last!.lesson);
        return seen.length === 3 ? seen : undefined;
      });
      expect(lessonsReported).toEqual(['02-echo-server', '03-broadcast', '04-lifecycle']);
      expect(JSON.stringify(feed.messages), 'the learner file path is never sent').not.toContain('/secret/path.ts');
      feed.ws.terminate();

      // A class server that restarted has forgotten the token: the learner is told, and the report kept.
      saveMembership({ url, name: 'ida', token: 'forgotten-token', code: CODE });
      const lines: string[] = [];
      const write = process.stderr.write;
      process.stderr.write = ((chunk: string) => lines.push(chunk) > 0) as typeof process.stderr.write;
      try {
        await reportVerdicts([verdict('05-heartbeat', false)]);
      } finally {
        process.stderr.write = write;
      }
      // The command is named as this machine's learner types it (wsw, or npx wsw without the set-up).
      expect(lines).toEqual([`${asTyped(`Class: the class server at ${url} does not know you (restarted?); 1 report kept. Run wsw join again.`)}\n`]);
      expect(queuedReports()).toHaveLength(1);
    } finally {
      await classServer.close();
    }
  });
});
