/**
 * Lesson 06 — wss://. The story: make a fresh certificate for localhost and hand it to the server in
 * TLS_CERT and TLS_KEY; open a TLS connection that trusts that certificate and nothing else, and check
 * that the server presented exactly it; echo over wss:// every kind of message lesson 02 echoes, to
 * its sender alone, on that port and no other; fetch a page over HTTPS on the same port; knock on that
 * port without TLS, which must get nowhere; and send a broken frame, which must not take the server down.
 */
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { ClientOptions } from 'ws';
import { LOCAL_NAMES, makeLocalCertificate, shortFingerprint, type LocalCertificate } from './harness/certificates.ts';
import {
  defineRules,
  describeCloseCode,
  describeFrame,
  HarnessCodes,
  previewText,
  VerifyFailure,
  type Frame,
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
  WRONG_CERTIFICATE: 'TLS_WRONG_CERTIFICATE',
  NOT_TLS: 'TLS_NOT_SPOKEN',
  HANDSHAKE_FAILED: 'TLS_HANDSHAKE_FAILED',
  HTTPS_NO_ANSWER: 'TLS_HTTPS_NO_ANSWER',
  HTTPS_BAD_STATUS: 'TLS_HTTPS_BAD_STATUS',
  HTTPS_NOT_TEXT: 'TLS_HTTPS_NOT_TEXT',
  HTTPS_EMPTY_BODY: 'TLS_HTTPS_EMPTY_BODY',
  WSS_NOT_ON_PORT: 'TLS_WSS_NOT_ON_PORT',
  EXTRA_PORT: 'TLS_EXTRA_PORT',
  NO_ECHO: 'TLS_NO_ECHO',
  WRONG_ECHO: 'TLS_WRONG_ECHO',
  ECHO_WRONG_KIND: 'TLS_ECHO_WRONG_KIND',
  ECHO_SIZE_NOT_KEPT: 'TLS_ECHO_SIZE_NOT_KEPT',
  ECHO_TO_OTHERS: 'TLS_ECHO_TO_OTHERS',
  CRASHED_ON_BAD_FRAME: 'TLS_CRASHED_ON_BAD_FRAME',
  PLAIN_TEXT_ACCEPTED: 'TLS_PLAIN_TEXT_ACCEPTED',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: { text: 'Listen on the port in `process.env.PORT`.', codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED] },
  R2: {
    text: 'Read the paths of a PEM certificate and its private key from `TLS_CERT` and `TLS_KEY`, load both files, and present exactly that certificate.',
    codes: [Codes.CERT_PATH_HARD_CODED, Codes.ENV_NOT_READ, Codes.NOT_PEM, Codes.WRONG_CERTIFICATE],
  },
  R3: { text: 'Speak TLS on that port, with an HTTPS server: `https.createServer({ cert, key }, handler)`.', codes: [Codes.NOT_TLS, Codes.HANDSHAKE_FAILED] },
  R4: {
    text: 'Answer `GET /` with status `200`, `Content-Type: text/plain` and a short text, and end the response.',
    codes: [Codes.HTTPS_NO_ANSWER, Codes.HTTPS_BAD_STATUS, Codes.HTTPS_NOT_TEXT, Codes.HTTPS_EMPTY_BODY],
  },
  R5: {
    text: 'Attach `ws` to that same HTTPS server, so that `wss://localhost:PORT/` reaches it, and listen on no other port.',
    codes: [Codes.WSS_NOT_ON_PORT, Codes.EXTRA_PORT],
  },
  R6: {
    text: 'Echo every message back to its sender alone, unchanged, as in lesson 02: text as text, binary as binary, empty and large ones too.',
    codes: [Codes.NO_ECHO, Codes.WRONG_ECHO, Codes.ECHO_WRONG_KIND, Codes.ECHO_SIZE_NOT_KEPT, Codes.ECHO_TO_OTHERS, HarnessCodes.TEXT_NOT_UTF8],
  },
  R7: {
    text: "A broken frame from one client must not bring the server down: listen for `'error'` on every socket, as in lesson 04.",
    codes: [Codes.CRASHED_ON_BAD_FRAME],
  },
  R8: { text: 'Speak nothing but TLS on `PORT`: a client that talks plain text there, `ws://` or `http://`, gets no answer.', codes: [Codes.PLAIN_TEXT_ACCEPTED] },
});

const HTTPS_SERVER_HINT =
  'Create the server with https.createServer({ cert, key }, handler), where cert and key are the contents of the files ' +
  'named by process.env.TLS_CERT and process.env.TLS_KEY, and attach ws to it: new WebSocketServer({ server }).';

