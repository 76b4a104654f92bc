/**
 * Lesson 08 — socket.io, by contrast. The story: alice, bob and carol connect with socket.io-client,
 * their usernames in the handshake, while a plain WebSocket client knocks at the same server and is not
 * understood; alice and bob join the lobby, carol the kitchen; a chat reaches the other members of its
 * room and nobody else, and every chat is acknowledged; the server survives a chat without a callback
 * and refuses one without a message; the network drops under alice while bob talks, and she comes back
 * by herself, recovered, with what she missed, still in the lobby; then the server restarts and
 * forgets everything: the clients come back by themselves, and joining again is their job.
 */
import WebSocket from 'ws';
import { describeCloseCode, HarnessCodes, VerifyFailure, type LessonVerifier, type PrepareRun, type RunningServer, type Verification } from './harness/index.ts';
import { NetworkLink } from './harness/network-link.ts';
import { describeArgs, socketIoClient, type SocketIoTestClient } from './harness/socketio-client.ts';
import { delay } from './harness/json.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  CONNECT_FAILED: 'SOCKETIO_CONNECT_FAILED',
  JOIN_NOT_ACKED: 'SOCKETIO_JOIN_NOT_ACKED',
  CHAT_NOT_ACKED: 'SOCKETIO_CHAT_NOT_ACKED',
  BAD_ACK: 'SOCKETIO_BAD_ACK',
  NOT_DELIVERED: 'SOCKETIO_NOT_DELIVERED',
  WRONG_RELAY: 'SOCKETIO_WRONG_RELAY',
  ECHOED_TO_SENDER: 'SOCKETIO_ECHOED_TO_SENDER',
  LEAKED_TO_OTHER_ROOM: 'SOCKETIO_LEAKED_TO_OTHER_ROOM',
  CRASHED_WITHOUT_ACK: 'SOCKETIO_CRASHED_WITHOUT_ACK',
  INVALID_NOT_REFUSED: 'SOCKETIO_INVALID_NOT_REFUSED',
  NO_RECONNECT: 'SOCKETIO_NO_RECONNECT',
  NOT_RECOVERED: 'SOCKETIO_NOT_RECOVERED',
  STATE_LOST_ON_RECOVERY: 'SOCKETIO_STATE_LOST_ON_RECOVERY',
} as const;

/** How long others must stay quiet to show a chat went nowhere else. */
const QUIET_MS = 100;
/** How long a plain WebSocket client waits for an answer to its upgrade on `/`. */
const KNOCK_MS = 150;
/** How long a failure waits to see whether the program died, which would explain it better. */
const DEATH_SETTLE_MS = 300;

const DELIVERY_HINT =
  'Deliver each chat with socket.to(room).emit("chat", { sender, message }): every socket in the room but the sender. ' +
  'Nobody is in a room until the server puts them there: in the join handler, call socket.join(room), and remember the room (socket.data.room) for the chats that follow.';

