/**
 * What a line typed into `wsw run` means: a message to send, or a slash command. Parsing only; nothing
 * here touches a connection, so every rule (hex or text, valid close codes, JSON) is checked before
 * anything goes on the wire.
 */

/** What the interactive client speaks: plain WebSocket frames, or socket.io events (lesson 08). */
export type RunProtocol = 'websocket' | 'socket.io';

/** What a plain WebSocket client can be told to do. */
export type WsCommand =
  | { kind: 'text'; text: string }
  | { kind: 'binary'; data: Buffer }
  | { kind: 'json'; text: string }
  | { kind: 'ping'; data: Buffer }
  | { kind: 'close'; code: number; reason: string }
  /** Whether pings are answered: off, the client behaves as one whose network vanished (lesson 05). */
  | { kind: 'pongs'; on: boolean };

/** What a socket.io client can be told to do. */
export type SocketIoCommand =
  | { kind: 'chat'; message: string }
  | { kind: 'emit'; event: string; args: unknown[] }
  | { kind: 'disconnect' };

/** Commands about the set of clients and the session itself, whatever the protocol. */
export type SessionCommand =
  /** `server` is what follows --server, as typed (A, b, 2): which server it names is known only at run time. */
  | { kind: 'connect'; name?: string; server?: string }
  | { kind: 'use'; name: string }
  | { kind: 'clients' }
  | { kind: 'help' };

/** A line that was understood. */
export type RunCommand = WsCommand | SocketIoCommand | SessionCommand;

/** A line that was not understood: nothing is sent, and the learner is told why. */
export interface RunInputError {
  kind: 'invalid';
  message: string;
  /** True when the list of commands helps (an unknown command, say). */
  showCommands: boolean;
}

interface CommandSpec {
  name: string;
  usage: string;
  summary: string;
  /** Where it exists; absent: in both protocols. */
  only?: RunProtocol;
  /** What to type instead in the other protocol. */
  instead?: string;
  parse: (rest: string) => RunCommand | string;
}

/** ws refuses to send these: 1004 is reserved, 1005, 1006 and 1015 only describe a close that had no code, no frame, or failed TLS. */
const SENDABLE_CLOSE_CODES = 'codes 1000–1003, 1007–1014 and 3000–4999';
/** Control frames (ping, pong, close) carry at most 125 bytes: RFC 6455 §5.5. */
const MAX_CONTROL_PAYLOAD = 125;
/** Two of those bytes hold the close code. */
const MAX_CLOSE_REASON = MAX_CONTROL_PAYLOAD - 2;
/** Client names show in every transcript line: short, and without spaces so /use can take them. */
const CLIENT_NAME = /^[\w.-]{1,24}$/;

