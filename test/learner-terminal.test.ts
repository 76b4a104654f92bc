// A learner's first hour, end to end: the commands the workshop prints run as printed, the learner's
// file is found from any folder, and every wrong command gets a clear answer. Real processes, with and
// without `wsw` on PATH, in a pipe and in a terminal of 60 and 80 columns.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lessons } from '../src/lessons.ts';
import { lessonPaths, ROOT, workspaceDir } from '../src/paths.ts';
import { BIN, linkedBinDir } from './cli-process.ts';

interface Ran {
  code: number | null;
  out: string;
  stdout: string;
}

/** A PATH without any `wsw`: what a learner has who skipped `npm link`. */
const PATH_WITHOUT_WSW = (process.env.PATH ?? '')
  .split(path.delimiter)
  .filter((dir) => !fs.existsSync(path.join(dir, 'wsw')))
  .join(path.delimiter);

let home: string;

/** Runs the CLI in `cwd` with HOME = home, in a pipe, no colour; `linked` puts `wsw` on PATH. */
function cli(args: string[], options: { cwd?: string; linked?: boolean; env?: Record<string, string> } = {}): Promise<Ran> {
  const { cwd = home, linked = true, env = {} } = options;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: {
        ...process.env,
        PATH: linked ? `${linkedBinDir()}${path.delimiter}${PATH_WITHOUT_WSW}` : PATH_WITHOUT_WSW,
        HOME: home,
        USERPROFILE: home,
        NO_COLOR: '1',
        FORCE_COLOR: '',
        COLUMNS: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => ((out += d), (stdout += d)));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('close', (code) => resolve({ code, out, stdout }));
  });
}

/**
 * Opens the menu in a real terminal, presses Down and Enter once it is drawn, and resolves with all
 * the terminal showed until the chosen lesson was printed.
 */
function chooseInMenu(columns: number, env: Record<string, string> = {}): Promise<string> {
  const command = `stty cols ${columns} rows 30; ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: home,
    env: { ...process.env, PATH: `${linkedBinDir()}${path.delimiter}${PATH_WITHOUT_WSW}`, HOME: home, TERM: 'xterm-256color', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let pressed = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (child.kill(), reject(new Error(`the menu did not lead to a lesson:\n${out}`))), 20_000);
    child.stdout.on('data', (data: Buffer) => {
      out += data;
      if (!pressed && out.includes('EXIT')) {
        pressed = true;
        child.stdin.write('\u001b[B');
        child.stdin.write('\r');
      }
    });
    child.on('close', () => (clearTimeout(timer), resolve(out)));
  });
}

/** Runs the CLI in a real terminal of `columns` columns (through `script`), and returns what it drew. */
function inTerminal(args: string[], columns: number, env: Record<string, string> = {}): Ran {
  const command = `stty cols ${columns} rows 40; ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} ${args.join(' ')}`;
  const result = spawnSync('script', ['-qec', command, '/dev/null'], {
    cwd: home,
    env: { ...process.env, PATH: `${linkedBinDir()}${path.delimiter}${PATH_WITHOUT_WSW}`, HOME: home, TERM: 'xterm-256color', ...env },
    encoding: 'utf8',
    input: '',
  });
  const out = result.stdout.replace(/\r\n/g, '\n');
  return { code: result.status, out, stdout: out };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]|\u001b\][^\u0007]*\u0007/g;
const visible = (text: string) => text.replace(ANSI, '');
/** Every command line the workshop printed for the learner to type, as it printed it. */
const printedCommands = (out: string) => [...out.matchAll(/(?:^|[\s`(])((?:npx )?wsw [a-z]+|node \S+websocket-workshop\.js [a-z]+)/gm)].map((m) => m[1]!);

