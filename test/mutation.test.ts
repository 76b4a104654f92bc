// The list of equivalent mutants stays true to the solutions: each entry names a lesson that exists,
// code that is still in its solution, and a reason. (Mutation testing itself runs with npm run mutation.)
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lessons } from '../lessons/manifest.ts';
import { lessonPaths } from '../src/paths.ts';
import { equivalents } from '../scripts/mutation/equivalent.ts';

describe('equivalent mutants', () => {
  it('each names a lesson, code still in its solution, and why no program could tell it apart', () => {
    for (const e of equivalents) {
      const lesson = lessons.find((l) => l.slug === e.lesson);
      expect(lesson, `${e.lesson} is a lesson`).toBeDefined();
      expect(fs.readFileSync(lessonPaths(e.lesson).solution, 'utf8'), `solutions/${e.lesson}.ts still has ${JSON.stringify(e.original)}`).toContain(e.original);
      expect(e.reason.length, `${e.lesson}: ${e.original} → ${e.replacement} says why it is equivalent`).toBeGreaterThan(20);
    }
  });
});