export default (async (v) => {
  const certificate = await makeLocalCertificate((cleanup) => v.defer(cleanup));
  v.note(`Made a fresh self-signed certificate for localhost (${LOCAL_NAMES.join(', ')}) and its private key`);
  v.note(`Wrote them to cert.pem and key.pem in a new temporary folder, ${certificate.dir}, removed at the end`);
  const started = await startWithCertificate(v, certificate);

  await v.step('speaks TLS on PORT, with the certificate from TLS_CERT', ['R2', 'R3'], async () => {
    // A start that failed on the certificate files is this rule's failure, told here.
    if (!('server' in started)) throw started.failure;
    await expectCertificate(v, started.server, certificate);
  });
  if (!('server' in started)) return;
  const { server } = started;

  let alice!: TestClient;
  await v.step('echoes text over wss://, exactly as sent, on PORT and no other port', ['R5', 'R6'], async () => {
    alice = await connectWss(v, 'alice', server, certificate);
    checkOnePort(v, server);
    // Accents, a 4-byte emoji, a CJK character, and spaces at both ends: bytes, not characters, count.
    for (const text of ['hello over TLS', 'nobody on the way can read or change this', '  café — naïve  ', 'snow ☃ and 🎉 party', '\t漢字\n']) {
      alice.sendText(text);
      await expectEcho(v, alice, { kind: 'text', data: Buffer.from(text) });
    }
  });

  await v.step('echoes binary as binary, empty messages, and large ones that take many TLS records', ['R6'], async () => {
    const bytes = Buffer.from([0x00, 0x01, 0xfe, 0xff]);
    alice.sendBinary(bytes);
    await expectEcho(v, alice, { kind: 'binary', data: bytes });
    // Binary that is also valid UTF-8: only isBinary tells it apart from text.
    const readable = Buffer.from('looks like text');
    alice.sendBinary(readable);
    await expectEcho(v, alice, { kind: 'binary', data: readable });
    alice.sendText('');
    await expectEcho(v, alice, { kind: 'text', data: Buffer.alloc(0) }, { sized: true });
    alice.sendBinary(Buffer.alloc(0));
    await expectEcho(v, alice, { kind: 'binary', data: Buffer.alloc(0) }, { sized: true });
    // A TLS record carries 16 KiB at most: these cross dozens of records, and over 64 KiB a frame's
    // length takes 8 bytes.
    const text = 'ß'.repeat(50 * 1024) + ' end';
    alice.sendText(text);
    await expectEcho(v, alice, { kind: 'text', data: Buffer.from(text) }, { sized: true });
    const big = Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 31 + (i >> 10)) & 0xff));
    alice.sendBinary(big);
    await expectEcho(v, alice, { kind: 'binary', data: big }, { sized: true });
  });

  await v.step('keeps clients apart: whoever speaks hears only its own echo', ['R6'], async () => {
    // bob dials the address, carol the name: the certificate holds both, and both are checked.
    const bob = await connectWss(v, 'bob', server, certificate, { byAddress: true });
    const carol = await connectWss(v, 'carol', server, certificate);
    const everyone = [alice, bob, carol];
    // The last to connect, the first, and the middle one speak in turn; the others must hear nothing.
    for (const speaker of [carol, alice, bob]) {
      const text = `from ${speaker.name}`;
      speaker.sendText(text);
      const others = everyone.filter((c) => c !== speaker);
      const nobodyElseHeard = async () => {
        for (const client of others) {
          await client.expectSilence(0, {
            code: Codes.ECHO_TO_OTHERS,
            expected: `no message for ${client.name}: ${speaker.name} spoke, not ${client.name}`,
            hint: 'Echo on the socket the message came from, not to every client in wss.clients: that is a broadcast (lesson 03).',
          });
        }
      };
      // An echo that never came may have gone to someone else: that is the slip to name.
      await expectEcho(v, speaker, { kind: 'text', data: Buffer.from(text) }).catch(async (error: unknown) => {
        await nobodyElseHeard();
        throw error;
      });
      await nobodyElseHeard();
    }
  });

  await v.step('answers an HTTPS request on the same port', ['R4'], async () => {
    await expectHttpsPage(v, server, certificate);
  });

  await v.step('refuses plain text on that port: no TLS, no answer', ['R8'], async () => {
    await expectPlainRefused(v, server, 'ws://', PLAIN_UPGRADE, 'GET / HTTP/1.1 with Upgrade: websocket, in plain text');
    await expectPlainRefused(v, server, 'http://', PLAIN_GET, 'GET / HTTP/1.1, in plain text');
    v.note('✓ ws:// and http:// get nowhere on this port: only wss:// and https:// do');
  });

  await crashMeans(
    v,
    v.step('survives a broken frame: ws closes that connection, and the server goes on', ['R7'], async () => {
      const mallory = await connectWss(v, 'mallory', server, certificate);
      // ws cannot send such a frame: it is written past it, on the TLS connection.
      mallory.writeRaw(maskedFrame(0x81, Buffer.from([0xc3, 0x28])), 'text <c3 28> (these bytes are not valid UTF-8)');
      const closed = await mallory.expectClose('the server to close this connection', { timeoutMs: v.timeouts.stepMs }).catch(() => undefined);
      if (closed) v.note(`the server closed mallory's connection: ${describeCloseCode(closed.code)}`);
      // The crash, if there is one, takes a moment to show; alice's echo proves the server still runs.
      alice.sendText('still there?');
      await expectEcho(v, alice, { kind: 'text', data: Buffer.from('still there?') });
    }),
  );
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
 * before it listens: that crash, named after what it tried to load, is returned to be told in the
 * first step; any other failure to start is thrown as it is.
 */
