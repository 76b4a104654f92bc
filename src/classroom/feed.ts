import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

/**
 * A dashboard this far behind is dropped (it reconnects and gets a fresh snapshot) rather than buffered
 * without end: a hundred dashboards that stopped reading must not fill the teacher's memory.
 */
export const MAX_FEED_BUFFER = 2 * 1024 * 1024;
/** How often each dashboard is pinged; one that has not answered the previous ping is gone. */
export const FEED_PING_MS = 15_000;

/**
 * The teacher's live feed: every dashboard gets a snapshot on connecting, then each change as it
 * happens. Dashboards only listen; anything they send beyond a small control frame closes them.
 */
export class ClassFeed {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false, clientTracking: true });
  private readonly alive = new WeakSet<WebSocket>();
  private readonly pinger: NodeJS.Timeout;

  constructor(
    private readonly snapshot: () => unknown,
    pingMs = FEED_PING_MS,
    private readonly maxBuffer = MAX_FEED_BUFFER,
  ) {
    // A dashboard on a laptop that was closed never says goodbye: ping/pong finds it.
    this.pinger = setInterval(() => {
      for (const ws of this.wss.clients) {
        if (!this.alive.has(ws)) {
          ws.terminate();
          continue;
        }
        this.alive.delete(ws);
        ws.ping();
      }
    }, pingMs);
    this.pinger.unref();
  }

  /** How many dashboards are connected. */
  get size(): number {
    return this.wss.clients.size;
  }

  /** Completes a dashboard's upgrade (already authorised) and sends it the class as it is now. */
  accept(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.alive.add(ws);
      ws.on('pong', () => this.alive.add(ws));
      // Oversized or malformed frames, invalid UTF-8, resets: ws closes the connection and reports it here.
      ws.on('error', () => ws.terminate());
      // A dashboard has nothing to say: whatever it sends is ignored.
      ws.on('message', () => {});
      ws.send(JSON.stringify(this.snapshot()));
    });
  }

  /** Sends one message to every dashboard; one that cannot keep up is dropped whole, never sent a feed with holes. */
  broadcast(message: unknown): void {
    if (this.wss.clients.size === 0) return;
    const text = JSON.stringify(message);
    for (const ws of this.wss.clients) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      // Dropping costs nothing (no copy, no wait), so a room full of stalled dashboards never holds up the rest.
      if (ws.bufferedAmount > this.maxBuffer) ws.terminate();
      else ws.send(text);
    }
  }

  /** Disconnects every dashboard. */
  close(): void {
    clearInterval(this.pinger);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
