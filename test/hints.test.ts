// Hints that name the mistakes they help with: a verdict points the learner to them ("More help: wsw hint N
// is about this mistake"). These checks keep those names true to the verifiers and the catalogue of mistakes.
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lessons, type Hint, type Lesson } from '../lessons/manifest.ts';
import { hintCovering } from '../src/lessons.ts';
import { lessonPaths } from '../src/paths.ts';
import { HarnessCodes } from '../verify/harness/failure.ts';
import { fixturesIn } from './support.ts';

/**
 * Catalogued mistakes (codes a fixture expects) that no hint of their lesson honestly helps with, so
 * that no hint covers them. Each entry says why. Before adding one, look for a hint that really is
 * about the mistake; an entry whose code a hint has come to cover fails the suite, so the list only
 * shrinks when hints grow.
 */
const UNCOVERED: Readonly<Record<string, readonly string[]>> = {
  '03-broadcast': [
    // moderates-long-messages.ts: no hint warns that delaying some messages (a check, an await) lets later ones overtake.
    'BROADCAST_OUT_OF_ORDER',
  ],
  '04-lifecycle': [
    // id-from-count.ts: hint 1 keeps an id per socket, but never says ids must be unique (a counter, not the count).
    'LIFECYCLE_WRONG_ID',
    // presence-to-everyone.ts: no hint is about {"type":"who"} and its presence answer to the asker alone.
    'LIFECYCLE_UNEXPECTED_MESSAGE',
    // leave-without-code.ts: hint 2 says where to announce the leave, not that the 'close' handler's code goes in it.
    'LIFECYCLE_WRONG_LEAVE_CODE',
    // close-handler-after-await.ts: no hint says to attach 'close' synchronously, before any await.
    'LIFECYCLE_PRESENCE_DRIFT',
  ],
  '08-socketio-contrast': [
    // plain-ws-server.ts: the hints assume a socket.io Server; none says to create one instead of a ws server.
    'SOCKETIO_CONNECT_FAILED',
  ],
};

const HARNESS_CODES = new Set<string>(Object.values(HarnessCodes));

/**
 * Listening on another port, or never: the harness's verdict says what to do itself (read
 * process.env.PORT, call listen), the same in every lesson, so no lesson hint needs to cover it.
 */
const SELF_EXPLAINED = new Set<string>([HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED]);

function hintsWithCodes(lesson: Lesson): Array<{ number: number; hint: Hint }> {
  return lesson.hints.flatMap((hint, i) => (typeof hint === 'string' ? [] : [{ number: i + 1, hint }]));
}

/** The failure codes a lesson's verifier exports as `Codes`. */
async function lessonCodes(lesson: Lesson): Promise<Set<string>> {
  const verifier = (await import(pathToFileURL(lessonPaths(lesson.slug).verifier).href)) as { Codes?: Record<string, string> };
  expect(verifier.Codes, `${lesson.slug}'s verifier exports no Codes`).toBeDefined();
  return new Set(Object.values(verifier.Codes!));
}

describe('hints that name the mistakes they help with', () => {
  it('allow-lists only lessons that exist', () => {
    const slugs = lessons.map((l) => l.slug);
    for (const slug of Object.keys(UNCOVERED)) expect(slugs, `UNCOVERED names ${slug}`).toContain(slug);
  });

  for (const lesson of lessons) {
    describe(lesson.slug, () => {
      const covering = hintsWithCodes(lesson);
      const fixtures = fixturesIn(lessonPaths(lesson.slug).fixtures);
      const uncovered = UNCOVERED[lesson.slug] ?? [];

      it("covers only codes of the lesson's verifier or of the harness", async () => {
        const own = await lessonCodes(lesson);
        for (const { number, hint } of covering) {
          expect(hint.covers.length, `hint ${number} is an object but covers nothing`).toBeGreaterThan(0);
          for (const code of hint.covers) {
            expect(own.has(code) || HARNESS_CODES.has(code), `hint ${number} covers ${code}, which neither the verifier nor the harness defines`).toBe(
              true,
            );
          }
        }
      });

      it('covers each code with one hint only', () => {
        const seen = new Map<string, number>();
        for (const { number, hint } of covering) {
          for (const code of hint.covers) {
            expect(seen.get(code), `${code} is covered by hint ${seen.get(code)} and again by hint ${number}`).toBeUndefined();
            seen.set(code, number);
          }
        }
      });

      it('points every catalogued mistake to a hint, but those allow-listed', () => {
        for (const fixture of fixtures) {
          if (uncovered.includes(fixture.expectedCode) || SELF_EXPLAINED.has(fixture.expectedCode)) continue;
          expect(
            hintCovering(lesson, fixture.expectedCode),
            `${fixture.name} expects ${fixture.expectedCode}, which no hint covers: add it to the hint about it, or to UNCOVERED with a reason`,
          ).toBeDefined();
        }
      });

      it('allow-lists only catalogued mistakes that no hint covers', () => {
        const catalogued = new Set(fixtures.map((f) => f.expectedCode));
        for (const code of uncovered) {
          expect(catalogued.has(code), `UNCOVERED lists ${code}, which no fixture of ${lesson.slug} expects`).toBe(true);
          expect(hintCovering(lesson, code), `UNCOVERED lists ${code}, but hint ${hintCovering(lesson, code)} covers it now`).toBeUndefined();
        }
      });
    });
  }
});