export default (async (v) => {
  const server = await v.start();
  const link = await NetworkLink.open({ host: server.host, port: server.port });
  v.defer(() => link.close());
  const chat = new Chat(v);
  let alice!: SocketIoTestClient;
  let bob!: SocketIoTestClient;
  let carol!: SocketIoTestClient;

  await v.step('alice, bob and carol connect with socket.io-client, their usernames in the handshake', [], async () => {
    v.note('alice connects through a link the verifier can cut, as a network would; bob and carol connect directly');
    alice = await connect(v, 'alice', link.httpUrl);
    bob = await connect(v, 'bob');
    carol = await connect(v, 'carol');
  });

  await v.step('a plain WebSocket client cannot talk to the same server (a demonstration, not a test)', [], async () => {
    await plainWebSocketKnocks(v, server);
  });

  await v.step('alice and bob join the lobby, carol the kitchen: each join is acknowledged', [], async () => {
    await chat.join(alice, 'lobby');
    await chat.join(bob, 'lobby');
    await chat.join(carol, 'kitchen');
  });

  await v.step('a chat is acknowledged, and reaches the other members of the room', [], async () => {
    await chat.say(alice, 'hello, lobby');
    await chat.hears(bob, alice, 'hello, lobby');
  });

  await v.step('nobody else hears it: not alice herself, not carol in the kitchen', [], async () => {
    await chat.quiet([carol, alice]);
    v.note('✓ carol and alice received nothing');
  });

  await v.step('bob answers, and alice hears him', [], async () => {
    await chat.say(bob, 'hi alice');
    await chat.hears(alice, bob, 'hi alice');
  });

  // A crash is the likeliest way to fail this step: survives() names it after its cause.
  await survives(v, () =>
    v.step('a chat emitted without an ack callback is delivered too, and the server stays up', [], async () => {
      chat.sayWithoutAck(alice, 'no callback this time');
      await chat.hears(bob, alice, 'no callback this time');
      // A server that called the missing callback died just after delivering: this ack would never come.
      await chat.say(alice, 'and this one with a callback');
      await chat.hears(bob, alice, 'and this one with a callback');
    }),
  );

  await v.step('a chat without a message is refused, in its ack', [], async () => {
    await chat.sayInvalid(alice, { text: 'message has another name here' });
  });

  await v.step('the network drops under alice, and bob talks meanwhile', [], async () => {
    link.cut();
    v.note("alice's network goes down: her connection drops, and new ones are refused; the server stays up");
    await alice.expectDisconnect('alice to notice that her connection dropped');
    await chat.say(bob, 'are you still there, alice?');
    await chat.say(bob, 'you missed this');
  });

  await v.step('alice comes back by herself, recovered, and receives what she missed', [], async () => {
    link.restore();
    v.note('the network is back; nothing tells alice to reconnect: socket.io-client keeps trying by itself');
    const { recovered } = await alice.expectReconnect('alice to reconnect by herself', {
      timeoutCode: Codes.NO_RECONNECT,
      timeoutHint:
        'socket.io-client reconnects by itself, unless the server refused it: check any io.use() middleware, and never call socket.disconnect() on a client that did nothing wrong.',
    });
    if (!recovered) {
      throw v.fail({
        code: Codes.NOT_RECOVERED,
        expected: 'alice to come back recovered (socket.recovered === true), with the 2 chats she missed',
        actual: 'a new session (socket.recovered: false): no rooms, and the chats sent meanwhile are lost',
        hint:
          'Enable connection state recovery: new Server(port, { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 } }). ' +
          'socket.io then keeps a dropped client\'s session (id, rooms, socket.data) and the room messages it missed, and replays them when it returns. ' +
          'maxDisconnectionDuration is in milliseconds.',
      });
    }
    v.note("✓ recovered: alice has the same id and rooms as before, and socket.io replays the chats she missed");
    await chat.hears(alice, bob, 'are you still there, alice?');
    await chat.hears(alice, bob, 'you missed this');
  });

  await v.step('alice is still in the lobby: her next chat reaches bob', [], async () => {
    await chat.say(alice, 'back!', { lostOnRecovery: true });
    await chat.hears(bob, alice, 'back!', { lostOnRecovery: true });
  });

  await v.step('the server restarts and forgets everything; the clients reconnect by themselves', [], async () => {
    await v.stopServer(server);
    for (const client of [alice, bob, carol]) await client.expectDisconnect(`${client.name} to notice that the server went away`);
    await v.start({ port: server.port });
    for (const client of [alice, bob, carol]) {
      await client.expectReconnect(`${client.name} to reconnect by itself`, {
        timeoutCode: Codes.NO_RECONNECT,
        timeoutHint: 'socket.io-client reconnects by itself once the server listens again on the same port: make sure your server listens on PORT as soon as it starts.',
      });
    }
    v.note('none is recovered: the new process has no sessions and no rooms; it only knows who they are, from the auth they sent again');
  });

  await v.step("after a restart, joining the room again is the client's job", [], async () => {
    await chat.join(alice, 'lobby');
    await chat.join(bob, 'lobby');
    await chat.say(bob, 'welcome back');
    await chat.hears(alice, bob, 'welcome back');
  });
}) satisfies LessonVerifier;

