import fs from 'node:fs';
import path from 'node:path';
import type { Lesson, Timeouts } from '../../lessons/manifest.ts';
import { hintCovering, timeoutsOf } from '../../src/lessons.ts';
import { CannotJudge, HarnessCodes, VerifyFailure } from './failure.ts';
import { ruleOfCode, type RuleId, type Rules } from './rules.ts';
import { Verification, type LessonVerifier, type PrepareRun, type StepRecord } from './session.ts';
import { verifierModuleUrl } from './typescript-loader.ts';
import { Transcript, type TranscriptEntry } from './transcript.ts';

/** The outcome of verifying one file against one lesson. */
export interface Verdict {
  lesson: string;
  file: string;
  passed: boolean;
  failure?: {
    code: string;
    message: string;
    expected?: string;
    actual?: string;
    hint?: string;
    step?: string;
    details: string[];
    /** True when the failure is not the learner's: the verification could not take place. */
    cannotJudge: boolean;
    /** The number of the lesson hint (1-based) that is about this mistake, if one is. */
    coveredByHint?: number;
    /** The rule of problem.md this failure enforces, when the lesson's rules name its code. */
    rule?: { id: RuleId; text: string };
  };
  steps: StepRecord[];
  durationMs: number;
  transcript: TranscriptEntry[];
}

export interface VerifyOptions {
  lesson: Lesson;
  /** The learner's file; relative paths are taken from the current directory. */
  file: string;
  /** Receives transcript lines as they happen. */
  transcript?: Transcript;
  /** Overrides of the lesson's time limits. */
  timeouts?: Partial<Timeouts>;
}

/** Failures that a dying program causes as a side effect; its own exit explains them better. */
const SYMPTOMS_OF_A_DEAD_PROGRAM = new Set<string>([
  HarnessCodes.CONNECTION_CLOSED,
  HarnessCodes.CONNECT_FAILED,
  HarnessCodes.NO_REPLY,
]);
const DEATH_SETTLE_MS = 300;

/**
 * Verifies a learner's file against a lesson: runs the lesson's verifier with a fresh Verification,
 * turns what it throws into a verdict, and always tears everything down. Throws only when the
 * verifier itself is broken (a bug in the workshop, not in the learner's code).
 */
export async function verifyFile(options: VerifyOptions): Promise<Verdict> {
  const { lesson } = options;
  const file = path.resolve(options.file);
  const transcript = options.transcript ?? new Transcript();
  const timeouts = { ...timeoutsOf(lesson), ...options.timeouts };
  const started = Date.now();
  const verification = new Verification(lesson, file, transcript, timeouts);
  const { verifier, rules } = await loadLessonModule(lesson);
  const verdict = (failure?: VerifyFailure): Verdict => ({
    lesson: lesson.slug,
    file,
    passed: !failure,
    failure: failure && {
      code: failure.code,
      message: failure.message,
      expected: failure.expected,
      actual: failure.actual,
      hint: failure.hint,
      step: failure.step,
      details: failure.details,
      cannotJudge: failure instanceof CannotJudge,
      coveredByHint: hintCovering(lesson, failure.code),
      rule: ruleOfCode(rules, failure.code),
    },
    steps: verification.steps,
    durationMs: Date.now() - started,
    transcript: transcript.entries,
  });

  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    return verdict(
      new VerifyFailure({ code: HarnessCodes.FILE_NOT_FOUND, message: `There is no file at ${file}.` }),
    );
  }

  let overall: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      verifier(verification),
      new Promise<never>((_, reject) => {
        overall = setTimeout(
          () =>
            reject(
              new VerifyFailure({
                code: HarnessCodes.TIMEOUT,
                message: `The verification did not finish within ${timeouts.totalMs} ms${verification.currentStep ? `; it was at "${verification.currentStep}"` : ''}.`,
              }),
            ),
          timeouts.totalMs,
        );
      }),
    ]);
    return verdict();
  } catch (error) {
    if (!(error instanceof VerifyFailure)) throw error;
    verification.releaseUnread();
    const failure = await explainByExit(verification, error);
    failure.step ??= verification.currentStep;
    transcript.note(`✗ ${failure.code}: ${failure.message}`, 'error');
    return verdict(failure);
  } finally {
    clearTimeout(overall);
    await verification.teardown();
  }
}

/**
 * A connection that drops or a reply that never comes is often only the symptom of a program that
 * crashed. Give the exit a moment to be seen, and if it was, report the crash instead.
 */
async function explainByExit(verification: Verification, failure: VerifyFailure): Promise<VerifyFailure> {
  if (!SYMPTOMS_OF_A_DEAD_PROGRAM.has(failure.code)) return failure;
  for (const { program } of verification.servers) {
    const exit = await Promise.race([program.exited, new Promise((r) => setTimeout(r, DEATH_SETTLE_MS))]);
    if (exit) {
      const explained = program.exitFailure(failure.step ? `during "${failure.step}"` : 'while being verified');
      explained.step = failure.step;
      return explained;
    }
  }
  return failure;
}

/** What a lesson's verifier module exports: the verifier, and optionally how `run` starts things. */
export interface LessonModule {
  verifier: LessonVerifier;
  prepareRun?: PrepareRun;
  /** The lesson's rules, R1, R2, … as its problem.md numbers them. */
  rules?: Rules;
  /** The lesson's own failure codes. */
  codes?: Record<string, string>;
}

/** Loads `verify/<slug>.ts` (compiled, when the CLI runs compiled). */
export async function loadLessonModule(lesson: Lesson): Promise<LessonModule> {
  const module = (await import(await verifierModuleUrl(lesson.slug))) as {
    default?: LessonVerifier;
    prepareRun?: PrepareRun;
    rules?: Rules;
    Codes?: Record<string, string>;
  };
  if (typeof module.default !== 'function') throw new Error(`verify/${lesson.slug}.ts has no default export`);
  return { verifier: module.default, prepareRun: module.prepareRun, rules: module.rules, codes: module.Codes };
}