async function startWithCertificate(v: Verification, certificate: LocalCertificate): Promise<{ server: RunningServer } | { failure: VerifyFailure }> {
  try {
    return { server: await v.start({ env: tlsEnv(certificate), tls: true }) };
  } catch (error) {
    if (!(error instanceof VerifyFailure) || error.code !== HarnessCodes.PROGRAM_CRASHED) throw error;
    const explained = explainStartCrash(v, error, certificate);
    if (!explained) throw error;
    return { failure: explained };
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

/**
 * Connects a ws client over wss://, trusting the certificate, to the name localhost or (`byAddress`)
 * to the loopback address the server listens on; names a failed upgrade.
 */
async function connectWss(
  v: Verification,
  name: string,
  server: RunningServer,
  certificate: LocalCertificate,
  options: { byAddress?: boolean } = {},
): Promise<TestClient> {
  const host = options.byAddress ? urlHost(server.host) : 'localhost';
  try {
    // Frames several clients receive at the same moment are written as they are read: one order.
    // (ws hands every option to the connection it opens, lookup included, though its types omit it.)
    return await v.client(name, { url: `wss://${host}:${server.port}/`, ws: { ca: certificate.cert, lookup: dialing(server) } as ClientOptions, log: 'read' });
  } catch (error) {
    if (!(error instanceof VerifyFailure)) throw error;
    if (error.code !== HarnessCodes.HANDSHAKE_REJECTED && error.code !== HarnessCodes.CONNECT_FAILED) throw error;
    const elsewhere = otherPorts(server);
    throw v.fail({
      code: Codes.WSS_NOT_ON_PORT,
      expected: 'HTTP 101 Switching Protocols in answer to the WebSocket upgrade, over TLS on PORT',
      actual: `${error.actual ?? error.message}${elsewhere.length > 0 ? ` (your server also listens on port ${elsewhere.join(', ')})` : ''}`,
      hint:
        'TLS works on PORT, but no WebSocket server answers there: the HTTPS server got the upgrade request and treated it as a ' +
        'plain request. A wss:// client connects to the same host and port as https://, on any path. Attach ws to your HTTPS server, ' +
        'new WebSocketServer({ server }), with no port and no path of its own.',
    });
  }
}

/**
 * Resolves every name to the loopback address the server listens on. Which addresses localhost
 * stands for is the machine's business (127.0.0.1, ::1, or both): a client still asks for localhost,
 * and checks the certificate against that name.
 */
function dialing(server: RunningServer): net.LookupFunction {
  const family = net.isIPv6(server.host) ? 6 : 4;
  return ((_name: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options.all) callback(null, [{ address: server.host, family }]);
    else callback(null, server.host, family);
  }) as unknown as net.LookupFunction;
}

/** Ports the program listens on besides PORT. */
function otherPorts(server: RunningServer): number[] {
  return [...new Set(server.program.listeningPorts.filter((port) => port !== server.port))];
}

function checkOnePort(v: Verification, server: RunningServer): void {
  const elsewhere = otherPorts(server);
  if (elsewhere.length > 0) {
    throw v.fail({
      code: Codes.EXTRA_PORT,
      expected: `your server to listen on port ${server.port} (PORT) alone`,
      actual: `it listens on port ${elsewhere.join(', ')} as well`,
      hint:
        'One port serves both https:// and wss://: the HTTPS server on PORT. Every other port is one more door to guard and ' +
        'to give a certificate; remove the second listen, or the { port } of a second server.',
    });
  }
}

const ISBINARY_HINT =
  "In ws 8, 'message' gives you (data, isBinary) and data is always a Buffer. Echo with socket.send(data, { binary: isBinary }): " +
  'without the flag a text message comes back binary, and with toString() binary comes back as text.';

/**
 * Expects `want` back, and when something else comes, names the slip. `sized`: an empty or a large
 * message, whose loss (nothing back, something shorter, the connection closed) is its own slip.
 */
async function expectEcho(v: Verification, client: TestClient, want: Frame, options: { sized?: boolean } = {}): Promise<void> {
  const size = want.data.length === 0 ? 'an empty message' : `a message of ${want.data.length} bytes`;
  const sizeHint =
    want.data.length === 0
      ? 'An empty message is a message too: echo every one, whatever its length. A check such as if (!data.length) return drops it.'
      : 'Send back the data you were given, whole: no slicing, no maxPayload of your own, no conversion that changes its bytes.';
  let got: Frame;
  try {
    got = await client.nextFrame(`the echo: ${describeFrame(want)}`, {
      timeoutCode: options.sized ? Codes.ECHO_SIZE_NOT_KEPT : Codes.NO_ECHO,
      timeoutHint: options.sized
        ? sizeHint
        : "The connection opened, so TLS and the upgrade work: now echo. In wss.on('connection', …), listen for 'message' on the socket and send the data back on it.",
    });
  } catch (error) {
    // A server that refuses large messages closes the connection (1009) instead of answering.
    if (!options.sized || !(error instanceof VerifyFailure) || error.code !== HarnessCodes.CONNECTION_CLOSED) throw error;
    const closed = client.closed;
    throw v.fail({
      code: Codes.ECHO_SIZE_NOT_KEPT,
      expected: `the echo of ${size}`,
      actual: closed?.clean ? `a close frame ${describeCloseCode(closed.code)}: the server refused the message` : 'the connection dropped',
      hint: sizeHint,
    });
  }
  if (got.kind === want.kind && got.data.equals(want.data)) return;
  const sameText = got.data.equals(want.data) || (want.kind === 'binary' && got.data.equals(Buffer.from(want.data.toString())));
  if (got.kind !== want.kind && sameText) {
    throw v.fail({ code: Codes.ECHO_WRONG_KIND, expected: describeFrame(want), actual: describeFrame(got), hint: ISBINARY_HINT });
  }
  if (options.sized && got.data.length !== want.data.length) {
    throw v.fail({ code: Codes.ECHO_SIZE_NOT_KEPT, expected: describeFrame(want), actual: describeFrame(got), hint: sizeHint });
  }
  const someoneElse = /^from \w+$/.test(got.data.toString()) && !got.data.equals(want.data);
  throw v.fail({
    code: someoneElse ? Codes.ECHO_TO_OTHERS : Codes.WRONG_ECHO,
    expected: describeFrame(want),
    actual: describeFrame(got),
    hint: someoneElse
      ? 'Echo on the socket the message came from, not to every client in wss.clients: that is a broadcast (lesson 03).'
      : 'An echo is the message exactly as it came: no trimming, no prefix, no change of case, no JSON wrapping.',
  });
}

/** A final frame with the given first byte, masked as a client's must be. */
function maskedFrame(firstByte: number, payload: Buffer): Buffer {
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([firstByte, 0x80 | payload.length]), mask, masked]);
}


