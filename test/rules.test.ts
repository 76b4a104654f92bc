// The maintainers' check of the rules method: every lesson's "The behaviour" is a list of numbered
// rules, declared once in its verifier and shown word for word in its problem.md; every failure code
// belongs to one rule; every rule has a catalogued wrong program that breaks it and fails with one of
// that rule's codes. (That a step can fail on each rule is proven by running those programs: see
// lesson-proof.ts, which checks each one fails inside a step naming its rule.)
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lessons } from '../lessons/manifest.ts';
import { lessonPaths } from '../src/paths.ts';
import { loadLessonModule } from '../verify/harness/run-verifier.ts';
import { HarnessCodes } from '../verify/harness/failure.ts';
import type { Rule, RuleId } from '../verify/harness/rules.ts';
import { fixturesIn } from './support.ts';

const harnessCodes = new Set<string>(Object.values(HarnessCodes));

for (const lesson of lessons) {
  describe(`${lesson.slug} rules`, () => {
    const paths = lessonPaths(lesson.slug);

    it('declares numbered rules, each shown in problem.md as declared', async () => {
      const { rules } = await loadLessonModule(lesson);
      expect(rules, `verify/${lesson.slug}.ts must export its rules`).toBeDefined();
      const ids = Object.keys(rules!);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids, 'rules are R1, R2, … in order').toEqual(ids.map((_, i) => `R${i + 1}`));
      const problem = fs.readFileSync(paths.problem, 'utf8');
      for (const [id, rule] of Object.entries(rules!) as Array<[RuleId, Rule]>) {
        expect(problem, `problem.md shows **${id}** with the text the verifier declares`).toContain(`**${id}** ${rule.text}`);
      }
      const shown = [...problem.matchAll(/\*\*(R\d+)\*\*/g)].map((m) => m[1]);
      expect([...new Set(shown)].sort(), 'problem.md shows no rule the verifier does not declare').toEqual([...ids].sort());
    });

    it('gives every failure code to exactly one rule, and every rule a code', async () => {
      const { rules, codes } = await loadLessonModule(lesson);
      const entries = Object.entries(rules ?? {}) as Array<[RuleId, Rule]>;
      for (const code of Object.values(codes ?? {})) {
        const owners = entries.filter(([, r]) => r.codes.includes(code)).map(([id]) => id);
        expect(owners, `${code} belongs to exactly one rule`).toHaveLength(1);
      }
      const known = new Set([...Object.values(codes ?? {}), ...harnessCodes]);
      for (const [id, rule] of entries) {
        expect(rule.codes.length, `${id} has a code that enforces it`).toBeGreaterThan(0);
        for (const code of rule.codes) expect(known.has(code), `${id} names ${code}, which is neither the lesson's nor the harness's`).toBe(true);
      }
    });

    it('has, for every rule, a wrong program that breaks it and fails with one of its codes', async () => {
      const { rules } = await loadLessonModule(lesson);
      const fixtures = fixturesIn(paths.fixtures);
      for (const fixture of fixtures) {
        expect(fixture.breaks, `${fixture.name} names the rule it breaks: // breaks: Rn`).toBeDefined();
        const rule = rules?.[fixture.breaks as RuleId];
        expect(rule, `${fixture.name} breaks ${fixture.breaks}, which the lesson declares`).toBeDefined();
        expect(rule!.codes, `${fixture.name} expects ${fixture.expectedCode}, a code of ${fixture.breaks}`).toContain(fixture.expectedCode);
      }
      for (const id of Object.keys(rules ?? {})) {
        expect(fixtures.some((f) => f.breaks === id), `${id} has a catalogued wrong program`).toBe(true);
      }
    });
  });
}
