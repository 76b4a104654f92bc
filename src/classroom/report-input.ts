import { lessons } from '../lessons.ts';
import { HttpError } from './http-body.ts';
import type { Report } from './learner-registry.ts';

const SLUGS = new Set(lessons.map((l) => l.slug));

/** Checks a report from outside field by field: anything else in it is dropped, never stored. */
export function parseReport(value: unknown): Report {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'A report is a JSON object.');
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'string' || !/^[A-Za-z0-9_-]{8,64}$/.test(v.id)) throw new HttpError(400, 'id: 8 to 64 letters, digits, _ or -.');
  if (typeof v.lesson !== 'string' || !SLUGS.has(v.lesson)) throw new HttpError(400, 'lesson: a lesson slug.');
  if (typeof v.passed !== 'boolean') throw new HttpError(400, 'passed: true or false.');
  if (v.failureCode !== null && (typeof v.failureCode !== 'string' || !/^[A-Z0-9_]{1,64}$/.test(v.failureCode))) {
    throw new HttpError(400, 'failureCode: null or an upper-case code.');
  }
  if (typeof v.durationMs !== 'number' || !Number.isFinite(v.durationMs) || v.durationMs < 0) throw new HttpError(400, 'durationMs: a number.');
  if (typeof v.at !== 'number' || !Number.isFinite(v.at)) throw new HttpError(400, 'at: a time in ms.');
  return { id: v.id, lesson: v.lesson, passed: v.passed, failureCode: v.failureCode as string | null, durationMs: Math.round(v.durationMs), at: v.at };
}
