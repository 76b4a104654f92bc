// The harness against programs that misbehave in every way a learner's can. Each gets the right
// verdict within a bound, and no process outlives its verification.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { findLesson } from '../src/lessons.ts';
import { lessonPaths, ROOT } from '../src/paths.ts';
import { fixturesIn, goldenText, processesMentioning, verify } from './support.ts';

const echo = findLesson('echo-server');
const fixtures = fixturesIn(path.join(ROOT, 'verify', 'fixtures', 'harness'));
/** Programs that listen late on purpose, with the start timeout each gets; every other one gets 1.5 s. */
const SLOW_TO_START: Record<string, number> = { 'slow-start.ts': 5000, 'slow-load-then-timer.ts': 8000 };

const copies = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-harness-'));
afterAll(() => fs.rmSync(copies, { recursive: true, force: true }));

/** The fixture copied, under its own name, into a folder of this test file's own. */
function privateCopy(file: string): string {
  const copy = path.join(copies, path.basename(file));
  fs.copyFileSync(file, copy);
  return copy;
}

describe('the harness', () => {
  for (const fixture of fixtures) {
    it(`${fixture.expectedCode === 'PASS' ? 'passes' : `fails with ${fixture.expectedCode}`}: ${fixture.name}`, async () => {
      // A short start timeout keeps "never listens" quick; slow-start still has room. How fast verdicts
      // come is measured by `npm run bench`, not asserted here: the test's own timeout catches a hang.
      // A copy of its own, so that the process check below sees this program only, never the same
      // fixture run by another test file at the same moment.
      const file = privateCopy(fixture.file);
      const verdict = await verify(echo, file, { startMs: SLOW_TO_START[fixture.name] ?? 1500 });
      const transcript = goldenText(verdict);
      if (fixture.expectedCode === 'PASS') expect(verdict.failure, transcript).toBeUndefined();
      else expect(verdict.failure?.code, transcript).toBe(fixture.expectedCode);
      expect(processesMentioning(file), 'the program must be gone after verify').toEqual([]);
    });
  }

  it('leaves no grandchild behind', async () => {
    await verify(echo, path.join(ROOT, 'verify/fixtures/harness/spawns-child.ts'));
    expect(processesMentioning('wsw-grandchild-marker')).toEqual([]);
  });

  it('points at the line of the learner file that threw', async () => {
    const verdict = await verify(echo, path.join(ROOT, 'verify/fixtures/harness/crashes-at-start.ts'));
    expect(verdict.failure?.message).toMatch(/crashes-at-start\.ts:5/);
    expect(verdict.failure?.details.join('\n')).toMatch(/SyntaxError/);
  });

  it('reports the port a program listened on instead of PORT', async () => {
    const verdict = await verify(echo, path.join(ROOT, 'verify/fixtures/harness/wrong-port.ts'));
    expect(verdict.failure?.actual).toBe('it used port 8080 instead');
    expect(verdict.failure?.hint).toMatch(/process\.env\.PORT/);
  });

  it('names process.env.PORT when a program never listens', async () => {
    const verdict = await verify(echo, path.join(ROOT, 'verify/fixtures/harness/never-listens.ts'), { startMs: 500 });
    expect(verdict.failure?.hint).toMatch(/process\.env\.PORT/);
  });

  it('explains a dropped connection by the crash that caused it', async () => {
    const verdict = await verify(echo, path.join(ROOT, 'verify/fixtures/harness/crashes-on-message.ts'));
    expect(verdict.failure?.step).toBe('echoes a text message as text');
    expect(verdict.failure?.message).toMatch(/during "echoes a text message as text"/);
  });

  it("keeps the verifier's memory bounded when a program prints 100 MB", async () => {
    // What the verifier keeps (strings and buffers), not the process's RSS, which garbage collection
    // timing alone moves by tens of MB; and what it keeps after a full collection, since garbage
    // waits for one longer on some Node versions than on others.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const held = () => {
      gc();
      return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    };
    const before = held();
    const verdict = await verify(echo, path.join(ROOT, 'verify/fixtures/harness/prints-100mb.ts'));
    const grown = held() - before;
    expect(verdict.failure, goldenText(verdict)).toBeUndefined();
    expect(verdict.transcript.some((e) => /^… (9\d|100)\.\d MiB of output not shown …$/.test(e.text))).toBe(true);
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });

  it('says which client was waiting for what when the server closed the connection', async () => {
    const verdict = await verify(echo, path.join(ROOT, 'verify/fixtures/harness/closes-every-connection.ts'));
    expect(verdict.failure?.actual).toMatch(/^a close frame 1001 \(going away\) reason "bye": your server closed the connection while alice was waiting for the echo/);
  });

  it('keeps the transcript bounded when a program floods its output', async () => {
    const verdict = await verify(echo, path.join(ROOT, 'verify/fixtures/harness/floods-stdout.ts'));
    const programLines = verdict.transcript.filter((e) => e.source.kind === 'program');
    expect(programLines.length).toBeLessThanOrEqual(300);
    expect(programLines.some((e) => /[\d.]+ [KM]iB of output not shown/.test(e.text))).toBe(true);
    expect(Math.max(...programLines.map((e) => e.text.length))).toBeLessThanOrEqual(520);
  });

  it('verifies a copy of a solution in a folder outside the workshop', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-outside-'));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'echo.ts');
    fs.copyFileSync(lessonPaths(echo.slug).solution, file);
    const verdict = await verify(echo, file);
    expect(verdict.failure, goldenText(verdict)).toBeUndefined();
  });

  it('runs a .ts file with top-level await in a folder with no package.json', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-no-package-'));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'echo.ts');
    fs.copyFileSync(path.join(ROOT, 'verify', 'fixtures', '02-echo-server', 'valid', 'top-level-await.ts'), file);
    const verdict = await verify(echo, file);
    expect(verdict.failure, goldenText(verdict)).toBeUndefined();
  });

  it('says so when the file does not exist', async () => {
    const verdict = await verify(echo, path.join(os.tmpdir(), 'no-such-file.ts'));
    expect(verdict.failure?.code).toBe('FILE_NOT_FOUND');
  });
});
