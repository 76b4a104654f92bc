import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Lesson } from '../lessons/manifest.ts';
import { verifyFile, type Verdict } from '../verify/harness/run-verifier.ts';
import { renderEntry } from '../verify/harness/transcript.ts';
import { formatVerdict } from '../verify/harness/report.ts';

/** A wrong program catalogued for a lesson, with the failure code its header promises. */
export interface Fixture {
  file: string;
  name: string;
  expectedCode: string;
  /** The rule (R1, R2, …) it breaks, and no other, when its header names one: `// breaks: R3`. */
  breaks?: string;
}

const PROGRAM = /\.(ts|mts|js|mjs|cjs)$/;

/**
 * Lists the programs in a fixtures folder. Each starts with comments naming the failure it must get
 * and the one rule of problem.md it breaks:
 *   // expect: ECHO_TEXT_BECAME_BINARY
 *   // breaks: R3
 */
export function fixturesIn(dir: string): Fixture[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => PROGRAM.test(f))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const text = fs.readFileSync(file, 'utf8');
      const code = /^\/\/ expect: (\w+)/m.exec(text)?.[1];
      if (!code) throw new Error(`${file} has no "// expect: CODE" line`);
      const breaks = /^\/\/ breaks: (R\d+)\b/m.exec(text)?.[1];
      return { file, name: f, expectedCode: code, breaks };
    });
}

/** A correct program in another legitimate style, which must pass: `// valid: <the style>`. */
export interface ValidProgram {
  file: string;
  name: string;
  style: string;
}

/** Lists the programs in a lesson's `fixtures/<slug>/valid/` folder. */
export function validProgramsIn(dir: string): ValidProgram[] {
  const folder = path.join(dir, 'valid');
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder)
    .filter((f) => PROGRAM.test(f))
    .sort()
    .map((f) => {
      const file = path.join(folder, f);
      const style = /^\/\/ valid: (.+)$/m.exec(fs.readFileSync(file, 'utf8'))?.[1];
      if (!style) throw new Error(`${file} has no "// valid: <style>" line`);
      return { file, name: f, style };
    });
}

/** Verifies a file quietly and returns the verdict. */
export function verify(lesson: Lesson, file: string, timeouts?: Parameters<typeof verifyFile>[0]['timeouts']): Promise<Verdict> {
  return verifyFile({ lesson, file, timeouts });
}

/**
 * The transcript as a golden file stores it: the verifier's and the clients' lines plus the verdict,
 * with what changes from run to run (ports, timings, paths, temporary folders, certificate
 * fingerprints, the browser's version) replaced by placeholders. The program's
 * own output is left out: when it arrives relative to client events is up to the operating system.
 * So are a browser page's frames, errors and closes (lesson 18): how the frames of two pages
 * interleave is up to the browser. What the verifier makes a page do ("opens …") stays.
 */
export function goldenText(verdict: Verdict): string {
  const racy = (e: Verdict['transcript'][number]) => e.source.kind === 'client' && /^page /.test(e.source.name ?? '') && !e.text.startsWith('opens ');
  const lines = verdict.transcript.filter((e) => e.source.kind !== 'program' && !racy(e)).map(renderEntry);
  lines.push(...formatVerdict(verdict, undefined, path.dirname(verdict.file)));
  return `${lines.map((l) => normalise(l, verdict.file)).join('\n')}\n`;
}

function normalise(line: string, file: string): string {
  return line
    .split(file)
    .join('<file>')
    .replace(/(Starting [^:]+: )\S+/, '$1<file>')
    .replace(/PORT=\d+/g, 'PORT=<port>')
    .replace(/\/[^\s=]*wsw-tls-\w+/g, '<temp dir>')
    .replace(/\S*websocket-workshop-screenshots[\\/][^\s:]+/g, '<screenshots dir>')
    .replace(/(Opened headless \w+ )[\d.]+/g, '$1<version>')
    .replace(/\b([0-9A-F]{2}:){31}[0-9A-F]{2}\b/g, '<fingerprint>')
    .replace(/(127\.0\.0\.1|\[::1\]|localhost):\d+/g, '$1:<port>')
    .replace(/\bport \d+/g, 'port <port>')
    .replace(/\d+ ms\b/g, '<n> ms')
    .replace(/\b\d+\.\d MB\b/g, '<n> MB')
    .replace(/(run )\S+( --lesson)/, '$1<file>$2');
}

/** Process ids of every live process whose command line mentions `needle`. */
export function processesMentioning(needle: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(needle) && !l.includes('ps -eo'))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}
