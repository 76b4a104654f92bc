import crypto from 'node:crypto';
import { nameKey } from './names.ts';

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
  /**
   * The name as the teacher sees it: the name itself, or with "(2)", "(3)"… for a later learner whose
   * name reads the same as an earlier one's, so two Adas are never one row to the eye.
   */
  label: string;
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
  /** 1 for the first learner with this name (as nameKey reads it), 2 for the next… */
  ordinal: number;
  token: string;
  joinedAt: number;
  done: Set<string>;
  last: Report | null;
  streak: { lesson: string; code: string; count: number } | null;
  lastPassAt: number;
  reports: number;
  /** Recent report ids: the outbox may send a report twice when two verifies flush at once. */
  seen: string[];
  /** The latest verdicts, newest last, for the teacher's closer look at one learner. */
  recent: Array<Omit<Report, 'id'>>;
}

const SEEN_KEPT = 64;
/** Verdicts kept per learner for the teacher's closer look. */
export const RECENT_KEPT = 10;

/**
 * The class's learners, by token. A token is issued on join and is the only thing that identifies a
 * learner afterwards: names are free text, may repeat, and prove nothing.
 */
export class LearnerRegistry {
  private readonly byToken = new Map<string, Learner>();
  private readonly byId = new Map<string, Learner>();
  private readonly sameName = new Map<string, number>();

  constructor(
    private readonly rules: StuckRules,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many learners have joined. */
  get size(): number {
    return this.byId.size;
  }

  /**
   * Adds a learner and returns its secret token, its public id and when it joined. `restored` brings back
   * a learner who joined before the class server restarted.
   */
  join(name: string, restored?: { token: string; id: string; joinedAt: number }): { token: string; id: string; joinedAt: number } {
    const token = restored?.token ?? crypto.randomBytes(24).toString('base64url');
    const id = restored?.id ?? crypto.randomBytes(6).toString('hex');
    const joinedAt = restored?.joinedAt ?? this.now();
    const key = nameKey(name);
    const ordinal = (this.sameName.get(key) ?? 0) + 1;
    this.sameName.set(key, ordinal);
    const learner: Learner = {
      id, name, ordinal, token, joinedAt, done: new Set(), last: null, streak: null, lastPassAt: joinedAt, reports: 0, seen: [], recent: [],
    };
    this.byToken.set(token, learner);
    this.byId.set(id, learner);
    return { token, id, joinedAt };
  }

  /** True when this learner's report with this id was already counted (an outbox sending it again). */
  hasSeen(token: string, reportId: string): boolean {
    return this.byToken.get(token)?.seen.includes(reportId) ?? false;
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
    learner.recent.push({ lesson: stored.lesson, passed: stored.passed, failureCode: stored.failureCode, durationMs: stored.durationMs, at });
    if (learner.recent.length > RECENT_KEPT) learner.recent.shift();
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

  /** A learner's latest verdicts, newest first (lesson, result, code, time: what was reported, nothing more). */
  recentOf(id: string): Array<Omit<Report, 'id'>> | undefined {
    return this.byId.get(id)?.recent.slice().reverse();
  }

  /** Every learner's view, in the order they joined. */
  views(): LearnerView[] {
    return [...this.byId.values()].map((l) => this.view(l));
  }

  /** Passed / trying / stuck counts for each lesson, in the order given. */
  summary(lessonSlugs: readonly string[]): LessonSummary[] {
    // Sent with every report: one pass over the learners, without building their views.
    const counts = new Map(lessonSlugs.map((lesson) => [lesson, { lesson, passed: 0, trying: 0, stuck: 0 }]));
    for (const learner of this.byId.values()) {
      for (const lesson of learner.done) {
        const entry = counts.get(lesson);
        if (entry) entry.passed += 1;
      }
      const current = learner.last?.lesson;
      if (current === undefined || learner.done.has(current)) continue;
      const entry = counts.get(current);
      if (!entry) continue;
      if (this.stuckReason(learner)) entry.stuck += 1;
      else entry.trying += 1;
    }
    return [...counts.values()];
  }

  /** One learner's view, by public id. */
  viewOf(id: string): LearnerView | undefined {
    const learner = this.byId.get(id);
    return learner && this.view(learner);
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
      label: learner.ordinal > 1 ? `${learner.name} (${learner.ordinal})` : learner.name,
      joinedAt: learner.joinedAt,
      currentLesson: learner.last?.lesson ?? null,
      lessonsDone: [...learner.done],
      last,
      reports: learner.reports,
      stuck: this.stuckReason(learner),
    };
  }
}
