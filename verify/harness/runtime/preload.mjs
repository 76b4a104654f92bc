// Loaded into the learner's program (node --import) before their file, by the verifier and by `run`.
// It does what the learner never has to think about:
//  1. reports every port the program listens on, through a pipe on fd 3, so the verifier knows at once
//     when the server is up, or that it listened on the wrong port;
//  2. reports ws sends on sockets that are no longer open (lesson 03 asks about those);
//  3. when asked to, answers a probe of its timers and warnings (see answerResourceProbes);
//  4. lets the program import the workshop's packages (ws, socket.io, ioredis) from any folder.
// Plain JavaScript on purpose: it runs before anything else and must not depend on a compiler.
import net from 'node:net';
import fs from 'node:fs';
import { createRequire, register } from 'node:module';

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
  watchSendsOnClosedSockets(report);
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
 */
function answerResourceProbes(report) {
  delete process.env.WSW_PROBE;
  const warnings = [];
  process.on('warning', (warning) => warnings.push(warning.name));
  process.on('SIGWINCH', () => {
    const resources = process.getActiveResourcesInfo();
    report({ type: 'resources', timers: resources.filter((r) => r === 'Timeout').length, resources, warnings: [...warnings] });
  });
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