const COMMANDS: CommandSpec[] = [
  {
    name: 'binary',
    usage: '/binary <hex|text>',
    summary: 'send a binary frame: hex like 00 ff 10 or 00ff10, otherwise the UTF-8 bytes of the text',
    only: 'websocket',
    parse: (rest) => (rest === '' ? 'give the bytes to send: /binary 00 ff 10, or /binary some text' : { kind: 'binary', data: parseBytes(rest) }),
  },
  {
    name: 'json',
    usage: '/json <json>',
    summary: 'check that it is JSON, and send it compact as a text frame',
    only: 'websocket',
    parse: (rest) => {
      const value = parseJson(rest, '/json {"type":"chat","text":"hi"}');
      return typeof value === 'string' ? value : { kind: 'json', text: JSON.stringify(value.value) };
    },
  },
  {
    name: 'ping',
    usage: '/ping [text]',
    summary: 'send a ping frame; the pong is printed with its round-trip time',
    only: 'websocket',
    parse: (rest) => {
      const data = Buffer.from(rest);
      if (data.length > MAX_CONTROL_PAYLOAD) return `a ping carries at most ${MAX_CONTROL_PAYLOAD} bytes; this text has ${data.length}`;
      return { kind: 'ping', data };
    },
  },
  {
    name: 'close',
    usage: '/close [code] [reason]',
    summary: 'close with a close frame: code 1000 (normal closure) unless you give one',
    only: 'websocket',
    instead: '/disconnect',
    parse: parseClose,
  },
  {
    name: 'pong',
    usage: '/pong off|on',
    summary: 'off: stop answering pings, as a client that vanished would (a heartbeat should drop it); on: answer again',
    only: 'websocket',
    parse: (rest) => {
      const word = rest.toLowerCase();
      if (word === 'off' || word === 'on') return { kind: 'pongs', on: word === 'on' };
      return 'say off to stop answering pings, or on to answer them again';
    },
  },
  {
    name: 'emit',
    usage: '/emit <event> [json]',
    summary: 'emit an event with one JSON argument, with an ack callback: the ack is printed if the server calls it',
    only: 'socket.io',
    parse: (rest) => {
      const [event, json] = splitFirst(rest);
      if (!event) return 'name the event: /emit chat {"message":"hi"}';
      if (json === '') return { kind: 'emit', event, args: [] };
      const value = parseJson(json, `/emit ${event} {"message":"hi"}, or a string in quotes: /emit ${event} "lobby"`);
      return typeof value === 'string' ? value : { kind: 'emit', event, args: [value.value] };
    },
  },
  {
    name: 'join',
    usage: '/join <room>',
    summary: 'emit join with the room name: the same as /emit join "<room>"',
    only: 'socket.io',
    parse: (rest) => (rest === '' ? 'name the room: /join lobby' : { kind: 'emit', event: 'join', args: [rest] }),
  },
  {
    name: 'disconnect',
    usage: '/disconnect',
    summary: 'disconnect on purpose: socket.io-client then does not reconnect',
    only: 'socket.io',
    instead: '/close',
    parse: () => ({ kind: 'disconnect' }),
  },
  {
    name: 'connect',
    usage: '/connect [name]',
    summary: 'open another client to the same server (client-2, client-3… unless named) and send from it',
    parse: parseConnect,
  },
  {
    name: 'use',
    usage: '/use <name>',
    summary: 'send from another open client',
    parse: (rest) => (rest === '' ? 'name the client to send from: /use you (/clients lists them)' : { kind: 'use', name: rest }),
  },
  { name: 'clients', usage: '/clients', summary: 'list the clients, which one sends, and their state', parse: () => ({ kind: 'clients' }) },
  { name: 'help', usage: '/help', summary: 'this list', parse: () => ({ kind: 'help' }) },
];

/**
 * Reads one typed line. Without a leading slash it is a message: a text frame, or in socket.io a
 * `chat` event. `//` sends a line that starts with a slash. Anything else after a slash is a command.
 */
export function parseRunLine(line: string, protocol: RunProtocol): RunCommand | RunInputError {
  if (!line.startsWith('/') || line.startsWith('//')) {
    const message = line.startsWith('//') ? line.slice(1) : line;
    return protocol === 'socket.io' ? { kind: 'chat', message } : { kind: 'text', text: message };
  }
  const [word, rest] = splitFirst(line.slice(1));
  const spec = COMMANDS.find((c) => c.name === word.toLowerCase());
  if (!spec) {
    const typed = word === '' ? 'a lone /' : `/${word}`;
    return invalid(`There is no command ${typed}. To send a line that starts with /, begin it with //.`, true);
  }
  if (spec.only && spec.only !== protocol) {
    const here = protocol === 'socket.io' ? 'this lesson speaks socket.io' : 'this lesson speaks plain WebSocket';
    const alternative = spec.instead ? `: use ${spec.instead}` : '';
    return invalid(`/${spec.name} is for ${spec.only === 'socket.io' ? 'socket.io' : 'plain WebSocket'} lessons, and ${here}${alternative}.`, !spec.instead);
  }
  const parsed = spec.parse(rest);
  return typeof parsed === 'string' ? invalid(`${spec.usage}: ${parsed}. Nothing was sent.`, false) : parsed;
}

