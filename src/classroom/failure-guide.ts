import { loadLessonModule } from '../../verify/harness/run-verifier.ts';
import { plainRuleText, type RuleId, type Rules } from '../../verify/harness/rules.ts';
import { lessons } from '../lessons.ts';

/** What the teacher is told about one failure code of one lesson. */
export interface CodeGuide {
  /** The rule the code enforces, as problem.md words it ("R2: For each message…"). */
  meaning: string;
  /** The hint that covers the code, and its number for `wsw hint`, when the lesson has one. */
  hint?: { number: number; text: string };
}

/** The guide for every failure code, keyed `<lesson> <code>`: a code's meaning can differ between lessons. */
export type FailureGuide = Record<string, CodeGuide>;

/** The guide's key for a lesson's code. */
export function guideKey(lesson: string, code: string): string {
  return `${lesson} ${code}`;
}

/**
 * Reads each lesson's rules (from its verifier) and hints (from the manifest) into one table, so the
 * dashboard can say what a failure code means and which hint explains it — the words the learners see.
 * A lesson whose verifier cannot be loaded just has no entries.
 */
export function loadFailureGuide(): Promise<FailureGuide> {
  // The same for every class server in this process: read once.
  loading ??= readGuide();
  return loading;
}

let loading: Promise<FailureGuide> | undefined;

async function readGuide(): Promise<FailureGuide> {
  const guide: FailureGuide = {};
  for (const lesson of lessons) {
    let rules: Rules | undefined;
    try {
      ({ rules } = await loadLessonModule(lesson));
    } catch {
      continue;
    }
    for (const [id, rule] of Object.entries(rules ?? {}) as Array<[RuleId, Rules[RuleId]]>) {
      for (const code of rule.codes) {
        const index = lesson.hints.findIndex((h) => typeof h !== 'string' && h.covers.includes(code));
        const hint = index >= 0 ? lesson.hints[index] : undefined;
        guide[guideKey(lesson.slug, code)] = {
          meaning: `${id}: ${plainRuleText(rule.text)}`,
          ...(hint && typeof hint !== 'string' ? { hint: { number: index + 1, text: hint.text } } : {}),
        };
      }
    }
  }
  return guide;
}
