import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HarnessCodes, VerifyFailure } from './failure.ts';

/** Where a file could not be parsed, and why. Line and column count from 1, as editors show them. */
export interface SyntaxErrorAt {
  file: string;
  line: number;
  column: number;
  message: string;
}

const require = createRequire(import.meta.url);
/** A line longer than this is shown as a window around the error. */
const EXCERPT_WIDTH = 100;

/**
 * The syntax error a program died of, read from its stderr, or undefined when it died of something
 * else. esbuild reports them, through tsx, for TypeScript and most JavaScript ("Transform failed
 * with 1 error:" then `file:line:col: ERROR: message`); Node for JavaScript it compiles itself
 * (`file:line`, the line, a caret, then `SyntaxError: message`); tsx's import scanner for the rest.
 */
export function findSyntaxError(stderr: string): SyntaxErrorAt | undefined {
  return fromEsbuild(stderr) ?? fromNode(stderr) ?? fromTsxLexer(stderr);
}

function fromEsbuild(stderr: string): SyntaxErrorAt | undefined {
  const match = /Transform failed with \d+ errors?:\r?\n(.+):(\d+):(\d+): ERROR: (.+)/.exec(stderr);
  if (!match) return undefined;
  // esbuild counts columns from 0.
  return { file: match[1]!, line: Number(match[2]), column: Number(match[3]) + 1, message: match[4]!.trim() };
}

function fromNode(stderr: string): SyntaxErrorAt | undefined {
  const lines = stderr.split(/\r?\n/);
  const at = lines.findIndex((l) => l.startsWith('SyntaxError: '));
  if (at === -1) return undefined;
  const message = lines[at]!.slice('SyntaxError: '.length).trim();
  // A module that lacks an import is reported as a SyntaxError too, but the file itself parsed.
  if (/^The requested module /.test(message)) return undefined;
  // A SyntaxError thrown while running (JSON.parse, new RegExp, eval) has a frame in the program's code;
  // one raised while compiling has only Node's own frames, and tsx's.
  const frames = lines.slice(at + 1).filter((l) => /^\s+at /.test(l));
  if (frames.some((frame) => !/node:|[\\/]node_modules[\\/]/.test(frame))) return undefined;
  let caret = at - 1;
  if (lines[caret]?.trim() === '') caret--;
  const header = /^(file:\/\/\S+|[A-Za-z]:\\.+|\/.+):(\d+)$/.exec(lines[caret - 2] ?? '');
  const caretColumn = lines[caret]?.indexOf('^') ?? -1;
  if (!header || caretColumn === -1 || lines[caret]!.trim().replace(/\^/g, '') !== '') return undefined;
  const file = header[1]!.startsWith('file:') ? fileURLToPath(header[1]!) : header[1]!;
  return { file, line: Number(header[2]), column: caretColumn + 1, message };
}

/**
 * tsx scans a JavaScript module's imports before Node compiles it, and its scanner says only
 * "Parse error" at 1:1, whatever the mistake. esbuild (which tsx brings) tells what and where.
 */
function fromTsxLexer(stderr: string): SyntaxErrorAt | undefined {
  const match = /Error: Parse error (.+):\d+:\d+\r?\n\s+at parse \(.*[\\/]tsx[\\/]/.exec(stderr);
  if (!match) return undefined;
  const file = match[1]!;
  try {
    const esbuild = createRequire(require.resolve('tsx'))('esbuild') as { transformSync(code: string, options: object): unknown };
    esbuild.transformSync(fs.readFileSync(file, 'utf8'), { loader: /\.[cm]?ts$/.test(file) ? 'ts' : 'js', format: 'esm', sourcefile: file });
  } catch (error) {
    const first = (error as { errors?: Array<{ text: string; location: { line: number; column: number } | null }> }).errors?.[0];
    if (first?.location) return { file, line: first.location.line, column: first.location.column + 1, message: first.text };
  }
  return undefined;
}

/**
 * The failure for a program that could not start because a file does not parse: the position and the
 * parser's own words, with the line itself, instead of a compiler's stack trace.
 */
export function syntaxErrorFailure(error: SyntaxErrorAt, learnerFile: string): VerifyFailure {
  const file = sameFile(error.file, learnerFile) ? learnerFile : error.file;
  const which = file === learnerFile ? 'Your file' : shownFrom(learnerFile, file);
  return new VerifyFailure({
    code: HarnessCodes.PROGRAM_CRASHED,
    message: `${which} has a syntax error at ${error.line}:${error.column}: ${inBackticks(error.message)}`,
    hint:
      'Node compiles the whole file before it runs any of it, so one syntax error stops everything. ' +
      'The slip is often just before the spot shown: a bracket, quote or comma left out.',
    details: excerpt(file, error.line, error.column),
  });
}

/**
 * The reported file is the learner's even when named a little differently: tsx hands esbuild an
 * .mts or .cts file under a .ts name.
 */
function sameFile(reported: string, learnerFile: string): boolean {
  const stem = (file: string) => path.resolve(file).replace(/\.[cm]?[jt]sx?$/, '');
  return path.resolve(reported) === learnerFile || (!fs.existsSync(reported) && stem(reported) === stem(learnerFile));
}

function shownFrom(learnerFile: string, file: string): string {
  const relative = path.relative(path.dirname(learnerFile), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : `./${relative}`;
}

/** `Expected ")" but found ";"` reads better as Expected `)` but found `;`: the tokens stand out. */
function inBackticks(message: string): string {
  return message.replace(/(["'])([^"'\n]{1,40})\1/g, '`$2`');
}

/** The offending line, numbered, with a caret under the column; a long line is cut around it. */
function excerpt(file: string, line: number, column: number): string[] {
  let lines: string[];
  try {
    lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  } catch {
    return [];
  }
  let text = lines[line - 1];
  const atEnd = lines.slice(line - 1).every((l) => l.trim() === '');
  if (text === undefined || atEnd) return [`${line} | (the end of the file: something opened earlier is never closed)`];
  let start = 0;
  if (text.length > EXCERPT_WIDTH) {
    start = Math.max(0, Math.min(column - 1 - EXCERPT_WIDTH / 2, text.length - EXCERPT_WIDTH));
    text = `${start > 0 ? '…' : ''}${text.slice(start, start + EXCERPT_WIDTH)}${start + EXCERPT_WIDTH < text.length ? '…' : ''}`;
    if (start > 0) start -= 1;
  }
  const number = String(line);
  // Tabs stay tabs under the line, so the caret lines up however wide the terminal draws them.
  const before = text.slice(0, Math.max(0, column - 1 - start)).replace(/[^\t]/g, ' ');
  return [`${number} | ${text}`, `${' '.repeat(number.length)} | ${before}^`];
}