/**
 * The help text: every command this protocol offers, and how to stop. With more than one server
 * (`servers` are their letters), /connect says how to pick one.
 */
export function runHelp(protocol: RunProtocol, servers: readonly string[] = []): string[] {
  const available = COMMANDS.filter((c) => !c.only || c.only === protocol).map((c) => (c.name === 'connect' && servers.length > 1 ? connectAcross(c, servers) : c));
  const width = Math.max(...available.map((c) => c.usage.length), 'Ctrl-C or Ctrl-D'.length);
  const plain =
    protocol === 'socket.io'
      ? 'A line without a slash is emitted as chat { message }, with an ack callback (join a room first).'
      : 'A line without a slash is sent as a text frame.';
  return [
    `${plain} Begin it with // to send a line that starts with /.`,
    ...available.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    `  ${'Ctrl-C or Ctrl-D'.padEnd(width)}  stop your server and every client`,
  ];
}

/** /connect as the help shows it when there are several servers to choose from. */
function connectAcross(spec: CommandSpec, servers: readonly string[]): CommandSpec {
  return {
    ...spec,
    usage: `/connect [name] [--server ${servers.join('|')}]`,
    summary: `open another client (client-2, client-3… unless named) on server ${servers[0]}, or the one --server names, and send from it`,
  };
}

function invalid(message: string, showCommands: boolean): RunInputError {
  return { kind: 'invalid', message, showCommands };
}

/** "word rest of the line" → ["word", "rest of the line"], both trimmed. */
function splitFirst(text: string): [string, string] {
  const trimmed = text.trim();
  const space = trimmed.search(/\s/);
  return space === -1 ? [trimmed, ''] : [trimmed.slice(0, space), trimmed.slice(space).trim()];
}

/**
 * Pairs of hex digits, spaced or not (`00 ff 10`, `00ff10`), are bytes; anything else is text, sent
 * as its UTF-8 bytes. The transcript line shows the bytes either way, so a learner sees which it was.
 */
export function parseBytes(text: string): Buffer {
  return /^[0-9a-f]{2}(\s*[0-9a-f]{2})*$/i.test(text) ? Buffer.from(text.replace(/\s+/g, ''), 'hex') : Buffer.from(text);
}

function parseJson(text: string, example: string): { value: unknown } | string {
  if (text === '') return `give the JSON to send, such as ${example}`;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return `that is not valid JSON (${(error as Error).message})`;
  }
}

function parseClose(rest: string): RunCommand | string {
  const [first, others] = splitFirst(rest);
  if (first === '') return { kind: 'close', code: 1000, reason: '' };
  if (!/^\d+$/.test(first)) return `the code comes first, as a number: /close 1000, or /close 4000 some reason`;
  const code = Number(first);
  if (!isSendableCloseCode(code)) return `${code} cannot be sent in a close frame; a client may send ${SENDABLE_CLOSE_CODES}`;
  const bytes = Buffer.byteLength(others);
  if (bytes > MAX_CLOSE_REASON) return `a close reason is at most ${MAX_CLOSE_REASON} bytes; this one has ${bytes}`;
  return { kind: 'close', code, reason: others };
}

/** `[name] [--server X]`, in either order. */
function parseConnect(rest: string): RunCommand | string {
  const words = rest.split(/\s+/).filter(Boolean);
  const command: { kind: 'connect'; name?: string; server?: string } = { kind: 'connect' };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === '--server' || word === '-s') {
      const server = words[++i];
      if (!server) return 'name the server after --server: /connect bob --server B';
      command.server = server;
    } else if (word.startsWith('--server=')) {
      command.server = word.slice('--server='.length);
    } else if (command.name === undefined && !word.startsWith('-')) {
      if (!CLIENT_NAME.test(word)) return 'a client name is one word of letters, digits, - _ or . (at most 24)';
      command.name = word;
    } else {
      return `${word} is not understood here: give a name, --server, or both, as in /connect bob --server B`;
    }
  }
  return command;
}

/** The codes ws lets a client put in a close frame. */
function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}
