import { prefixOf } from './transcript.ts';
import type { Verdict } from './run-verifier.ts';

/** Bumped when a field changes meaning or disappears; adding a field keeps the version. */
export const VERDICT_SCHEMA_VERSION = 1;

/** One line of the transcript as tools read it. */
export interface JsonLine {
  atMs: number;
  /** `[verify]`, `[alice]`, `[your server]` — as printed. */
  source: string;
  kind: 'verify' | 'client' | 'program';
  text: string;
}

/** What `verify --json` prints: described by schema/verdict.schema.json. */
export interface VerdictDocument {
  schemaVersion: number;
  lesson: string;
  file: string;
  passed: boolean;
  /** The process's exit code: 0 pass, 1 fail, 2 could not judge. */
  exitCode: 0 | 1 | 2;
  failure: {
    code: string;
    message: string;
    expected: string | null;
    actual: string | null;
    hint: string | null;
    step: string | null;
    details: string[];
    cannotJudge: boolean;
    /** The lesson hint (1-based) about this mistake, or null. */
    coveredByHint: number | null;
    /** The rule of the lesson's problem.md this failure enforces, or null. */
    rule: { id: string; text: string } | null;
  } | null;
  /** The title of the step that failed, or null. */
  failedStep: string | null;
  steps: Array<{ title: string; rules: string[]; ms: number; passed: boolean }>;
  durationMs: number;
  /** The verifier's and the clients' lines. */
  transcript: JsonLine[];
  /** What the learner's program printed, bounded as in the terminal. */
  output: JsonLine[];
}

/** The exit code a verdict leads to. */
export function exitCodeOf(verdict: Verdict): 0 | 1 | 2 {
  if (verdict.passed) return 0;
  return verdict.failure?.cannotJudge ? 2 : 1;
}

/** A verdict as one JSON-ready document. */
export function verdictDocument(verdict: Verdict): VerdictDocument {
  const lines = verdict.transcript.map(
    (e): JsonLine => ({ atMs: e.atMs, source: prefixOf(e.source), kind: e.source.kind, text: e.text }),
  );
  const f = verdict.failure;
  return {
    schemaVersion: VERDICT_SCHEMA_VERSION,
    lesson: verdict.lesson,
    file: verdict.file,
    passed: verdict.passed,
    exitCode: exitCodeOf(verdict),
    failure: f
      ? {
          code: f.code,
          message: f.message,
          expected: f.expected ?? null,
          actual: f.actual ?? null,
          hint: f.hint ?? null,
          step: f.step ?? null,
          details: f.details,
          cannotJudge: f.cannotJudge,
          coveredByHint: f.coveredByHint ?? null,
          rule: f.rule ?? null,
        }
      : null,
    failedStep: f?.step ?? null,
    steps: verdict.steps,
    durationMs: verdict.durationMs,
    transcript: lines.filter((l) => l.kind !== 'program'),
    output: lines.filter((l) => l.kind === 'program'),
  };
}
