// `npm install` prints nothing a newcomer has to worry about (every dependency with an install script
// is approved by name in package.json, so npm 11 does not list it as skipped), and compiles the CLI and
// the lessons' verifiers.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lessons } from '../lessons/manifest.ts';
import { ROOT } from '../src/paths.ts';

const read = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));

describe('npm install', () => {
  it('every package with an install script in the lock file is approved in allowScripts', () => {
    const lock = read('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
    const allowed = (read('package.json') as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([where]) => where.replace(/^.*node_modules\//, ''));
    expect(withScripts.length, 'esbuild, at least, has one').toBeGreaterThan(0);
    for (const name of withScripts) expect(allowed[name], `${name} runs an install script`).toBe(true);
  });

  it('the packages learners import, and TypeScript for the type check, are dependencies, not dev-only', () => {
    const { dependencies } = read('package.json') as { dependencies: Record<string, string> };
    for (const name of ['ws', 'socket.io', 'socket.io-client', 'ioredis', '@types/ws', '@types/node', 'tsx', 'typescript', 'marked', 'express', '@types/express']) {
      expect(dependencies[name], name).toBeDefined();
    }
  });

  it("compiles the CLI at install time (prepare), and a command starts from that build; from source when asked", () => {
    const pkg = read('package.json') as { scripts: Record<string, string> };
    expect(pkg.scripts.prepare).toBe('node scripts/build.mjs');
    const { inputs } = read('dist/inputs.json') as { inputs: string[] };
    expect(inputs).toContain('src/cli/main.ts');
    // The verifiers too: a verify loads its lesson's compiled, with the CLI's own copy of the harness.
    for (const lesson of lessons) {
      expect(inputs).toContain(`verify/${lesson.slug}.ts`);
      expect(fs.existsSync(path.join(ROOT, 'dist', `verify-${lesson.slug}.js`)), lesson.slug).toBe(true);
    }
    const doctor = (env: Record<string, string>) =>
      spawnSync(process.execPath, [path.join(ROOT, 'bin', 'websocket-workshop.js'), 'doctor'], { env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8' }).stdout;
    expect(doctor({})).toContain(`✓ Start-up: commands start from the compiled build in dist/, which is up to date, with ${lessons.length} of the ${lessons.length} lessons' verifiers`);
    expect(doctor({ WSW_FROM_SOURCE: '1' })).toContain('✓ Start-up: commands start from the TypeScript sources');
  });

  it("renders lessons and the help through dist/'s slim marked-terminal exactly as through the package", async () => {
    expect(fs.existsSync(path.join(ROOT, 'dist', 'marked-terminal.cjs'))).toBe(true);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-slim-'));
    try {
      const printed = (args: string[], env: Record<string, string> = {}) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'websocket-workshop.js'), ...args], {
            cwd: home,
            env: { ...process.env, HOME: home, NO_COLOR: '1', COLUMNS: '80', ...env },
          });
          let out = '';
          child.stdout.on('data', (data: Buffer) => (out += data.toString()));
          child.on('error', reject);
          child.on('close', () => resolve(out));
        });
      for (const args of [['help'], ...lessons.map((lesson) => ['print', lesson.slug])]) {
        const [slim, full] = await Promise.all([printed(args), printed(args, { WSW_FROM_SOURCE: '1' })]);
        expect(slim.length, args.join(' ')).toBeGreaterThan(200);
        expect(slim, args.join(' ')).toBe(full);
      }
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
