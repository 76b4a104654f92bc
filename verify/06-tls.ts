/**
 * Lesson 06 — wss://. The story: make a fresh certificate for localhost and hand it to the server in
 * TLS_CERT and TLS_KEY; open a TLS connection that trusts that certificate and nothing else, and check
 * that the server presented exactly it; echo over wss://; fetch a page over HTTPS on the same port; and
 * knock on that port without TLS, which must get nowhere.
 */
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { LOCAL_NAMES, makeLocalCertificate, shortFingerprint, type LocalCertificate } from './harness/certificates.ts';
import {
  HarnessCodes,
  previewText,
  VerifyFailure,
  type LessonVerifier,
  type PrepareRun,
  type RunningServer,
  type TestClient,
  type Verification,
} from './harness/index.ts';
import { freePort, urlHost } from './harness/ports.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  CERT_PATH_HARD_CODED: 'TLS_CERT_PATH_HARD_CODED',
  ENV_NOT_READ: 'TLS_ENV_NOT_READ',
  NOT_PEM: 'TLS_NOT_PEM',
  NOT_TLS: 'TLS_NOT_SPOKEN',
  HANDSHAKE_FAILED: 'TLS_HANDSHAKE_FAILED',
  WRONG_CERTIFICATE: 'TLS_WRONG_CERTIFICATE',
  WSS_NOT_ON_PORT: 'TLS_WSS_NOT_ON_PORT',
  NO_ECHO: 'TLS_NO_ECHO',
  WRONG_ECHO: 'TLS_WRONG_ECHO',
  HTTPS_NO_ANSWER: 'TLS_HTTPS_NO_ANSWER',
  HTTPS_BAD_STATUS: 'TLS_HTTPS_BAD_STATUS',
  PLAIN_TEXT_ACCEPTED: 'TLS_PLAIN_TEXT_ACCEPTED',
} as const;

const HTTPS_SERVER_HINT =
  'Create the server with https.createServer({ cert, key }, handler), where cert and key are the contents of the files ' +
  'named by process.env.TLS_CERT and process.env.TLS_KEY, and attach ws to it: new WebSocketServer({ server }).';

export default (async (v) => {
  const certificate = await makeLocalCertificate((cleanup) => v.defer(cleanup));
  v.note(`Made a fresh self-signed certificate for localhost (${LOCAL_NAMES.join(', ')}) and its private key`);
  v.note(`Wrote them to cert.pem and key.pem in a new temporary folder, ${certificate.dir}, removed at the end`);
  const server = await startWithCertificate(v, certificate);

  await v.step('speaks TLS on PORT, with the certificate from TLS_CERT', [], async () => {
    await expectCertificate(v, server, certificate);
  });

  await v.step('echoes text over wss://', [], async () => {
    const alice = await connectWss(v, 'alice', server, certificate);
    for (const text of ['hello over TLS', 'nobody on the way can read or change this']) {
      alice.sendText(text);
      await expectEcho(alice, text);
    }
  });

  await v.step('answers an HTTPS request on the same port', [], async () => {
    await expectHttpsPage(v, server, certificate);
  });

  await v.step('refuses plain ws:// on that port: no TLS, no connection', [], async () => {
    await expectPlainRefused(v, server);
  });
}) satisfies LessonVerifier;

/**
 * `wsw run`: the same fresh certificate, handed over the same way, and a client that connects over
 * wss:// trusting it. Nothing is hidden here: the learner may want the files while the server runs.
 */
export const prepareRun: PrepareRun = async (v) => {
  const certificate = await makeLocalCertificate((cleanup) => v.defer(cleanup));
  v.note(`Made a fresh self-signed certificate for localhost: ${certificate.certFile} (key: ${certificate.keyFile}, both removed at the end)`);
  v.note(`Its SHA-256 fingerprint: ${certificate.fingerprint256}`);
  const port = await freePort();
  return {
    start: { port, env: tlsEnv(certificate), tls: true },
    client: { url: `wss://localhost:${port}/`, ws: { ca: certificate.cert } },
  };
};

function tlsEnv(certificate: LocalCertificate): Record<string, string> {
  return { TLS_CERT: certificate.certFile, TLS_KEY: certificate.keyFile };
}

