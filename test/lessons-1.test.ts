// Share 1 of 3 of the lessons (every third lesson of the manifest from the 1st), proven as
// test/lesson-proof.ts says; and the check that every share has its file, so that no lesson goes unproven.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { LESSON_SHARES, proveLessons } from './lesson-proof.ts';

proveLessons(1);

it('every share of the lessons has its test file', () => {
  for (let share = 1; share <= LESSON_SHARES; share++) {
    expect(fs.existsSync(path.join(import.meta.dirname, `lessons-${share}.test.ts`)), `test/lessons-${share}.test.ts`).toBe(true);
  }
});
