/**
 * Mutants of the reference solutions that behave exactly as the original, each with the reason. A
 * survivor matching one of these counts as equivalent, not as a gap in the verifier. Add one only when
 * no program the lesson's text allows could tell the two apart; never to raise a score.
 *
 * A mutant is matched by its mutator, the original code and the replacement, so that it stays matched
 * when lines move.
 */
export interface Equivalent {
  lesson: string;
  mutator: string;
  original: string;
  replacement: string;
  reason: string;
}

export const equivalents: Equivalent[] = [];