// ————————————————————————————————————————— starting: the files the server is told about

/**
 * Starts the server with TLS_CERT and TLS_KEY. A server that cannot load its certificate crashes
 * before it listens; the crash is named after what it tried to load.
 */
async function startWithCertificate(v: Verification, certificate: LocalCertificate): Promise<RunningServer> {
  try {
    return await v.start({ env: tlsEnv(certificate), tls: true });
  } catch (error) {
    if (!(error instanceof VerifyFailure) || error.code !== HarnessCodes.PROGRAM_CRASHED) throw error;
    throw explainStartCrash(v, error, certificate) ?? error;
  }
}

function explainStartCrash(v: Verification, crash: VerifyFailure, certificate: LocalCertificate): VerifyFailure | undefined {
  const stderr = [...crash.details, ...v.transcript.entries.filter((e) => e.source.kind === 'program').map((e) => e.text)].join('\n');
  const same = { message: crash.message, details: crash.details };
  const missing = /ENOENT: no such file or directory, open '([^']+)'/.exec(stderr)?.[1];
  if (missing !== undefined && missing !== certificate.certFile && missing !== certificate.keyFile) {
    return v.fail({
      ...same,
      code: Codes.CERT_PATH_HARD_CODED,
      hint:
        `Your server opened ${missing}, a path written in its code, and there is no such file. The certificate and key are where ` +
        'TLS_CERT and TLS_KEY say: read the paths from process.env, as you read PORT. Where certificates live is up to ' +
        'whoever runs the server, and they change (Let\'s Encrypt renews them every few months); the code must not know.',
    });
  }
  if (/ERR_INVALID_ARG_TYPE[^\n]*Received undefined/.test(stderr)) {
    return v.fail({
      ...same,
      code: Codes.ENV_NOT_READ,
      hint:
        'A file name your server passed to fs.readFileSync was undefined: the environment variable it read is not set. ' +
        'The certificate is in process.env.TLS_CERT and the key in process.env.TLS_KEY, exactly these names.',
    });
  }
  if (/no start line|ERR_OSSL_PEM/.test(stderr)) {
    return v.fail({
      ...same,
      code: Codes.NOT_PEM,
      hint:
        'https.createServer could not read what it was given as cert or key: they must be the PEM text, ' +
        '"-----BEGIN …-----" and all. Pass the contents, fs.readFileSync(process.env.TLS_CERT), not the path itself, ' +
        'and check that cert comes from TLS_CERT and key from TLS_KEY, not the other way round.',
    });
  }
  return undefined;
}

// ————————————————————————————————————————— the certificate: what a client checks before it says a word

/** What a TLS client learnt from one handshake, or why there was none. */
type TlsProbe =
  | { ok: true; protocol: string; fingerprint256: string; subject: string; issuer: string; altNames: string }
  | { ok: false; code: string; message: string };

/**
 * Connects with TLS to the server, as a browser would to https://localhost: trusting only the
 * certificate handed over (as `ca`, in place of the usual list of authorities), with every check on.
 * Then compares what the server presented with that certificate, byte for byte, by fingerprint.
 */
async function expectCertificate(v: Verification, server: RunningServer, certificate: LocalCertificate): Promise<void> {
  const log = (text: string, tone?: 'detail' | 'error') => v.transcript.add({ kind: 'client', name: 'tls' }, text, tone);
  log(`connecting to localhost:${server.port} with TLS, trusting one certificate only: the one in TLS_CERT`);
  const probe = await probeTls(server, certificate, v.timeouts.stepMs);
  const expected = 'a TLS handshake, with the certificate from TLS_CERT';
  if (!probe.ok) {
    log(`! ${probe.code}: ${probe.message}`, 'error');
    throw handshakeFailure(v, expected, probe, certificate);
  }
  log(`handshake complete (${probe.protocol}): the server presented a certificate for ${probe.subject}, issued by ${probe.issuer}`);
  log(`checked: it chains to a certificate this client trusts, and its names (${probe.altNames}) include localhost`, 'detail');
  if (probe.fingerprint256 !== certificate.fingerprint256) {
    throw v.fail({
      code: Codes.WRONG_CERTIFICATE,
      expected: `the certificate from TLS_CERT (SHA-256 ${shortFingerprint(certificate.fingerprint256)})`,
      actual: `another certificate (SHA-256 ${shortFingerprint(probe.fingerprint256)})`,
      hint: WRONG_CERTIFICATE_HINT,
    });
  }
  v.note(`✓ it is the certificate from TLS_CERT: SHA-256 ${certificate.fingerprint256} on both sides`);
}

