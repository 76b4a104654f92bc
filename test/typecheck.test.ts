// TypeScript's help for TypeScript learners: `verify` and `watch` type-check the file alongside the run
// and list its type errors after the verdict, which they never change. And a file that does not parse
// is summarised by its syntax error, with the line, instead of the compiler's stack trace.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { typeCheckLines } from '../src/cli/typecheck/report.ts';
import { TypeChecker } from '../src/cli/typecheck/type-checker.ts';
import { lessonPaths, ROOT, workspaceFile } from '../src/paths.ts';
import { plain } from '../verify/harness/report.ts';
import { findSyntaxError } from '../verify/harness/syntax-error.ts';
import { CliProcess, runCli, WAIT_MS } from './cli-process.ts';
import { processesMentioning } from './support.ts';

/**
 * The cap of the checks that must come to an answer here: TypeScript's first start parses megabytes
 * of declarations, which on a machine busy with other work takes longer than the CLI's own cap.
 */
const PATIENT_CAP_MS = 30_000;

const SOLUTION = fs.readFileSync(lessonPaths('02-echo-server').solution, 'utf8');
/** Runs as JavaScript does, but TypeScript rejects it: a number variable given a string. */
const TYPE_ERROR = "let answers = 0;\nanswers = 'none';\nconsole.log(answers);\n";
/** Where TYPE_ERROR's error is once it follows the solution: the second line, at `answers`. */
const TYPE_ERROR_AT = `${SOLUTION.split('\n').length + 1}:1`;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A temporary folder that is the learner's HOME and working folder, outside any package. */
function tempHome(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-typecheck-'));
  dirs.push(dir);
  return dir;
}

function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** The line numbers of the first line containing each text, for checking their order. */
function lineOf(out: string, text: string): number {
  return out.split('\n').findIndex((line) => line.includes(text));
}

describe('verify type-checks a TypeScript file', () => {
  it('passes a file with a type error, then lists the error by file:line:col after the verdict', async () => {
    const home = tempHome();
    // Top-level await, in a folder with no package.json: an ES module as it runs, not flagged as CommonJS.
    write(home, 'echo.ts', `await Promise.resolve();\n${SOLUTION}${TYPE_ERROR}`);
    const at = `${SOLUTION.split('\n').length + 2}:1`;
    const { code, out } = await runCli(home, ['verify', 'echo.ts', '--lesson', 'echo-server']);
    expect(code, out).toBe(0);
    const verdict = lineOf(out, '✓ PASS  02-echo-server');
    const heading = lineOf(out, 'TypeScript found 1 type error in your file:');
    expect(verdict, out).toBeGreaterThan(-1);
    expect(heading, 'the type errors come after the verdict').toBeGreaterThan(verdict);
    expect(out.split('\n')[heading + 1]).toBe(`  ./echo.ts:${at}  Type 'string' is not assignable to type 'number'.`);
    expect(out).toContain('Your server passed, but TypeScript found 1 type error: ');
    expect(out, 'nothing else TypeScript says: no false alarm about the await or the imports').not.toMatch(/TS\d{4}|Cannot find|top-level/i);
  });

  it('adds nothing when the file has no type errors', async () => {
    const home = tempHome();
    write(home, 'echo.ts', SOLUTION);
    const { code, out } = await runCli(home, ['verify', 'echo.ts', '--lesson', 'echo-server']);
    expect(code, out).toBe(0);
    expect(out).not.toMatch(/TypeScript found|type error/);
  });

  it('does not type-check a JavaScript file', async () => {
    const home = tempHome();
    write(home, 'echo.js', `${SOLUTION}${TYPE_ERROR}`);
    const { code, out } = await runCli(home, ['verify', 'echo.js', '--lesson', 'echo-server']);
    expect(code, out).toBe(0);
    expect(out).not.toMatch(/TypeScript|Type check/);
  });

  it('puts the type errors in the --json document, as the schema describes them', async () => {
    const home = tempHome();
    const file = write(home, 'echo.ts', `${SOLUTION}${TYPE_ERROR}`);
    const { code, stdout } = await runCli(home, ['verify', 'echo.ts', '--lesson', 'echo-server', '--json']);
    expect(code, stdout).toBe(0);
    const document = JSON.parse(stdout);
    const validate = new Ajv({ allErrors: true }).compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/verdict.schema.json'), 'utf8')));
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
    const [line, column] = TYPE_ERROR_AT.split(':').map(Number);
    expect(document.typeErrors).toEqual([{ file, line, column, code: 2322, message: "Type 'string' is not assignable to type 'number'." }]);
  });

  it('type-checks after every save in watch', async () => {
    const home = tempHome();
    expect((await runCli(home, ['select', 'echo-server'])).code).toBe(0);
    const file = workspaceFile('02-echo-server', home);
    fs.writeFileSync(file, `${SOLUTION}${TYPE_ERROR}`);
    const watch = new CliProcess(home, ['watch'], { WSW_WATCH_POLL: undefined });
    try {
      await watch.untilText('Ctrl-C stops watching');
      const first = watch.out;
      expect(lineOf(first, 'TypeScript found 1 type error in your file:')).toBeGreaterThan(lineOf(first, '✓ PASS  02-echo-server'));
      expect(first).toContain(`  ./websocket-workshop/02-echo-server.ts:${TYPE_ERROR_AT}  Type 'string' is not assignable`);

      const mark = watch.mark;
      fs.writeFileSync(file, SOLUTION);
      await watch.untilText('✓ PASS  02-echo-server', mark);
      await watch.untilText('Ctrl-C stops watching', mark);
      expect(watch.out.slice(mark), 'the fixed file has no type errors left').not.toContain('TypeScript');
    } finally {
      watch.signal('SIGINT');
      await watch.ended;
    }
  }, WAIT_MS * 2);
});