/**
 * `wsw run` speaks socket.io here, as the verifier's clients do: each client is a socket.io-client with
 * its name as the username, typed lines are chat events, and /emit and /join emit with an ack callback.
 */
export const prepareRun: PrepareRun = async () => ({ protocol: 'socket.io' });

/** Connects a socket.io client that sends its username in the handshake. */
async function connect(v: Verification, name: string, url?: string): Promise<SocketIoTestClient> {
  try {
    return await socketIoClient(v, name, { url, auth: { username: name }, log: 'read' });
  } catch (error) {
    if (error instanceof VerifyFailure && error.code === HarnessCodes.CONNECT_FAILED) {
      throw v.fail({
        code: Codes.CONNECT_FAILED,
        expected: error.expected,
        actual: error.actual,
        hint:
          'socket.io-client speaks socket.io, not plain WebSocket: it needs a socket.io server, which answers under /socket.io/. ' +
          "Create one with new Server(Number(process.env.PORT)) from 'socket.io'; a ws WebSocketServer cannot answer it.",
      });
    }
    throw error;
  }
}

/** A chat relay as every listener must receive it. */
interface Relay {
  sender: string;
  message: string;
}

/** Hints for a step in which the server may have lost alice's room on recovery. */
interface SayOptions {
  lostOnRecovery?: boolean;
}

const LOST_ON_RECOVERY_HINT =
  "socket.io gave alice back her rooms and socket.data, but 'connection' ran again for the recovered socket, with fresh variables. " +
  'Keep what you know about a socket in socket.data (socket.data.room = room), not in a variable of the connection handler.';

/**
 * The chat as the verifier sees it: who is in which room and who said what, so that anything arriving
 * where it should not can be named precisely.
 */
class Chat {
  /** Each chat sent (all distinct) → who sent it, from which room. */
  private readonly said = new Map<string, { by: string; room?: string }>();
  private readonly rooms = new Map<string, string>();

  constructor(private readonly v: Verification) {}

  /** `client` joins `room`; the server must acknowledge with { ok: true }. */
  async join(client: SocketIoTestClient, room: string): Promise<void> {
    const reply = await client.emitWithAck('join', [room], `an ack for ${client.name}'s join`, {
      timeoutCode: Codes.JOIN_NOT_ACKED,
      timeoutHint:
        'socket.io passes the client\'s callback as the last argument of your handler: socket.on("join", (room, ack) => { …; ack({ ok: true }) }). ' +
        'Until you call it, the client does not know whether it is in the room.',
    });
    this.expectOk(reply, `the ack {"ok":true} for ${client.name}'s join`, 'join');
    this.rooms.set(client.name, room);
  }

  /** `from` sends a chat with an ack callback; the server must acknowledge with { ok: true }. */
  async say(from: SocketIoTestClient, message: string, options: SayOptions = {}): Promise<void> {
    this.said.set(message, { by: from.name, room: this.rooms.get(from.name) });
    const reply = await from.emitWithAck('chat', [{ message }], `an ack for ${from.name}'s chat`, {
      timeoutCode: Codes.CHAT_NOT_ACKED,
      timeoutHint:
        'The client emitted its chat with a callback, and waits for the server to call it: socket.on("chat", (payload, ack) => { …; ack({ ok: true }) }). ' +
        'That is the acknowledgement: the proof that the server got the message, which TCP alone never gives the sender.',
    });
    if (options.lostOnRecovery && !isOk(reply)) {
      throw this.v.fail({
        code: Codes.STATE_LOST_ON_RECOVERY,
        expected: `the ack {"ok":true} for ${from.name}'s chat, sent after she was recovered`,
        actual: describeArgs(reply) || 'a call with no argument',
        hint: LOST_ON_RECOVERY_HINT,
      });
    }
    this.expectOk(reply, `the ack {"ok":true} for ${from.name}'s chat`, 'chat');
  }

