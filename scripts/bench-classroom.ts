// The class server under a full class, as `wsw classroom` runs it (its own process, the class kept on
// disk): how far behind a report reaches the teacher's dashboard, and how much memory the server takes.
// Two figures: 2,000 learners (each on a machine of its own address) joining and reporting twice to
// one dashboard; and one report each from 200 learners fanned out to 1,000 dashboards.
// `npx tsx scripts/bench-classroom.ts` prints them; `classroomFigures()` gives them to `npm run bench`.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { WebSocket } from 'ws';
import { CliProcess } from '../test/cli-process.ts';
import { postJson, type Posted } from '../test/post-json.ts';

const LEARNERS = Number(process.env.BENCH_CLASS_LEARNERS ?? 2000);
const FEEDS = Number(process.env.BENCH_CLASS_FEEDS ?? 1000);
const FAN_OUT_LEARNERS = Number(process.env.BENCH_CLASS_FAN_OUT_LEARNERS ?? 200);
/** The class server lets this many learners join from one address; the bench gives each group its own. */
const PER_ADDRESS = 20;

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

interface Teacher {
  cli: CliProcess;
  home: string;
  port: number;
  code: string;
  key: string;
}

async function startTeacher(): Promise<Teacher> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-bench-class-'));
  const cli = new CliProcess(home, ['classroom', '--host', '127.0.0.1', '--port', '0']);
  cli.child.stdin.end();
  const [, port, code] = await cli.untilMatch(/wsw join http:\/\/127\.0\.0\.1:(\d+) --name <your name> --code ([A-Z2-9]{10})/);
  const [, key] = await cli.untilMatch(/\/\?key=([A-Za-z0-9_-]+)/);
  return { cli, home, port: Number(port), code: code!, key: key! };
}

async function stopTeacher(teacher: Teacher): Promise<void> {
  teacher.cli.signal('SIGTERM');
  await teacher.cli.ended;
  fs.rmSync(teacher.home, { recursive: true, force: true });
}

/** The server process's resident memory now and at its peak, in MiB (Linux; elsewhere unknown). */
function memoryOf(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024;
    return { rss: field('VmRSS'), peak: field('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Learner `i`'s own loopback address: PER_ADDRESS learners share one, as a few share a lab machine. */
function addressOf(i: number): string {
  const group = Math.floor(i / PER_ADDRESS);
  return `127.0.${1 + Math.floor(group / 250)}.${1 + (group % 250)}`;
}

const agents = new Map<string, http.Agent>();
function post(port: number, target: string, body: unknown, headers: Record<string, string>, from: string): Promise<Posted> {
  let agent = agents.get(from);
  if (!agent) agents.set(from, (agent = new http.Agent({ keepAlive: true, maxSockets: PER_ADDRESS, localAddress: from })));
  return postJson(`http://127.0.0.1:${port}${target}`, body, { headers, agent });
}

function openFeed(teacher: Teacher, from = '127.0.0.1'): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${teacher.port}/feed?key=${teacher.key}`, { localAddress: from });
  return new Promise((resolve, reject) => ws.once('open', () => resolve(ws)).once('error', reject));
}

/**
 * `learners` learners join and send `reports` reports each, all at once; `probe` is the dashboard that
 * measures. Returns each report's time from being sent to being seen there, in ms.
 */
async function classReports(teacher: Teacher, probe: WebSocket, learners: number, reports: number): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const lags: number[] = [];
  let allSeen!: () => void;
  const done = new Promise<void>((resolve) => (allSeen = resolve));
  probe.on('message', (data) => {
    const { reportId } = JSON.parse(String(data)) as { reportId?: string };
    const sent = reportId === undefined ? undefined : sentAt.get(reportId);
    if (sent === undefined) return;
    lags.push(performance.now() - sent);
    if (lags.length === learners * reports) allSeen();
  });
  const learner = async (i: number) => {
    const from = addressOf(i);
    const joined = await post(teacher.port, '/join', { name: `learner ${i}`, code: teacher.code }, {}, from);
    if (joined.status !== 201) throw new Error(`join ${i}: HTTP ${joined.status} ${joined.body}`);
    const { token } = JSON.parse(joined.body) as { token: string };
    for (let n = 0; n < reports; n++) {
      const id = `bench-${i}-${n}-${Date.now()}`;
      sentAt.set(id, performance.now());
      const passed = n === reports - 1 && i % 2 === 0;
      const answer = await post(teacher.port, '/report', { id, lesson: '03-broadcast', passed, failureCode: passed ? null : 'BROADCAST_MISSED', durationMs: 300, at: Date.now() }, {
        Authorization: `Bearer ${token}`,
        'X-Class-Code': teacher.code,
      }, from);
      if (answer.status !== 200) throw new Error(`report ${id}: HTTP ${answer.status} ${answer.body}`);
    }
  };
  await Promise.all(Array.from({ length: learners }, (_, i) => learner(i)));
  await done;
  return lags;
}

function describeLags(lags: number[]): string {
  return `median ${Math.round(percentile(lags, 0.5))} ms, p95 ${Math.round(percentile(lags, 0.95))} ms, worst ${Math.round(Math.max(...lags))} ms`;
}

/** The bench's lines about the class server, as Markdown list items. */
export async function classroomFigures(): Promise<string[]> {
  const lines: string[] = [];
  {
    const teacher = await startTeacher();
    try {
      const before = memoryOf(teacher.cli.child.pid!);
      const probe = await openFeed(teacher);
      const lags = await classReports(teacher, probe, LEARNERS, 2);
      const after = memoryOf(teacher.cli.child.pid!);
      probe.terminate();
      const worst = Math.max(...lags);
      lines.push(
        `- class, ${LEARNERS} learners joining and reporting twice at once: report → dashboard ${describeLags(lags)} (target ≤ 1000 ms): ${worst <= 1000 ? 'ok' : 'MISSES'}`,
        `- class server memory: ${before ? Math.round(before.rss) : '?'} MiB empty, ${after ? Math.round(after.rss) : '?'} MiB with ${LEARNERS} learners (peak ${after ? Math.round(after.peak) : '?'} MiB)`,
      );
    } finally {
      await stopTeacher(teacher);
    }
  }
  {
    const teacher = await startTeacher();
    try {
      // Dashboards from addresses of their own; the probe opens last, so it is served last.
      const feeds: WebSocket[] = [];
      for (let i = 0; i < FEEDS; i++) feeds.push(await openFeed(teacher, `127.1.${Math.floor(i / 250)}.${1 + (i % 250)}`));
      const probe = await openFeed(teacher, '127.2.0.1');
      const lags = await classReports(teacher, probe, FAN_OUT_LEARNERS, 1);
      const memory = memoryOf(teacher.cli.child.pid!);
      for (const ws of [...feeds, probe]) ws.terminate();
      const worst = Math.max(...lags);
      lines.push(
        `- class feed fanned out to ${FEEDS + 1} dashboards, ${FAN_OUT_LEARNERS} learners reporting at once: report → last dashboard ${describeLags(lags)} (target ≤ 1000 ms): ${worst <= 1000 ? 'ok' : 'MISSES'}; server ${memory ? Math.round(memory.rss) : '?'} MiB`,
      );
    } finally {
      await stopTeacher(teacher);
    }
  }
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stderr.write('Benchmarking the class server…\n');
  console.log((await classroomFigures()).join('\n'));
}