const WRONG_CERTIFICATE_HINT =
  'Your server presents a certificate of its own: one it generated, or a file it found elsewhere (a cert.pem beside your code?). ' +
  'A client that trusts only the certificate in TLS_CERT refuses it, as a browser refuses a stranger\'s. Load exactly the files ' +
  'named by process.env.TLS_CERT and process.env.TLS_KEY. And never "fix" this on the client with rejectUnauthorized: false: ' +
  'that turns off the very check that caught it.';

/** Certificate checks that failed, as OpenSSL and Node name them. */
const CERTIFICATE_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** OpenSSL's words for bytes that are not TLS at all: what a plain-text server answers to a TLS hello. */
const PLAIN_TEXT_ERRORS = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST']);

function handshakeFailure(
  v: Verification,
  expected: string,
  probe: Extract<TlsProbe, { ok: false }>,
  certificate: LocalCertificate,
): VerifyFailure {
  if (PLAIN_TEXT_ERRORS.has(probe.code)) {
    return v.fail({
      code: Codes.NOT_TLS,
      expected,
      actual: 'an answer in plain text: the server does not speak TLS on PORT',
      hint:
        'A TLS client opens with a binary hello, and your server answered it in plain text, as HTTP answers a broken request ' +
        '("wrong version number" is OpenSSL failing to read that as TLS). new WebSocketServer({ port }) and http.createServer ' +
        `speak plain text; http.createServer even ignores cert and key if you give them. ${HTTPS_SERVER_HINT}`,
    });
  }
  if (CERTIFICATE_ERRORS.has(probe.code)) {
    return v.fail({
      code: Codes.WRONG_CERTIFICATE,
      expected: `the certificate from TLS_CERT (SHA-256 ${shortFingerprint(certificate.fingerprint256)})`,
      actual: `a certificate this client refuses (${probe.code}: ${probe.message}), so not that one`,
      hint: WRONG_CERTIFICATE_HINT,
    });
  }
  const alert = /^ERR_SSL_(?:SSLV3|TLSV1)_ALERT_(\w+)$/.exec(probe.code)?.[1];
  return v.fail({
    code: Codes.HANDSHAKE_FAILED,
    expected,
    actual: alert
      ? `an alert from the server, which broke the handshake off: ${alert.toLowerCase().replace(/_/g, ' ')} (${probe.code})`
      : `${probe.code}: ${probe.message}`,
    hint:
      'The TLS handshake did not complete. A server needs both the certificate, which it shows, and the private key, which proves ' +
      `the certificate is its own: give https.createServer both, as PEM text. ${HTTPS_SERVER_HINT}`,
  });
}

/** One TLS handshake to the server. The name checked is localhost, whichever loopback address it listens on. */
function probeTls(server: RunningServer, certificate: LocalCertificate, timeoutMs: number): Promise<TlsProbe> {
  return new Promise((resolve) => {
    // Every check stays on: the chain (to `ca`, the only certificate trusted), the name, the dates.
    const socket = tls.connect({ host: server.host, port: server.port, servername: 'localhost', ca: certificate.cert });
    const timer = setTimeout(
      () => done({ ok: false, code: 'TIMEOUT', message: `no TLS handshake within ${timeoutMs} ms` }),
      timeoutMs,
    );
    function done(probe: TlsProbe): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    }
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      done({
        ok: true,
        protocol: socket.getProtocol() ?? 'TLS',
        fingerprint256: peer.fingerprint256,
        subject: describeName(peer.subject),
        issuer: sameName(peer.subject, peer.issuer) ? 'itself' : describeName(peer.issuer),
        altNames: (peer.subjectaltname ?? 'none').replace(/IP Address:0:0:0:0:0:0:0:1\b/, 'IP Address:::1'),
      });
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done({ ok: false, code: error.code ?? 'ERROR', message: firstLine(error.message) }),
    );
  });
}

