import fs from 'node:fs';
import net from 'node:net';

/** Ports are chosen from here up to the start of the range the system hands out by itself. */
const LOWEST_CHOSEN = 20000;
/** Where that range starts when the system does not say (IANA's dynamic ports begin at 49152). */
const SYSTEM_RANGE_START = 32768;
/** Ports this process has handed out lately; none is given twice while it may still be in use. */
const handedOut: number[] = [];
const HANDED_OUT_KEPT = 2000;

/**
 * A port that is free on both IPv4 and IPv6 loopback, for a program the verifier starts.
 *
 * Chosen at random below the system's ephemeral range, and checked free by binding it: the ephemeral
 * range is where every outgoing connection and every `listen(0)` on the machine takes its port, so a
 * port taken from there could be taken again by anyone in the moment between its release here and the
 * learner's program listening on it (a program that starts slowly leaves it free for seconds). Falls
 * back to a port from the system when no chosen one is free.
 */
export async function freePort(): Promise<number> {
  const [low, high] = [LOWEST_CHOSEN, systemRangeStart()];
  for (let attempt = 0; attempt < 50 && high - low >= 1000; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.includes(port) || !(await bindsAndReleases(port))) continue;
    handedOut.push(port);
    if (handedOut.length > HANDED_OUT_KEPT) handedOut.shift();
    return port;
  }
  return systemPort();
}

/** The first port of the range the system gives out on its own (Linux says; elsewhere, a safe guess). */
function systemRangeStart(): number {
  try {
    const first = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? Math.min(first, SYSTEM_RANGE_START) : SYSTEM_RANGE_START;
  } catch {
    return SYSTEM_RANGE_START;
  }
}

/** Binds `port` on the dual-stack wildcard (IPv4 and IPv6 at once) and releases it: true when nobody holds it. */
function bindsAndReleases(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '::', ipv6Only: false, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the system picks (port 0), released at once. */
function systemPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '::', ipv6Only: false, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Loopback addresses a learner's server may be bound to, in the order clients try them. */
export const LOOPBACK_HOSTS = ['127.0.0.1', '::1'] as const;
export type LoopbackHost = (typeof LOOPBACK_HOSTS)[number];

/** Resolves true when a TCP connection to host:port succeeds within `timeoutMs`, false otherwise. */
export function canConnect(host: string, port: number, timeoutMs = 250): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The first loopback host on which port accepts connections, or undefined. */
export async function reachableHost(port: number): Promise<LoopbackHost | undefined> {
  for (const [i, host] of LOOPBACK_HOSTS.entries()) {
    if (!(await canConnect(host, port))) continue;
    // A server that began listening between two probes answers on both: ask the first again,
    // so a dual-stack server is always reached the same way.
    if (i > 0 && (await canConnect(LOOPBACK_HOSTS[0], port))) return LOOPBACK_HOSTS[0];
    return host;
  }
  return undefined;
}

/** How a URL writes a host: IPv6 addresses in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
