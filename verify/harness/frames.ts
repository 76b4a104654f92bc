/** Human names of WebSocket close codes (RFC 6455 §7.4.1), shown beside every code in a transcript. */
export const CLOSE_CODE_NAMES: Record<number, string> = {
  1000: 'normal closure',
  1001: 'going away',
  1002: 'protocol error',
  1003: 'unsupported data',
  1005: 'no status code',
  1006: 'abnormal closure: no close frame',
  1007: 'invalid payload data',
  1008: 'policy violation',
  1009: 'message too big',
  1010: 'missing extension',
  1011: 'internal server error',
  1012: 'service restart',
  1013: 'try again later',
  1015: 'TLS handshake failure',
};

/** "1000 normal closure", or "4001 application-defined" for codes the RFC leaves to applications. */
export function describeCloseCode(code: number): string {
  const name = CLOSE_CODE_NAMES[code] ?? (code >= 4000 && code <= 4999 ? 'application-defined' : 'unknown');
  return `${code} (${name})`;
}

const PREVIEW_CHARS = 60;
const PREVIEW_BYTES = 16;

const PREVIEW_JSON_CHARS = 120;

/**
 * A short, readable, single-line rendering of a text payload: JSON objects and arrays as they are
 * (lessons speak JSON, and escaped quotes would hide it), anything else quoted.
 */
export function previewText(text: string): string {
  if (isJsonStructure(text)) {
    const compact = text.replace(/\s*\n\s*/g, ' ');
    return compact.length > PREVIEW_JSON_CHARS ? `${compact.slice(0, PREVIEW_JSON_CHARS)}… (${formatBytes(Buffer.byteLength(text))})` : compact;
  }
  const cut = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
  const quoted = JSON.stringify(cut);
  return text.length > PREVIEW_CHARS ? `${quoted} (${formatBytes(Buffer.byteLength(text))})` : quoted;
}

function isJsonStructure(text: string): boolean {
  if (!/^[[{]/.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The first bytes of a binary payload in hex: `<68 65 6c 6c 6f>`. */
export function previewBinary(data: Buffer): string {
  const hex = [...data.subarray(0, PREVIEW_BYTES)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `<${hex}${data.length > PREVIEW_BYTES ? ' …' : ''}>`;
}

/** "5 bytes", "1.0 KiB", "1.0 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A received or sent message, as the transcript and failure messages describe it. */
export interface Frame {
  kind: 'text' | 'binary';
  data: Buffer;
}

/** "a text frame "hello"" / "a binary frame (5 bytes) <68 65 …>" — for Expected/got sentences. */
export function describeFrame(frame: Frame): string {
  return frame.kind === 'text'
    ? `a text frame ${previewText(frame.data.toString('utf8'))}`
    : `a binary frame (${formatBytes(frame.data.length)}) ${previewBinary(frame.data)}`;
}

/** "text "hello"" / "binary 5 bytes <68 65 …>" — for transcript lines. */
export function frameSummary(frame: Frame): string {
  return frame.kind === 'text'
    ? `text ${previewText(frame.data.toString('utf8'))}`
    : `binary ${formatBytes(frame.data.length)} ${previewBinary(frame.data)}`;
}
