// A full class at once: 200 learners join and report twice over HTTP, as `wsw join` and `wsw verify` do,
// while a dashboard's feed watches. Nothing may be dropped, repeated or reordered. How far behind the
// feed runs is measured by `npm run bench`, not asserted here: on a shared machine a time says little.
import { WebSocket } from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startClassServer, type ClassServer } from '../src/classroom/class-server.ts';
import type { LearnerView, LessonSummary } from '../src/classroom/learner-registry.ts';

const LEARNERS = 200;
const CODE = 'LOADTEST23';
let server: ClassServer;

/** A feed message, as the dashboard receives it. */
interface FeedMessage {
  type: string;
  learners?: LearnerView[];
  summary?: LessonSummary[];
  reportId?: string;
}

beforeAll(async () => {
  // Every learner here joins from 127.0.0.1: let the whole class in from one address.
  server = await startClassServer({ host: '127.0.0.1', code: CODE, limits: { joinsPerAddress: LEARNERS } });
});
afterAll(() => server.close());

it(`puts every report of ${LEARNERS} simultaneous learners on the feed, once each, in each learner's order`, async () => {
  const base = `http://127.0.0.1:${server.port}`;
  const feed = new WebSocket(`ws://127.0.0.1:${server.port}/feed?key=${encodeURIComponent(server.teacherKey)}`);
  const messages: FeedMessage[] = [];
  let closed = false;
  feed.once('close', () => (closed = true));
  const reportsSeen = () => messages.filter((m) => m.reportId).length;
  let allSeen!: () => void;
  const everyReportSeen = new Promise<void>((resolve) => (allSeen = resolve));
  feed.on('message', (data) => {
    messages.push(JSON.parse(String(data)) as FeedMessage);
    if (reportsSeen() === LEARNERS * 2) allSeen();
  });
  // Listening before the socket opens: the snapshot can arrive with the handshake's response.
  await new Promise((resolve, reject) => feed.once('open', resolve).once('error', reject));

  const report = async (token: string, body: Record<string, unknown>) => {
    const response = await fetch(`${base}/report`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Class-Code': CODE },
      body: JSON.stringify({ lesson: '03-broadcast', durationMs: 300, at: Date.now(), ...body }),
    });
    expect(response.status).toBe(200);
  };
  // Each learner fails once, then half of them pass: the second report is sent only once the first
  // was accepted, so the feed must show them in that order.
  const learner = async (i: number) => {
    const joinResponse = await fetch(`${base}/join`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: `learner ${i}`, code: CODE }),
    });
    expect(joinResponse.status).toBe(201);
    const { token } = (await joinResponse.json()) as { token: string };
    await report(token, { id: `load-${i}-first`, passed: false, failureCode: 'BROADCAST_MISSED' });
    const passes = i % 2 === 0;
    await report(token, { id: `load-${i}-second`, passed: passes, failureCode: passes ? null : 'BROADCAST_MISSED' });
  };

  // Not a time limit on the class server: a guard that turns a hang into a message saying what is missing.
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${reportsSeen()} of ${LEARNERS * 2} reports reached the feed`)), 30_000);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: LEARNERS }, (_, i) => learner(i))).then(() => everyReportSeen), hung]);
  } finally {
    clearTimeout(timer);
    feed.terminate();
  }

  expect(closed, 'the feed kept its dashboard connected throughout').toBe(false);
  expect(messages[0]?.type).toBe('snapshot');
  // Complete and without repeats: every report exactly once.
  const ids = messages.flatMap((m) => (m.reportId ? [m.reportId] : []));
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(Array.from({ length: LEARNERS }, (_, i) => [`load-${i}-first`, `load-${i}-second`]).flat().sort());

  // In order, per learner: the join, then the failure, then the second report, each view counting one more.
  for (let i = 0; i < LEARNERS; i++) {
    const name = `learner ${i}`;
    const seen = messages.filter((m) => m.type === 'learners').flatMap((m) => (m.learners ?? []).filter((v) => v.name === name).map((v) => ({ id: m.reportId, view: v })));
    expect(seen.map((s) => s.id), name).toEqual([undefined, `load-${i}-first`, `load-${i}-second`]);
    expect(seen.map((s) => s.view.reports), name).toEqual([0, 1, 2]);
    expect(seen[2]!.view.last?.passed, name).toBe(i % 2 === 0);
  }

  // The last message's summary is the class as it ended.
  const final = [{ lesson: '03-broadcast', passed: LEARNERS / 2, trying: LEARNERS / 2, stuck: 0 }];
  expect(server.registry.summary(['03-broadcast'])).toEqual(final);
  expect(messages.at(-1)?.summary?.filter((s) => s.lesson === '03-broadcast')).toEqual(final);
});
