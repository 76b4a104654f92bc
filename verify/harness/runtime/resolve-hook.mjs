import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// A module resolution hook: when the learner's file imports a package that its own folder does not
// have, resolve it from the workshop's folder instead. A learner's file anywhere on disk can then
// `import { WebSocketServer } from 'ws'` without installing anything.
let from;

export function initialize(data) {
  from = data.from;
}

export async function resolve(specifier, context, nextResolve) {
  try {
    const resolved = await nextResolve(specifier, context);
    return context.parentURL === undefined ? asModuleWhenWrittenSo(resolved) : resolved;
  } catch (error) {
    const bare = !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.includes(':');
    if (!bare || error?.code !== 'ERR_MODULE_NOT_FOUND' || !from) throw error;
    return nextResolve(specifier, { ...context, parentURL: from });
  }
}

/**
 * The learner's own file, outside any folder whose package.json says "type": "module", would be
 * compiled as CommonJS, and a top-level await in it would fail to compile. A .ts or .js file written
 * with import/export is an ES module whatever folder it is kept in: treat it as one.
 */
function asModuleWhenWrittenSo(resolved) {
  if (!resolved.url.startsWith('file:') || !/\.(ts|tsx|js|jsx)$/.test(resolved.url)) return resolved;
  if (resolved.format && !String(resolved.format).startsWith('commonjs')) return resolved;
  let source;
  try {
    source = readFileSync(fileURLToPath(resolved.url), 'utf8');
  } catch {
    return resolved;
  }
  // import.meta exists only in modules; otherwise an import or export statement at the start of a
  // line, in a file that does not also use require() or module.exports, which only CommonJS has.
  const esm =
    /\bimport\.meta\b/.test(source) ||
    (/^\s*(import\s*[\w{*'"]|export\s)/m.test(source) && !/(^|[^\w.])require\s*\(|\bmodule\.exports\b/m.test(source));
  if (!esm) return resolved;
  return { ...resolved, format: resolved.format === 'commonjs-typescript' ? 'module-typescript' : 'module' };
}
