/**
 * The playground page: columns of clients, each talking to the learner's server from the browser
 * itself. Everything a frame, an event or the server brings is shown with textContent only: it is
 * untrusted, and markup in it must appear as the characters it is.
 */

/** What /config.json holds (PlaygroundConfig in server.ts). */
interface Config {
  lesson: { slug: string; title: string };
  protocol: 'websocket' | 'socket.io';
  servers: Array<{ name: string; url: string }>;
  closeCodes: Record<string, string>;
  tls?: { httpsUrl: string; fingerprint?: string };
}

/** The part of socket.io-client's Socket the page uses (the bundle defines `io` globally). */
interface SioSocket {
  connected: boolean;
  /** The Manager: it reports every packet decoded, the CONNECT packet included. */
  io: { on(event: 'packet', listener: (packet: { type: number; data?: unknown }) => void): void };
  on(event: string, listener: (...args: unknown[]) => void): void;
  onAny(listener: (event: string, ...args: unknown[]) => void): void;
  emit(event: string, ...args: unknown[]): void;
  timeout(ms: number): { emit(event: string, ...args: unknown[]): void };
  disconnect(): void;
  connect(): void;
}
declare const io: (url: string, options: object) => SioSocket;

/** As many columns as fit side by side: enough for broadcast and lifecycle lessons. */
const MAX_CLIENTS = 3;
/** How long an emit waits for its acknowledgement before the page says none came. */
const ACK_TIMEOUT_MS = 5000;
/** Binary payloads are shown as hex up to this many bytes. */
const PREVIEW_BYTES = 64;

type Direction = 'out' | 'in' | 'none';

/** Makes an element; `text` goes in as textContent, never as markup. */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', '', label);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