/** Turns a crash of the program during `step` into this lesson's own failure, with its stack. */
async function crashMeans(v: Verification, step: Promise<void>): Promise<void> {
  await v.blameDeath(() => step, () => ({
    code: Codes.CRASHED_ON_BAD_FRAME,
    when: 'after a client sent a broken frame',
    hint: "ws reports a broken frame as an 'error' event on that socket, and an 'error' nobody listens for is thrown: one client " +
        "takes the whole server down. In wss.on('connection', …), add socket.on('error', …), even if it only logs; ws closes that connection itself.",
  }));
}

// ————————————————————————————————————————— HTTPS on the same port

/** One GET / over TLS with the certificate trusted, as a browser opening https://localhost:PORT/. */
async function expectHttpsPage(v: Verification, server: RunningServer, certificate: LocalCertificate): Promise<void> {
  const log = (text: string, tone?: 'detail' | 'error') => v.transcript.add({ kind: 'client', name: 'https' }, text, tone);
  const url = `https://localhost:${server.port}/`;
  log(`→ GET ${url}`);
  const expected = `a complete answer to GET ${url}`;
  const answer = await httpsGet(url, certificate.cert, dialing(server), v.timeouts.stepMs);
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
  const text = answer.body.toString('utf8');
  log(`← ${answer.status} ${answer.statusText} (${type}${answer.body.length} bytes)${answer.body.length ? `: ${previewText(text.trim())}` : ''}`);
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
  if (text.trim() === '') {
    throw v.fail({
      code: Codes.HTTPS_EMPTY_BODY,
      expected: `a short text in answer to GET ${url}`,
      actual: answer.body.length === 0 ? 'status 200 with an empty body' : 'status 200 with nothing but blank space',
      hint: 'Pass the text to res.end: res.end("This server speaks wss://\\n"). A page with nothing on it tells whoever opens it nothing.',
    });
  }
  // The media type is what counts; parameters such as charset=utf-8 may follow it.
  if (answer.contentType?.split(';')[0]!.trim().toLowerCase() !== 'text/plain') {
    throw v.fail({
      code: Codes.HTTPS_NOT_TEXT,
      expected: 'the header Content-Type: text/plain, which tells the browser the body is plain text',
      actual: answer.contentType === undefined ? 'no Content-Type header' : `Content-Type: ${answer.contentType}`,
      hint: 'Name the type when you write the head: res.writeHead(200, { "Content-Type": "text/plain" }).',
    });
  }
  log('the same port, the same certificate: HTTPS pages and wss:// sockets share one server', 'detail');
}

