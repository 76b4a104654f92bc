// A full class at once: 200 learners join and report over HTTP, as `wsw join` and `wsw verify` do, while a
// dashboard's feed watches. Nothing may be dropped, and the feed must keep up.
import { WebSocket } from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startClassServer, type ClassServer } from '../src/classroom/class-server.ts';

const LEARNERS = 200;
const CODE = 'LOADTEST23';
let server: ClassServer;

beforeAll(async () => {
  server = await startClassServer({ host: '127.0.0.1', code: CODE });
});
afterAll(() => server.close());

it(`puts every report of ${LEARNERS} simultaneous learners on the feed, less than a second behind`, async () => {
  const base = `http://127.0.0.1:${server.port}`;
  const feed = new WebSocket(`ws://127.0.0.1:${server.port}/feed?code=${CODE}`);
  await new Promise((resolve, reject) => feed.once('open', resolve).once('error', reject));

  const sentAt = new Map<string, number>();
  const lagMs = new Map<string, number>();
  let allSeen!: () => void;
  const everyReportSeen = new Promise<void>((resolve) => (allSeen = resolve));
  feed.on('message', (data) => {
    const message = JSON.parse(String(data)) as { reportId?: string };
    if (!message.reportId) return;
    lagMs.set(message.reportId, Date.now() - sentAt.get(message.reportId)!);
    if (lagMs.size === LEARNERS) allSeen();
  });

  const learner = async (i: number) => {
    const joinResponse = await fetch(`${base}/join`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: `learner ${i}`, code: CODE }),
    });
    expect(joinResponse.status).toBe(201);
    const { token } = (await joinResponse.json()) as { token: string };
    const id = `load-report-${i}`;
    sentAt.set(id, Date.now());
    const response = await fetch(`${base}/report`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, 'X-Class-Code': CODE },
      body: JSON.stringify({ id, lesson: '03-broadcast', passed: i % 2 === 0, failureCode: i % 2 ? 'BROADCAST_MISSED' : null, durationMs: 300, at: Date.now() }),
    });
    expect(response.status).toBe(200);
  };

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${lagMs.size} of ${LEARNERS} reports reached the feed`)), 15_000);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: LEARNERS }, (_, i) => learner(i))).then(() => everyReportSeen), deadline]);
  } finally {
    clearTimeout(timer);
    feed.terminate();
  }
  expect(lagMs.size).toBe(LEARNERS);
  expect(Math.max(...lagMs.values())).toBeLessThan(1000);
  expect(server.registry.summary(['03-broadcast'])).toEqual([{ lesson: '03-broadcast', passed: LEARNERS / 2, trying: LEARNERS / 2, stuck: 0 }]);
});