  /** `from` sends a chat without a callback: the server must not call an ack that is not there. */
  sayWithoutAck(from: SocketIoTestClient, message: string): void {
    this.said.set(message, { by: from.name, room: this.rooms.get(from.name) });
    from.emit('chat', { message });
  }

  /** `from` sends a chat without a message: the ack must say { ok: false, error }. */
  async sayInvalid(from: SocketIoTestClient, payload: Record<string, string>): Promise<void> {
    const hint =
      'Check every payload before using it, as in lesson 03: a chat needs a string message. Refuse anything else in the ack, ack({ ok: false, error: "…" }), and deliver nothing. ' +
      'The ack answers that very message: no separate error event for the client to match up.';
    const reply = await from.emitWithAck('chat', [payload], `an ack for ${from.name}'s chat without a message`, {
      timeoutCode: Codes.INVALID_NOT_REFUSED,
      timeoutHint: hint,
    });
    const [first] = reply;
    const refused = isObject(first) && first.ok === false && typeof first.error === 'string' && first.error !== '';
    if (!refused) {
      throw this.v.fail({
        code: Codes.INVALID_NOT_REFUSED,
        expected: 'the ack {"ok":false,"error":"…"} for a chat without a message',
        actual: describeArgs(reply) || 'a call with no argument',
        hint,
      });
    }
  }

  /** `listener` must receive `from`'s chat next: the event "chat", { sender, message }. */
  async hears(listener: SocketIoTestClient, from: SocketIoTestClient, message: string, options: SayOptions = {}): Promise<void> {
    const want: Relay = { sender: from.name, message };
    const expected = `${listener.name} to receive chat ${JSON.stringify(want)}`;
    const got = await listener
      .nextEvent(expected, {
        timeoutCode: options.lostOnRecovery ? Codes.STATE_LOST_ON_RECOVERY : Codes.NOT_DELIVERED,
        timeoutHint: options.lostOnRecovery ? LOST_ON_RECOVERY_HINT : DELIVERY_HINT,
      })
      .catch((error: unknown) => {
        // The chat went back to its sender instead: socket.emit answers one socket only.
        if (error instanceof VerifyFailure && error.code === Codes.NOT_DELIVERED && from.pending.length > 0) {
          error.hint = `${from.name} got something back and ${listener.name} nothing: socket.emit talks to that one socket only. ${DELIVERY_HINT}`;
        }
        throw error;
      });
    const failure = this.misplaced(listener, got) ?? this.wrongRelay(expected, got, want);
    if (failure) throw failure;
  }

  /** Waits a moment: none of `clients` may receive anything. */
  async quiet(clients: SocketIoTestClient[]): Promise<void> {
    await delay(QUIET_MS);
    for (const client of clients) {
      await client.expectSilence(0, (got) => {
        const failure = this.misplaced(client, got);
        return {
          code: failure?.code ?? Codes.WRONG_RELAY,
          expected: `nothing for ${client.name}`,
          actual: `a ${got.event} event ${describeArgs(got.args)}`,
          hint: failure?.hint ?? 'Send a chat only to the other members of the sender\'s room, and nothing else.',
        };
      });
    }
  }

