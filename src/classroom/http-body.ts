import type http from 'node:http';

/** An answer the class server gives on purpose: its status and a sentence for whoever sent the request. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers (Retry-After for a 429). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Reads a JSON body of at most `maxBytes`; larger bodies are refused as they arrive, not after. */
export function readJson(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > maxBytes) return reject(new HttpError(413, `At most ${maxBytes} bytes.`));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        reject(new HttpError(413, `At most ${maxBytes} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      try {
        // fatal: a body that is not valid UTF-8 is refused, not silently patched with U+FFFD.
        resolve(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks))));
      } catch {
        reject(new HttpError(400, 'The body must be JSON.'));
      }
    });
    // A reset mid-body: nobody is left to answer, the caller's catch drops it.
    req.on('error', reject);
    req.on('aborted', () => reject(new HttpError(400, 'The request was cut short.')));
  });
}

/**
 * Answers a request, unless that is no longer possible (the client left, or an answer was already
 * started): then the socket is dropped, which is all that can be done.
 */
export function send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json; charset=utf-8'): void {
  if (res.headersSent || res.destroyed || !res.socket || res.socket.destroyed) {
    res.destroy();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(text);
}

/** The request's path and query, or undefined for a target that is not a path (`//x:99999`, `*`, garbage). */
export function requestUrl(req: http.IncomingMessage): URL | undefined {
  const target = req.url ?? '/';
  if (!target.startsWith('/')) return undefined;
  try {
    return new URL(target, 'http://class');
  } catch {
    return undefined;
  }
}

/** True when an Origin header names the same host:port the request was sent to. */
export function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
