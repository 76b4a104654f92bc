import crypto from 'node:crypto';

/** What a learner's `wsw verify` sends: the outcome of one verification, never the learner's code. */
export interface Report {
  /** Random, chosen by the reporter: a report retried from the outbox is counted once. */
  id: string;
  lesson: string;
  passed: boolean;
  failureCode: string | null;
  durationMs: number;
  /** When the verification ended, in ms since the epoch (the learner's clock). */
  at: number;
}

/** Why a learner is marked stuck, or null. */
export type StuckReason = 'repeated-failure' | 'no-pass' | null;

/** One learner as the dashboard and the CSV see it: no token. */
export interface LearnerView {
  id: string;
  name: string;
  joinedAt: number;
  currentLesson: string | null;
  lessonsDone: string[];
  last: Omit<Report, 'id'> | null;
  reports: number;
  stuck: StuckReason;
}

/** Per lesson: learners who passed it, who are on it without a pass, and who are stuck on it. */
export interface LessonSummary {
  lesson: string;
  passed: number;
  trying: number;
  stuck: number;
}

/** The stuck rules' settings. */
export interface StuckRules {
  /** The same failure code this many times in a row on one lesson marks a learner stuck. */
  repeatedFailures: number;
  /** A learner still failing this long after their last pass (or joining) is stuck. */
  noPassMs: number;
}

interface Learner {
  id: string;
  name: string;
  token: string;
  joinedAt: number;
  done: Set<string>;
  last: Report | null;
  streak: { lesson: string; code: string; count: number } | null;
  lastPassAt: number;
  reports: number;
  /** Recent report ids: the outbox may send a report twice when two verifies flush at once. */
  seen: string[];
}

const SEEN_KEPT = 64;

/**
 * The class's learners, by token. A token is issued on join and is the only thing that identifies a
 * learner afterwards: names are free text, may repeat, and prove nothing.
 */
export class LearnerRegistry {
  private readonly byToken = new Map<string, Learner>();
  private readonly byId = new Map<string, Learner>();

  constructor(
    private readonly rules: StuckRules,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many learners have joined. */
  get size(): number {
    return this.byId.size;
  }

  /** Adds a learner and returns its secret token and its public id. */
  join(name: string): { token: string; id: string } {
    const token = crypto.randomBytes(24).toString('base64url');
    const id = crypto.randomBytes(6).toString('hex');
    const learner: Learner = {
      id, name, token, joinedAt: this.now(), done: new Set(), last: null, streak: null, lastPassAt: this.now(), reports: 0, seen: [],
    };
    this.byToken.set(token, learner);
    this.byId.set(id, learner);
    return { token, id };
  }

  /** True when the token belongs to a learner of this class. */
  knows(token: string): boolean {
    return this.byToken.has(token);
  }

  /**
   * Records a report for the learner holding `token`. Returns the learner's new view, 'duplicate' for a
   * report already counted, or undefined for an unknown token.
   */
  record(token: string, report: Report): LearnerView | 'duplicate' | undefined {
    const learner = this.byToken.get(token);
    if (!learner) return undefined;
    if (learner.seen.includes(report.id)) return 'duplicate';
    learner.seen.push(report.id);
    if (learner.seen.length > SEEN_KEPT) learner.seen.shift();
    // The learner's clock is trusted only within reason: never in the future, never before joining.
    const at = Math.min(Math.max(report.at, learner.joinedAt), this.now());
    const stored = { ...report, at };
    learner.last = stored;
    learner.reports += 1;
    if (report.passed) {
      learner.done.add(report.lesson);
      learner.lastPassAt = at;
      learner.streak = null;
    } else {
      const code = report.failureCode ?? 'UNKNOWN';
      const same = learner.streak && learner.streak.lesson === report.lesson && learner.streak.code === code;
      learner.streak = same ? { ...learner.streak!, count: learner.streak!.count + 1 } : { lesson: report.lesson, code, count: 1 };
    }
    return this.view(learner);
  }

  /** Every learner's view, in the order they joined. */
  views(): LearnerView[] {
    return [...this.byId.values()].map((l) => this.view(l));
  }

  /** Passed / trying / stuck counts for each lesson, in the order given. */
  summary(lessonSlugs: readonly string[]): LessonSummary[] {
    const views = this.views();
    return lessonSlugs.map((lesson) => ({
      lesson,
      passed: views.filter((v) => v.lessonsDone.includes(lesson)).length,
      trying: views.filter((v) => v.currentLesson === lesson && !v.lessonsDone.includes(lesson) && !v.stuck).length,
      stuck: views.filter((v) => v.currentLesson === lesson && !v.lessonsDone.includes(lesson) && v.stuck).length,
    }));
  }

  /** The stuck rule's verdict for a learner now. */
  private stuckReason(learner: Learner): StuckReason {
    if (!learner.last || learner.last.passed) return null;
    if (learner.streak && learner.streak.count >= this.rules.repeatedFailures) return 'repeated-failure';
    // Time without a pass counts only while the learner is failing: someone reading the next lesson is not stuck.
    if (this.now() - learner.lastPassAt >= this.rules.noPassMs) return 'no-pass';
    return null;
  }

  private view(learner: Learner): LearnerView {
    const last = learner.last && { lesson: learner.last.lesson, passed: learner.last.passed, failureCode: learner.last.failureCode, durationMs: learner.last.durationMs, at: learner.last.at };
    return {
      id: learner.id,
      name: learner.name,
      joinedAt: learner.joinedAt,
      currentLesson: learner.last?.lesson ?? null,
      lessonsDone: [...learner.done],
      last,
      reports: learner.reports,
      stuck: this.stuckReason(learner),
    };
  }
}
