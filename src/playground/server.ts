/**
 * The playground's own HTTP server: the page, its script and style, socket.io-client's browser bundle,
 * the page's configuration (where the learner's server is, the close-code table), and a stream of
 * events (the learner's server exited, the playground stopped). It listens on 127.0.0.1 only.
 */
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { transform } from 'esbuild';
import { ROOT } from '../paths.ts';

// From the workshop's root, not from this module: the CLI may run as a compiled bundle elsewhere.
const HERE = path.join(ROOT, 'src', 'playground');

/** What the page needs to know, served as /config.json. */
export interface PlaygroundConfig {
  lesson: { slug: string; title: string };
  /** What the page's clients speak, as the lesson's prepareRun says. */
  protocol: 'websocket' | 'socket.io';
  /** The learner's servers, each with the URL a client connects to; the first is the default. */
  servers: Array<{ name: string; url: string }>;
  /** RFC 6455 close codes and their names, as the transcript names them. */
  closeCodes: Record<number, string>;
  /** Present when the server speaks wss:// with a certificate the browser does not trust. */
  tls?: { httpsUrl: string; fingerprint?: string };
}

/** A running playground page server. */
export interface PlaygroundServer {
  /** `http://127.0.0.1:PORT/`: the address to open. */
  url: string;
  /** Sends an event to every open page; resolves once it is written. */
  tell(event: 'server-exited' | 'stopped', data: object): Promise<void>;
  close(): Promise<void>;
}

/** Where socket.io-client's browser bundle is, wherever npm put the package. */
function socketIoBundle(): string {
  const entry = createRequire(import.meta.url).resolve('socket.io-client');
  // The entry is …/socket.io-client/build/cjs/index.js; the bundle sits in …/socket.io-client/dist.
  return path.join(entry.slice(0, entry.lastIndexOf(`${path.sep}build${path.sep}`)), 'dist', 'socket.io.min.js');
}

/** The page's script, compiled once from TypeScript (types stripped, nothing bundled: it imports nothing). */
async function pageScript(): Promise<string> {
  const source = await fs.promises.readFile(path.join(HERE, 'page.ts'), 'utf8');
  const { code } = await transform(source, { loader: 'ts', target: 'es2020', format: 'esm' });
  return code;
}

/**
 * The Content-Security-Policy of every response: scripts only from this server (no inline script, so
 * text that slipped into markup could not run), and connections only to the learner's servers.
 */
function contentSecurityPolicy(config: PlaygroundConfig): string {
  const origins = new Set<string>();
  for (const { url } of config.servers) {
    const u = new URL(url);
    origins.add(`${u.protocol}//${u.host}`);
    origins.add(`${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`);
  }
  return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self' ${[...origins].join(' ')}; base-uri 'none'; form-action 'none'`;
}

/** Starts the page's server on 127.0.0.1 (`port` 0: any free port). */
export async function startPlaygroundServer(config: PlaygroundConfig, port = 0): Promise<PlaygroundServer> {
  const script = await pageScript();
  const csp = contentSecurityPolicy(config);
  const streams = new Set<http.ServerResponse>();
  const files: Record<string, { type: string; body: () => Promise<string | Buffer> }> = {
    '/': { type: 'text/html; charset=utf-8', body: () => fs.promises.readFile(path.join(HERE, 'index.html')) },
    '/page.css': { type: 'text/css; charset=utf-8', body: () => fs.promises.readFile(path.join(HERE, 'page.css')) },
    '/page.js': { type: 'text/javascript; charset=utf-8', body: async () => script },
    '/socket.io.min.js': { type: 'text/javascript; charset=utf-8', body: () => fs.promises.readFile(socketIoBundle()) },
    '/config.json': { type: 'application/json; charset=utf-8', body: async () => JSON.stringify(config) },
  };
  let allowedHosts: Set<string> = new Set();

  const server = http.createServer((req, res) => {
    // Only this machine's own names: a page elsewhere that rebinds its DNS to 127.0.0.1 gets nothing.
    if (!allowedHosts.has(req.headers.host ?? '')) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('Open the playground at the address the terminal printed.\n');
      return;
    }
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && pathname === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'content-security-policy': csp });
      res.write(': connected\n\n');
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return;
    }
    const file = files[pathname];
    if (req.method !== 'GET' || !file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    file.body().then(
      (body) => res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store', 'content-security-policy': csp, 'x-content-type-options': 'nosniff' }).end(body),
      (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  allowedHosts = new Set([`127.0.0.1:${actual}`, `localhost:${actual}`]);

  return {
    url: `http://127.0.0.1:${actual}/`,
    tell: (event, data) =>
      Promise.all([...streams].map((res) => new Promise<void>((resolve) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`, () => resolve())))).then(() => {}),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of streams) res.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