describe("a learner's terminal", () => {
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-learner-'));
  });
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  describe('commands that work as printed', () => {
    it('with wsw on PATH (the README set-up), every printed command starts with wsw', async () => {
      const { code, out } = await cli(['select', '2']);
      expect(code, out).toBe(0);
      const commands = printedCommands(out);
      expect(commands.length).toBeGreaterThan(2);
      for (const command of commands) expect(command).toMatch(/^wsw /);
      expect(out).not.toContain('npm link');
    });

    it('without wsw on PATH and outside the workshop, it prints the full node form and never npx wsw', async () => {
      const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-elsewhere-'));
      const selected = await cli(['select', '2'], { cwd: elsewhere, linked: false });
      expect(selected.code, selected.out).toBe(0);
      expect(selected.out).not.toMatch(/npx wsw/);
      expect(selected.out).not.toMatch(/(^|[\s`(])wsw [a-z]/m);
      expect(selected.out).toContain(`node ${BIN} run`);
      expect(selected.out, 'says once how to get the short command').toContain(`run \`npm link\` once in ${ROOT}`);
      // The printed command runs as printed: the same verify, from the same folder.
      const verify = spawnSync(process.execPath, [BIN, 'verify'], { cwd: elsewhere, env: { ...process.env, HOME: home, PATH: PATH_WITHOUT_WSW, NO_COLOR: '1' }, encoding: 'utf8' });
      expect(verify.status, verify.stdout).toBe(1);
      expect(verify.stdout).toContain('FAIL');
      const again = await cli(['select', '2'], { cwd: elsewhere, linked: false });
      expect(again.out, 'the tip is said once').not.toContain('npm link');
      fs.rmSync(elsewhere, { recursive: true, force: true });
    });

    it('inside the workshop folder without wsw on PATH, it prints npx wsw, which runs this workshop there', async () => {
      const { code, out } = await cli(['print', '2'], { cwd: ROOT, linked: false });
      expect(code, out).toBe(0);
      expect(out).toContain('npx wsw verify');
      // Run through npx as printed: npx puts a `wsw` on the PATH it gives the program, which is no
      // command the learner has; what is printed must still be the npx form.
      const npx = spawnSync('npx', ['--no-install', 'wsw', 'print', '2'], { cwd: ROOT, env: { ...process.env, HOME: home, PATH: PATH_WITHOUT_WSW, NO_COLOR: '1' }, encoding: 'utf8' });
      expect(npx.stdout).toContain('Lesson 2 of');
      for (const command of printedCommands(npx.stdout)) expect(command).toMatch(/^npx wsw /);
    });

    it('doctor checks that wsw is this workshop, and names another program of that name', async () => {
      const ours = await cli(['doctor']);
      expect(ours.out).toMatch(/✓ The wsw command: `wsw` runs this workshop/);
      const impostor = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-impostor-'));
      fs.writeFileSync(path.join(impostor, 'wsw'), '#!/bin/sh\necho another wsw\n', { mode: 0o755 });
      const other = await cli(['doctor'], { linked: false, env: { PATH: `${impostor}${path.delimiter}${PATH_WITHOUT_WSW}` } });
      expect(other.out).toMatch(/✗ The wsw command: `wsw` on your PATH is another program/);
      fs.rmSync(impostor, { recursive: true, force: true });
    });
  });

  describe("the learner's file, wherever they are", () => {
    it('select records the absolute path: verify, hint, solution and reset find it from any folder', async () => {
      const file = path.join(home, 'websocket-workshop', '02-echo-server.ts');
      expect(fs.existsSync(file)).toBe(true);
      const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-cd-'));
      fs.copyFileSync(lessonPaths('02-echo-server').solution, file);
      const verify = await cli(['verify'], { cwd: elsewhere });
      expect(verify.code, verify.out).toBe(0);
      expect(verify.out).toContain(file);
      const diff = await cli(['solution', '--diff'], { cwd: elsewhere });
      expect(diff.code, diff.out).toBe(0);
      const reset = await cli(['reset', '--yes'], { cwd: elsewhere });
      expect(reset.out).toContain(`${file} is the starter again`);
      expect(fs.readFileSync(file, 'utf8')).toBe(fs.readFileSync(lessonPaths('02-echo-server').starter, 'utf8'));
      expect(fs.existsSync(path.join(elsewhere, 'websocket-workshop')), 'nothing is created where the learner merely stands').toBe(false);
      fs.rmSync(elsewhere, { recursive: true, force: true });
    });

    it('select from inside a websocket-workshop folder uses that folder, never a nested one', async () => {
      const inner = path.join(home, 'websocket-workshop');
      const { code, out } = await cli(['select', '3'], { cwd: inner });
      expect(code, out).toBe(0);
      expect(fs.existsSync(path.join(inner, '03-broadcast.ts'))).toBe(true);
      expect(fs.existsSync(path.join(inner, 'websocket-workshop'))).toBe(false);
    });

    it("inside the workshop's own folder the files go to its workspace/ folder, not websocket-workshop/websocket-workshop", () => {
      expect(workspaceDir(ROOT)).toBe(path.join(ROOT, 'workspace'));
      expect(workspaceDir(path.join(ROOT, 'lessons'))).toBe(path.join(ROOT, 'workspace'));
      const learnerFolder = path.join(home, 'websocket-workshop');
      expect(workspaceDir(learnerFolder)).toBe(learnerFolder);
      expect(workspaceDir(home)).toBe(learnerFolder);
    });

    it('the path is printed after the lesson text as well as before, and print shows it', async () => {
      const selected = await cli(['select', '3']);
      const lines = selected.out.trimEnd().split('\n');
      expect(lines[0]).toContain('03-broadcast.ts');
      expect(lines.slice(-6).join('\n')).toContain('03-broadcast.ts');
      const printed = await cli(['print'], { cwd: os.tmpdir() });
      const end = printed.out.trimEnd().split('\n').slice(-6).join('\n');
      const shown = /Your file: (\S+)/.exec(end)?.[1];
      expect(shown, end).toBeDefined();
      expect(path.resolve(os.tmpdir(), shown!), 'a path that works from where the learner is').toBe(path.join(home, 'websocket-workshop', '03-broadcast.ts'));
    });
  });

  describe('lesson text that reads well', () => {
    it('the heading says "Lesson N of M"; current too', async () => {
      const printed = await cli(['print', '5']);
      expect(printed.out.split('\n')[0]).toBe(`Lesson 5 of ${lessons.length} · Heartbeat`);
      const current = await cli(['current']);
      expect(current.out).toContain(`Lesson 3 of ${lessons.length} · Broadcast`);
    });

    for (const columns of [60, 80]) {
      it(`in a terminal of ${columns} columns, no line of a lesson or of the help is wider`, () => {
        for (const args of [['print', '4'], ['help']]) {
          const { code, out } = inTerminal(args, columns);
          expect(code, out).toBe(0);
          expect(out, 'colour in a terminal').toMatch(ANSI);
          for (const line of visible(out).split('\n')) expect([...line].length, line).toBeLessThanOrEqual(columns);
        }
      });
    }

    it('in a terminal of 60 columns, a verdict and its transcript are fitted to the width too', () => {
      const wrong = path.join(home, 'wrong-01.ts');
      fs.writeFileSync(wrong, "import http from 'node:http';\nhttp.createServer((req, res) => res.end(new Date().toISOString())).listen(process.env.PORT);\n");
      const { code, out } = inTerminal(['verify', wrong, '--lesson', '1'], 60);
      expect(code, out).toBe(1);
      expect(visible(out)).toContain('FAIL');
      for (const line of visible(out).split('\n')) expect([...line].length, line).toBeLessThanOrEqual(60);
    });

    it('in a pipe: no escape codes, 80 columns unless COLUMNS says otherwise', async () => {
      const wide = await cli(['print', '4']);
      expect(wide.out).not.toMatch(ANSI);
      expect(Math.max(...wide.out.split('\n').map((l) => [...l].length))).toBeLessThanOrEqual(80);
      const narrow = await cli(['print', '4'], { env: { COLUMNS: '60' } });
      expect(Math.max(...narrow.out.split('\n').map((l) => [...l].length))).toBeLessThanOrEqual(60);
    });

    it('the menu leads to a lesson; under NO_COLOR it shows the chosen line without colours', async () => {
      const coloured = await chooseInMenu(60);
      expect(coloured).toMatch(/Lesson \d of \d+/);
      // eslint-disable-next-line no-control-regex
      expect(coloured, 'colours by default').toMatch(/\u001b\[(4\d|3\d)m/);
      const plain = await chooseInMenu(80, { NO_COLOR: '1' });
      expect(plain).toMatch(/Lesson \d of \d+/);
      // eslint-disable-next-line no-control-regex
      expect(plain, 'no foreground or background colour').not.toMatch(/\u001b\[(3\d|4\d|9\d)(;\d+)*m/);
      expect(plain, 'the chosen line in reverse video').toContain('\u001b[7m');
    });

    it('NO_COLOR is honoured in a terminal too', () => {
      const { out } = inTerminal(['print', '4'], 80, { NO_COLOR: '1' });
      // eslint-disable-next-line no-control-regex
      expect(out, 'no foreground or background colour').not.toMatch(/\u001b\[(3\d|4\d|9\d)/);
    });

    it('a pass says how many lessons are left; next after the last lesson says so instead of wrapping', async () => {
      const file = path.join(home, 'websocket-workshop', '02-echo-server.ts');
      fs.copyFileSync(lessonPaths('02-echo-server').solution, file);
      const pass = await cli(['verify', '--lesson', '2']);
      expect(pass.code, pass.out).toBe(0);
      expect(pass.out).toContain(`${lessons.length - 1} lessons left`);
      const last = lessons.at(-1)!;
      await cli(['select', last.slug]);
      const next = await cli(['next']);
      expect(next.code).toBe(0);
      expect(next.out).toContain('is the last lesson');
      expect(next.out).toMatch(new RegExp(`${lessons.length - 1} lessons are not done yet`));
      expect(next.out).not.toContain('Lesson 1 of');
    });
  });

  describe('clear answers to every wrong command', () => {
    it('an unknown command prints the help and a guess, exit 2; so do --help and -h', async () => {
      const typo = await cli(['verfy']);
      expect(typo.code).toBe(2);
      expect(typo.out).toContain('"verfy" is not a command. Did you mean wsw verify?');
      expect(typo.out).toContain('wsw select <lesson>');
      expect(typo.out).not.toMatch(/at .*\.(ts|js):\d+/);
      for (const flag of ['--help', '-h']) {
        const help = await cli([flag]);
        expect(help.code).toBe(2);
        expect(help.out).toContain('wsw select <lesson>');
        expect(help.out).not.toContain('is not a command');
      }
      const help = await cli(['help']);
      expect(help.code).toBe(0);
    });

    it('current and print with no lesson selected answer with the same words as the other commands, exit 2', async () => {
      const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-fresh-'));
      const saved = home;
      home = fresh;
      try {
        const answers = await Promise.all([['current'], ['print'], ['hint'], ['verify']].map((args) => cli(args)));
        for (const answer of answers) {
          expect(answer.code).toBe(2);
          expect(answer.out.trim()).toBe(answers[0]!.out.trim());
        }
        expect(answers[0]!.out).toContain('No lesson is selected yet');
      } finally {
        home = saved;
        fs.rmSync(fresh, { recursive: true, force: true });
      }
    });

    it('select with a partial name or a number out of range suggests; select alone says what it expects', async () => {
      const partial = await cli(['select', 'echo']);
      expect(partial.code).toBe(2);
      expect(partial.out).toContain('Did you mean "echo-server"?');
      const number = await cli(['select', '99']);
      expect(number.code).toBe(2);
      expect(number.out).toContain(`There is no lesson 99: the lessons are numbered 1 to ${lessons.length}.`);
      const alone = await cli(['select']);
      expect(alone.code).toBe(2);
      expect(alone.out).toContain('select expects a lesson');
    });

    it('verify --json prints one document that follows the schema even when it cannot judge, exit 2', async () => {
      const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'verdict.schema.json'), 'utf8'));
      const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
      const cases: Array<[string[], string]> = [
        [['verify', '--json', '--lesson', 'nope'], 'UNKNOWN_LESSON'],
        [['verify', '--json', path.join(home, 'missing.ts'), '--lesson', '2'], 'NO_SUCH_FILE'],
        [['verify', '--json', '--bogus'], 'BAD_ARGUMENTS'],
      ];
      for (const [args, code] of cases) {
        const run = await cli(args);
        expect(run.code, run.out).toBe(2);
        const document = JSON.parse(run.stdout);
        expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
        expect(document.failure.code).toBe(code);
        expect(document.exitCode).toBe(2);
      }
      // --all: every entry follows the schema, also for a lesson passed once whose file is gone.
      const passed = JSON.parse(fs.readFileSync(path.join(home, '.config', 'websocket-workshop', 'completed.json'), 'utf8')) as string[];
      expect(passed).toContain('02-echo-server');
      const gone = path.join(home, 'websocket-workshop', '02-echo-server.ts');
      const kept = `${gone}.kept`;
      fs.renameSync(gone, kept);
      try {
        const all = await cli(['verify', '--all', '--json']);
        expect(all.code, all.out).toBe(1);
        const documents = JSON.parse(all.stdout) as Array<{ failure: { code: string } | null }>;
        expect(documents.length).toBe(passed.length);
        for (const document of documents) expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
        expect(documents.map((d) => d.failure?.code)).toContain('NO_SUCH_FILE');
      } finally {
        fs.renameSync(kept, gone);
      }
    });
  });
});
