#!/usr/bin/env node
// The workshop's command. The sources are TypeScript. npm install compiles them into dist/ (the
// `prepare` script, scripts/build.mjs) so that a command starts fast; whenever a source is newer than
// that build, or there is none, they run as they are, through tsx: no build step to forget.
import fs from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Node 22 and later can keep the code it compiled for the next start (in the system's temporary
// folder); Node 20 has no such cache and compiles every time.
module.enableCompileCache?.();

const root = fileURLToPath(new URL('..', import.meta.url));

/** True when dist/ was built from the sources as they are now. */
function compiled() {
  if (process.env.WSW_FROM_SOURCE) return false;
  try {
    const stamp = `${root}dist/inputs.json`;
    const built = fs.statSync(stamp).mtimeMs;
    const { inputs } = JSON.parse(fs.readFileSync(stamp, 'utf8'));
    return inputs.length > 0 && inputs.every((file) => fs.statSync(root + file).mtimeMs <= built);
  } catch {
    return false;
  }
}

// A reader that stops early (`wsw list | head`) is no error of ours.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

let main;
const fromDist = compiled();
// `wsw doctor` says which way this start went.
globalThis[Symbol.for('websocket-workshop.startedFrom')] = fromDist ? 'dist' : 'source';
if (fromDist) {
  // TypeScript loaded at run time (a verifier changed since the build) registers tsx then, and only then.
  globalThis[Symbol.for('websocket-workshop.loadTypeScript')] = async () => (await import('tsx/esm/api')).register();
  // The verifiers are compiled beside the CLI, and loaded from there (verify/harness/typescript-loader.ts).
  globalThis[Symbol.for('websocket-workshop.compiledDir')] = `${root}dist`;
  ({ main } = await import('../dist/main.js'));
} else {
  (await import('tsx/esm/api')).register();
  ({ main } = await import('../src/cli/main.ts'));
}
const code = await main(process.argv.slice(2));
// Our own commands are finished: exit now rather than wait on whatever a learner's code left open;
// but once all that was printed is out, since a pipe (`wsw verify --json | jq`) is written to in the
// background, and exiting first would cut the output short.
if (code !== undefined) {
  if (process.stdout.writableLength === 0) process.exit(code);
  process.stdout.write('', () => process.exit(code));
}
