import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';

/** The names a local certificate is valid for: what a client may dial to reach a server on loopback. */
export const LOCAL_NAMES = ['DNS localhost', 'IP 127.0.0.1', 'IP ::1'] as const;

/** How long a certificate made for one verification stays valid. Long enough for any run, no longer. */
const VALID_FOR_MS = 24 * 60 * 60 * 1000;
/** notBefore is written to the second, and clocks drift: start validity a little in the past. */
const BACKDATE_MS = 60 * 1000;

/** A certificate and its private key, written as PEM files to a folder of their own. */
export interface LocalCertificate {
  /** The certificate, PEM: what a client passes as `ca` to trust this certificate and nothing else. */
  cert: string;
  /** Absolute path of the certificate file (`cert.pem`). */
  certFile: string;
  /** Absolute path of the private key file (`key.pem`). */
  keyFile: string;
  /** The folder both files are in, made for this certificate alone. */
  dir: string;
  /** SHA-256 of the certificate's DER bytes, as Node shows it: `AB:CD:…` (32 bytes). */
  fingerprint256: string;
  /** Deletes the folder and both files. Safe to call more than once. */
  remove(): void;
}

/**
 * Makes a fresh self-signed certificate for localhost (SANs: DNS localhost, IP 127.0.0.1, IP ::1),
 * with an EC P-256 key (a few milliseconds, where a 2048-bit RSA key takes a hundred or more), signed
 * with SHA-256 and valid for a day. Writes `cert.pem` and `key.pem` to a new private folder in the
 * system's temporary directory. `defer` receives the cleanup that removes them.
 */
export async function makeLocalCertificate(defer: (cleanup: () => void) => void): Promise<LocalCertificate> {
  const now = Date.now();
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - BACKDATE_MS),
    notAfterDate: new Date(now + VALID_FOR_MS),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  // mkdtemp makes a folder nobody else can have prepared, readable by this user only.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsw-tls-'));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  defer(remove);
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  fs.writeFileSync(certFile, pems.cert, { mode: 0o600 });
  fs.writeFileSync(keyFile, pems.private, { mode: 0o600 });
  return { cert: pems.cert, certFile, keyFile, dir, fingerprint256: fingerprintOf(pems.cert), remove };
}

/** The SHA-256 fingerprint of a PEM certificate, in Node's `AB:CD:…` form. */
export function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** `B1:3C:61:27:…:D6:79`: the first and last bytes of a fingerprint, enough to tell two apart by eye. */
export function shortFingerprint(fingerprint: string): string {
  const bytes = fingerprint.split(':');
  return bytes.length <= 6 ? fingerprint : `${bytes.slice(0, 4).join(':')}:…:${bytes.slice(-2).join(':')}`;
}
