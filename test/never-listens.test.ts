// A program that will never listen gets its verdict as soon as that is plain, not at the end of the
// start timeout; one that may still listen (after a timer, or once its I/O is done) is given the time.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLesson } from '../src/lessons.ts';
import { ROOT } from '../src/paths.ts';
import { goldenText, verify } from './support.ts';

const echo = findLesson('echo-server');
const fixture = (name: string) => path.join(ROOT, 'verify', 'fixtures', 'harness', name);
/** Far beyond the idle verdict: a verdict that says "idle" came before the start timeout could. */
const START_MS = 8000;

describe('a program that never listens', () => {
  it('waiting on nothing but timers: told so, without waiting for the start timeout', async () => {
    const verdict = await verify(echo, fixture('never-listens.ts'), { startMs: START_MS });
    expect(verdict.failure?.code, goldenText(verdict)).toBe('NEVER_LISTENED');
    expect(verdict.failure?.message).toContain('waiting on nothing but timers, and never called listen()');
  });

  it('waiting on I/O: given the whole start timeout, since it may still listen', async () => {
    const verdict = await verify(echo, fixture('waits-on-io.ts'), { startMs: 2500 });
    expect(verdict.failure?.code, goldenText(verdict)).toBe('NEVER_LISTENED');
    expect(verdict.failure?.message).toContain('did not listen on port');
    expect(verdict.failure?.message).toContain('within 2500 ms');
  });

  it('listening after a 1.5 s timer: passes, even with time to spare for the idle check', async () => {
    const verdict = await verify(echo, fixture('slow-start.ts'), { startMs: START_MS });
    expect(verdict.failure, goldenText(verdict)).toBeUndefined();
  });

  it('listening after a 1.5 s timer set once a slow load is over: passes', async () => {
    const verdict = await verify(echo, fixture('slow-load-then-timer.ts'), { startMs: START_MS });
    expect(verdict.failure, goldenText(verdict)).toBeUndefined();
  });
});
