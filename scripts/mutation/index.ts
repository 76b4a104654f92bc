/**
 * Mutation testing of the verifiers: StrykerJS mutates a lesson's reference solution and runs that
 * lesson's verifier against each mutant. A mutant that survives is behaviour nothing checks.
 *
 *   npm run mutation                 every lesson
 *   npm run mutation -- 03 05-heartbeat
 *   npm run mutation -- --readme     every lesson, and the table written into README.md
 *   npm run mutation -- --readme 09  lesson 09, its row put into README.md's table beside the others'
 *
 * Prints a table (lesson, mutants, killed, survived, equivalent, score), the survivors with their code,
 * and one line: `mutation score: lowest N% (NN-slug), overall M%`. Exits 1 when a lesson is under 90%.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Stryker } from '@stryker-mutator/core';
import type { MutantResult } from '@stryker-mutator/api/core';
import { lessons, type Lesson } from '../../lessons/manifest.ts';
import { ROOT } from '../../src/paths.ts';
import { equivalents } from './equivalent.ts';

const FLOOR = 90;

interface Row {
  slug: string;
  mutants: number;
  killed: number;
  survived: MutantResult[];
  equivalent: number;
  score: number;
}

function pick(args: string[]): Lesson[] {
  if (args.length === 0) return [...lessons];
  return args.map((arg) => {
    const lesson = lessons.find((l) => l.slug === arg || l.slug.startsWith(`${arg.padStart(2, '0')}-`) || l.slug.slice(3) === arg);
    if (!lesson) {
      console.error(`No lesson "${arg}". Lessons: ${lessons.map((l) => l.slug).join(', ')}`);
      process.exit(2);
    }
    return lesson;
  });
}

/** The code a mutant replaced, read from the original solution by its location. */
function originalOf(source: string[], m: MutantResult): string {
  const { start, end } = m.location;
  const lines = source.slice(start.line - 1, end.line);
  if (lines.length === 1) return lines[0]!.slice(start.column - 1, end.column - 1);
  lines[0] = lines[0]!.slice(start.column - 1);
  lines[lines.length - 1] = lines[lines.length - 1]!.slice(0, end.column - 1);
  return lines.join('\n');
}

async function mutate(lesson: Lesson): Promise<Row> {
  const solution = `solutions/${lesson.slug}.ts`;
  const source = fs.readFileSync(path.join(ROOT, solution), 'utf8').split('\n');
  const concurrency = Number(process.env.MUTATION_CONCURRENCY ?? 2);
  const stryker = new Stryker({
    testRunner: 'command',
    commandRunner: { command: `node --import tsx scripts/mutation/verify-solution.ts ${lesson.slug}` },
    mutate: [solution],
    plugins: ['@stryker-mutator/*', path.join(import.meta.dirname, 'ignore-logging.mjs')],
    ignorers: ['logging'],
    reporters: ['clear-text'],
    clearTextReporter: { allowColor: false, logTests: false, reportMutants: false, reportScoreTable: false },
    concurrency,
    // Each run is a whole verification: give a mutant that hangs the program the verifier's own ceiling.
    timeoutMS: 30_000,
    timeoutFactor: 2,
    tempDirName: '.stryker-tmp',
    cleanTempDir: true,
    // The sandbox needs only what a verification reads; the suite, docs and goldens stay out.
    ignorePatterns: ['test', 'docs', 'reports', '.stryker-tmp', '*.log'],
    disableTypeChecks: true,
    // LogLevel is a const enum, which this project's module settings cannot import: these are its values.
    logLevel: 'warn' as never,
    fileLogLevel: 'off' as never,
  });
  const results = await stryker.runMutationTest();
  const ours = equivalents.filter((e) => e.lesson === lesson.slug);
  let killed = 0;
  let equivalent = 0;
  const survived: MutantResult[] = [];
  for (const m of results) {
    if (m.status === 'Ignored') equivalent++;
    else if (m.status === 'Killed' || m.status === 'Timeout' || m.status === 'RuntimeError' || m.status === 'CompileError') killed++;
    else if (ours.some((e) => e.mutator === m.mutatorName && e.original === originalOf(source, m) && e.replacement === m.replacement)) equivalent++;
    else survived.push(m);
  }
  const judged = killed + survived.length;
  return { slug: lesson.slug, mutants: results.length, killed, survived, equivalent, score: judged === 0 ? 100 : (100 * killed) / judged };
}