describe('the type checker', () => {
  it('reports the errors of the file itself, not those of the files it imports', { timeout: 3 * PATIENT_CAP_MS }, async () => {
    const dir = tempHome();
    write(dir, 'helper.ts', "export const helper: number = 'not a number';\n");
    const file = write(dir, 'main.ts', "import { helper } from './helper.ts';\nimport { WebSocketServer } from 'ws';\nconst port: string = 8080;\nnew WebSocketServer({ port: helper });\nconsole.log(port);\n");
    // The second checker starts from what the first left in its cache: the answer must be the same.
    for (const run of ['first', 'from the cache']) {
      const checker = new TypeChecker({ capMs: PATIENT_CAP_MS });
      try {
        const outcome = await checker.start(file).outcome();
        expect(outcome.kind, run).toBe('checked');
        if (outcome.kind !== 'checked') return;
        expect(outcome.errors.map((e) => [path.basename(e.file), e.line, e.column, e.code]), run).toEqual([['main.ts', 3, 7, 2322]]);
      } finally {
        checker.close();
      }
    }
  });

  it('lists several errors under one heading, explanations indented, and the pass in one line', () => {
    const file = path.join(process.cwd(), 'echo.ts');
    const errors = [
      { file, line: 3, column: 7, code: 2322, message: "Type 'string' is not assignable to type 'number'." },
      { file, line: 9, column: 1, code: 2345, message: "Argument of type 'X' is not assignable to parameter of type 'Y'.\n  Property 'z' is missing." },
    ];
    expect(typeCheckLines({ kind: 'checked', errors, ms: 1 }, true, plain)).toEqual([
      '',
      'TypeScript found 2 type errors in your file:',
      "  ./echo.ts:3:7  Type 'string' is not assignable to type 'number'.",
      "  ./echo.ts:9:1  Argument of type 'X' is not assignable to parameter of type 'Y'.",
      "      Property 'z' is missing.",
      '',
      'Your server passed, but TypeScript found 2 type errors: tsx runs code without checking its types. Fix them before they become bugs.',
    ]);
    expect(typeCheckLines({ kind: 'checked', errors, ms: 1 }, false, plain), 'after a failure, only the list').toHaveLength(5);
    expect(typeCheckLines({ kind: 'checked', errors: [], ms: 1 }, true, plain)).toEqual([]);
  });

  it('leaves a file that does not parse to the verdict', { timeout: 2 * PATIENT_CAP_MS }, async () => {
    const file = write(tempHome(), 'broken.ts', 'const x = ;\n');
    const checker = new TypeChecker({ capMs: PATIENT_CAP_MS });
    try {
      const outcome = await checker.start(file).outcome();
      expect(outcome).toEqual({ kind: 'unparsable' });
      expect(typeCheckLines(outcome, false, plain)).toEqual([]);
    } finally {
      checker.close();
    }
  });

  it('gives up on a check that runs past its cap, says so, and stops it', async () => {
    const dir = tempHome();
    // A checker that never answers.
    const entry = write(dir, 'never-answers.mjs', 'process.stdin.resume();\n');
    const checker = new TypeChecker({ capMs: 50, entry });
    const outcome = await checker.start(write(dir, 'file.ts', 'export {};\n')).outcome();
    expect(outcome).toEqual({ kind: 'skipped', reason: 'TypeScript took longer than 50 ms' });
    expect(typeCheckLines(outcome, true, plain)).toEqual(['', 'Type check skipped: TypeScript took longer than 50 ms.']);
    await until(() => processesMentioning(entry).length === 0, 'the checker is gone');
    checker.close();
  });
});

