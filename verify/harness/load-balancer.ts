import http from 'node:http';
import type net from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import type { RunningServer } from './session.ts';

/** One node behind the load balancer. */
export interface Backend {
  /** How the transcript names it: `node A`. */
  name: string;
  server: RunningServer;
}

/** How a request was routed. */
export interface Route {
  method: string;
  /** The path and query, as the client asked. */
  url: string;
  /** True for a WebSocket upgrade. */
  upgrade: boolean;
  backend: Backend;
  /** `round robin` for a request with nothing to stick on, `cookie` for one routed by its cookie. */
  by: 'round robin' | 'cookie';
}

export interface LoadBalancerOptions {
  /**
   * Stick on this cookie, as nginx's `sticky learn` does: the value a backend sets in a Set-Cookie is
   * remembered with that backend, and a later request carrying it goes there. Undefined: pure round robin.
   */
  stickyCookie?: string;
}

/**
 * A load balancer of the verifier's own in front of several nodes, on a free loopback port, built on
 * http-proxy-3 (HTTP requests with proxy.web, WebSocket upgrades with proxy.ws). Without a sticky
 * cookie each request, and each upgrade, goes to the next node in turn; with one, a request goes where
 * the cookie it carries was set. Every decision is kept in `routes`.
 */
export class LoadBalancer {
  readonly routes: Route[] = [];
  /** Cookie value → the backend that set it. */
  private readonly learned = new Map<string, Backend>();
  private next = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly backends: Backend[],
    private readonly options: LoadBalancerOptions,
    private readonly server: http.Server,
    readonly port: number,
  ) {}

  /** `http://127.0.0.1:PORT`: what socket.io-client connects to. */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async open(backends: Backend[], options: LoadBalancerOptions = {}): Promise<LoadBalancer> {
    const proxy = createProxyServer({ xfwd: false });
    const server = http.createServer();
    const balancer: LoadBalancer = await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address() as net.AddressInfo;
        resolve(new LoadBalancer(backends, options, server, address.port));
      });
    });
    server.on('connection', (socket) => {
      balancer.sockets.add(socket);
      socket.once('close', () => balancer.sockets.delete(socket));
    });
    proxy.on('proxyRes', (proxyRes, req) => balancer.learn(proxyRes, req));
    // A node that went away: the client sees a 502 or a reset, as behind a real balancer.
    proxy.on('error', (_error, _req, res) => {
      if (res instanceof http.ServerResponse) {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      } else {
        res.destroy();
      }
    });
    server.on('request', (req, res) => {
      const backend = balancer.choose(req, false);
      proxy.web(req, res, { target: backend.server.httpUrl });
    });
    server.on('upgrade', (req, socket, head) => {
      const backend = balancer.choose(req, true);
      proxy.ws(req, socket, head, { target: backend.server.httpUrl });
    });
    return balancer;
  }

  /** Where a request goes: where its cookie was set, if sticky and known; otherwise the next node. */
  private choose(req: http.IncomingMessage, upgrade: boolean): Backend {
    const name = this.options.stickyCookie;
    const value = name === undefined ? undefined : cookieValue(req.headers.cookie, name);
    const known = value === undefined ? undefined : this.learned.get(value);
    const backend = known ?? this.backends[this.next++ % this.backends.length]!;
    (req as RoutedRequest).backend = backend;
    this.routes.push({ method: req.method ?? 'GET', url: req.url ?? '/', upgrade, backend, by: known ? 'cookie' : 'round robin' });
    return backend;
  }

  /** Remembers which node set the sticky cookie, from its answer. */
  private learn(proxyRes: http.IncomingMessage, req: http.IncomingMessage): void {
    const name = this.options.stickyCookie;
    const backend = (req as RoutedRequest).backend;
    if (name === undefined || !backend) return;
    for (const header of proxyRes.headers['set-cookie'] ?? []) {
      const value = cookieValue(header.split(';')[0], name);
      if (value !== undefined) this.learned.set(value, backend);
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

type RoutedRequest = http.IncomingMessage & { backend?: Backend };

/** The value of cookie `name` in a Cookie header (or the first part of a Set-Cookie), if there. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