  /** Names a chat that reached someone it was not meant for: its own sender, or another room. */
  private misplaced(listener: SocketIoTestClient, got: { event: string; args: unknown[] }): VerifyFailure | undefined {
    const [payload] = got.args;
    const message = isObject(payload) ? payload.message : undefined;
    const said = typeof message === 'string' ? this.said.get(message) : undefined;
    if (!said) return undefined;
    const actual = `a ${got.event} event ${describeArgs(got.args)}`;
    if (said.by === listener.name) {
      return this.v.fail({
        code: Codes.ECHOED_TO_SENDER,
        expected: `${listener.name} not to receive her own chat back`,
        actual,
        hint: 'io.to(room).emit sends to every socket in the room, the sender included. socket.to(room).emit leaves the sender out: it already knows what it said, and the ack told it the server got it.',
      });
    }
    if (said.room !== this.rooms.get(listener.name)) {
      return this.v.fail({
        code: Codes.LEAKED_TO_OTHER_ROOM,
        expected: `${listener.name} (in the ${this.rooms.get(listener.name)}) not to receive a chat from the ${said.room}`,
        actual,
        hint: 'io.emit and socket.broadcast.emit reach every connected client, whatever its room. Send to the sender\'s room only: socket.to(room).emit("chat", …).',
      });
    }
    return undefined;
  }

  /** Says what is wrong with an event that arrived where `want` was due, or nothing if it is right. */
  private wrongRelay(expected: string, got: { event: string; args: unknown[] }, want: Relay): VerifyFailure | undefined {
    const [payload] = got.args;
    const relay = isObject(payload) ? payload : undefined;
    if (got.event === 'chat' && relay?.sender === want.sender && relay.message === want.message) return undefined;
    const actual = `a ${got.event} event ${describeArgs(got.args)}`;
    const fail = (hint: string) => this.v.fail({ code: Codes.WRONG_RELAY, expected, actual, hint });
    if (got.event !== 'chat') return fail('The event is called "chat" both ways: socket.to(room).emit("chat", { sender, message }).');
    if (relay?.message === want.message && relay.sender === undefined && relay.username !== undefined) {
      return fail('The relay names its author in a field called "sender": { sender, message }.');
    }
    if (relay?.message === want.message) {
      return fail(
        'The sender is the username the client gave in its handshake: io(url, { auth: { username } }) arrives as socket.handshake.auth.username (not in handshake.query).',
      );
    }
    return fail('Every relay is one object, { sender, message }: the username from the handshake, and the message unchanged.');
  }

  /** Fails unless the ack's first argument is { ok: true }. */
  private expectOk(reply: unknown[], expected: string, event: string): void {
    if (isOk(reply)) return;
    throw this.v.fail({
      code: Codes.BAD_ACK,
      expected,
      actual: describeArgs(reply) || 'a call with no argument',
      hint: `Call the ${event} handler's last argument with one object: ack({ ok: true }). A client reads reply.ok; true or "ok" alone leaves no room for { ok: false, error } when something is wrong.`,
    });
  }
}

/**
 * Runs a step that may crash a careless server (a chat without a callback: calling a missing ack
 * throws). If the program dies meanwhile, the crash is reported under this lesson's code, with the
 * reason. (It wraps the whole step: a step ends as soon as the program dies.)
 */
async function survives(v: Verification, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (!(error instanceof VerifyFailure)) throw error;
    const { program } = v.servers[0]!;
    const exited = await Promise.race([program.exited.then(() => true), delay(DEATH_SETTLE_MS).then(() => false)]);
    if (!exited) throw error;
    const crash = program.exitFailure('when a chat came without an ack callback');
    throw v.fail({
      code: Codes.CRASHED_WITHOUT_ACK,
      message: crash.message,
      details: crash.details,
      hint:
        'The ack is optional on the wire: a client that emits without a callback gives your handler no function, and calling undefined throws, which ends the process for everyone. ' +
        'Check it first: if (typeof ack === "function") ack({ ok: true }).',
    });
  }
}

/**
 * A plain WebSocket client, as in lessons 01–05, knocks twice: at `/`, where nothing answers, and at
 * socket.io's own endpoint, where it is let in but hears a protocol it does not speak.
 */
