/**
 * The test that mutation testing runs against each mutant: verifies a lesson's reference solution (as
 * mutated in Stryker's sandbox) with the lesson's own verifier. Exit 0 when it passes (the mutant
 * survived), 1 when it fails (killed). Prints the failure code, so a report can say what killed it.
 *
 *   tsx scripts/mutation/verify-solution.ts 03-broadcast
 */
import { lessons } from '../../lessons/manifest.ts';
import { lessonPaths } from '../../src/paths.ts';
import { verifyFile } from '../../verify/harness/run-verifier.ts';

const slug = process.argv[2];
const lesson = lessons.find((l) => l.slug === slug);
if (!lesson) {
  console.error(`no lesson ${slug}`);
  process.exit(2);
}
const verdict = await verifyFile({ lesson, file: lessonPaths(lesson.slug).solution });
console.log(verdict.passed ? 'PASS' : `FAIL ${verdict.failure?.code} in "${verdict.failure?.step ?? ''}"`);
process.exit(verdict.passed ? 0 : 1);