/** "1000 (normal closure)": as the verifier's describeCloseCode names it, from the table it passed. */
function describeCloseCode(config: Config, code: number): string {
  const name = config.closeCodes[String(code)] ?? (code >= 4000 && code <= 4999 ? 'application-defined' : 'unknown');
  return `${code} (${name})`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function hexOf(bytes: Uint8Array): string {
  const shown = [...bytes.subarray(0, PREVIEW_BYTES)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `<${shown}${bytes.length > PREVIEW_BYTES ? ' …' : ''}>`;
}

/** "00 ff", "00ff", "0x00 0xff" → bytes; undefined for anything else. */
function parseHex(text: string): Uint8Array | undefined {
  const digits = text.replace(/0x/gi, '').replace(/[\s,]/g, '');
  if (digits.length === 0 || digits.length % 2 !== 0 || !/^[0-9a-f]+$/i.test(digits)) return undefined;
  return new Uint8Array(digits.match(/../g)!.map((pair) => parseInt(pair, 16)));
}

function clock(): string {
  const now = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}.${String(now.getMilliseconds()).padStart(3, '0')}`;
}

const utf8 = new TextEncoder();

/** One client's column: its header, its controls, and the log of everything it sent and received. */
abstract class Column {
  readonly root = el('section', 'client');
  protected readonly state = el('span', 'state', 'connecting');
  protected readonly errorLine = el('p', 'error-line');
  private readonly log = el('ol', 'log');
  protected readonly serverChoice = el('select');
  protected readonly connectButton = button('Connect', () => this.connect());

  constructor(
    protected readonly config: Config,
    readonly name: string,
    /** Its place on the page, from 0. */
    index: number,
  ) {
    this.root.dataset.name = name;
    const title = el('h2', '', name);
    title.append(this.state);
    for (const server of config.servers) {
      const option = el('option', '', `${server.name}: ${server.url}`);
      option.value = server.url;
      this.serverChoice.append(option);
    }
    // With two servers (lesson 07), the second column starts on the other one, so a message is seen crossing.
    this.serverChoice.selectedIndex = index % config.servers.length;
    const header = el('div', 'row');
    header.append(this.serverChoice, this.connectButton, button('Clear log', () => this.log.replaceChildren()));
    this.root.append(title, header);
  }

  /** Appends the log, once the subclass has added its controls above it. */
  protected finish(): void {
    this.root.append(this.errorLine, this.log);
  }

  /** Adds one line to the log: when, which way, what kind, how big, and its content as text. */
  entry(dir: Direction, type: string, size: string, content: string): void {
    const item = el('li');
    item.dataset.dir = dir;
    item.dataset.type = type;
    item.append(el('span', 'time', clock()), el('span', 'dir', dir === 'out' ? '→' : dir === 'in' ? '←' : '•'), el('span', 'type', type), el('span', 'size', size), el('span', 'content', content));
    const atBottom = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
    this.log.append(item);
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }

  protected setState(text: string, kind: 'open' | 'closed' | 'connecting'): void {
    this.state.textContent = text;
    this.state.className = `state ${kind}`;
    this.connectButton.disabled = kind !== 'closed';
  }

  protected problem(text: string): void {
    this.errorLine.textContent = text;
  }

  abstract connect(): void;
}

/** A column whose client is the browser's own WebSocket. */
class WebSocketColumn extends Column {
  private socket?: WebSocket;
  private readonly mode = el('select');
  private readonly message = el('textarea');
  private readonly code = el('input', 'code');
  private readonly reason = el('input', 'reason');

  constructor(config: Config, name: string, index: number) {
    super(config, name, index);
    for (const [value, label] of [
      ['text', 'text'],
      ['json', 'JSON (checked, sent compact)'],
      ['binary', 'binary (hex: 00 ff …)'],
    ] as const) {
      const option = el('option', '', label);
      option.value = value;
      this.mode.append(option);
    }
    this.message.placeholder = 'A message to send';
    this.message.addEventListener('keydown', (event) => {
      // Enter sends, as in a chat; Shift+Enter makes a new line.
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        this.send();
      }
    });
    this.code.placeholder = '1000';
    this.code.inputMode = 'numeric';
    this.reason.placeholder = 'reason (optional)';
    const sendRow = el('div', 'row');
    sendRow.append(this.mode, button('Send', () => this.send()));
    const closeRow = el('div', 'row');
    closeRow.append(el('span', '', 'Close with code'), this.code, this.reason, button('Close', () => this.close()));
    this.root.append(this.message, sendRow, closeRow);
    this.finish();
  }

  connect(): void {
    const url = this.serverChoice.value;
    this.problem('');
    this.setState(`connecting to ${url}`, 'connecting');
    this.entry('none', 'info', '', `connecting to ${url}`);
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.setState(`open, ${url}`, 'open');
      this.entry('none', 'open', '', `connected to ${url}${socket.protocol ? ` (subprotocol ${socket.protocol})` : ''}`);
    });
    socket.addEventListener('message', (event: MessageEvent<string | ArrayBuffer>) => {
      if (typeof event.data === 'string') this.entry('in', 'text', formatBytes(utf8.encode(event.data).length), event.data);
      else this.entry('in', 'binary', formatBytes(event.data.byteLength), hexOf(new Uint8Array(event.data)));
    });
    socket.addEventListener('error', () => {
      // The browser gives a page no reason for a failed connection; for wss:// the likely one is the certificate.
      const why = this.config.tls ? ' The browser may not trust the certificate: see the note at the top.' : '';
      this.entry('none', 'error', '', `connection error.${why}`);
    });
    socket.addEventListener('close', (event) => {
      const described = describeCloseCode(this.config, event.code);
      this.setState(`closed ${described}`, 'closed');
      this.entry('in', 'close', formatBytes(event.reason ? 2 + utf8.encode(event.reason).length : event.code === 1005 || event.code === 1006 ? 0 : 2), `${described}${event.reason ? ` reason ${JSON.stringify(event.reason)}` : ''}${event.wasClean ? '' : ' (not clean: no closing handshake)'}`);
      if (this.socket === socket) this.socket = undefined;
    });
  }

  private send(): void {
    this.problem('');
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      this.problem('This client is not open: Connect first.');
      return;
    }
    const raw = this.message.value;
    if (this.mode.value === 'json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (error) {
        this.problem(`That is not valid JSON (${(error as Error).message}). Nothing was sent.`);
        return;
      }
      const compact = JSON.stringify(parsed);
      socket.send(compact);
      this.entry('out', 'text', formatBytes(utf8.encode(compact).length), compact);
    } else if (this.mode.value === 'binary') {
      const bytes = parseHex(raw);
      if (!bytes) {
        this.problem('Binary wants hex bytes, two digits each: 00 ff 10. Nothing was sent.');
        return;
      }
      socket.send(bytes);
      this.entry('out', 'binary', formatBytes(bytes.length), hexOf(bytes));
    } else {
      socket.send(raw);
      this.entry('out', 'text', formatBytes(utf8.encode(raw).length), raw);
    }
    this.message.value = '';
  }

  private close(): void {
    this.problem('');
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      this.problem('This client is not open.');
      return;
    }
    const code = this.code.value.trim() === '' ? 1000 : Number(this.code.value);
    // A browser may only send 1000 or 3000–4999; it throws for anything else.
    if (!Number.isInteger(code) || (code !== 1000 && (code < 3000 || code > 4999))) {
      this.problem('A browser can close with 1000 or a code from 3000 to 4999 (4000–4999 are for applications).');
      return;
    }
    const reason = this.reason.value;
    if (utf8.encode(reason).length > 123) {
      this.problem('A close reason is at most 123 bytes.');
      return;
    }
    socket.close(code, reason);
    this.entry('out', 'close', formatBytes(2 + utf8.encode(reason).length), `${describeCloseCode(this.config, code)}${reason ? ` reason ${JSON.stringify(reason)}` : ''}`);
    this.setState('closing', 'connecting');
  }
}

/** A column whose client is socket.io-client, with its name as the username in the handshake. */
class SocketIoColumn extends Column {
  private socket?: SioSocket;
  private readonly event = el('input', 'event');
  private readonly args = el('textarea');
  private readonly wantAck = el('input');

  constructor(config: Config, name: string, index: number) {
    super(config, name, index);
    this.connectButton.textContent = 'Connect';
    this.event.value = 'join';
    this.event.placeholder = 'event name';
    this.args.value = '["lobby"]';
    this.args.placeholder = 'Arguments, as a JSON array: ["lobby"] or [{"message":"hi"}]';
    this.wantAck.type = 'checkbox';
    this.wantAck.checked = true;
    const ackLabel = el('label', '', ' with an ack callback');
    ackLabel.prepend(this.wantAck);
    const emitRow = el('div', 'row');
    emitRow.append(el('span', '', 'Emit'), this.event, ackLabel, button('Emit', () => this.emit()));
    const disconnectRow = el('div', 'row');
    disconnectRow.append(button('Disconnect', () => this.socket?.disconnect()));
    this.root.append(emitRow, this.args, disconnectRow);
    this.finish();
  }

  connect(): void {
    // socket.io's own URL is http(s)://; WebSocket only, since the page's origin is not the server's and polling would need CORS.
    const url = this.serverChoice.value.replace(/^ws/, 'http');
    this.problem('');
    this.socket?.disconnect();
    this.setState(`connecting to ${url}`, 'connecting');
    this.entry('none', 'info', '', `connecting to ${url} (socket.io, username ${this.name})`);
    const socket = io(url, { transports: ['websocket'], auth: { username: this.name }, forceNew: true, reconnection: false });
    this.socket = socket;
    // The CONNECT packet carries a session id (pid) only when the server offers connection state recovery;
    // the minified bundle renames the client's own record of it, so it is read here.
    let recoverable = false;
    socket.io.on('packet', (packet) => {
      if (packet.type === 0 && typeof packet.data === 'object' && packet.data !== null && 'pid' in packet.data) recoverable = true;
    });
    socket.on('connect', () => {
      this.setState(`open, ${url}`, 'open');
      this.entry('none', 'open', '', 'connected (socket.io handshake done)');
    });
    socket.on('connect_error', (error) => {
      this.setState('could not connect', 'closed');
      this.entry('none', 'error', '', `could not connect: ${(error as Error).message}`);
    });
    socket.on('disconnect', (reason) => {
      this.setState(`disconnected (${String(reason)})`, 'closed');
      this.entry('in', 'close', '', `disconnected: ${String(reason)}`);
    });
    socket.onAny((event, ...args) => {
      const json = JSON.stringify(withoutOffset(recoverable, args));
      this.entry('in', 'event', formatBytes(utf8.encode(json).length), `${event} ${json}`);
    });
  }

  private emit(): void {
    this.problem('');
    const socket = this.socket;
    if (!socket?.connected) {
      this.problem('This client is not connected: Connect first.');
      return;
    }
    const event = this.event.value.trim();
    if (!event) {
      this.problem('Name the event to emit.');
      return;
    }
    let args: unknown;
    try {
      args = this.args.value.trim() === '' ? [] : JSON.parse(this.args.value);
    } catch (error) {
      this.problem(`The arguments are not valid JSON (${(error as Error).message}). Nothing was emitted.`);
      return;
    }
    const list = Array.isArray(args) ? args : [args];
    const json = JSON.stringify(list);
    const size = formatBytes(utf8.encode(json).length);
    if (!this.wantAck.checked) {
      socket.emit(event, ...list);
      this.entry('out', 'event', size, `${event} ${json}`);
      return;
    }
    this.entry('out', 'event', size, `${event} ${json} (with an ack callback)`);
    socket.timeout(ACK_TIMEOUT_MS).emit(event, ...list, (error: unknown, ...reply: unknown[]) => {
      if (error) this.entry('none', 'error', '', `no ack for ${event} within ${ACK_TIMEOUT_MS / 1000} s`);
      else this.entry('in', 'ack', formatBytes(utf8.encode(JSON.stringify(reply)).length), `ack for ${event} ${JSON.stringify(reply)}`);
    });
  }
}

/**
 * An event's arguments without the offset a server with connection state recovery appends to each
 * one: it is socket.io's bookkeeping, not what the server's code emitted (the verifier drops it too).
 */
function withoutOffset(recoverable: boolean, args: unknown[]): unknown[] {
  return recoverable && typeof args.at(-1) === 'string' ? args.slice(0, -1) : args;
}

/** Adds a banner above the columns; its text is text, whatever it holds. */
function banner(kind: 'error' | 'warning' | 'info', lines: string[]): HTMLElement {
  const box = el('div', `banner ${kind}`);
  box.dataset.kind = kind;
  box.textContent = lines.join('\n');
  document.getElementById('banners')!.append(box);
  return box;
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = el('script');
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

/** Listens to the playground: the learner's server exiting, the playground stopping. */
function watchPlayground(status: HTMLElement): void {
  const events = new EventSource('/events');
  let over = false;
  events.addEventListener('open', () => {
    if (!over) status.textContent = 'Your server is running.';
  });
  events.addEventListener('server-exited', (event) => {
    over = true;
    const failure = JSON.parse((event as MessageEvent<string>).data) as { code: string; message: string; details: string[]; hint: string };
    status.textContent = 'Your server has stopped.';
    banner('error', [`${failure.code}: ${failure.message}`, ...failure.details, ...(failure.hint ? [`Hint: ${failure.hint}`] : []), 'The terminal shows the same. Start the playground again once it is fixed.']);
    events.close();
  });
  events.addEventListener('stopped', (event) => {
    over = true;
    const { why } = JSON.parse((event as MessageEvent<string>).data) as { why: string };
    status.textContent = `The playground was stopped (${why}); your server is stopped too.`;
    events.close();
  });
  events.addEventListener('error', () => {
    if (over) return;
    over = true;
    status.textContent = 'The playground is no longer running: your server is stopped. Start it again from the terminal.';
    events.close();
  });
}

async function main(): Promise<void> {
  const status = document.getElementById('status')!;
  const config = (await (await fetch('/config.json')).json()) as Config;
  document.getElementById('lesson')!.textContent = `· ${config.lesson.title} (${config.lesson.slug})`;
  document.title = `Playground · ${config.lesson.title}`;
  if (config.tls) {
    banner('warning', [
      `Your server speaks wss:// with a self-signed certificate made for this run, which this browser does not trust: the page cannot connect until you choose to trust it.`,
      `To do so, open ${config.tls.httpsUrl} in a new tab of this browser, check it is this certificate${config.tls.fingerprint ? ` (SHA-256 ${config.tls.fingerprint})` : ''}, proceed past the warning, then come back and press Connect.`,
      'Or use `wsw run` in the terminal: its client trusts exactly this certificate.',
    ]);
  }
  if (config.protocol === 'socket.io') {
    await loadScript('/socket.io.min.js');
    banner('info', ['This lesson speaks socket.io: each client emits events with JSON arguments and shows acknowledgements and the events it receives. Try join ["lobby"], then chat [{"message":"hi"}].']);
  }
  watchPlayground(status);
  const columns = document.getElementById('clients')!;
  const add = document.getElementById('add-client') as HTMLButtonElement;
  let count = 0;
  const addClient = () => {
    count++;
    const name = count === 1 ? 'you' : `client-${count}`;
    const column = config.protocol === 'socket.io' ? new SocketIoColumn(config, name, count - 1) : new WebSocketColumn(config, name, count - 1);
    columns.append(column.root);
    column.connect();
    add.disabled = count >= MAX_CLIENTS;
  };
  add.addEventListener('click', addClient);
  addClient();
}

main().catch((error: Error) => banner('error', [`The playground page could not start: ${error.message}`]));

export {};
