// The command a learner types, end to end: a real process, a temporary HOME and working folder.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { lessonPaths, ROOT } from '../src/paths.ts';
import { runCli, type Finished } from './cli-process.ts';

let home: string;


/** Runs the CLI as a learner would, in `home`, with optional piped input and extra environment. */
function wsw(args: string[], input = '', env: Record<string, string | undefined> = {}): Promise<Finished> {
  return runCli(home, args, input, env);
}

const learnerFile = () => path.join(home, 'websocket-workshop', '02-echo-server.ts');
const completed = () => JSON.parse(fs.readFileSync(path.join(home, '.config/websocket-workshop/completed.json'), 'utf8'));

describe('the websocket-workshop command', () => {
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-home-'));
    return () => fs.rmSync(home, { recursive: true, force: true });
  });

  it('select copies the starter into the workspace and prints the task', async () => {
    const { code, out } = await wsw(['select', 'echo-server']);
    expect(code).toBe(0);
    expect(out).toContain('./websocket-workshop/02-echo-server.ts (a copy of the starter');
    expect(out).toContain('Echo server');
    expect(fs.readFileSync(learnerFile(), 'utf8')).toBe(fs.readFileSync(lessonPaths('02-echo-server').starter, 'utf8'));
    expect(JSON.parse(fs.readFileSync(path.join(home, 'websocket-workshop/package.json'), 'utf8')).type).toBe('module');
  });

  it("sets the workspace up so an editor finds the types of ws and Node", () => {
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(process.execPath, [tsc, '--noEmit', '-p', path.join(home, 'websocket-workshop')], { encoding: 'utf8' });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('verify fails the untouched starter with what to do next, exit 1', async () => {
    const { code, out } = await wsw(['verify']);
    expect(code).toBe(1);
    expect(out).toContain('✗ FAIL  ECHO_NO_REPLY');
    expect(out).toContain("Hint: Listen for 'message'");
    expect(out, 'NO_COLOR means no escape codes').not.toContain('\u001b[');
  });

  it('select never overwrites the learner file', async () => {
    fs.appendFileSync(learnerFile(), '\n// my notes\n');
    const { out } = await wsw(['select', '2']);
    expect(out).toContain('already there, left as it is');
    expect(fs.readFileSync(learnerFile(), 'utf8')).toContain('// my notes');
  });

  it('verify passes a correct file, marks the lesson done and shows the solution', async () => {
    fs.copyFileSync(lessonPaths('02-echo-server').solution, learnerFile());
    const { code, out } = await wsw(['verify']);
    expect(code, out).toBe(0);
    expect(out).toContain('✓ PASS  02-echo-server');
    expect(out).toContain('reference solution');
    expect(completed()).toEqual(['02-echo-server']);
  });

  it('list shows each lesson with its state and the count done', async () => {
    const { code, out } = await wsw(['list']);
    expect(code).toBe(0);
    expect(out).toMatch(/✓ 02-echo-server done/);
    expect(out).toMatch(/1 of \d+ lessons done/);
  });

  it('verify takes a file anywhere and --lesson with or without its number', async () => {
    const solution = lessonPaths('02-echo-server').solution;
    for (const lesson of ['echo-server', '02-echo-server']) {
      const { code, out } = await wsw(['verify', solution, '--lesson', lesson]);
      expect(code, out).toBe(0);
    }
  });

  it('verify --json prints one document that follows the schema, with the same exit code', async () => {
    const ajv = new Ajv({ allErrors: true });
    const validate = ajv.compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/verdict.schema.json'), 'utf8')));
    const starter = lessonPaths('02-echo-server').starter;
    const failing = await wsw(['verify', starter, '--lesson', 'echo-server', '--json']);
    expect(failing.code).toBe(1);
    const document = JSON.parse(failing.out);
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
    expect(document).toMatchObject({ lesson: '02-echo-server', passed: false, exitCode: 1, failedStep: 'echoes a text message as text' });
    expect(document.failure.code).toBe('ECHO_NO_REPLY');
    expect(document.steps[0]).toMatchObject({ title: 'echoes a text message as text', passed: false });
    expect(document.output.map((l: { text: string }) => l.text)).toContain('a client connected');
    const passing = await wsw(['verify', lessonPaths('02-echo-server').solution, '--lesson', '2', '--json']);
    expect(passing.code).toBe(0);
    expect(validate(JSON.parse(passing.out))).toBe(true);
  });

  it('verify --json writes its whole document into a pipe, however long, before it exits', () => {
    // A program that floods its output makes a document of well over the 64 KiB a pipe holds, and the
    // reader of the pipe starts late, as `| jq` may. Through a real pipe: the one a shell makes.
    const flood = path.join(ROOT, 'verify/fixtures/harness/floods-stdout.ts');
    const command = `"$0" "$1" verify "$2" --lesson echo-server --json | { sleep 1; cat; }`;
    const result = spawnSync('bash', ['-c', command, process.execPath, path.join(ROOT, 'bin/websocket-workshop.js'), flood], {
      cwd: home,
      env: { ...process.env, HOME: home, CI: 'true' },
      encoding: 'utf8',
    });
    expect(result.stdout.length).toBeGreaterThan(64 * 1024);
    expect(JSON.parse(result.stdout).lesson).toBe('02-echo-server');
  });

  it('verify --all re-verifies every completed lesson and exits 1 when one regressed', async () => {
    const ok = await wsw(['verify', '--all']);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/✓ 02-echo-server +pass/);
    expect(ok.out).toContain('All 1 still pass.');
    const saved = fs.readFileSync(learnerFile(), 'utf8');
    fs.copyFileSync(path.join(ROOT, 'verify/fixtures/02-echo-server/text-as-binary.ts'), learnerFile());
    const regressed = await wsw(['verify', '--all']);
    fs.writeFileSync(learnerFile(), saved);
    expect(regressed.code).toBe(1);
    expect(regressed.out).toMatch(/✗ 02-echo-server +ECHO_TEXT_BECAME_BINARY/);
  });

  it('hint shows the next hint each time, and --all shows every one', async () => {
    const first = await wsw(['hint']);
    expect(first.out).toContain('Hint 1 of 3 for 02 · Echo server:');
    const second = await wsw(['hint']);
    expect(second.out).toContain('Hint 2 of 3 for 02 · Echo server:');
    expect(second.out).toContain("In ws 8 the 'message' handler receives (data, isBinary)");
    const all = await wsw(['hint', '--all']);
    expect(all.out).toMatch(/All 3 hints[\s\S]*1\.[\s\S]*2\.[\s\S]*3\./);
    expect((await wsw(['hint'])).out).toContain('You have seen all 3 hints');
    expect((await wsw(['hint', '9'])).code).toBe(2);
  });

  it('solution hides the reference until the lesson is passed, unless forced', async () => {
    const hidden = await wsw(['solution', '--lesson', 'broadcast']);
    expect(hidden.code).toBe(1);
    expect(hidden.out).toContain('wsw solution --force');
    expect(hidden.out).not.toContain('wss.clients');
    const forced = await wsw(['solution', '--lesson', 'broadcast', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.out).toContain('You chose to look before passing');
    expect(forced.out).toContain(fs.readFileSync(lessonPaths('03-broadcast').solution, 'utf8').trim().split('\n')[0]);
  });

  it('solution --diff compares the learner file with the reference', async () => {
    const saved = fs.readFileSync(learnerFile(), 'utf8');
    fs.writeFileSync(learnerFile(), saved.replace('socket.send(data, { binary: isBinary });', 'socket.send(data);'));
    const { code, out } = await wsw(['solution', '--diff']);
    fs.writeFileSync(learnerFile(), saved);
    expect(code).toBe(0);
    expect(out).toContain('--- ./websocket-workshop/02-echo-server.ts');
    expect(out).toMatch(/^-\s+socket\.send\(data\);$/m);
    expect(out).toMatch(/^\+\s+socket\.send\(data, \{ binary: isBinary \}\);$/m);
  });

  it('reset restores the starter and keeps the learner file as a backup', async () => {
    const mine = fs.readFileSync(learnerFile(), 'utf8');
    const { code, out } = await wsw(['reset']);
    expect(code).toBe(0);
    expect(fs.readFileSync(learnerFile(), 'utf8')).toBe(fs.readFileSync(lessonPaths('02-echo-server').starter, 'utf8'));
    const backup = /Your previous file is in (\S+)\./.exec(out)?.[1];
    expect(backup).toMatch(/^\.\/websocket-workshop\/02-echo-server\.backup-\d{8}-\d{6}\.ts$/);
    expect(fs.readFileSync(path.join(home, backup!), 'utf8')).toBe(mine);
    fs.writeFileSync(learnerFile(), mine);
  });

  it('verify exits 2 on a lesson name it does not know, listing the slugs', async () => {
    const { code, out } = await wsw(['verify', '--lesson', 'ecko-server']);
    expect(code).toBe(2);
    expect(out).toContain('Did you mean "echo-server"?');
    expect(out).toContain('01-http-vs-websocket, 02-echo-server');
  });

  it('verify cannot judge the browser lesson without a browser: it exits 2 and says how to get one', async () => {
    const board = ['verify', lessonPaths('18-collaborative-drawing').solution, '--lesson', 'collaborative-drawing'];
    const none = await wsw(board, '', { PATH: '/nonexistent', CHROME_PATH: undefined });
    expect(none.code, none.out).toBe(2);
    expect(none.out).toContain('BROWSER_UNAVAILABLE');
    expect(none.out).toContain('Install Chromium or Google Chrome (apt-get install chromium');
    const wrong = await wsw(board, '', { CHROME_PATH: '/nonexistent/chromium' });
    expect(wrong.code, wrong.out).toBe(2);
    expect(wrong.out).toContain('BROWSER_NOT_AT_CHROME_PATH');
    expect(wrong.out).toContain('CHROME_PATH is set to /nonexistent/chromium, but there is no program there that can be run.');
  });

  it('verify exits 2 when the file does not exist', async () => {
    const { code, out } = await wsw(['verify', 'missing.ts']);
    expect(code).toBe(2);
    expect(out).toContain(`There is no file at ${path.join(home, 'missing.ts')}`);
  });

  it('run starts the server and sends each typed line', async () => {
    const { code, out } = await wsw(['run'], 'hello there\n');
    expect(code, out).toBe(0);
    expect(out).toContain('[you] → text "hello there"');
    expect(out).toContain('[you] ← text "hello there"');
  });

  it('doctor checks what the lessons need and exits 0 when all is there', async () => {
    const { code, out } = await wsw(['doctor']);
    expect(code, out).toBe(0);
    for (const check of ['Node.js', 'TypeScript runner', 'Editor types', 'Loopback ports', 'Redis (lessons 07 and 17)', 'Browser (lesson 18)', 'Certificates (lesson 06)']) {
      expect(out).toContain(`✓ ${check}`);
    }
  });

  it('doctor says how to get Redis when there is none, and exits 1', async () => {
    const { code, out } = await wsw(['doctor'], '', { PATH: '/nonexistent', REDIS_URL: undefined });
    expect(code).toBe(1);
    expect(out).toMatch(/✗ Redis \(lessons 07 and 17\): no redis-server on PATH and REDIS_URL is not set\. Install it \(apt-get install redis-server/);
  });

  it('doctor says how to get a browser when there is none, and names a CHROME_PATH that points nowhere', async () => {
    const none = await wsw(['doctor'], '', { PATH: '/nonexistent', CHROME_PATH: undefined });
    expect(none.code).toBe(1);
    expect(none.out).toMatch(/✗ Browser \(lesson 18\): No browser was found: no Chromium or Chrome on your PATH, and CHROME_PATH is not set\. Install Chromium or Google Chrome \(apt-get install chromium/);
    const wrong = await wsw(['doctor'], '', { CHROME_PATH: '/nonexistent/chromium' });
    expect(wrong.code).toBe(1);
    expect(wrong.out).toContain('✗ Browser (lesson 18): CHROME_PATH is set to /nonexistent/chromium, but there is no program there that can be run.');
  });

  it('without a terminal, no arguments print the lesson list instead of the menu', async () => {
    const { code, out } = await wsw([]);
    expect(code).toBe(0);
    expect(out).toContain('02-echo-server');
    expect(out).toContain('wsw help');
  });
});
