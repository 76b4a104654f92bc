// Rewrites the lesson table in README.md from lessons/manifest.ts.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../src/paths.ts';
import { withLessonTable } from '../src/lesson-table.ts';

const file = path.join(ROOT, 'README.md');
fs.writeFileSync(file, withLessonTable(fs.readFileSync(file, 'utf8')));
console.log('README.md lesson table updated');
