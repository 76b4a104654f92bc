// Loaded into the learner's program (node --import) before their file, by the verifier and by `run`.
// It does what the learner never has to think about:
//  1. reports every port the program listens on, through a pipe on fd 3, so the verifier knows at once
//     when the server is up, or that it listened on the wrong port;
//  2. reports ws sends on sockets that are no longer open (lesson 03 asks about those);
//  3. when asked to, answers a probe of its timers, warnings, memory and event-loop pauses (see
//     answerResourceProbes);
//  4. lets the program import the workshop's packages (ws, socket.io, ioredis) from any folder;
//  5. lets a worker thread run a TypeScript file, and counts the workers (see worker-threads.mjs);
//  6. in client mode (WSW_CLIENT_MODE=1), reports every TCP connection the program opens, and makes
//     Math.random well spread (see clientMode);
//  7. ends the program when the verifier is gone (see exitWithTheVerifier).
// Plain JavaScript on purpose: it runs before anything else and must not depend on a compiler.
import diagnosticsChannel from 'node:diagnostics_channel';
import net from 'node:net';
import fs from 'node:fs';
import { createRequire, register, syncBuiltinESMExports } from 'node:module';
import timersModule from 'node:timers';
import v8 from 'node:v8';
import vm from 'node:vm';
import { performance } from 'node:perf_hooks';
import { countWorkers, typescriptInWorkers } from './worker-threads.mjs';

/** How often the event-loop watch looks, in ms: a pause shorter than this may go unseen. */
const LOOP_RESOLUTION_MS = 10;

const reportFd = Number(process.env.WSW_REPORT_FD);
delete process.env.WSW_REPORT_FD;

if (Number.isInteger(reportFd) && reportFd > 2) {
  const report = (message) => {
    try {
      fs.writeSync(reportFd, `${JSON.stringify(message)}\n`);
    } catch {
      // The verifier has gone away; nothing to tell.
    }
  };
  exitWithTheVerifier();
  watchSendsOnClosedSockets(report);
  if (process.env.WSW_CLIENT_MODE === '1') clientMode(report);
  if (process.env.WSW_PROBE === 'resources') answerResourceProbes(report);
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function patchedListen(...args) {
    const requested = requestedPort(args);
    // Told before binding, so a hard-coded port is reported even when it is taken and listen fails.
    report({ type: 'listen-called', requested });
    // Registered before listen() adds the program's own callback, so the report goes out first.
    this.once('listening', () => {
      const address = this.address();
      if (address && typeof address === 'object') {
        report({ type: 'listening', port: address.port, address: address.address, requested });
      }
    });
    return listen.apply(this, args);
  };
}

/**
 * A verifier that is killed outright (SIGKILL, out of memory) cannot stop the program it started, and
 * a server left running holds its port forever. The program runs in a process group of its own, so
 * nothing reaches it then but this: once its parent is gone (it is handed to another parent), it takes
 * its group down. The timer is unref'd, so it keeps nothing alive and is not counted among the
 * program's timers.
 */
function exitWithTheVerifier() {
  const parent = process.ppid;
  setInterval(() => {
    if (parentNow(parent) === parent) return;
    try {
      process.kill(-process.pid, 'SIGKILL');
    } catch {
      process.kill(process.pid, 'SIGKILL');
    }
  }, 500).unref();
}

/**
 * The parent's pid as it is now. process.ppid is read once at start-up, so Linux's /proc is asked;
 * elsewhere, a parent that no longer exists counts as gone.
 */
function parentNow(parent) {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name in parentheses: state, then the parent's pid.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    try {
      process.kill(parent, 0);
      return parent;
    } catch (error) {
      return error.code === 'EPERM' ? parent : undefined;
    }
  }
}

/**
 * Reports each ws send() on a socket that is no longer open. ws 8 drops such a message silently, so
 * without this the verifier could not see a server that broadcasts without checking readyState.
 */
function watchSendsOnClosedSockets(report) {
  let WebSocket;
  try {
    WebSocket = createRequire(process.env.WSW_PACKAGES_FROM ?? import.meta.url)('ws');
  } catch {
    return;
  }
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function patchedSend(...args) {
    if (this.readyState !== WebSocket.OPEN) report({ type: 'send-not-open', readyState: this.readyState });
    return send.apply(this, args);
  };
}

/**
 * Opt-in (the verifier sets WSW_PROBE=resources): on SIGWINCH, which a Node program ignores unless it
 * listens for it, reports what keeps the program alive (its timers, sockets, servers) and the names of
 * the warnings it has raised, so a verifier can see timers or listeners that outlived their
 * connections. Node still prints every warning as usual; the signal's handle keeps nothing alive.
 * Each report also gives the program's memory, and, with WSW_WATCH_LOOP=1, the longest the event loop
 * was kept from turning since the report before (a handler that blocks it shows here, however short
 * the requests around it are).
 */
function answerResourceProbes(report) {
  delete process.env.WSW_PROBE;
  const loop = process.env.WSW_WATCH_LOOP === '1' ? watchEventLoop() : undefined;
  // Where heavy work may have gone instead: the worker threads the program starts.
  const workers = loop ? countWorkers() : undefined;
  delete process.env.WSW_WATCH_LOOP;
  const collectGarbage = process.env.WSW_PROBE_GC === '1' ? garbageCollector() : undefined;
  delete process.env.WSW_PROBE_GC;
  const unrefTimers = watchUnrefTimers();
  const warnings = [];
  process.on('warning', (warning) => warnings.push(warning.name));
  process.on('SIGWINCH', () => {
    const resources = process.getActiveResourcesInfo();
    collectGarbage?.();
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    report({
      type: 'resources',
      at: Date.now(),
      timers: resources.filter((r) => r === 'Timeout').length,
      unrefTimers: unrefTimers(),
      resources,
      warnings: [...warnings],
      memory: { rss, heapUsed, external, arrayBuffers },
      loopMaxMs: loop?.takeLongestPause(),
      workers: workers ? { started: workers.started, alive: workers.alive, posted: workers.posted } : undefined,
    });
  });
}