function describeName(name: tls.PeerCertificate['subject'] | undefined): string {
  const cn = name?.CN;
  return (Array.isArray(cn) ? cn.join(', ') : cn) ?? 'no name';
}

function sameName(a: tls.PeerCertificate['subject'], b: tls.PeerCertificate['issuer']): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** OpenSSL's messages carry a source location; the reason is enough. */
function firstLine(message: string): string {
  const reason = /:SSL routines:[^:]*:([^:]+):/.exec(message)?.[1];
  return reason ?? message.split('\n')[0]!;
}

// ————————————————————————————————————————— wss://: the WebSocket inside the TLS connection

/** Connects a ws client over wss://localhost, trusting the certificate; names a failed upgrade. */
async function connectWss(v: Verification, name: string, server: RunningServer, certificate: LocalCertificate): Promise<TestClient> {
  try {
    return await v.client(name, { url: `wss://localhost:${server.port}/`, ws: { ca: certificate.cert } });
  } catch (error) {
    if (!(error instanceof VerifyFailure)) throw error;
    if (error.code !== HarnessCodes.HANDSHAKE_REJECTED && error.code !== HarnessCodes.CONNECT_FAILED) throw error;
    throw v.fail({
      code: Codes.WSS_NOT_ON_PORT,
      expected: 'HTTP 101 Switching Protocols in answer to the WebSocket upgrade, over TLS on PORT',
      actual: error.actual ?? error.message,
      hint:
        'TLS works on PORT, but no WebSocket server answers there: the HTTPS server got the upgrade request and treated it as a ' +
        'plain request. A wss:// client connects to the same host and port as https://. Attach ws to your HTTPS server, ' +
        'new WebSocketServer({ server }), rather than giving it a port of its own.',
    });
  }
}

async function expectEcho(client: TestClient, text: string): Promise<void> {
  await client.expectText(text, {
    code: Codes.WRONG_ECHO,
    hint: 'Send every message back unchanged, on the socket it came from: socket.send(data, { binary: isBinary }), as in lesson 02.',
    timeoutCode: Codes.NO_ECHO,
    timeoutHint:
      "The connection opened, so TLS and the upgrade work: now echo. In wss.on('connection', …), listen for 'message' on the socket and send the data back on it.",
  });
}

// ————————————————————————————————————————— HTTPS on the same port

/** One GET / over TLS with the certificate trusted, as a browser opening https://localhost:PORT/. */
async function expectHttpsPage(v: Verification, server: RunningServer, certificate: LocalCertificate): Promise<void> {
  const log = (text: string, tone?: 'detail' | 'error') => v.transcript.add({ kind: 'client', name: 'https' }, text, tone);
  const url = `https://localhost:${server.port}/`;
  log(`→ GET ${url}`);
  const expected = `a complete answer to GET ${url}`;
  const answer = await httpsGet(url, certificate.cert, v.timeouts.stepMs);
  if (!answer.ok) {
    log(`! ${answer.problem}`, 'error');
    throw v.fail({
      code: Codes.HTTPS_NO_ANSWER,
      expected,
      actual: answer.problem,
      hint:
        'HTTPS still is HTTP: every request needs an answer that ends. Give https.createServer a request handler, ' +
        '(req, res) => { res.writeHead(200); res.end("…") }. ws only takes the upgrade requests; every other request is yours.',
    });
  }
  const type = answer.contentType ? `${answer.contentType}, ` : '';
  log(`← ${answer.status} ${answer.statusText} (${type}${answer.body.length} bytes)${answer.body.length ? `: ${previewText(answer.body.toString('utf8').trim())}` : ''}`);
  if (answer.status !== 200) {
    throw v.fail({
      code: Codes.HTTPS_BAD_STATUS,
      expected: `status 200 for GET ${url}`,
      actual: `${answer.status} ${answer.statusText}`,
      hint:
        'WebSockets do not replace HTTP: ws takes the upgrade requests, and every other request reaches your handler, which still ' +
        'serves pages. Answer GET / with status 200 and a short text: res.writeHead(200, { "Content-Type": "text/plain" }); res.end("…").',
    });
  }
  log('the same port, the same certificate: HTTPS pages and wss:// sockets share one server', 'detail');
}

