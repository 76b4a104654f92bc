import crypto from 'node:crypto';

/** A class code: 10 base32 characters from crypto.randomBytes (50 bits), easy to read aloud and type. */
export function newClassCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...crypto.randomBytes(10)].map((b) => alphabet[b % 32]).join('');
}

/**
 * The teacher's key: 24 random bytes (192 bits), URL-safe. It is never read aloud, only clicked, so it
 * can be long enough that guessing is out of the question.
 */
export function newTeacherKey(): string {
  return crypto.randomBytes(24).toString('base64url');
}

/** Compares secrets in constant time, so response timing says nothing about how much of a guess was right. */
export function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/** A new learner's secret token (which speaks for them) and public id (which the dashboard shows). */
export function newLearner(): { token: string; id: string } {
  return { token: crypto.randomBytes(24).toString('base64url'), id: crypto.randomBytes(6).toString('hex') };
}
