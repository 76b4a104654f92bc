// Socket errors become sentences about the learner's server: which client, doing what, and why.
import { describe, expect, it } from 'vitest';
import { explainNetworkError } from '../verify/harness/network-errors.ts';

const context = { client: 'alice', doing: 'waiting for an echo' };
const error = (code: string | undefined, message: string) => Object.assign(new Error(message), { code });

describe('explainNetworkError', () => {
  it('reads ECONNRESET as the server dropping the connection', () => {
    const e = explainNetworkError(error('ECONNRESET', 'read ECONNRESET'), context);
    expect(e.sentence).toBe('your server reset the TCP connection while alice was waiting for an echo (ECONNRESET)');
    expect(e.likelyCause).toMatch(/destroyed the socket, called terminate\(\)/);
  });

  it('reads "socket hang up" as no answer to the upgrade request', () => {
    const e = explainNetworkError(error('ECONNRESET', 'socket hang up'), { client: 'bob', doing: 'opening the WebSocket connection' });
    expect(e.sentence).toMatch(/^your server (reset|closed) the TCP connection/);
    const hangUp = explainNetworkError(error(undefined, 'socket hang up'), { client: 'bob', doing: 'opening the WebSocket connection' });
    expect(hangUp.likelyCause).toBe('your server accepted the connection but closed it before answering the HTTP upgrade request');
  });

  it('reads EPIPE as the server closing while the client still sent', () => {
    expect(explainNetworkError(error('EPIPE', 'write EPIPE'), context).sentence).toBe(
      'your server closed the connection while alice was still sending, waiting for an echo (EPIPE)',
    );
  });

  it('reads a TLS record error as a server that does not speak TLS', () => {
    const e = explainNetworkError(error('ERR_SSL_WRONG_VERSION_NUMBER', 'wrong version number'), context);
    expect(e.sentence).toMatch(/^the TLS handshake failed while alice was waiting for an echo/);
    expect(e.likelyCause).toMatch(/plain text where TLS was expected/);
  });

  it('reads a handshake timeout as an upgrade nobody answered', () => {
    const e = explainNetworkError(error(undefined, 'Opening handshake has timed out'), { client: 'bob', doing: 'opening the WebSocket connection' });
    expect(e.sentence).toBe('your server accepted the TCP connection but never answered the upgrade request while bob was opening the WebSocket connection');
  });

  it('reads ECONNREFUSED as nothing listening', () => {
    expect(explainNetworkError(error('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), context).likelyCause).toMatch(/not listening any more/);
  });
});
