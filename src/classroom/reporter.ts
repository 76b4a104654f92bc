import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Verdict } from '../../verify/harness/run-verifier.ts';
import { asTyped } from '../cli/command-name.ts';
import { Progress } from '../progress.ts';
import type { Report } from './learner-registry.ts';

/** What `wsw join` saves: where the class is, the learner's name, and the token that identifies them. */
export interface Membership {
  url: string;
  name: string;
  token: string;
  /** The class code, sent with every report. */
  code: string;
}

/** All attempts to reach the class server after one verify share this much time: the learner never waits long. */
export const REPORT_BUDGET_MS = 1000;

function membershipFile(): string {
  return path.join(new Progress().dir, 'classroom.json');
}

/** The folder of reports not yet delivered; one file each, named so that sorting them gives their order. */
export function outboxDir(): string {
  return path.join(new Progress().dir, 'classroom-outbox');
}

/** The class this learner joined, if any. */
export function readMembership(): Membership | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(membershipFile(), 'utf8')) as Partial<Membership>;
    if (typeof value.url === 'string' && typeof value.name === 'string' && typeof value.token === 'string' && typeof value.code === 'string') {
      return value as Membership;
    }
  } catch {
    // No file, or not ours: not in a class.
  }
  return undefined;
}

/** Saves the class this learner joined; readable by the learner alone, since the token speaks for them. */
export function saveMembership(membership: Membership): void {
  const file = membershipFile();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(membership, null, 2) + '\n', { mode: 0o600 });
}

/**
 * Leaves the class: forgets the membership and any reports not yet delivered. Returns how many queued
 * reports were discarded, so the learner can be told.
 */
export function leaveClass(): { wasMember: boolean; discarded: number } {
  const wasMember = readMembership() !== undefined;
  const discarded = queuedReports().length;
  fs.rmSync(membershipFile(), { force: true });
  fs.rmSync(outboxDir(), { recursive: true, force: true });
  return { wasMember, discarded };
}

let sequence = 0;

/** The report a verdict becomes: the outcome only, never the learner's file, code or output. */
export function reportOf(verdict: Verdict, at = Date.now()): Report {
  return {
    id: crypto.randomBytes(12).toString('base64url'),
    lesson: verdict.lesson,
    passed: verdict.passed,
    failureCode: verdict.failure?.code ?? null,
    durationMs: verdict.durationMs,
    at,
  };
}

function enqueue(report: Report): void {
  const dir = outboxDir();
  fs.mkdirSync(dir, { recursive: true });
  const name = `${String(report.at).padStart(15, '0')}-${String(process.pid).padStart(8, '0')}-${String(sequence++).padStart(6, '0')}-${report.id}.json`;
  // Written then renamed: a flush running at the same moment (another terminal) never reads half a file.
  fs.writeFileSync(path.join(dir, `${name}.tmp`), JSON.stringify(report));
  fs.renameSync(path.join(dir, `${name}.tmp`), path.join(dir, name));
}

/** The queued reports' files, oldest first. */
export function queuedReports(): string[] {
  try {
    return fs.readdirSync(outboxDir()).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
}

type Outcome = 'sent' | 'refused' | 'unknown-learner' | 'unknown-class' | 'rate-limited' | 'unreachable';

async function post(membership: Membership, report: unknown, deadline: number): Promise<Outcome> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return 'unreachable';
  try {
    const response = await fetch(new URL('/report', membership.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${membership.token}`, 'X-Class-Code': membership.code },
      body: JSON.stringify(report),
      signal: AbortSignal.timeout(remaining),
    });
    await response.body?.cancel();
    if (response.ok) return 'sent';
    // The class does not know this learner, or is not this class (a new one at the same address): the
    // report is fine, the membership is not. Kept, to be sent once the learner has joined again.
    if (response.status === 401) return 'unknown-learner';
    if (response.status === 403) return 'unknown-class';
    if (response.status === 429) return 'rate-limited';
    // Only a report the server cannot read (400, 413) will never change on a retry: refused for good.
    if (response.status === 400 || response.status === 413) return 'refused';
    return 'unreachable';
  } catch {
    return 'unreachable';
  }
}

/**
 * Sends the queued reports in order (exported for `wsw join`, which sends what waited for it) until one does not go through; the rest stay queued for the next
 * verify. Returns one line for the learner when something was not delivered, or undefined.
 */
export async function flush(membership: Membership): Promise<string | undefined> {
  const deadline = Date.now() + REPORT_BUDGET_MS;
  const files = queuedReports();
  let refused = 0;
  for (const [index, file] of files.entries()) {
    const full = path.join(outboxDir(), file);
    let report: unknown;
    try {
      report = JSON.parse(fs.readFileSync(full, 'utf8'));
    } catch {
      // Sent and removed by a verify in another terminal meanwhile.
      continue;
    }
    const outcome = await post(membership, report, deadline);
    if (outcome === 'sent' || outcome === 'refused') {
      fs.rmSync(full, { force: true });
      if (outcome === 'refused') refused += 1;
      continue;
    }
    const kept = files.length - index;
    const reports = `${kept} report${kept === 1 ? '' : 's'} kept`;
    if (outcome === 'unknown-learner') return `Class: the class server at ${membership.url} does not know you (restarted?); ${reports}. Run wsw join again.`;
    if (outcome === 'unknown-class') return `Class: the class server at ${membership.url} refused your class code (a new class?); ${reports}. Run wsw join again with the code your teacher gives you.`;
    if (outcome === 'rate-limited') return `Class: too many reports at once; ${reports}, sent with your next verify.`;
    return `Class: could not reach the class server at ${membership.url}; ${reports}, sent with your next verify.`;
  }
  return refused ? `Class: the class server refused ${refused} report${refused === 1 ? '' : 's'} as malformed.` : undefined;
}

/**
 * After `wsw verify`: queues the verdicts' reports and sends every queued report to the class, in order,
 * within about a second. Does nothing outside a class. Never throws: reporting must not break verifying.
 * Anything to say goes to stderr as one line, so `verify --json` output stays a clean document.
 */
export async function reportVerdicts(verdicts: readonly Verdict[]): Promise<void> {
  try {
    const membership = readMembership();
    if (!membership) return;
    for (const verdict of verdicts) enqueue(reportOf(verdict));
    const line = await flush(membership);
    if (line) process.stderr.write(`${asTyped(line)}\n`);
  } catch (error) {
    try {
      process.stderr.write(`Class: could not report this verdict (${(error as Error).message}).\n`);
    } catch {
      // Nothing left to tell the learner with.
    }
  }
}

/** After `wsw verify`: reports one verdict (see reportVerdicts). */
export function reportVerdict(verdict: Verdict): Promise<void> {
  return reportVerdicts([verdict]);
}
