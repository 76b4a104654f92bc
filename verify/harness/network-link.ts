import net from 'node:net';

/** Where a link leads: the learner's server. */
export interface LinkTarget {
  host: string;
  port: number;
}

/** How a link relays. */
export interface LinkOptions {
  /**
   * Send each chunk at once (TCP_NODELAY) on both relayed connections. Without it, two small writes in
   * a row through the link may wait for the other end's delayed acknowledgement, some 40 ms each time.
   */
  noDelay?: boolean;
}

/**
 * A TCP relay between clients and a server that the verifier can cut, as a network outage would: a
 * client connected through it loses its connection at once, and cannot connect again until the link is
 * restored. The server stays up all along. Clients connect to `url` instead of the server's own address.
 *
 * Unlike a real outage, a cut ends both TCP connections at once, so both sides notice in a millisecond
 * (a pulled cable is noticed only by a heartbeat, many seconds later): the story stays fast.
 */
export class NetworkLink {
  /** Every socket of every relayed connection, both ends. */
  private readonly sockets = new Set<net.Socket>();
  private up = true;

  private constructor(
    private readonly listener: net.Server,
    /** The port clients connect to. */
    readonly port: number,
    private readonly target: LinkTarget,
    private readonly options: LinkOptions = {},
  ) {
    listener.on('connection', (downstream) => this.relay(downstream));
  }

  /** Opens a link on a free loopback port, leading to `target`. */
  static async open(target: LinkTarget, options: LinkOptions = {}): Promise<NetworkLink> {
    const listener = net.createServer();
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ port: 0, host: '127.0.0.1' }, () => resolve());
    });
    return new NetworkLink(listener, (listener.address() as net.AddressInfo).port, target, options);
  }

  /** `http://127.0.0.1:PORT`, the address to give clients instead of the server's. */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Drops every connection through the link, and refuses new ones until `restore()`. */
  cut(): void {
    this.up = false;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** Lets connections through again. Clients that keep trying get through on their next attempt. */
  restore(): void {
    this.up = true;
  }

  /** Stops listening and drops everything still connected. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private relay(downstream: net.Socket): void {
    downstream.on('error', () => {});
    if (!this.up) {
      // No route to the server: the connection attempt fails, as it would on a dead network.
      downstream.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: this.target.host, port: this.target.port });
    upstream.on('error', () => {});
    const pair = [downstream, upstream];
    if (this.options.noDelay) for (const socket of pair) socket.setNoDelay(true);
    for (const socket of pair) {
      this.sockets.add(socket);
      // Whichever end goes, the other goes with it: a relay never holds half a connection.
      socket.once('close', () => {
        this.sockets.delete(socket);
        for (const other of pair) other.destroy();
      });
    }
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  }
}
