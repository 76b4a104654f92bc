import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { makeLocalCertificate } from '../../verify/harness/certificates.ts';
import { LearnerProgram } from '../../verify/harness/program.ts';
import { redisAvailable } from '../../verify/harness/redis-server.ts';
import { usableBrowser } from '../../verify/harness/browser.ts';
import { Transcript } from '../../verify/harness/transcript.ts';
import { lessons, type Lesson } from '../lessons.ts';
import { ROOT } from '../paths.ts';
import { PACKAGES_DIR } from '../workspace.ts';
import { commandHere, resolveOnPath } from './command-name.ts';
import { colour, say, sayExactly } from './output.ts';

const require = createRequire(import.meta.url);

/** One thing the lessons need: whether it is there, and how to fix it when not. */
interface Check {
  name: string;
  /** Resolves to what was found; throws with the fix when it is missing. */
  run(): Promise<string>;
}

const MIN_NODE_MAJOR = 20;

const checks: Check[] = [
  {
    name: 'The wsw command',
    async run() {
      // Every command the workshop prints starts with what commandHere() says works from here.
      const wsw = resolveOnPath('wsw');
      if (wsw.ours) return `\`wsw\` runs this workshop (${wsw.found})`;
      if (wsw.found) {
        throw new Error(
          `\`wsw\` on your PATH is another program (${wsw.found}), not this workshop. Run \`npm link\` in ${ROOT} to make it this one; until then the commands printed here start with \`${commandHere()}\`.`,
        );
      }
      return `\`wsw\` is not on your PATH, so the commands printed here start with \`${commandHere()}\`, which works from this folder. For the short one everywhere: \`npm link\` in ${ROOT}.`;
    },
  },
  {
    name: 'Start-up',
    async run() {
      const from = (globalThis as unknown as Record<symbol, unknown>)[Symbol.for('websocket-workshop.startedFrom')];
      if (from === 'dist') {
        const compiled = lessons.filter((lesson) => fs.existsSync(path.join(ROOT, 'dist', `verify-${lesson.slug}.js`))).length;
        return `commands start from the compiled build in dist/, which is up to date, with ${compiled} of the ${lessons.length} lessons' verifiers`;
      }
      // Not a fault: every command works from source, only a little slower to start.
      return `commands start from the TypeScript sources (dist/ is missing or older than them); \`npm run build\` in ${ROOT} makes them start faster`;
    },
  },
  {
    name: 'Node.js',
    async run() {
      const major = Number(process.versions.node.split('.')[0]);
      if (major < MIN_NODE_MAJOR) throw new Error(`Node ${process.versions.node} is too old: install Node ${MIN_NODE_MAJOR} or newer (nodejs.org, or nvm install ${MIN_NODE_MAJOR}).`);
      return `Node ${process.versions.node} (lessons need ${MIN_NODE_MAJOR} or newer)`;
    },
  },
  {
    name: 'TypeScript runner',
    async run() {
      // A TypeScript file outside the workshop that imports ws, run exactly as verify runs lesson files.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-doctor-'));
      try {
        const file = path.join(dir, 'check.ts');
        fs.writeFileSync(file, "import { WebSocketServer } from 'ws';\nconst kind: string = typeof WebSocketServer;\nconsole.log(kind);\n");
        const transcript = new Transcript();
        const program = new LearnerProgram({ file, port: 0, transcript });
        const exit = await Promise.race([program.exited, new Promise<undefined>((r) => setTimeout(r, 10_000))]);
        await program.stop();
        const printed = transcript.entries.map((e) => e.text).join('\n');
        if (exit?.code !== 0 || !printed.includes('function')) {
          throw new Error(`a TypeScript file importing ws did not run: ${printed || 'no output'}. Run npm install in the workshop's folder.`);
        }
        return 'tsx runs .ts files from any folder, and they can import ws';
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'Editor types',
    async run() {
      for (const types of ['@types/ws', '@types/node', '@types/express']) {
        try {
          require.resolve(`${types}/package.json`, { paths: [PACKAGES_DIR] });
        } catch {
          throw new Error(`${types} is missing, so editors cannot type-check lesson files: run npm install in the workshop's folder.`);
        }
      }
      return `ws, Node and Express types found in ${PACKAGES_DIR}`;
    },
  },
  {
    name: 'Loopback ports',
    async run() {
      for (const host of ['127.0.0.1', '::1']) {
        await new Promise<void>((resolve, reject) => {
          const server = net.createServer();
          server.once('error', (error) => reject(new Error(`cannot listen on ${host}: ${error.message}. Servers in the lessons must be able to listen on loopback.`)));
          server.listen(0, host, () => server.close(() => resolve()));
        });
      }
      return 'a free port can be bound on 127.0.0.1 and ::1';
    },
  },
  {
    name: `Redis (${lessonsNeeding('redis')})`,
    async run() {
      if (!redisAvailable()) {
        throw new Error(
          'no redis-server on PATH and REDIS_URL is not set. Install it (apt-get install redis-server, or brew install redis), or set REDIS_URL.',
        );
      }
      return process.env.REDIS_URL ? `REDIS_URL=${process.env.REDIS_URL}` : 'redis-server is on PATH; each verification starts its own';
    },
  },
  {
    name: `Browser (${lessonsNeeding('browser')})`,
    async run() {
      // Found, and runnable: starting it takes a second or two, which verify spends when it needs it.
      const usable = usableBrowser();
      if ('problem' in usable) throw new Error(`${usable.problem.message} ${usable.problem.hint}`);
      return `${usable.browser.how}; each verification opens its own headless pages`;
    },
  },
  {
    name: 'Certificates (lesson 06)',
    async run() {
      const started = Date.now();
      const cleanups: Array<() => void> = [];
      const certificate = await makeLocalCertificate((cleanup) => cleanups.push(cleanup));
      for (const cleanup of cleanups) cleanup();
      return `a certificate for localhost made in ${Date.now() - started} ms (${certificate.fingerprint256.slice(0, 11)}…)`;
    },
  },
];

/** "lesson 07", or "lessons 07 and 17": the lessons whose manifest entry needs `tool`, by number. */
function lessonsNeeding(tool: NonNullable<Lesson['needs']>[number]): string {
  const numbers = lessons.filter((l) => l.needs?.includes(tool)).map((l) => l.slug.slice(0, 2));
  if (numbers.length <= 1) return `lesson ${numbers[0] ?? '—'}`;
  return `lessons ${numbers.slice(0, -1).join(', ')} and ${numbers.at(-1)}`;
}

/**
 * `doctor`: checks what the lessons need and says how to fix each gap. Exit 0 when all is well.
 */
export async function doctorCommand(): Promise<number> {
  let missing = 0;
  for (const check of checks) {
    try {
      // Exactly as written: these lines name the command itself, not a command to type.
      sayExactly(`${colour.green('✓')} ${colour.bold(check.name)}: ${await check.run()}`);
    } catch (error) {
      missing++;
      sayExactly(`${colour.red('✗')} ${colour.bold(check.name)}: ${(error as Error).message}`);
    }
  }
  say('', missing ? colour.red(`${missing} thing${missing === 1 ? '' : 's'} to fix, above.`) : colour.green('All set: every lesson can run here.'));
  return missing ? 1 : 0;
}