async function plainWebSocketKnocks(v: Verification, server: RunningServer): Promise<void> {
  const say = (text: string) => v.transcript.add({ kind: 'client', name: 'plain-ws' }, text);

  const rootUrl = `${server.wsUrl}/`;
  say(`connecting to ${rootUrl}`);
  const root = await knock(rootUrl, KNOCK_MS);
  if (root.kind === 'open') {
    say('connected (HTTP 101 Switching Protocols)');
    root.ws.terminate();
    v.note('something on / speaks plain WebSocket too; socket.io itself does not');
  } else {
    say(root.kind === 'http' ? `← HTTP ${root.status} (not an upgrade)` : `no answer to the upgrade within ${KNOCK_MS} ms`);
    v.note('socket.io answers only under /socket.io/: on / nothing upgrades to WebSocket (socket.io hangs up after a second)');
  }

  const ioUrl = `${server.wsUrl}/socket.io/?EIO=4&transport=websocket`;
  say(`connecting to ${ioUrl}`);
  const endpoint = await knock(ioUrl, v.timeouts.stepMs);
  if (endpoint.kind !== 'open') {
    say(endpoint.kind === 'http' ? `← HTTP ${endpoint.status} (not an upgrade)` : 'no answer to the upgrade');
    return;
  }
  say('connected (HTTP 101 Switching Protocols)');
  const { ws } = endpoint;
  try {
    const open = await endpoint.next(v.timeouts.stepMs);
    if (open.kind !== 'text') return;
    // The session id is random: shown as … so the transcript reads the same every run.
    say(`← text ${open.text.replace(/"sid":"[^"]*"/, '"sid":"…"')}`);
    v.note('that is engine.io\'s "open" packet: 0 is its type, then the session\'s settings. socket.io\'s own frames look like 40, 42["chat",{…}], 2 and 3 (its own ping and pong)');
    const plain = JSON.stringify({ type: 'chat', message: 'hi' });
    say(`→ text ${plain}`);
    ws.send(plain);
    const answer = await endpoint.next(v.timeouts.stepMs);
    if (answer.kind === 'close') {
      say(`← close ${describeCloseCode(answer.code)}`);
      v.note("lesson 03's chat message is not a socket.io packet: the server hung up. A plain ws client, or a browser's WebSocket, cannot talk to socket.io");
    }
  } finally {
    ws.terminate();
  }
}

type Knock =
  | { kind: 'open'; ws: WebSocket; next: (timeoutMs: number) => Promise<Heard> }
  | { kind: 'http'; status: number }
  | { kind: 'none' };
type Heard = { kind: 'text'; text: string } | { kind: 'close'; code: number } | { kind: 'nothing' };

/** Opens a plain ws connection, giving up after `timeoutMs`; once open, what arrives can be read in order. */
function knock(url: string, timeoutMs: number): Promise<Knock> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { handshakeTimeout: timeoutMs, perMessageDeflate: false });
    const heard: Heard[] = [];
    let wake: (() => void) | undefined;
    const hear = (item: Heard) => {
      heard.push(item);
      wake?.();
    };
    const next = async (ms: number): Promise<Heard> => {
      if (heard.length === 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((done) => {
          wake = done;
          timer = setTimeout(done, ms);
        });
        clearTimeout(timer);
      }
      return heard.shift() ?? { kind: 'nothing' };
    };
    ws.on('message', (data) => hear({ kind: 'text', text: String(data) }));
    ws.on('close', (code) => {
      hear({ kind: 'close', code });
      resolve({ kind: 'none' });
    });
    ws.on('error', () => resolve({ kind: 'none' }));
    ws.once('open', () => resolve({ kind: 'open', ws, next }));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      resolve({ kind: 'http', status: res.statusCode ?? 0 });
    });
  });
}

function isOk(reply: unknown[]): boolean {
  const [first] = reply;
  return isObject(first) && first.ok === true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

