import fs from 'node:fs';
import { findLesson } from '../src/lessons.ts';
import { goldenText, verify } from '../test/support.ts';
const lesson = findLesson('07-redis-scaling');
const want = fs.readFileSync('test/golden/07-redis-scaling.solution.txt', 'utf8');
const n = Number(process.argv[2] ?? 10);
for (let i = 0; i < n; i++) {
  const verdict = await verify(lesson, 'solutions/07-redis-scaling.ts');
  const got = goldenText(verdict);
  if (got !== want) {
    const a = want.split('\n'), b = got.split('\n');
    for (let j = 0; j < Math.max(a.length, b.length); j++) if (a[j] !== b[j]) { console.log(`run ${i} line ${j}:\n- ${a[j]}\n+ ${b[j]}`); break; }
    fs.writeFileSync(`.scratch07/mismatch-${i}.txt`, got);
  } else console.log(`run ${i} ok ${verdict.durationMs} ms`);
}
process.exit(0);