type HttpsAnswer =
  | { ok: true; status: number; statusText: string; contentType?: string; body: Buffer }
  | { ok: false; problem: string };

function httpsGet(url: string, ca: string, lookup: net.LookupFunction, timeoutMs: number): Promise<HttpsAnswer> {
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
    const request = https.get(url, { ca, lookup, agent: false, headers: { Connection: 'close' } }, (response) => {
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

/** A page request, written as a browser given http:// writes it. */
const PLAIN_GET = 'GET / HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\n\r\n';

/** The first byte of each kind of TLS record: change cipher spec, alert, handshake, application data. */
const TLS_RECORD_TYPES = new Set([0x14, 0x15, 0x16, 0x17]);
/** The first byte of a TLS alert record. */
const TLS_ALERT = 0x15;

/**
 * Sends `request` without TLS. A server that speaks only TLS reads the first bytes as a broken TLS
 * record and hangs up (perhaps with a TLS alert); any answer in plain text means the port also
 * speaks plain text.
 */
async function expectPlainRefused(v: Verification, server: RunningServer, scheme: string, request: string, shown: string): Promise<void> {
  const log = (text: string, tone?: 'detail' | 'error') => v.transcript.add({ kind: 'client', name: 'plain' }, text, tone);
  log(`connecting to ${scheme}${urlHost(server.host)}:${server.port}/ without TLS`);
  log(`→ ${shown}`);
  const reply = await plainExchange(server, request, v.timeouts.stepMs);
  if (reply.bytes.length > 0 && !TLS_RECORD_TYPES.has(reply.bytes[0]!)) {
    const text = reply.bytes.toString('latin1');
    const statusLine = text.startsWith('HTTP/') ? text.split('\r\n')[0]! : undefined;
    log(`← ${statusLine ?? previewText(text.slice(0, 60))}, in plain text`, 'error');
    const upgraded = statusLine !== undefined && / 101 /.test(statusLine);
    throw v.fail({
      code: Codes.PLAIN_TEXT_ACCEPTED,
      expected: 'the connection to fail, with no answer in plain text',
      actual: upgraded
        ? `${statusLine}: a WebSocket over plain TCP, which anyone on the way can read and change`
        : `${statusLine ?? `${reply.bytes.length} bytes`}, in plain text`,
      hint:
        'Your port also speaks plain text. A single ws:// client is all it takes to put messages on the network unencrypted, ' +
        'and even a redirect in plain text can be changed on the way to send the browser elsewhere. Serve only TLS on PORT: one ' +
        'https.createServer, with ws attached to it, and nothing in front of it that answers without TLS.',
    });
  }
  if (reply.bytes.length > 0 && reply.bytes[0] === TLS_ALERT) log('← a TLS alert: the server answers only in TLS');
  else if (reply.closed) log('← nothing: the server hung up, because plain text is not TLS');
  else log(`← nothing in plain text within ${v.timeouts.stepMs} ms`);
}

function plainExchange(server: RunningServer, request: string, timeoutMs: number): Promise<{ bytes: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    const done = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // An HTTP answer's head is all there is to judge.
      if (Buffer.concat(chunks).includes('\r\n\r\n')) done(false);
    });
    socket.on('error', () => done(true));
    socket.on('close', () => done(true));
  });
}