/**
 * Node lists only the timers that keep the event loop alive, yet an unref'd interval left running for
 * a connection that has gone leaks as surely as any: every setTimeout and setInterval the program
 * makes (global or from node:timers) is kept here until it has fired or been cleared. Returns a
 * counter of the live ones that are unref'd.
 */
function watchUnrefTimers() {
  const made = new Set();
  let sincePrune = 0;
  const prune = () => {
    for (const timer of made) if (timer._destroyed) made.delete(timer);
    sincePrune = 0;
  };
  const watched = (make) => {
    const watchedTimer = function (...args) {
      const timer = make.apply(this, args);
      // Node's Timeout has _destroyed, true once it has fired for good or been cleared.
      if (timer && typeof timer === 'object' && '_destroyed' in timer) {
        made.add(timer);
        if (++sincePrune >= 1000) prune();
      }
      return timer;
    };
    // Its name, and util.promisify.custom, which util.promisify(setTimeout) relies on.
    Object.defineProperties(watchedTimer, Object.getOwnPropertyDescriptors(make));
    return watchedTimer;
  };
  for (const name of ['setTimeout', 'setInterval']) {
    const wrapped = watched(globalThis[name]);
    globalThis[name] = wrapped;
    timersModule[name] = wrapped;
  }
  // So that `import { setInterval } from 'node:timers'` gets the watched one too.
  syncBuiltinESMExports();
  return () => {
    prune();
    let count = 0;
    for (const timer of made) if (typeof timer.hasRef === 'function' && !timer.hasRef()) count++;
    return count;
  };
}

/**
 * With WSW_PROBE_GC=1: V8's full garbage collection, made callable without --expose-gc on the command
 * line, so that the memory a probe reports is what the program holds, not garbage a later collection
 * would free (large strings and buffers wait for a full one). Undefined if V8 refuses.
 */
function garbageCollector() {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc');
  } catch {
    return undefined;
  }
}

/**
 * Measures how late a timer of its own runs, every LOOP_RESOLUTION_MS: a handler that holds the event
 * loop shows as a timer that ran that much late. Unref'd, so it keeps nothing alive and is not among
 * the program's resources. takeLongestPause() gives the longest pause since it was last called (the
 * pause under way included) and starts a new window.
 */
function watchEventLoop() {
  let last = performance.now();
  let longest = 0;
  setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last - LOOP_RESOLUTION_MS);
    last = now;
  }, LOOP_RESOLUTION_MS).unref();
  return {
    takeLongestPause() {
      const now = performance.now();
      const pause = Math.max(longest, now - last - LOOP_RESOLUTION_MS, 0);
      longest = 0;
      last = now;
      return pause;
    },
  };
}

/**
 * Client mode, for a lesson whose program is a client of the verifier's server:
 * - every TCP connection the program opens is reported (`tcp-connect`), and so is each one that fails
 *   before it is established (`tcp-failed`, ECONNREFUSED mostly): while the verifier's server is down,
 *   nothing there sees an attempt, and these reports are how the verifier times them;
 * - Math.random gives a well-spread sequence instead of a random one (a golden-ratio Weyl sequence,
 *   frac(seed + i·φ)), so that a handful of random delays always cover their range and a verdict on
 *   them never depends on luck. Every value is still in [0, 1), and no two in a row are close.
 */
function clientMode(report) {
  delete process.env.WSW_CLIENT_MODE;
  diagnosticsChannel.subscribe('net.client.socket', ({ socket }) => {
    let port = null;
    const startedAt = Date.now();
    let connectReported = false;
    const reportConnect = (to) => {
      if (connectReported) return;
      connectReported = true;
      report({ type: 'tcp-connect', at: startedAt, port: to });
    };
    // Node 20 publishes the socket, then calls its connect() with the options: the port is read there,
    // and reported at once. Node 22 and later call connect() otherwise: the port is then read from the
    // connection's outcome, and the report, stamped with the time it began, goes just before it.
    const connect = socket.connect;
    socket.connect = function reportedConnect(...args) {
      socket.connect = connect;
      const options = Array.isArray(args[0]) ? args[0][0] : args[0];
      const asked = options && typeof options === 'object' ? options.port : options;
      port = Number.isInteger(Number(asked)) ? Number(asked) : null;
      reportConnect(port);
      return connect.apply(this, args);
    };
    let established = false;
    socket.once('connect', () => {
      established = true;
      reportConnect(socket.remotePort ?? null);
    });
    socket.once('error', (error) => {
      if (established) return;
      reportConnect(error.port ?? port);
      report({ type: 'tcp-failed', at: Date.now(), port: error.port ?? port, code: error.code ?? null });
    });
  });
  let i = 0;
  const SEED = 0.5;
  const PHI = 0.6180339887498949;
  Math.random = function random() {
    i += 1;
    return (SEED + i * PHI) % 1;
  };
}

/** The port a listen() call asked for, or null for a pipe or an unknown shape. */
function requestedPort(args) {
  const first = args[0];
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) return Number(first);
  if (first && typeof first === 'object' && 'port' in first) return Number(first.port ?? 0);
  if (first === undefined || typeof first === 'function') return 0;
  return null;
}

if (process.env.WSW_PACKAGES_FROM) {
  register('./resolve-hook.mjs', import.meta.url, { data: { from: process.env.WSW_PACKAGES_FROM } });
}

// A worker thread the program starts on its own .ts file runs it as the main thread does.
await typescriptInWorkers();
