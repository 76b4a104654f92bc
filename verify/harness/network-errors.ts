/**
 * Network errors in the learner's terms. Node reports what the socket saw (ECONNRESET, "socket hang
 * up", EPIPE, a TLS alert); a learner needs to know what their server most likely did to cause it.
 */

/** What a client was doing when the error came, for the sentence. */
export interface ErrorContext {
  /** The client's name: alice. */
  client: string;
  /** What it was waiting for or doing: "waiting for an echo", "opening the connection". */
  doing: string;
}

interface Explained {
  /** What happened, as a sentence that names the client and what it was doing. */
  sentence: string;
  /** What the server most likely did. */
  likelyCause: string;
}

/** Turns a socket-level error into a sentence about the learner's server. */
export function explainNetworkError(error: NodeJS.ErrnoException, { client, doing }: ErrorContext): Explained {
  const code = error.code ?? '';
  const message = error.message ?? '';
  if (code === 'ECONNREFUSED') {
    return {
      sentence: `${client} could not connect while ${doing}: nothing accepts connections on that port (ECONNREFUSED)`,
      likelyCause: 'your server is not listening any more: it stopped, crashed, or closed its server',
    };
  }
  if (code === 'ECONNRESET') {
    return {
      sentence: `your server reset the TCP connection while ${client} was ${doing} (ECONNRESET)`,
      likelyCause: 'your server destroyed the socket, called terminate(), or its process died, without a close frame',
    };
  }
  if (code === 'EPIPE') {
    return {
      sentence: `your server closed the connection while ${client} was still sending, ${doing} (EPIPE)`,
      likelyCause: 'your server closed or destroyed the socket before reading what the client sent',
    };
  }
  if (/socket hang up/i.test(message)) {
    return {
      sentence: `your server closed the TCP connection without any answer while ${client} was ${doing} ("socket hang up")`,
      likelyCause: 'your server accepted the connection but closed it before answering the HTTP upgrade request',
    };
  }
  if (code.startsWith('ERR_SSL') || /SSL|TLS|certificate|self[- ]signed/i.test(message) || code.startsWith('CERT_') || code.includes('CERT')) {
    return {
      sentence: `the TLS handshake failed while ${client} was ${doing}: ${message}`,
      likelyCause: /wrong version number|packet length too long|http request/i.test(message)
        ? 'your server answered in plain text where TLS was expected: it is not an HTTPS server'
        : 'your server presented a certificate the client does not trust, or spoke TLS wrongly',
    };
  }
  if (/handshake has timed out/i.test(message)) {
    return {
      sentence: `your server accepted the TCP connection but never answered the upgrade request while ${client} was ${doing}`,
      likelyCause: 'no WebSocket server handles upgrades on this path, or the handler never finishes the handshake',
    };
  }
  if (code === 'ETIMEDOUT') {
    return {
      sentence: `${client} timed out while ${doing} (ETIMEDOUT)`,
      likelyCause: 'your server accepted the connection and then said nothing',
    };
  }
  return {
    sentence: `${client} saw an error while ${doing}: ${code ? `${code}: ` : ''}${message}`,
    likelyCause: 'your server did something on the connection that the client could not accept: the error names it',
  };
}
