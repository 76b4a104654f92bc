// A module resolution hook: when the learner's file imports a package that its own folder does not
// have, resolve it from the workshop's folder instead. A learner's file anywhere on disk can then
// `import { WebSocketServer } from 'ws'` without installing anything.
let from;

export function initialize(data) {
  from = data.from;
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const bare = !specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.includes(':');
    if (!bare || error?.code !== 'ERR_MODULE_NOT_FOUND' || !from) throw error;
    return nextResolve(specifier, { ...context, parentURL: from });
  }
}
