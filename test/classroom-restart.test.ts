// Nothing lost on a restart: the class server is killed with SIGKILL while learners report, started again
// on the same folder, and must be the same class: same code and teacher key, the same learners with
// working tokens, and every acknowledged report. And a learner's queued reports survive a class that
// refuses them: kept, the learner told to join again, sent once they have.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startClassServer } from '../src/classroom/class-server.ts';
import { FolderStore } from '../src/classroom/class-store.ts';
import type { LearnerView } from '../src/classroom/learner-registry.ts';
import { queuedReports, readMembership, reportVerdicts, saveMembership } from '../src/classroom/reporter.ts';
import { joinCommand } from '../src/cli/join-command.ts';
import type { Verdict } from '../verify/harness/run-verifier.ts';
import { CliProcess } from './cli-process.ts';

const dirs: string[] = [];
const children: CliProcess[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const cli of children.splice(0)) if (cli.child.exitCode === null && cli.child.signalCode === null) cli.signal('SIGKILL');
});
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts `wsw classroom` on a folder and reads what it printed: address, code, key. */
async function teacher(home: string, args: string[]): Promise<{ cli: CliProcess; url: string; code: string; key: string }> {
  const cli = new CliProcess(home, ['classroom', '--host', '127.0.0.1', ...args]);
  cli.child.stdin.end();
  children.push(cli);
  const [, url, code] = await cli.untilMatch(/wsw join (http:\/\/127\.0\.0\.1:\d+) --name <your name> --code ([A-Z2-9]{10})/);
  const [, key] = await cli.untilMatch(/\/\?key=([A-Za-z0-9_-]+)/);
  return { cli, url: url!, code: code!, key: key! };
}

/** The class as a newly opened dashboard sees it. */
async function snapshot(url: string, key: string): Promise<LearnerView[]> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/feed?key=${key}`);
  const first = await new Promise<{ learners: LearnerView[] }>((resolve, reject) => {
    ws.once('message', (data) => resolve(JSON.parse(String(data)) as { learners: LearnerView[] }));
    ws.once('error', reject);
  });
  ws.terminate();
  return first.learners;
}

describe('a class kept on disk', () => {
  it('after kill -9 in the middle of reports, resumes the same class with every acknowledged report', async () => {
    const home = tempDir('wsw-restart-');
    const data = path.join(home, 'the-class');
    const first = await teacher(home, ['--data', data]);
    const port = new URL(first.url).port;
    const LEARNERS = 12;
    const REPORTS = 8;
    const tokens: string[] = [];
    for (let i = 0; i < LEARNERS; i++) {
      const response = await fetch(`${first.url}/join`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `learner ${i}`, code: first.code }) });
      expect(response.status).toBe(201);
      tokens.push(((await response.json()) as { token: string }).token);
    }
    const reportOf = (i: number, n: number) => ({ id: `restart-${i}-${n}`, lesson: '03-broadcast', passed: n === REPORTS - 1, failureCode: n === REPORTS - 1 ? null : 'BROADCAST_MISSED', durationMs: 10, at: Date.now() });
    const send = (url: string, code: string, i: number, n: number) =>
      fetch(`${url}/report`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens[i]}`, 'X-Class-Code': code },
        body: JSON.stringify(reportOf(i, n)),
      }).then((r) => r.status, () => 0);

    // Every learner reports in a loop; the server is killed once half the reports are acknowledged.
    const acknowledged = new Map<number, number>();
    let total = 0;
    let killed = false;
    const learner = async (i: number) => {
      for (let n = 0; n < REPORTS && !killed; n++) {
        const status = await send(first.url, first.code, i, n);
        if (status !== 200) return;
        acknowledged.set(i, n + 1);
        total += 1;
        if (total === (LEARNERS * REPORTS) / 2 && !killed) {
          killed = true;
          first.cli.signal('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: LEARNERS }, (_, i) => learner(i)));
    expect((await first.cli.ended).signal).toBe('SIGKILL');

    const second = await teacher(home, ['--data', data, '--port', port]);
    expect(second.cli.out).toContain(`Class resumed (${LEARNERS} learners)`);
    expect([second.code, second.key]).toEqual([first.code, first.key]);
    const views = await snapshot(second.url, second.key);
    expect(views.map((v) => v.name)).toEqual(Array.from({ length: LEARNERS }, (_, i) => `learner ${i}`));
    for (const [i, acked] of acknowledged) expect(views[i]!.reports, `learner ${i}: every acknowledged report kept`).toBeGreaterThanOrEqual(acked);

    // The learners' outboxes send everything again (acknowledged or not): each report counts once,
    // and the old tokens still work.
    for (let i = 0; i < LEARNERS; i++) for (let n = 0; n < REPORTS; n++) expect(await send(second.url, second.code, i, n)).toBe(200);
    const after = await snapshot(second.url, second.key);
    expect(after.map((v) => v.reports)).toEqual(Array(LEARNERS).fill(REPORTS));
    expect(after.every((v) => v.lessonsDone.includes('03-broadcast'))).toBe(true);
    second.cli.signal('SIGTERM');
    expect(await second.cli.exitCode()).toBe(0);
  }, 60_000);

  it('starts a class in the folder `classroom` runs in when no --data is given, and resumes it there, on its port', async () => {
    const home = tempDir('wsw-restart-');
    const first = await teacher(home, []);
    expect(fs.statSync(path.join(home, 'wsw-class', 'class.json')).mode & 0o077, 'the key is for the teacher alone').toBe(0);
    // A second class server on the same folder would keep a class of its own in the same file: refused.
    const rival = new CliProcess(home, ['classroom', '--host', '127.0.0.1']);
    rival.child.stdin.end();
    children.push(rival);
    expect(await rival.exitCode()).toBe(1);
    expect(rival.out).toContain(`Could not start the class: another class server (process ${first.cli.child.pid}) is using`);
    first.cli.signal('SIGTERM');
    await first.cli.ended;
    const second = await teacher(home, []);
    expect([second.code, second.key]).toEqual([first.code, first.key]);
    expect(second.url, 'on the same port, so the address learners saved still works').toBe(first.url);
    expect(second.cli.out).toContain('Class resumed (0 learners)');
  }, 30_000);
});

