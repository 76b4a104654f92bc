// Worker threads in the learner's program, loaded by preload.mjs (which runs in the main thread and
// again in every worker thread the program starts, as workers inherit its --import flags):
//  1. a worker started on a TypeScript file runs it, as the main thread does, on every Node the
//     workshop supports;
//  2. when asked to, the worker threads the program starts are counted, for the resources probe.
// Plain JavaScript on purpose, as preload.mjs is.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { isMainThread } from 'node:worker_threads';

/**
 * In a worker thread, makes sure tsx's hooks are there. tsx registers them in worker threads by
 * itself only on recent Node versions (22.22.3, 24.11.1 and later); on the others a worker started on
 * a .ts file fails with ERR_UNKNOWN_FILE_EXTENSION, while the same file runs in the main thread. A
 * small TypeScript module with an enum (which Node's own type stripping refuses) tells which is the
 * case here; only when it cannot load are the hooks registered, once, through tsx's API.
 */
export async function typescriptInWorkers() {
  if (isMainThread) return;
  try {
    await import('./worker-probe.ts');
  } catch {
    const { register } = await import('tsx/esm/api');
    register();
  }
}

/**
 * Counts the worker threads the program starts from its main thread: `started`, every Worker it ever
 * created; `alive`, those that have not exited yet; `posted`, the messages the main thread posted to
 * them (worker.postMessage), so that work handed over can be told from work done in place. It replaces node:worker_threads' Worker with a
 * subclass (so `instanceof Worker` still holds, and ES module imports see it too), before the
 * learner's file is loaded. Returns the live counts.
 */
export function countWorkers() {
  const threads = createRequire(import.meta.url)('node:worker_threads');
  const Original = threads.Worker;
  const live = new Set();
  const counted = new WeakSet();
  const counts = {
    started: 0,
    posted: 0,
    get alive() {
      // A worker that exited has threadId -1, even if its 'exit' listeners were removed.
      for (const worker of live) if (worker.threadId < 0) live.delete(worker);
      return live.size;
    },
  };
  class Worker extends Original {
    constructor(...args) {
      super(...args);
      // esbuild's synchronous API runs in a worker of its own, which tsx starts: not the program's.
      if (/[\\/]node_modules[\\/]esbuild[\\/]/.test(String(args[0]))) return;
      counts.started++;
      counted.add(this);
      live.add(this);
      this.once('exit', () => live.delete(this));
    }

    postMessage(...args) {
      if (counted.has(this)) counts.posted++;
      return super.postMessage(...args);
    }
  }
  threads.Worker = Worker;
  syncBuiltinESMExports();
  return counts;
}
