// The teacher's and the learners' commands end to end: real processes, temporary HOMEs, a real verify.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lessonPaths } from '../src/paths.ts';
import { CliProcess, type Finished } from './cli-process.ts';

const SOLUTION = lessonPaths('02-echo-server').solution;
const STARTER = lessonPaths('02-echo-server').starter;
const homes: string[] = [];
const children: CliProcess[] = [];

function newHome(): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-class-'));
  homes.push(home);
  return home;
}

/** Starts the CLI in the background; whatever is still running at the end is stopped. */
function start(args: string[], home: string): CliProcess {
  const cli = new CliProcess(home, args);
  cli.child.stdin.end();
  children.push(cli);
  return cli;
}

/** Runs the CLI to its end. */
async function wsw(args: string[], home: string): Promise<Finished> {
  const cli = start(args, home);
  const { code } = await cli.ended;
  return { code, out: cli.out, stdout: cli.stdout, stderr: cli.stderr };
}

/** A port nothing listens on: taken from the system, then released. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

interface Seen {
  reportId?: string;
  learners?: Array<{ name: string; last: { lesson: string; passed: boolean; failureCode: string | null } | null }>;
}

describe('wsw classroom and wsw join', () => {
  let teacher: CliProcess;
  let url: string;
  let code: string;
  let key: string;
  let feed: WebSocket;
  const seen: Seen[] = [];
  let onSeen = () => {};

  /** Resolves with the feed's reports once `count` have arrived. */
  function reports(count: number, ms = 10_000): Promise<Seen[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`feed: ${seen.filter((s) => s.reportId).length} of ${count} reports`)), ms);
      onSeen = () => {
        const got = seen.filter((s) => s.reportId);
        if (got.length < count) return;
        clearTimeout(timer);
        resolve(got);
      };
      onSeen();
    });
  }

  beforeAll(async () => {
    teacher = start(['classroom', '--host', '127.0.0.1', '--port', '0'], newHome());
    const [, joinUrl, joinCode] = await teacher.untilMatch(/wsw join (http:\/\/127\.0\.0\.1:\d+) --name <your name> --code ([A-Z2-9]{10})/);
    url = joinUrl;
    code = joinCode;
    [, key] = await teacher.untilMatch(/\/\?key=([A-Za-z0-9_-]+)/);
    feed = new WebSocket(`${url.replace('http', 'ws')}/feed?key=${key}`);
    feed.on('message', (data) => {
      seen.push(JSON.parse(String(data)) as Seen);
      onSeen();
    });
    await new Promise((resolve, reject) => feed.once('open', resolve).once('error', reject));
  });

  afterAll(() => {
    feed?.terminate();
    // SIGINT, not SIGKILL: verify stops the learner's server on it, so nothing is left behind.
    for (const cli of children) {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.signal('SIGINT');
    }
    for (const home of homes) fs.rmSync(home, { recursive: true, force: true });
  });

  it('prints the class code, the dashboard address with the teacher key (not the code), and where the class is kept', () => {
    expect(teacher.out).toContain(`Class code: ${code}`);
    expect(teacher.out).toContain(`${url}/?key=${key}`);
    expect(key).not.toBe(code);
    expect(teacher.out).not.toContain(`?code=`);
    expect(teacher.out).toContain(`Kept in ${fs.realpathSync(homes[0]!)}${path.sep}wsw-class`);
  });

  it('join refuses a wrong code, and saves nothing', async () => {
    const home = newHome();
    const { code: exit, out } = await wsw(['join', url, '--name', 'mallory', '--code', 'WRONGCODE2'], home);
    expect(exit).toBe(1);
    expect(out).toContain('Wrong class code');
    expect(fs.existsSync(path.join(home, '.config/websocket-workshop/classroom.json'))).toBe(false);
    expect(await teacher.untilMatch(/Refused a wrong class code from \S+\./), 'the teacher is told').toBeTruthy();
  });

  it('after join, verify and verify --json report their verdicts; the --json output stays pure JSON', async () => {
    const home = newHome();
    const joined = await wsw(['join', url, '--name', 'ada', '--code', code], home);
    expect(joined.code, joined.out).toBe(0);
    expect(joined.out.trim().split('\n')).toHaveLength(1);
    expect(await teacher.untilMatch(/"ada" joined/)).toBeTruthy();

    const pass = await wsw(['verify', SOLUTION, '--lesson', 'echo-server'], home);
    expect(pass.code, pass.out).toBe(0);
    expect(pass.out, 'a delivered report is silent').not.toContain('Class:');
    const json = await wsw(['verify', STARTER, '--lesson', 'echo-server', '--json'], home);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).failure.code).toBe('ECHO_NO_REPLY');

    const got = await reports(2);
    expect(got.map((s) => s.learners![0])).toMatchObject([
      { name: 'ada', last: { lesson: '02-echo-server', passed: true, failureCode: null } },
      { name: 'ada', last: { lesson: '02-echo-server', passed: false, failureCode: 'ECHO_NO_REPLY' } },
    ]);
  });

  it('verify --all reports every verdict it makes', async () => {
    const home = newHome();
    expect((await wsw(['join', url, '--name', 'cy', '--code', code], home)).code).toBe(0);
    const before = seen.filter((s) => s.reportId).length;
    expect((await wsw(['verify', SOLUTION, '--lesson', 'echo-server'], home)).code).toBe(0);
    fs.mkdirSync(path.join(home, 'websocket-workshop'), { recursive: true });
    fs.copyFileSync(SOLUTION, path.join(home, 'websocket-workshop', '02-echo-server.ts'));
    const all = await wsw(['verify', '--all', '--json'], home);
    expect(all.code, all.out).toBe(0);
    expect(JSON.parse(all.stdout)).toHaveLength(1);
    const got = (await reports(before + 2)).slice(before);
    expect(got.map((s) => [s.learners![0].name, s.learners![0].last!.passed])).toEqual([['cy', true], ['cy', true]]);
  });

  it('join says in one line when the class server cannot be reached', async () => {
    const nowhere = `http://127.0.0.1:${await closedPort()}`;
    const { code: exit, out } = await wsw(['join', nowhere, '--name', 'dee', '--code', code], newHome());
    expect(exit).toBe(1);
    expect(out.trim().split('\n')).toEqual([`Could not reach the class server at ${nowhere} (ECONNREFUSED). Check the address with your teacher.`]);
  });

  it('keeps reports in the outbox while the class is unreachable, says so in one line, and sends them in order later', async () => {
    const home = newHome();
    expect((await wsw(['join', url, '--name', 'bea', '--code', code], home)).code).toBe(0);
    const config = path.join(home, '.config/websocket-workshop/classroom.json');
    const membership = JSON.parse(fs.readFileSync(config, 'utf8'));
    // Nothing listens there, as when the teacher's laptop has left the network.
    const nowhere = `http://127.0.0.1:${await closedPort()}`;
    fs.writeFileSync(config, JSON.stringify({ ...membership, url: nowhere }));
    const before = seen.filter((s) => s.reportId).length;

    const first = await wsw(['verify', STARTER, '--lesson', 'echo-server'], home);
    expect(first.code, 'the verdict is unchanged').toBe(1);
    expect(first.out).toContain('✗ FAIL  ECHO_NO_REPLY');
    expect(first.out.split('\n').filter((l) => l.startsWith('Class:'))).toEqual([
      `Class: could not reach the class server at ${nowhere}; 1 report kept, sent with your next verify.`,
    ]);
    const second = await wsw(['verify', SOLUTION, '--lesson', 'echo-server'], home);
    expect(second.code).toBe(0);
    expect(second.out).toContain('2 reports kept');
    expect(fs.readdirSync(path.join(home, '.config/websocket-workshop/classroom-outbox'))).toHaveLength(2);

    fs.writeFileSync(config, JSON.stringify(membership));
    const third = await wsw(['verify', STARTER, '--lesson', 'echo-server'], home);
    expect(third.out).not.toContain('Class:');
    const got = (await reports(before + 3)).slice(before);
    expect(got.map((s) => [s.learners![0].name, s.learners![0].last!.passed])).toEqual([['bea', false], ['bea', true], ['bea', false]]);
    expect(fs.readdirSync(path.join(home, '.config/websocket-workshop/classroom-outbox'))).toEqual([]);

    const left = await wsw(['join', '--leave'], home);
    expect(left.out.trim()).toBe('Left the class: verify no longer reports.');
    expect(fs.existsSync(config)).toBe(false);
    const after = await wsw(['verify', STARTER, '--lesson', 'echo-server'], home);
    expect(after.out).not.toContain('Class:');
    expect(fs.existsSync(path.join(home, '.config/websocket-workshop/classroom-outbox'))).toBe(false);
  });

  it('ends the class cleanly on SIGTERM, exit 0', async () => {
    teacher.signal('SIGTERM');
    expect(await teacher.exitCode()).toBe(0);
    expect(teacher.out).toContain('Class ended (SIGTERM).');
  });
});