describe('a syntax error', () => {
  it('in a .ts file is summarised by its message and position, with the line', async () => {
    const home = tempHome();
    write(home, 'echo.ts', "import { WebSocketServer } from 'ws';\nconst wss = new WebSocketServer({ port: Number(process.env.PORT) });\nwss.on('connection', (socket) => { socket.send('hi'; });\n");
    const { code, out } = await runCli(home, ['verify', 'echo.ts', '--lesson', 'echo-server']);
    expect(code, out).toBe(1);
    const verdict = out.slice(out.indexOf('✗ FAIL  PROGRAM_CRASHED'));
    expect(verdict, out).toContain('Your file has a syntax error at 3:52: Expected `)` but found `;`');
    expect(verdict).toContain("  3 | wss.on('connection', (socket) => { socket.send('hi'; });");
    expect(verdict).toContain(`    | ${' '.repeat(51)}^`);
    expect(verdict).not.toContain('Transform failed');
    expect(out, 'no type errors on top of it').not.toContain('TypeScript');
  });

  it('in a .js module is summarised the same way', async () => {
    const home = tempHome();
    write(home, 'package.json', '{ "type": "module" }\n');
    write(home, 'echo.js', "import { WebSocketServer } from 'ws';\nconst wss = new WebSocketServer({ port: Number(process.env.PORT) });\nwss.on('connection', (socket) => { socket.send('hi'; });\n");
    const { code, out } = await runCli(home, ['verify', 'echo.js', '--lesson', 'echo-server']);
    expect(code, out).toBe(1);
    const verdict = out.slice(out.indexOf('✗ FAIL  PROGRAM_CRASHED'));
    expect(verdict, out).toContain('Your file has a syntax error at 3:52: Expected `)` but found `;`');
    expect(verdict).toContain("  3 | wss.on('connection', (socket) => { socket.send('hi'; });");
    expect(verdict).not.toContain('Parse error');
  });

  it("in JavaScript Node compiles itself is read from Node's own report", async () => {
    const home = tempHome();
    const { code, out } = await runCli(home, ['verify', path.join(ROOT, 'verify/fixtures/harness/syntax-error.js'), '--lesson', 'echo-server']);
    expect(code, out).toBe(1);
    expect(out).toContain('Your file has a syntax error at 3:16: Unexpected token `;`');
    expect(out).toContain('  3 | const server = ;');
  });

  it('is told apart from a SyntaxError thrown while the program runs', () => {
    const jsonParse = [
      '<anonymous_script>:1',
      '{ no',
      '  ^',
      '',
      "SyntaxError: Expected property name or '}' in JSON at position 2",
      '    at JSON.parse (<anonymous>)',
      '    at file:///home/learner/echo.ts:5:21',
      '    at ModuleJob.run (node:internal/modules/esm/module_job:325:25)',
    ].join('\n');
    const missingExport = [
      '/home/learner/echo.ts:1',
      'import { nope } from "node:fs";',
      '         ^',
      '',
      "SyntaxError: The requested module 'node:fs' does not provide an export named 'nope'",
      '    at ModuleJob._instantiate (node:internal/modules/esm/module_job:213:21)',
    ].join('\n');
    expect(findSyntaxError(jsonParse)).toBeUndefined();
    expect(findSyntaxError(missingExport)).toBeUndefined();
    expect(findSyntaxError('Error: Transform failed with 1 error:\n/home/learner/a.ts:2:55: ERROR: Unexpected ";"\n    at failureErrorWithLog')).toEqual({
      file: '/home/learner/a.ts',
      line: 2,
      column: 56,
      message: 'Unexpected ";"',
    });
  });
});

/** Waits until `condition` holds, looking again every few milliseconds, up to a timeout. */
async function until(condition: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
