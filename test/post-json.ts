import http from 'node:http';

/** What a POST came back with. */
export interface Posted {
  status: number;
  body: string;
}

/**
 * POSTs `body` as JSON to `url` and resolves with the status and the text of the answer. `agent` and
 * `localAddress` let a caller pose as many learners (one address each) or keep connections open.
 */
export function postJson(
  url: string,
  body: unknown,
  options: { headers?: Record<string, string>; agent?: http.Agent | false; localAddress?: string } = {},
): Promise<Posted> {
  const { headers = {}, agent, localAddress } = options;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, localAddress, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
