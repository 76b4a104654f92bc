import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { lessonPaths } from '../../src/paths.ts';

/** Where the compiled CLI (bin/websocket-workshop.js) leaves the function that loads tsx. */
const LOADER = Symbol.for('websocket-workshop.loadTypeScript');
/** Where it leaves the folder it was compiled into, which holds every lesson's verifier compiled too. */
const COMPILED = Symbol.for('websocket-workshop.compiledDir');

/**
 * Makes sure TypeScript modules can be imported at run time, before a lesson's verifier is loaded.
 * Run from source, or under the test runner, they can be already. The compiled CLI starts without
 * tsx, which costs a tenth of a second that `list` or `help` never need, and leaves a function
 * here that registers it: called once, on the first import of a TypeScript module.
 */
export async function loadTypeScript(): Promise<void> {
  const slot = globalThis as unknown as Record<symbol, (() => Promise<void>) | undefined>;
  const load = slot[LOADER];
  if (!load) return;
  slot[LOADER] = undefined;
  await load();
}

/**
 * The address of a lesson's verifier module: the compiled one beside the compiled CLI when this is the
 * compiled CLI (one copy of the harness, and no tsx to register), else `verify/<slug>.ts`, with tsx
 * registered first if it is not yet.
 */
export async function verifierModuleUrl(slug: string): Promise<string> {
  const compiledDir = (globalThis as unknown as Record<symbol, string | undefined>)[COMPILED];
  const compiled = compiledDir && `${compiledDir}/verify-${slug}.js`;
  if (compiled && fs.existsSync(compiled)) return pathToFileURL(compiled).href;
  await loadTypeScript();
  return pathToFileURL(lessonPaths(slug).verifier).href;
}