describe('the class folder', () => {
  it('drops a line a kill cut in half (never acknowledged), and goes on writing on a line of its own', async () => {
    const dir = tempDir('wsw-store-');
    const store = new FolderStore(dir);
    expect(await store.load()).toBeUndefined();
    await store.create({ code: 'STORECODE2', teacherKey: 'k', createdAt: 1 });
    await store.append({ type: 'join', id: 'a1', token: 't1', name: 'Ada', joinedAt: 2 });
    await store.close();
    fs.appendFileSync(path.join(dir, 'events.jsonl'), '{"type":"join","id":"b2","tok');

    const again = new FolderStore(dir);
    const loaded = await again.load();
    expect(loaded?.identity.code).toBe('STORECODE2');
    expect(loaded?.events.map((e) => e.type === 'join' && e.name)).toEqual(['Ada']);
    await again.append({ type: 'join', id: 'c3', token: 't3', name: 'Cy', joinedAt: 3 });
    await again.close();
    const lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { name: string }).name)).toEqual(['Ada', 'Cy']);
  });
});

describe('a learner’s outbox and a class that refuses it', () => {
  const savedHome = process.env.HOME;
  afterEach(() => {
    process.env.HOME = savedHome;
  });
  const verdict = (lesson: string): Verdict => ({
    lesson, file: '/x.ts', passed: false, failure: { code: 'ECHO_NO_REPLY', message: 'm', details: [], cannotJudge: false }, steps: [], durationMs: 5, transcript: [],
  });

  it('keeps the reports when the class refuses the code or the token, and sends them after wsw join', async () => {
    process.env.HOME = tempDir('wsw-outbox-');
    const server = await startClassServer({ host: '127.0.0.1', code: 'NEWCLASS23', teacherKey: 'k' });
    const url = `http://127.0.0.1:${server.port}`;
    const lines: string[] = [];
    const write = process.stderr.write;
    const stdoutWrite = process.stdout.write;
    try {
      process.stderr.write = ((chunk: string) => lines.push(chunk) > 0) as typeof process.stderr.write;
      // A membership of an older class at the same address: wrong code, unknown token.
      saveMembership({ url, name: 'ida', token: 'old-token', code: 'OLDCLASS23' });
      await reportVerdicts([verdict('02-echo-server')]);
      saveMembership({ url, name: 'ida', token: 'old-token', code: 'NEWCLASS23' });
      await reportVerdicts([verdict('03-broadcast')]);
      expect(queuedReports(), 'nothing is thrown away').toHaveLength(2);
      expect(lines.join('')).toMatch(/refused your class code \(a new class\?\); 1 report kept\. Run (npx )?wsw join again/);
      expect(lines.join('')).toMatch(/does not know you \(restarted\?\); 2 reports kept\. Run (npx )?wsw join again/);

      process.stdout.write = ((chunk: string) => lines.push(chunk) > 0) as typeof process.stdout.write;
      expect(await joinCommand([url, '--name', 'ida', '--code', 'NEWCLASS23'])).toBe(0);
    } finally {
      process.stderr.write = write;
      process.stdout.write = stdoutWrite;
    }
    expect(lines.join('')).toContain('Class: sent 2 reports that waited for you to join.');
    expect(queuedReports()).toEqual([]);
    expect(readMembership()?.code).toBe('NEWCLASS23');
    const ida = server.registry.views().find((v) => v.name === 'ida')!;
    expect(ida).toMatchObject({ reports: 2, currentLesson: '03-broadcast' });
    await server.close();
  });
});
