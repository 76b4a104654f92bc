import { findLesson } from '../src/lessons.ts';
import { goldenText, verify } from '../test/support.ts';
const lesson = findLesson('07-redis-scaling');
for (const file of process.argv.slice(2)) {
  const t = Date.now();
  const verdict = await verify(lesson, file);
  console.log(goldenText(verdict));
  console.log('TOTAL', Date.now() - t, 'ms', verdict.failure?.code ?? 'PASS');
}
process.exit(0);
