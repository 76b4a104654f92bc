// How a lesson is proven: its solution passes, every rule checked by a step; its untouched starter
// fails with a verdict (not a crash of the verifier); each catalogued wrong program fails with its code,
// on the rule it breaks; each correct program in another style passes. The test files
// test/lessons-*.test.ts each prove a share of the manifest's lessons, so that the suite's workers
// share them out.
import { describe, expect, it } from 'vitest';
import { lessons, type Lesson } from '../lessons/manifest.ts';
import { redisAvailable } from '../verify/harness/redis-server.ts';
import { browserAvailable } from '../verify/harness/browser.ts';
import { lessonPaths } from '../src/paths.ts';
import { loadLessonModule } from '../verify/harness/run-verifier.ts';
import { HarnessCodes } from '../verify/harness/failure.ts';
import { fixturesIn, goldenText, validProgramsIn, verify } from './support.ts';

/**
 * A lesson that needs Redis or a browser is skipped, loudly, on a machine without one; under CI a
 * missing tool is a failure, never a skip (.ci/run installs redis-server and chromium).
 */
function missingTools(lesson: Lesson): string[] {
  const available = { redis: redisAvailable, browser: browserAvailable };
  return (lesson.needs ?? []).filter((tool) => !available[tool]());
}

/** How to get each tool, said when a lesson is skipped or fails for want of it. */
const HOW_TO_GET = { redis: 'apt-get install redis-server, or set REDIS_URL', browser: 'apt-get install chromium, or set CHROME_PATH' };

/** What the harness finds while a program starts, before the first step. */
const START_CODES = new Set<string>([HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED, HarnessCodes.NEVER_CONNECTED, HarnessCodes.PROGRAM_CRASHED, HarnessCodes.PROGRAM_EXITED]);

/**
 * Under CI, a lesson proof that fails is run once more. Some lessons judge time (a heartbeat, a feed's
 * pace, a reconnect's backoff), and on a machine busy with other work a verdict can differ from the
 * one the same program gets alone; vitest still prints the first failure. A program misjudged twice
 * in a row fails the run.
 */
const RETRY = { retry: process.env.CI ? 1 : 0 };

/** How many test files share the lessons out (test/lessons-1.test.ts … test/lessons-N.test.ts). */
export const LESSON_SHARES = 3;

/**
 * Proves the lessons of share `share` (1-based) of LESSON_SHARES: every LESSON_SHARES-th lesson of the
 * manifest, so that neighbours, which tend to cost alike, fall into different shares.
 */
export function proveLessons(share: number): void {
  const chosen = lessons.filter((_, index) => index % LESSON_SHARES === share - 1);
  for (const lesson of chosen) {
    const paths = lessonPaths(lesson.slug);
    const missing = missingTools(lesson);
    if (missing.length > 0 && !process.env.CI) {
      const how = missing.map((tool) => HOW_TO_GET[tool as keyof typeof HOW_TO_GET]).join('; ');
      console.warn(`\n!!! SKIPPING ${lesson.slug}: ${missing.join(', ')} not found on this machine (${how}) !!!\n`);
      describe.skip(`${lesson.slug} (needs ${missing.join(', ')})`, () => {
        it('is proven only where its tools are', () => {});
      });
      continue;
    }
    describe(lesson.slug, () => {
      if (missing.length > 0) {
        it(`has ${missing.join(', ')} on this CI machine`, () => {
          expect.fail(`${lesson.slug} needs ${missing.join(', ')}, and CI must provide it: .ci/run installs redis-server and chromium`);
        });
        return;
      }
      it('passes with the reference solution', RETRY, async () => {
        const verdict = await verify(lesson, paths.solution);
        expect(verdict.failure, goldenText(verdict)).toBeUndefined();
        expect(verdict.passed).toBe(true);
        // Every step names the rules it checks, and together the steps check every rule.
        const { rules } = await loadLessonModule(lesson);
        for (const step of verdict.steps) expect(step.rules.length, `step "${step.title}" names its rules`).toBeGreaterThan(0);
        // A rule about listening is checked as the program starts, before any step.
        const checked = Object.entries(rules ?? {}).filter(([, r]) => !r.codes.every((c) => START_CODES.has(c))).map(([id]) => id);
        expect([...new Set(verdict.steps.flatMap((s) => s.rules))].sort()).toEqual(checked.sort());
        await expect(goldenText(verdict)).toMatchFileSnapshot(`golden/${lesson.slug}.solution.txt`);
      });

      it('fails with the untouched starter, with a verdict', RETRY, async () => {
        const verdict = await verify(lesson, paths.starter);
        expect(verdict.passed).toBe(false);
        expect(verdict.failure?.hint, 'a starter failure must tell the learner what to do next').toBeTruthy();
        await expect(goldenText(verdict)).toMatchFileSnapshot(`golden/${lesson.slug}.starter.txt`);
      });

      const fixtures = fixturesIn(paths.fixtures);
      it('has at least three catalogued wrong programs', () => {
        expect(fixtures.length).toBeGreaterThanOrEqual(3);
      });
      for (const fixture of fixtures) {
        it(`fails ${fixture.name} with ${fixture.expectedCode}`, RETRY, async () => {
          const verdict = await verify(lesson, fixture.file);
          expect(verdict.failure?.code, goldenText(verdict)).toBe(fixture.expectedCode);
          expect(verdict.failure?.hint, 'every catalogued mistake gets a hint').toBeTruthy();
          // It fails on the rule it breaks, inside a step that checks that rule (or while starting).
          expect(verdict.failure?.rule?.id, goldenText(verdict)).toBe(fixture.breaks);
          const step = verdict.steps.find((s) => !s.passed);
          if (step) expect(step.rules, `the failing step "${step.title}" checks ${fixture.breaks}`).toContain(fixture.breaks);
          else expect(START_CODES.has(verdict.failure!.code), 'a failure outside every step happens while starting').toBe(true);
        });
      }

      for (const program of validProgramsIn(paths.fixtures)) {
        it(`passes ${program.name} (${program.style})`, RETRY, async () => {
          const verdict = await verify(lesson, program.file);
          expect(verdict.failure, goldenText(verdict)).toBeUndefined();
          expect(verdict.passed).toBe(true);
        });
      }
    });
  }
}
