/**
 * The clients of one `wsw run`: every one opened, by name, and the one typed lines are sent from.
 * The first is `you`; `/connect` adds client-2, client-3… and makes the new one current.
 */
import type { RunningServer } from '../../verify/harness/session.ts';
import type { SocketIoCommand, WsCommand } from './run-commands.ts';

/** One interactive client, of whichever protocol. */
export interface RunClient {
  readonly name: string;
  /** Which server it talks to (`server B`), when there is more than one to tell apart. */
  readonly server?: string;
  /** True while lines can be sent from it. */
  readonly isOpen: boolean;
  /** True once it is closed for good: nothing will come from it any more. */
  readonly isFinished: boolean;
  /** Resolves when it is closed for good. */
  readonly finished: Promise<void>;
  /** "open", "closed 4000 (application-defined)", "reconnecting"…: for /clients. */
  describeState(): string;
  /** Carries out a command of its protocol; what it sends and receives goes into the transcript. */
  perform(command: WsCommand | SocketIoCommand): void;
  /** Resolves when every reply it is waiting for (a pong, an ack) has come, or has been given up on. */
  settled(): Promise<void>;
  /** The run is over: stop waiting for replies, and report nothing more. */
  end(): void;
}

/** The name of the first client, as in `[you] → text "hi"`. */
export const FIRST_CLIENT = 'you';

/**
 * Opens a client with the given name, on the given server (default: the first), or throws (a
 * VerifyFailure saying why it could not connect).
 */
export type OpenClient = (name: string, server?: RunningServer) => Promise<RunClient>;

/** The open and closed clients of a run, and which one is current. */
export class RunClients {
  private readonly all: RunClient[] = [];
  private currentClient?: RunClient;
  /** Connections being opened: the run is not over while one may still join. */
  private opening = 0;
  private allFinishedResolve!: () => void;
  /** Resolves once every client is closed for good and none is being opened. */
  readonly allFinished = new Promise<void>((resolve) => (this.allFinishedResolve = resolve));

  constructor(
    private readonly open: OpenClient,
    /** Told when the current client closes and lines go from another one from then on. */
    private readonly onSwitch: (text: string) => void = () => {},
  ) {}

  /** The client lines are sent from. */
  get current(): RunClient {
    if (!this.currentClient) throw new Error('no client yet: connect one first');
    return this.currentClient;
  }

  /** Every client, in the order they were opened. */
  get list(): readonly RunClient[] {
    return this.all;
  }

  /** The name /connect gives when none is typed: client-2, client-3…, skipping names in use. */
  defaultName(): string {
    for (let n = this.all.length + 1; ; n++) {
      const name = `client-${n}`;
      if (!this.find(name)) return name;
    }
  }

  /**
   * Opens a client and makes it current. Returns why not when the name is taken; throws what the
   * connection attempt threw (a VerifyFailure saying why it could not connect).
   */
  async connect(name = this.all.length === 0 ? FIRST_CLIENT : this.defaultName(), server?: RunningServer): Promise<RunClient | string> {
    if (this.find(name)) return `There is already a client named ${name}: give another name, or /use ${name}.`;
    this.opening++;
    try {
      const client = await this.open(name, server);
      this.all.push(client);
      this.currentClient = client;
      void client.finished.then(() => {
        this.leave(client);
        this.check();
      });
      return client;
    } finally {
      this.opening--;
      this.check();
    }
  }

  /** Makes an open client current; returns why not otherwise. */
  use(name: string): RunClient | string {
    const client = this.find(name);
    if (!client) return `There is no client named ${name}. ${this.namesLine()}`;
    if (client.isFinished) return `${name} is closed: nothing can be sent from it. ${this.namesLine()}`;
    this.currentClient = client;
    return client;
  }

  /** One line per client: a marker on the current one, its name, its state. */
  describe(): string[] {
    const width = Math.max(...this.all.map((c) => c.name.length));
    return this.all.map((c) => `${c === this.currentClient ? '▸' : ' '} ${c.name.padEnd(width)}  ${c.describeState()}${c.server ? ` (${c.server})` : ''}`);
  }

  /** Tells every client that the run is over. */
  end(): void {
    for (const client of this.all) client.end();
  }

  /** Resolves when every client has nothing more in flight. */
  async settled(): Promise<void> {
    await Promise.all(this.all.map((c) => c.settled()));
  }

  /** When the current client closes, the newest open one takes over, so a typed line is never lost. */
  private leave(closed: RunClient): void {
    if (closed !== this.currentClient) return;
    const next = [...this.all].reverse().find((c) => !c.isFinished);
    if (!next) return;
    this.currentClient = next;
    this.onSwitch(`${closed.name} is closed: lines are now sent from ${next.name}.`);
  }

  private find(name: string): RunClient | undefined {
    return this.all.find((c) => c.name === name);
  }

  private namesLine(): string {
    const open = this.all.filter((c) => !c.isFinished).map((c) => c.name);
    return open.length > 0 ? `Open clients: ${open.join(', ')}.` : 'No client is open: /connect opens one.';
  }

  private check(): void {
    if (this.opening === 0 && this.all.length > 0 && this.all.every((c) => c.isFinished)) this.allFinishedResolve();
  }
}
