import net from 'node:net';

/**
 * Asks the operating system for a port that is free on both IPv4 and IPv6 loopback, by binding port 0
 * on the dual-stack wildcard and releasing it. Never a random guess: two verifications at once each get
 * a port nobody holds.
 */
export function freePort(): Promise<number> {
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