type HttpsAnswer =
  | { ok: true; status: number; statusText: string; contentType?: string; body: Buffer }
  | { ok: false; problem: string };

function httpsGet(url: string, ca: string, timeoutMs: number): Promise<HttpsAnswer> {
  return new Promise((resolve) => {
    let started = false;
    const timer = setTimeout(() => {
      request.destroy();
      resolve({
        ok: false,
        problem: started ? `the start of an answer, then nothing more for ${timeoutMs} ms` : `nothing within ${timeoutMs} ms`,
      });
    }, timeoutMs);
    const finish = (answer: HttpsAnswer) => {
      clearTimeout(timer);
      resolve(answer);
    };
    const request = https.get(url, { ca, agent: false, headers: { Connection: 'close' } }, (response) => {
      started = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', () => finish({ ok: false, problem: 'the connection broke in the middle of the answer' }));
      response.on('end', () =>
        finish({
          ok: true,
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? '',
          contentType: response.headers['content-type'],
          body: Buffer.concat(chunks),
        }),
      );
    });
    request.on('error', (error: NodeJS.ErrnoException) => finish({ ok: false, problem: `${error.code ?? 'error'}: ${firstLine(error.message)}` }));
  });
}

// ————————————————————————————————————————— plain text on the same port

/** A WebSocket upgrade request, written as a ws:// client writes it: in plain text, no TLS. */
const PLAIN_UPGRADE =
  'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/**
 * Sends a ws:// upgrade request without TLS. A server that speaks only TLS reads the first bytes as a
 * broken TLS record and hangs up; any answer in plain text means the port also speaks plain text.
 */
async function expectPlainRefused(v: Verification, server: RunningServer): Promise<void> {
  const log = (text: string, tone?: 'detail' | 'error') => v.transcript.add({ kind: 'client', name: 'plain' }, text, tone);
  log(`connecting to ws://${urlHost(server.host)}:${server.port}/ without TLS`);
  log('→ GET / HTTP/1.1 with Upgrade: websocket, in plain text');
  const reply = await plainExchange(server, v.timeouts.stepMs);
  const text = reply.bytes.toString('latin1');
  if (text.startsWith('HTTP/')) {
    const statusLine = text.split('\r\n')[0]!;
    log(`← ${statusLine}, in plain text`, 'error');
    const upgraded = / 101 /.test(statusLine);
    throw v.fail({
      code: Codes.PLAIN_TEXT_ACCEPTED,
      expected: 'the connection to fail, with no answer in plain text',
      actual: upgraded ? `${statusLine}: a WebSocket over plain TCP, which anyone on the way can read and change` : `${statusLine}, in plain text`,
      hint:
        'Your port also speaks plain text. A single ws:// client is all it takes to put messages on the network unencrypted, ' +
        'and a proxy on the way may break them. Serve only TLS on PORT: one https.createServer, with ws attached to it, and no plain ' +
        'http server behind it.',
    });
  }
  if (reply.bytes.length > 0 && reply.bytes[0] === TLS_ALERT) log('← a TLS alert: the server answers only in TLS');
  else if (reply.closed) log('← nothing: the server hung up, because plain text is not TLS');
  else log(`← nothing in plain text within ${v.timeouts.stepMs} ms`);
  v.note('✓ ws:// gets nowhere on this port: only wss:// does');
}

/** The first byte of a TLS alert record. */
const TLS_ALERT = 0x15;

function plainExchange(server: RunningServer, timeoutMs: number): Promise<{ bytes: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write(PLAIN_UPGRADE));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // An HTTP answer's head is all there is to judge.
      if (Buffer.concat(chunks).includes('\r\n\r\n')) done(false);
    });
    socket.on('error', () => done(true));
    socket.on('close', () => done(true));
  });
}
