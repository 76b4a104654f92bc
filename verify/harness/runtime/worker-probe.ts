// Loaded in a worker thread by worker-threads.mjs: it loads only where tsx's hooks are registered (an
// enum is TypeScript that Node's own type stripping refuses).
export enum WorkerProbe {
  Loaded,
}
