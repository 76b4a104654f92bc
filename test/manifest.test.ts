// The workshop's conventions, turned into checks: a lesson that breaks one fails here, by name.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lessons } from '../lessons/manifest.ts';
import { lessonTable } from '../src/lesson-table.ts';
import { hintTexts } from '../src/lessons.ts';
import { lessonPaths, ROOT } from '../src/paths.ts';

/** Every lesson text has these sections, in this order. */
const PROBLEM_SECTIONS = ['## What you will build', '## Why it matters', '## The behaviour', '## How it is checked', '## Try it by hand'];

describe('the lesson manifest', () => {
  it('lists lessons in the order of their numbers, each slug once', () => {
    const numbers = lessons.map((l) => Number(l.slug.slice(0, 2)));
    expect(numbers).toEqual(numbers.map((_, i) => i + 1));
    expect(new Set(lessons.map((l) => l.slug)).size).toBe(lessons.length);
    for (const lesson of lessons) expect(lesson.slug).toMatch(/^\d\d-[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it('has no lesson folder, solution or verifier that the manifest does not list', () => {
    const listed = new Set(lessons.map((l) => l.slug));
    const folders = fs.readdirSync(path.join(ROOT, 'lessons')).filter((f) => /^\d\d-/.test(f));
    const solutions = fs.readdirSync(path.join(ROOT, 'solutions')).map((f) => f.replace(/\.ts$/, ''));
    const verifiers = fs
      .readdirSync(path.join(ROOT, 'verify'))
      .filter((f) => /^\d\d-.*\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''));
    for (const stray of [...folders, ...solutions, ...verifiers]) expect(listed, `${stray} is not in the manifest`).toContain(stray);
  });

  for (const lesson of lessons) {
    describe(lesson.slug, () => {
      const paths = lessonPaths(lesson.slug);

      it('has its problem text, starter, solution and verifier', () => {
        for (const file of [paths.problem, paths.starter, paths.solution, paths.verifier]) {
          expect(fs.existsSync(file), `${path.relative(ROOT, file)} is missing`).toBe(true);
        }
      });

      it('has progressive hints, none empty', () => {
        expect(lesson.hints.length).toBeGreaterThanOrEqual(2);
        for (const hint of hintTexts(lesson)) expect(hint.trim().length).toBeGreaterThan(20);
      });

      it('has a problem text in the shape every lesson follows, naming every variable it is given', () => {
        const text = fs.readFileSync(paths.problem, 'utf8');
        const headings = text.split('\n').filter((line) => line.startsWith('## '));
        expect(headings, 'problem.md has the sections every lesson has, in order').toEqual(PROBLEM_SECTIONS);
        for (const name of ['PORT', ...Object.keys(lesson.env ?? {})]) expect(text, `problem.md must name ${name}`).toContain(name);
      });

      it('has a starter with TODOs that lead somewhere', () => {
        expect(fs.readFileSync(paths.starter, 'utf8')).toMatch(/TODO:? \S+/);
      });
    });
  }

  it("is what the README's lesson table shows", () => {
    expect(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain(lessonTable());
  });
});
