// `npm run build` (and npm install's `prepare`): compiles the CLI's TypeScript and the lessons'
// verifiers into dist/, so that a command starts in a fraction of the time tsx needs to load.
// bin/websocket-workshop.js uses dist/ only while every source it was built from is older than the
// build; otherwise it runs the sources through tsx, so there is never a stale build to forget. Plain JavaScript: it runs before anything
// else is set up.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist');
// Built beside dist/ and moved in file by file: a command starting meanwhile never reads half a file,
// and one already running still finds the chunks it loaded from (their names carry their content's hash).
const staging = fs.mkdtempSync(path.join(root, '.dist-'));

try {
  const result = await build({
    absWorkingDir: root,
    // The CLI and every lesson's verifier, all beside each other in dist/: a verify then loads its
    // verifier compiled, sharing one copy of the harness with the CLI, and never needs tsx itself.
    entryPoints: {
      main: 'src/cli/main.ts',
      ...Object.fromEntries(
        fs
          .readdirSync(path.join(root, 'verify'))
          .filter((name) => /^\d\d-.*\.ts$/.test(name))
          .map((name) => [`verify-${name.replace(/\.ts$/, '')}`, `verify/${name}`]),
      ),
    },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Packages stay in node_modules, loaded as they are: only the workshop's own code is compiled.
    packages: 'external',
    outdir: staging,
    // Beside main.js, one level under the workshop's root, as src/ is: paths derived from a module's
    // own place (src/paths.ts) come out the same.
    chunkNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
  // marked-terminal's own CommonJS build is one 1.9 MB file with highlight.js inside, which every
  // command that shows a lesson or the help would parse. Bundled here from its ES modules without
  // highlight.js and the emoji table, neither of which the workshop's renderer calls, it is a
  // sixteenth of that (src/cli/markdown/deps.ts loads it when it is there).
  const slim = await build({
    absWorkingDir: root,
    entryPoints: { 'marked-terminal': 'marked-terminal' },
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['marked'],
    alias: { 'cli-highlight': './scripts/build-stubs/cli-highlight.mjs', 'node-emoji': './scripts/build-stubs/node-emoji.mjs' },
    outExtension: { '.js': '.cjs' },
    outdir: staging,
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = { ...result.metafile.outputs, ...slim.metafile.outputs };
  fs.mkdirSync(out, { recursive: true });
  for (const file of Object.keys(outputs)) {
    const relative = path.relative(staging, path.resolve(root, file));
    fs.renameSync(path.join(staging, relative), path.join(out, relative));
  }
  // Chunks of earlier builds go once no command can still be loading them.
  const built = new Set(Object.keys(outputs).map((file) => path.relative(staging, path.resolve(root, file))));
  for (const name of fs.readdirSync(out)) {
    const file = path.join(out, name);
    if (name.endsWith('.js') && !built.has(name) && Date.now() - fs.statSync(file).mtimeMs > 10 * 60_000) fs.rmSync(file, { force: true });
  }
  // Written last: the list of sources the build came from, which bin/ compares with their times.
  const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith('node_modules/'));
  fs.writeFileSync(path.join(out, 'inputs.json'), `${JSON.stringify({ inputs }, null, 2)}\n`);
  console.log(`websocket-workshop: compiled ${inputs.length} sources into dist/`);
} finally {
  fs.rmSync(staging, { recursive: true, force: true });
}
