import { createHash } from 'node:crypto';

/** The fixed string RFC 6455 §1.3 appends to every Sec-WebSocket-Key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The example key of RFC 6455 §1.3; its accept value is `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`. */
export const RFC_SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Each stage of turning a Sec-WebSocket-Key into the Sec-WebSocket-Accept a server must answer with. */
export interface AcceptComputation {
  key: string;
  /** key + GUID, the string that is hashed. */
  joined: string;
  /** SHA-1 of `joined`, in hex (20 bytes). */
  sha1Hex: string;
  /** base64 of those 20 bytes: the expected Sec-WebSocket-Accept. */
  accept: string;
}

/** Computes Sec-WebSocket-Accept for a key, keeping every stage so a transcript can show the working. */
export function computeAccept(key: string): AcceptComputation {
  const joined = key + WEBSOCKET_GUID;
  const digest = createHash('sha1').update(joined).digest();
  return { key, joined, sha1Hex: digest.toString('hex'), accept: digest.toString('base64') };
}