/**
 * The README's table with the rows of the lessons just run put in (the other lessons keep the rows of
 * their last run), in the manifest's order, and the summary line counted from every row.
 */
function readmeTable(readme: string, fresh: string[]): string[] {
  const slugOf = (row: string) => row.split('|')[1]?.trim() ?? '';
  const kept = (/<!-- mutation:start -->([\s\S]*)<!-- mutation:end -->/.exec(readme)?.[1] ?? '').split('\n').filter((line) => /^\| \d\d-/.test(line));
  const bySlug = new Map([...kept, ...fresh].map((row) => [slugOf(row), row]));
  const rows = lessons.map((lesson) => bySlug.get(lesson.slug)).filter((row): row is string => row !== undefined);
  const cells = rows.map((row) => row.split('|').map((cell) => cell.trim()));
  // Columns: lesson, mutants, killed, survived, equivalent, score.
  const scores = cells.map((c) => ({ slug: c[1]!, killed: Number(c[3]), survived: Number(c[4]), score: parseFloat(c[6]!) }));
  const lowest = scores.reduce((a, b) => (b.score < a.score ? b : a));
  const killed = scores.reduce((n, r) => n + r.killed, 0);
  const judged = scores.reduce((n, r) => n + r.killed + r.survived, 0);
  const missing = lessons.filter((lesson) => !bySlug.has(lesson.slug)).map((lesson) => lesson.slug);
  return [
    ...table.slice(0, 2),
    ...rows,
    '',
    `\`mutation score: lowest ${Math.floor(lowest.score)}% (${lowest.slug}), overall ${Math.floor((100 * killed) / Math.max(judged, 1))}%\`${missing.length ? ` (not yet run: ${missing.join(', ')})` : ''}`,
  ];
}

const args = process.argv.slice(2);
const writeReadme = args.includes('--readme');
const chosen = pick(args.filter((a) => a !== '--readme'));
const rows: Row[] = [];
for (const lesson of chosen) {
  console.log(`\n— ${lesson.slug}: mutating solutions/${lesson.slug}.ts`);
  const row = await mutate(lesson);
  rows.push(row);
  const source = fs.readFileSync(path.join(ROOT, 'solutions', `${lesson.slug}.ts`), 'utf8').split('\n');
  for (const m of row.survived) {
    console.log(`  survived ${m.mutatorName} at line ${m.location.start.line}: ${JSON.stringify(originalOf(source, m))} → ${JSON.stringify(m.replacement)}`);
  }
}

const table = [
  '| lesson | mutants | killed | survived | equivalent | score |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.slug} | ${r.mutants} | ${r.killed} | ${r.survived.length} | ${r.equivalent} | ${r.score.toFixed(1)}% |`),
];
const lowest = rows.reduce((a, b) => (b.score < a.score ? b : a));
const killedAll = rows.reduce((n, r) => n + r.killed, 0);
const judgedAll = rows.reduce((n, r) => n + r.killed + r.survived.length, 0);
const summary = `mutation score: lowest ${Math.floor(lowest.score)}% (${lowest.slug}), overall ${Math.floor((100 * killedAll) / Math.max(judgedAll, 1))}%`;
console.log(`\n${table.join('\n')}\n${summary}`);

if (writeReadme) {
  const readme = path.join(ROOT, 'README.md');
  const text = fs.readFileSync(readme, 'utf8');
  const block = ['<!-- mutation:start -->', ...readmeTable(text, table.slice(2)), '<!-- mutation:end -->'].join('\n');
  fs.writeFileSync(readme, text.replace(/<!-- mutation:start -->[\s\S]*<!-- mutation:end -->/, block));
  console.log('README.md: table written');
}
process.exit(rows.some((r) => r.score < FLOOR) ? 1 : 0);
