/**
 * Lesson 08 — socket.io, by contrast. The story: five clients connect with socket.io-client, their
 * usernames in the handshake (two of them are called bob), while a plain WebSocket client knocks at the
 * same server and is not understood; they join two rooms; whoever speaks, first, middle or last to
 * join, reaches exactly the others of the room, and every chat is acknowledged; a chat without a
 * string message is refused and reaches nobody, while any string is delivered unchanged; clients switch
 * rooms and join their own room again; joins and chats come without a callback and the server stays
 * up; the network drops under alice while the others talk, and she comes back by herself, recovered,
 * with exactly what she missed and still in her room; a client with no username, a chat before any
 * join and rooms that are not strings do not bring the server down; then the server restarts and
 * forgets everything: the clients come back by themselves, and joining again is their job.
 */
import { isDeepStrictEqual } from 'node:util';
import WebSocket from 'ws';
import { defineRules, describeCloseCode, HarnessCodes, VerifyFailure, type LessonVerifier, type PrepareRun, type RunningServer, type Verification } from './harness/index.ts';
import { NetworkLink } from './harness/network-link.ts';
import { describeArgs, socketIoClient, type SocketIoTestClient } from './harness/socketio-client.ts';
import { delay } from './harness/json.ts';

/** Failure codes of this lesson. Stable: tests and tools refer to them. */
export const Codes = {
  CONNECT_FAILED: 'SOCKETIO_CONNECT_FAILED',
  NOT_BACK_AFTER_RESTART: 'SOCKETIO_NOT_BACK_AFTER_RESTART',
  WRONG_SENDER: 'SOCKETIO_WRONG_SENDER',
  SAME_NAME_CONFUSED: 'SOCKETIO_SAME_NAME_CONFUSED',
  NO_USERNAME_CRASHED: 'SOCKETIO_NO_USERNAME_CRASHED',
  JOIN_NOT_ACKED: 'SOCKETIO_JOIN_NOT_ACKED',
  BAD_JOIN_ACK: 'SOCKETIO_BAD_JOIN_ACK',
  OLD_ROOM_KEPT: 'SOCKETIO_OLD_ROOM_KEPT',
  LEFT_ON_REJOIN: 'SOCKETIO_LEFT_ON_REJOIN',
  BAD_ROOM_NOT_REFUSED: 'SOCKETIO_BAD_ROOM_NOT_REFUSED',
  BAD_ROOM_CRASHED: 'SOCKETIO_BAD_ROOM_CRASHED',
  CHAT_NOT_ACKED: 'SOCKETIO_CHAT_NOT_ACKED',
  BAD_ACK: 'SOCKETIO_BAD_ACK',
  NOT_DELIVERED: 'SOCKETIO_NOT_DELIVERED',
  WRONG_RELAY: 'SOCKETIO_WRONG_RELAY',
  ECHOED_TO_SENDER: 'SOCKETIO_ECHOED_TO_SENDER',
  LEAKED_TO_OTHER_ROOM: 'SOCKETIO_LEAKED_TO_OTHER_ROOM',
  ROOMLESS_CHAT_CRASHED: 'SOCKETIO_ROOMLESS_CHAT_CRASHED',
  INVALID_NOT_REFUSED: 'SOCKETIO_INVALID_NOT_REFUSED',
  INVALID_DELIVERED: 'SOCKETIO_INVALID_DELIVERED',
  INVALID_CRASHED: 'SOCKETIO_INVALID_CRASHED',
  REFUSED_STRING: 'SOCKETIO_REFUSED_STRING',
  CRASHED_WITHOUT_ACK: 'SOCKETIO_CRASHED_WITHOUT_ACK',
  IGNORED_WITHOUT_ACK: 'SOCKETIO_IGNORED_WITHOUT_ACK',
  NO_RECONNECT: 'SOCKETIO_NO_RECONNECT',
  NOT_RECOVERED: 'SOCKETIO_NOT_RECOVERED',
  NOT_REPLAYED: 'SOCKETIO_NOT_REPLAYED',
  REPLAY_NOT_EXACT: 'SOCKETIO_REPLAY_NOT_EXACT',
  STATE_LOST_ON_RECOVERY: 'SOCKETIO_STATE_LOST_ON_RECOVERY',
} as const;

/** The behaviour, as problem.md numbers it. */
export const rules = defineRules({
  R1: {
    text: 'A socket.io 4 server on `process.env.PORT`: `new Server(Number(process.env.PORT), options)`.',
    codes: [HarnessCodes.WRONG_PORT, HarnessCodes.NEVER_LISTENED, Codes.CONNECT_FAILED, Codes.NOT_BACK_AFTER_RESTART],
  },
  R2: {
    text: "**Username**: a client connects with `io(url, { auth: { username: 'alice' } })`; the server reads it as `socket.handshake.auth.username` and relays the client's chats with it as `sender`.",
    codes: [Codes.WRONG_SENDER, Codes.SAME_NAME_CONFUSED, Codes.NO_USERNAME_CRASHED],
  },
  R3: {
    text: '**Join**: a client emits `join` with a room name and a callback; the server puts the socket in that room (leaving the room it was in before, if any) and calls the callback with exactly `{ ok: true }`.',
    codes: [Codes.JOIN_NOT_ACKED, Codes.BAD_JOIN_ACK, Codes.OLD_ROOM_KEPT, Codes.LEFT_ON_REJOIN, Codes.BAD_ROOM_NOT_REFUSED, Codes.BAD_ROOM_CRASHED],
  },
  R4: {
    text: "**Chat**: a client emits `chat` with `{ message }` and a callback; the server emits the event `chat` with exactly `{ sender, message }` to **every other socket in the sender's room**, not back to the sender, not to other rooms, then calls the callback with exactly `{ ok: true }`.",
    codes: [
      Codes.CHAT_NOT_ACKED,
      Codes.BAD_ACK,
      Codes.NOT_DELIVERED,
      Codes.WRONG_RELAY,
      Codes.ECHOED_TO_SENDER,
      Codes.LEAKED_TO_OTHER_ROOM,
      Codes.ROOMLESS_CHAT_CRASHED,
    ],
  },
  R5: {
    text: '**A chat without a string `message`** is refused in its acknowledgement, exactly `{ ok: false, error: "…" }` (the wording is yours, but not blank), and delivered to nobody; a chat whose `message` is a string, any string, is never refused.',
    codes: [Codes.INVALID_NOT_REFUSED, Codes.INVALID_DELIVERED, Codes.INVALID_CRASHED, Codes.REFUSED_STRING],
  },
  R6: {
    text: '**The callback is optional**: a client may emit `join` or `chat` without one. Do what it asks all the same, and do not call a callback that is not there.',
    codes: [Codes.CRASHED_WITHOUT_ACK, Codes.IGNORED_WITHOUT_ACK],
  },
  R7: {
    text: '**Recovery**: enable `connectionStateRecovery` with a `maxDisconnectionDuration` in milliseconds. A client whose connection drops for a moment comes back by itself with `socket.recovered === true` and receives the room messages it missed, each once, in order.',
    codes: [Codes.NO_RECONNECT, Codes.NOT_RECOVERED, Codes.NOT_REPLAYED, Codes.REPLAY_NOT_EXACT],
  },
  R8: {
    text: "**Keep what you know about a socket in `socket.data`**: a recovered socket is back in its rooms with its `socket.data`, but the variables of the previous run of your `'connection'` handler are gone.",
    codes: [Codes.STATE_LOST_ON_RECOVERY],
  },
});

/** The two rooms of the story. The kitchen's name is not ASCII: a room name is any string. */
const LOBBY = 'lobby';
/** The sender of a client without a usable username, as in lesson 03. */
const ANONYMOUS = 'Anonymous';
const KITCHEN = 'kitchen 🍳';

/** How long others must stay quiet, once, to show that a chat went nowhere else, not even late. */
const QUIET_MS = 100;
/** How long a plain WebSocket client waits for an answer to its upgrade on `/`. */
const KNOCK_MS = 150;
/**
 * How long alice's network stays down, at least (problem.md gives the same number): longer than a
 * recovery window someone gave in seconds where milliseconds were asked (120 for two minutes).
 */
const OUTAGE_MS = 300;
/** More than 64 KiB of text, in characters of two bytes each: code that assumes small messages shows here. */
const LARGE_MESSAGE = `${'ß'.repeat(50 * 1024)} (100 KiB of text)`;

const DELIVERY_HINT =
  'Deliver each chat with socket.to(room).emit("chat", { sender, message }): every socket in the room but the sender. ' +
  'Nobody is in a room until the server puts them there: in the join handler, call socket.join(room), and remember the room (socket.data.room) for the chats that follow.';

const OLD_ROOM_HINT =
  'One room at a time: before socket.join(room), leave the room the socket was in, socket.leave(socket.data.room), and then remember the new one (socket.data.room = room). ' +
  'socket.join alone adds a room; it never takes the socket out of another.';

const LOST_ON_RECOVERY_HINT =
  "socket.io gave alice back her rooms and socket.data, but 'connection' ran again for the recovered socket, with fresh variables. " +
  'Keep what you know about a socket in socket.data (socket.data.room = room), not in a variable of the connection handler.';

const INPUT_HINT =
  'Check every payload before using it, as in lesson 03: a chat needs a string message. Refuse anything else in the ack, ack({ ok: false, error: "…" }), and deliver nothing. ' +
  'The ack answers that very message: no separate error event for the client to match up.';

const WITHOUT_ACK_CRASH_HINT =
  'The ack is optional on the wire: a client that emits without a callback gives your handler no function (or something else in its place), and calling it throws, which ends the process for everyone. ' +
  'Check it wherever you call it, on every path, refusals too: if (typeof ack === "function") ack({ ok: true }).';

const NO_USERNAME_HINT =
  'A client may connect without a username: socket.handshake.auth.username is then undefined (or "", or whatever it sent). Check that it is a string that is not empty before using it as one, and call the client "Anonymous" otherwise, as in lesson 03.';

const ROOMLESS_HINT =
  'A client that has joined no room has no socket.data.room: check for it before using it, and acknowledge or refuse that chat, ack({ ok: false, error: "join a room first" }).';

const BAD_ROOM_HINT =
  'A join may come with anything as its room: "", null, a number, an array (socket.join would put the socket in every room of an array). Check it is a string that is not empty before using it, and refuse it otherwise: ack({ ok: false, error: "…" }).';

export default (async (v) => {
  const server = await v.start();
  // Without TCP_NODELAY, alice's small packets through the link would wait on delayed acknowledgements.
  const link = await NetworkLink.open({ host: server.host, port: server.port }, { noDelay: true });
  v.defer(() => link.close());
  const chat = new Chat(v);
  let alice!: SocketIoTestClient;
  let bob!: SocketIoTestClient;
  let carol!: SocketIoTestClient;
  let zoe!: SocketIoTestClient;
  let bob2!: SocketIoTestClient;

  await v.step('five clients connect with socket.io-client, their usernames in the handshake; two of them are called bob', ['R1'], async () => {
    v.note('alice connects through a link the verifier can cut, as a network would; the others connect directly. bob2 is another client whose username is bob too');
    alice = await chat.connect('alice', 'alice', link.httpUrl);
    bob = await chat.connect('bob', 'bob');
    carol = await chat.connect('carol', 'carol');
    zoe = await chat.connect('zoë', 'zoë');
    bob2 = await chat.connect('bob2', 'bob');
  });

  await v.step('a plain WebSocket client cannot talk to the same server (a demonstration, not a test)', ['R1'], async () => {
    await plainWebSocketKnocks(v, server);
  });

  await v.step(`alice, bob and zoë join the lobby, carol and bob2 the "${KITCHEN}": each join is acknowledged`, ['R3'], async () => {
    for (const client of [alice, bob, zoe]) await chat.join(client, LOBBY);
    for (const client of [carol, bob2]) await chat.join(client, KITCHEN);
  });

  await v.step('a chat from alice, the first to join, is acknowledged and reaches the other members of the room', ['R2', 'R4'], async () => {
    await chat.say(alice, 'hello, lobby');
    await chat.hearAll([bob, zoe], alice, 'hello, lobby');
  });

  await v.step('nobody else hears it, not even a little later: not alice herself, not the kitchen', ['R4'], async () => {
    await delay(QUIET_MS);
    await chat.settle([carol, bob2, alice, bob, zoe]);
    v.note(`✓ in ${QUIET_MS} ms, nobody else received anything`);
  });

  await v.step('bob (the middle one) and zoë (the last) speak in turn, and in the kitchen bob2 and carol: each reaches exactly the others of the room', ['R2', 'R4'], async () => {
    await chat.say(bob, 'hi alice');
    await chat.hearAll([alice, zoe], bob, 'hi alice');
    await chat.say(zoe, 'hi both');
    await chat.hearAll([alice, bob], zoe, 'hi both');
    await chat.say(bob2, 'a bob in the kitchen');
    await chat.hearAll([carol], bob2, 'a bob in the kitchen');
    await chat.say(carol, 'hi bob, the other one');
    await chat.hearAll([bob2], carol, 'hi bob, the other one');
    await chat.settle();
    v.note('✓ nobody received anything else');
  });

  await survives(v, hazard(Codes.INVALID_CRASHED, 'when a chat came without a string message', INPUT_HINT), () =>
    v.step('a chat without a string message is refused, in its ack, and reaches nobody', ['R5'], async () => {
      const payloads: unknown[] = [
        { text: 'message has another name here' },
        { message: 42 },
        { message: null },
        { message: ['hello'] },
        { message: { text: 'hello' } },
        { message: true },
        // Binary that spells text is still not a string: socket.io hands the handler a Buffer.
        { message: Buffer.from('hello') },
        null,
        'hello',
        42,
        [{ message: 'hello' }],
      ];
      for (const payload of payloads) await chat.refused(alice, payload);
      await chat.settle(chat.clients, (listener, got) =>
        v.fail({
          code: Codes.INVALID_DELIVERED,
          expected: `nothing for ${listener.name}: every chat alice sent in this step was refused`,
          actual: `a ${got.event} event ${describeArgs(got.args)}`,
          hint: 'Check the payload first and return after refusing: a refused chat is delivered to nobody. Relay only once you know the message is a string.',
        }),
      );
      v.note('✓ each was refused, and nobody received any of them');
    }),
  );

  await v.step('any string is a message: empty, blank, spaces at both ends, accents and emoji, 100 KiB; other fields stay behind', ['R2', 'R4', 'R5'], async () => {
    for (const message of ['', '   ', '  café — naïve, 漢字, 🎉  ', LARGE_MESSAGE]) {
      await chat.say(zoe, message, { anyString: true });
      await chat.hearAll([alice, bob], zoe, message);
    }
    // A payload with fields of its own: the relay is built from the username and the message alone.
    const message = 'only the message travels';
    await chat.say(zoe, message, { extra: { sender: 'mallory', room: KITCHEN, id: 7 } });
    await chat.hearAll([alice, bob], zoe, message);
    await chat.settle();
  });

  await v.step('zoë moves to the kitchen and leaves the lobby; bob joins the lobby again and stays in it', ['R3', 'R4'], async () => {
    await chat.join(zoe, KITCHEN);
    await chat.say(alice, 'zoë has left us');
    await chat.hearAll([bob], alice, 'zoë has left us');
    await chat.say(zoe, 'hello, kitchen');
    await chat.hearAll([carol, bob2], zoe, 'hello, kitchen');
    await chat.settle();
    v.note('✓ zoë no longer hears the lobby, and the lobby no longer hears her');
    await chat.join(bob, LOBBY);
    await chat.say(alice, 'still here, bob?');
    await chat.hearAll([bob], alice, 'still here, bob?', {
      timeoutCode: Codes.LEFT_ON_REJOIN,
      timeoutHint:
        'Joining the room a socket is already in must leave it there. Leave the previous room only when it is another one, or leave before you join: ' +
        'socket.leave(old) after socket.join(room) takes the socket out of the room it just joined when both are the same.',
    });
    await chat.settle();
  });

  await survives(v, hazard(Codes.CRASHED_WITHOUT_ACK, 'when a chat or a join came without an ack callback', WITHOUT_ACK_CRASH_HINT), () =>
    v.step('a chat or a join without an ack callback is carried out all the same, and the server stays up', ['R6'], async () => {
      const ignored = {
        timeoutCode: Codes.IGNORED_WITHOUT_ACK,
        timeoutHint:
          'A client may emit without a callback: do the work all the same, and only the answer depends on it. ' +
          'Test the ack where you call it, if (typeof ack === "function") ack(…), not at the top of the handler.',
      };
      chat.sayWithoutAck(alice, 'no callback this time');
      await chat.hearAll([bob], alice, 'no callback this time', ignored);
      // Not a function: a client's mistake, or a payload in two parts. Only a function is a callback.
      chat.sayWithoutAck(alice, 'a string is not a callback', 'not a callback');
      await chat.hearAll([bob], alice, 'a string is not a callback', ignored);
      chat.emitWithoutAck(alice, 'chat', { message: 404 });
      chat.joinWithoutAck(bob2, LOBBY);
      chat.joinWithoutAck(carol, KITCHEN, 'not a callback');
      // Each join is handled before anything its client sends next reaches the server.
      await Promise.all([bob2.flush(), carol.flush()]);
      await chat.say(alice, 'and this one with a callback');
      await chat.hearAll([bob, bob2], alice, 'and this one with a callback', ignored);
      await chat.settle();
      v.note('✓ the refused chat without a callback reached nobody, bob2 is in the lobby now, and carol still in the kitchen');
    }),
  );

  await v.step('two clients called bob are two sockets: in the same room, each hears the other', ['R2'], async () => {
    await chat.say(bob, 'which bob am I?');
    await chat.hearAll([alice, bob2], bob, 'which bob am I?');
    await chat.say(bob2, 'the other one');
    await chat.hearAll([alice, bob], bob2, 'the other one');
    await chat.settle();
  });

  let cutAt = 0;
  await v.step('the network drops under alice; the others talk meanwhile, in both rooms', ['R7'], async () => {
    link.cut();
    cutAt = Date.now();
    v.note(`alice's network goes down for ${OUTAGE_MS} ms: her connection drops, and new ones are refused; the server stays up`);
    await alice.expectDisconnect('alice to notice that her connection dropped');
    await chat.say(bob, 'are you still there, alice?');
    await chat.hearAll([bob2], bob, 'are you still there, alice?');
    await chat.say(bob2, 'you missed this');
    await chat.hearAll([bob], bob2, 'you missed this');
    await chat.say(carol, 'meanwhile, in the kitchen');
    await chat.hearAll([zoe], carol, 'meanwhile, in the kitchen');
    await chat.refused(bob, { message: null });
    await chat.settle(chat.clients.filter((c) => c !== alice));
    // The outage lasts as long as the rule says, however quickly the others talked.
    await delay(Math.max(0, OUTAGE_MS - (Date.now() - cutAt)));
  });

  await v.step('alice comes back by herself, recovered, and receives exactly the two lobby chats she missed, in order', ['R7'], async () => {
    link.restore();
    v.note('the network is back; nothing tells alice to reconnect: socket.io-client keeps trying by itself');
    const { recovered } = await alice.expectReconnect('alice to reconnect by herself', {
      timeoutCode: Codes.NO_RECONNECT,
      timeoutHint:
        'socket.io-client reconnects by itself, unless the server refused it: check any io.use() middleware, and never call socket.disconnect() on a client that did nothing wrong.',
    });
    const awayMs = Date.now() - cutAt;
    if (!recovered) {
      throw v.fail({
        code: Codes.NOT_RECOVERED,
        expected: `alice to come back recovered (socket.recovered === true) after ${awayMs} ms away, with the 2 chats she missed`,
        actual: 'a new session (socket.recovered: false): no rooms, and the chats sent meanwhile are lost',
        hint:
          'Enable connection state recovery: new Server(port, { connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 } }). ' +
          "socket.io then keeps a dropped client's session (id, rooms, socket.data) and the room messages it missed, and replays them when it returns. " +
          `maxDisconnectionDuration is in milliseconds: a session is forgotten that many ms after the drop, and alice was away ${awayMs} ms.`,
      });
    }
    v.note('✓ recovered: alice has the same id and rooms as before, and socket.io replays the chats she missed');
    const replay = {
      timeoutCode: Codes.NOT_REPLAYED,
      timeoutHint:
        'socket.io replays only what it recorded: messages sent to a room, socket.to(room).emit or io.to(room).emit. ' +
        'A message sent with s.emit to each member in a loop reaches them, but is not kept for those who were away.',
      replay: true,
    };
    await chat.hearAll([alice], bob, 'are you still there, alice?', replay);
    await chat.hearAll([alice], bob2, 'you missed this', replay);
    await chat.settle([alice], (listener, got) =>
      v.fail({
        code: Codes.REPLAY_NOT_EXACT,
        expected: 'nothing more for alice: she missed two lobby chats, and has them',
        actual: `a ${got.event} event ${describeArgs(got.args)}`,
        hint:
          'Leave the replay to socket.io: it sends a recovered client the room messages it missed, once each. ' +
          'Sending history of your own on reconnection, or to everyone, repeats or adds messages.',
      }),
    );
    v.note("✓ nothing else: not the kitchen's chat, not the refused one, not what she had already");
  });

  await v.step('alice is still in the lobby, with her socket.data: her chat reaches the lobby, and she can move to the kitchen', ['R8'], async () => {
    const lost = { afterRecovery: true, timeoutCode: Codes.STATE_LOST_ON_RECOVERY, timeoutHint: LOST_ON_RECOVERY_HINT };
    await chat.say(alice, 'back!', lost);
    await chat.hearAll([bob, bob2], alice, 'back!', lost);
    await chat.join(alice, KITCHEN);
    await chat.say(bob, 'alice has gone to the kitchen');
    await chat.hearAll([bob2], bob, 'alice has gone to the kitchen');
    await chat.say(carol, 'welcome, alice');
    await chat.hearAll([alice, zoe], carol, 'welcome, alice', lost);
    await chat.settle(chat.clients, (listener, got) => chat.misplaced(listener, got, true));
  });

  let risk = hazard(Codes.NO_USERNAME_CRASHED, 'when a client connected without a username', NO_USERNAME_HINT);
  await survives(v, () => risk(), () =>
    v.step('clients without a usable username, a chat before any join, rooms that are not strings: each is answered, and the server stays up', ['R2', 'R3', 'R4'], async () => {
      const mallory = await chat.connect('mallory', undefined);
      // socket.io answers the handshake before it runs the 'connection' handler: see that one through.
      await mallory.flush();
      risk = hazard(Codes.ROOMLESS_CHAT_CRASHED, 'when a client chatted before joining any room', ROOMLESS_HINT);
      await chat.sayBeforeJoin(mallory, 'is anyone there?');
      await chat.settle();
      risk = hazard(Codes.NO_USERNAME_CRASHED, 'when a client without a usable username connected, joined and chatted', NO_USERNAME_HINT);
      const ghost = await chat.connect('ghost', '');
      const r2d2 = await chat.connect('r2d2', 42);
      await Promise.all([ghost.flush(), r2d2.flush()]);
      const strangers = [mallory, ghost, r2d2];
      for (const client of strangers) await chat.join(client, LOBBY);
      for (const client of strangers) {
        const message = `hello from ${client.name}`;
        await chat.say(client, message);
        await chat.hearAll(chat.roomMates(client), client, message);
      }
      risk = hazard(Codes.BAD_ROOM_CRASHED, 'when a join came with a room that is not a string', BAD_ROOM_HINT);
      for (const room of ['', null, 42, [LOBBY, KITCHEN], { room: KITCHEN }]) await chat.joinOdd(mallory, room);
      // A refused join leaves mallory where she was: in the lobby, hearing it.
      await chat.say(bob, 'still with us, mallory?');
      await chat.hearAll(chat.roomMates(bob), bob, 'still with us, mallory?', {
        timeoutCode: Codes.BAD_ROOM_NOT_REFUSED,
        timeoutHint: `A refused join changes nothing: check the room first, and leave the old room only once you know the new one is good. ${BAD_ROOM_HINT}`,
      });
      await chat.settle();
      for (const client of strangers) chat.disconnect(client);
      v.note('✓ the server answered each, and is still up');
    }),
  );

  await v.step('the server restarts and forgets everything; the clients reconnect by themselves', ['R1'], async () => {
    await v.stopServer(v.servers.at(-1)!);
    for (const client of chat.clients) await client.expectDisconnect(`${client.name} to notice that the server went away`);
    await v.start({ port: server.port });
    for (const client of chat.clients) {
      await client.expectReconnect(`${client.name} to reconnect by itself`, {
        timeoutCode: Codes.NOT_BACK_AFTER_RESTART,
        timeoutHint: 'socket.io-client reconnects by itself once the server listens again on the same port: make sure your server listens on PORT as soon as it starts.',
      });
    }
    chat.forgetRooms();
    v.note('none is recovered: the new process has no sessions and no rooms; it only knows who they are, from the auth they sent again');
  });

  await v.step("after a restart, joining again is the client's job; each username comes again with the handshake", ['R2', 'R3', 'R4'], async () => {
    for (const client of [alice, bob2, zoe]) await chat.join(client, LOBBY);
    await chat.say(bob2, 'welcome back');
    await chat.hearAll([alice, zoe], bob2, 'welcome back');
    await chat.say(zoe, 'good to be back');
    await chat.hearAll([alice, bob2], zoe, 'good to be back');
    await chat.settle();
  });
}) satisfies LessonVerifier;

/**
 * `wsw run` speaks socket.io here, as the verifier's clients do: each client is a socket.io-client with
 * its name as the username, typed lines are chat events, and /emit and /join emit with an ack callback.
 */
export const prepareRun: PrepareRun = async () => ({ protocol: 'socket.io' });

/** A chat relay as a listener must receive it. */
interface Relay {
  sender: string;
  message: string;
}

/** How a chat and its deliveries are judged, where a step judges something narrower. */
interface SayOptions {
  /** The message is one of the unusual strings: a refusal of it is R5's slip. */
  anyString?: boolean;
  /** Fields the payload carries besides `message`. */
  extra?: Record<string, unknown>;
  /** Sent after alice was recovered: a refusal or a room kept means her state was lost. */
  afterRecovery?: boolean;
}

interface HearOptions {
  timeoutCode?: string;
  timeoutHint?: string;
  /** Delivered by connection state recovery: anything else in its place is R7's slip. */
  replay?: boolean;
  afterRecovery?: boolean;
}

interface Said {
  from: SocketIoTestClient;
  room?: string;
  payload: Record<string, unknown>;
}

/**
 * The chat as the verifier sees it: who is called what, who is in which room and was in which before,
 * who said what, and who has heard what, so that anything arriving where it should not is named
 * precisely.
 */
class Chat {
  /** Every client in the story, in the order they connected. */
  readonly clients: SocketIoTestClient[] = [];
  /** The sender each client's chats must carry: its username, or "Anonymous" without a usable one. */
  private readonly usernames = new Map<SocketIoTestClient, string>();
  /** Clients that connected without a usable username. */
  private readonly nameless = new Set<SocketIoTestClient>();
  /** Each chat sent (all distinct) → who sent it, from which room. */
  private readonly said = new Map<string, Said>();
  private readonly rooms = new Map<SocketIoTestClient, string>();
  /** The rooms each client has left. */
  private readonly former = new Map<SocketIoTestClient, Set<string>>();
  private readonly heard = new Map<SocketIoTestClient, Set<string>>();

  constructor(private readonly v: Verification) {}

  /** Connects a socket.io client that sends `username` in the handshake (no auth at all when undefined). */
  async connect(name: string, username: unknown, url?: string): Promise<SocketIoTestClient> {
    try {
      const client = await socketIoClient(this.v, name, { url, auth: username === undefined ? undefined : { username }, log: 'read' });
      this.clients.push(client);
      const usable = typeof username === 'string' && username !== '';
      this.usernames.set(client, usable ? username : ANONYMOUS);
      if (!usable) this.nameless.add(client);
      return client;
    } catch (error) {
      if (error instanceof VerifyFailure && error.code === HarnessCodes.CONNECT_FAILED) {
        throw this.v.fail({
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

  /** The other members of `client`'s room, in the order they connected. */
  roomMates(client: SocketIoTestClient): SocketIoTestClient[] {
    const room = this.rooms.get(client);
    return this.clients.filter((c) => c !== client && room !== undefined && this.rooms.get(c) === room);
  }

  /** Disconnects a client on purpose; it leaves the story. */
  disconnect(client: SocketIoTestClient): void {
    client.disconnect();
    this.clients.splice(this.clients.indexOf(client), 1);
    this.rooms.delete(client);
  }

  /** After a restart the server knows no rooms: nor does the story. */
  forgetRooms(): void {
    this.rooms.clear();
    this.former.clear();
  }

  /** `client` joins `room`; the server must acknowledge with exactly { ok: true }. */
  async join(client: SocketIoTestClient, room: string): Promise<void> {
    const reply = await client.emitWithAck('join', [room], `an ack for ${client.name}'s join`, {
      timeoutCode: Codes.JOIN_NOT_ACKED,
      timeoutHint:
        'socket.io passes the client\'s callback as the last argument of your handler: socket.on("join", (room, ack) => { …; ack({ ok: true }) }). ' +
        'Until you call it, the client does not know whether it is in the room.',
    });
    if (!isOk(reply)) {
      throw this.v.fail({
        code: Codes.BAD_JOIN_ACK,
        expected: `the ack {"ok":true} for ${client.name}'s join of "${room}"`,
        actual: describeReply(reply),
        hint: isRefusal(reply)
          ? 'A room name is any string, spaces, accents and emoji included: put the socket in it and answer ack({ ok: true }).'
          : 'Call the join handler\'s last argument with exactly one object, ack({ ok: true }): a client reads reply.ok, and a reply of another shape leaves it guessing.',
      });
    }
    this.moved(client, room);
  }

  /** `client` joins `room` without a callback (`more` may follow: never a function); the chats that follow prove it is in. */
  joinWithoutAck(client: SocketIoTestClient, room: string, ...more: unknown[]): void {
    client.emit('join', room, ...more);
    this.moved(client, room);
  }

  /** A join with a room that is not a string, or is empty: it must be refused, exactly { ok: false, error }. */
  async joinOdd(client: SocketIoTestClient, room: unknown): Promise<void> {
    const reply = await client.emitWithAck('join', [room], `an ack for ${client.name}'s join`, {
      timeoutCode: Codes.JOIN_NOT_ACKED,
      timeoutHint: 'Every join gets its answer, even one you refuse: ack({ ok: false, error: "…" }).',
    });
    if (isRefusal(reply)) return;
    throw this.v.fail({
      code: isOk(reply) ? Codes.BAD_ROOM_NOT_REFUSED : Codes.BAD_JOIN_ACK,
      expected: `the ack {"ok":false,"error":"…"} for a join with the room ${describeArgs([room])}, which is not a name`,
      actual: describeReply(reply),
      hint: BAD_ROOM_HINT,
    });
  }

  private moved(client: SocketIoTestClient, room: string): void {
    const before = this.rooms.get(client);
    const former = this.former.get(client) ?? new Set<string>();
    if (before !== undefined && before !== room) former.add(before);
    former.delete(room);
    this.former.set(client, former);
    this.rooms.set(client, room);
  }

  /** `from` sends a chat with an ack callback; the server must acknowledge with exactly { ok: true }. */
  async say(from: SocketIoTestClient, message: string, options: SayOptions & HearOptions = {}): Promise<void> {
    const payload = { message, ...options.extra };
    this.said.set(message, { from, room: this.rooms.get(from), payload });
    const reply = await from.emitWithAck('chat', [payload], `an ack for ${from.name}'s chat`, {
      timeoutCode: options.afterRecovery ? Codes.STATE_LOST_ON_RECOVERY : Codes.CHAT_NOT_ACKED,
      timeoutHint: options.afterRecovery
        ? LOST_ON_RECOVERY_HINT
        : 'The client emitted its chat with a callback, and waits for the server to call it: socket.on("chat", (payload, ack) => { …; ack({ ok: true }) }). ' +
          'That is the acknowledgement: the proof that the server got the message, which TCP alone never gives the sender.',
    });
    if (isOk(reply)) return;
    const expected = `the ack {"ok":true} for ${from.name}'s chat ${JSON.stringify(preview(message))}`;
    const actual = describeReply(reply);
    if (options.afterRecovery && isRefusal(reply)) {
      throw this.v.fail({ code: Codes.STATE_LOST_ON_RECOVERY, expected: `${expected}, sent after she was recovered`, actual, hint: LOST_ON_RECOVERY_HINT });
    }
    if (options.anyString && isRefusal(reply)) {
      throw this.v.fail({
        code: Codes.REFUSED_STRING,
        expected,
        actual,
        hint: 'A message is any string: empty, blank, with spaces at its ends, in any script, long. Refuse only what is not a string, typeof message !== "string", and pass the rest on unchanged.',
      });
    }
    throw this.v.fail({
      code: Codes.BAD_ACK,
      expected,
      actual,
      hint: isRefusal(reply)
        ? `Your server refused a plain chat from ${from.name}, who is in the ${this.rooms.get(from)}. If it thinks she is in no room, remember the room in the join handler: socket.data.room = room.`
        : 'Call the chat handler\'s last argument with exactly one object, ack({ ok: true }). A client reads reply.ok; true or "ok" alone leaves no room for { ok: false, error } when something is wrong.',
    });
  }

  /** `from` sends a chat without a callback (`more` may follow the payload: never a function). */
  sayWithoutAck(from: SocketIoTestClient, message: string, ...more: unknown[]): void {
    const payload = { message };
    this.said.set(message, { from, room: this.rooms.get(from), payload });
    from.emit('chat', payload, ...more);
  }

  /** Emits anything without a callback, and without expecting anything back. */
  emitWithoutAck(from: SocketIoTestClient, event: string, ...args: unknown[]): void {
    from.emit(event, ...args);
  }

  /** A client in no room chats: any answer of the two shapes will do, and it reaches nobody (settle proves it). */
  async sayBeforeJoin(from: SocketIoTestClient, message: string): Promise<void> {
    const payload = { message };
    this.said.set(message, { from, room: undefined, payload });
    const reply = await from.emitWithAck('chat', [payload], `an ack for ${from.name}'s chat, sent before joining a room`, {
      timeoutCode: Codes.CHAT_NOT_ACKED,
      timeoutHint: 'Every chat gets its answer, even from a client in no room: ack({ ok: true }) or ack({ ok: false, error: "join a room first" }).',
    });
    if (isOk(reply) || isRefusal(reply)) return;
    throw this.v.fail({
      code: Codes.BAD_ACK,
      expected: `{"ok":true} or {"ok":false,"error":"…"} for a chat from a client in no room`,
      actual: describeReply(reply),
      hint: ROOMLESS_HINT,
    });
  }

  /** `from` sends a chat that is not { message: string }: the ack must be exactly { ok: false, error }. */
  async refused(from: SocketIoTestClient, payload: unknown): Promise<void> {
    const reply = await from.emitWithAck('chat', [payload], `an ack for ${from.name}'s chat ${describeArgs([payload])}`, {
      timeoutCode: Codes.INVALID_NOT_REFUSED,
      timeoutHint: INPUT_HINT,
    });
    if (isRefusal(reply)) return;
    throw this.v.fail({
      code: Codes.INVALID_NOT_REFUSED,
      expected: `the ack {"ok":false,"error":"…"} for the chat ${describeArgs([payload])}, which has no string message`,
      actual: describeReply(reply),
      hint: INPUT_HINT,
    });
  }

  /** Each of `listeners`, in turn, must receive `from`'s chat next: the event "chat", exactly { sender, message }. */
  async hearAll(listeners: SocketIoTestClient[], from: SocketIoTestClient, message: string, options: HearOptions = {}): Promise<void> {
    for (const listener of listeners) await this.hears(listener, from, message, options);
  }

  private async hears(listener: SocketIoTestClient, from: SocketIoTestClient, message: string, options: HearOptions): Promise<void> {
    const want: Relay = { sender: this.usernames.get(from)!, message };
    const expected = `${listener.name} to receive chat ${describeArgs([want])}`;
    const got = await listener
      .nextEvent(expected, { timeoutCode: options.timeoutCode ?? Codes.NOT_DELIVERED, timeoutHint: options.timeoutHint ?? DELIVERY_HINT })
      .catch((error: unknown) => {
        throw error instanceof VerifyFailure && error.code === (options.timeoutCode ?? Codes.NOT_DELIVERED)
          ? this.wentElsewhere(error, listener, from, message, options)
          : error;
      });
    if (options.replay && !isRelayOf(got, want)) {
      throw this.v.fail({
        code: Codes.REPLAY_NOT_EXACT,
        expected,
        actual: `a ${got.event} event ${describeArgs(got.args)}`,
        hint: 'Leave the replay to socket.io, and send every chat to the room: it replays what the client missed, once each, in the order sent.',
      });
    }
    const failure = this.misplaced(listener, got, options.afterRecovery) ?? this.wrongRelay(expected, got, want, from, this.said.get(message)?.payload);
    if (failure) throw failure;
    this.heardBy(listener).add(message);
  }

  /** A chat that never came: names where it went instead, when the others show it. */
  private wentElsewhere(error: VerifyFailure, listener: SocketIoTestClient, from: SocketIoTestClient, message: string, options: HearOptions): VerifyFailure {
    if (from.pending.some((e) => relayedMessage(e) === message)) {
      error.hint = `${from.name} got it back and ${listener.name} nothing: socket.emit talks to that one socket only. ${DELIVERY_HINT}`;
      return error;
    }
    for (const other of this.clients) {
      if (other === listener || other === from) continue;
      const got = other.pending.find((e) => relayedMessage(e) === message);
      const failure = got && this.misplaced(other, got, options.afterRecovery);
      if (failure) return failure;
    }
    if (!options.replay && this.usernames.get(listener) === this.usernames.get(from)) {
      return this.v.fail({
        code: Codes.SAME_NAME_CONFUSED,
        expected: error.expected,
        actual: error.actual,
        hint: `${listener.name} has the same username as ${from.name}, but is another socket. Leave out the sender by its socket (socket.to(room) does), never by its name: usernames need not be unique.`,
      });
    }
    return error;
  }

  /**
   * Waits until every one of `clients` has received everything the server sent it so far, and fails
   * if any of them received something the story did not expect. `stray` names the slip, where a step
   * knows better.
   */
  async settle(
    clients: SocketIoTestClient[] = this.clients,
    stray?: (listener: SocketIoTestClient, got: { event: string; args: unknown[] }) => VerifyFailure | undefined,
  ): Promise<void> {
    await Promise.all(clients.map((client) => client.flush()));
    for (const client of clients) {
      const [got] = client.pending;
      if (got) throw stray?.(client, got) ?? this.misplaced(client, got) ?? this.unexpected(client, got);
    }
  }

  /** Names an event that reached someone it was not meant for: its own sender, a room left, another room. */
  misplaced(listener: SocketIoTestClient, got: { event: string; args: unknown[] }, afterRecovery = false): VerifyFailure | undefined {
    const message = relayedMessage(got);
    const said = message === undefined ? undefined : this.said.get(message);
    if (!said) return undefined;
    const actual = `a ${got.event} event ${describeArgs(got.args)}`;
    if (said.from === listener) {
      return this.v.fail({
        code: Codes.ECHOED_TO_SENDER,
        expected: `${listener.name} not to receive her own chat back`,
        actual,
        hint: 'io.to(room).emit sends to every socket in the room, the sender included. socket.to(room).emit leaves the sender out: it already knows what it said, and the ack told it the server got it.',
      });
    }
    const here = this.rooms.get(listener);
    if (said.room === here) return undefined;
    const leftThere = said.room !== undefined && this.former.get(listener)?.has(said.room);
    const senderLeftHere = here !== undefined && this.former.get(said.from)?.has(here);
    if (leftThere || senderLeftHere) {
      const expected = leftThere
        ? `${listener.name}, who left the ${said.room} for the ${here}, not to receive a chat from the ${said.room}`
        : `${said.from.name}'s chat, sent after leaving the ${here} for the ${said.room}, not to reach ${listener.name} in the ${here}`;
      return afterRecovery
        ? this.v.fail({ code: Codes.STATE_LOST_ON_RECOVERY, expected: `${expected} (after alice was recovered)`, actual, hint: LOST_ON_RECOVERY_HINT })
        : this.v.fail({ code: Codes.OLD_ROOM_KEPT, expected, actual, hint: OLD_ROOM_HINT });
    }
    const username = this.usernames.get(said.from);
    const twin = this.clients.find((c) => c !== said.from && this.usernames.get(c) === username && this.rooms.get(c) === here);
    if (twin && here !== undefined) {
      return this.v.fail({
        code: Codes.SAME_NAME_CONFUSED,
        expected: `${said.from.name}'s chat to stay in the ${said.room}, not to reach the ${here}, where another client called ${username} (${twin.name}) is`,
        actual: `${listener.name} received ${actual}`,
        hint: 'Two clients may have the same username: keep what you know about each socket on the socket (socket.data.room), never in a Map keyed by username, where the second overwrites the first.',
      });
    }
    return this.v.fail({
      code: Codes.LEAKED_TO_OTHER_ROOM,
      expected: `${listener.name} (${here ? `in the ${here}` : 'in no room'}) not to receive a chat from ${said.room ? `the ${said.room}` : `${said.from.name}, who is in no room`}`,
      actual,
      hint: "io.emit and socket.broadcast.emit reach every connected client, whatever its room. Send to the sender's room only: socket.to(room).emit(\"chat\", …).",
    });
  }

  /** Something arrived that the story did not expect, from the right room: a second copy, or something else. */
  private unexpected(listener: SocketIoTestClient, got: { event: string; args: unknown[] }): VerifyFailure {
    const message = relayedMessage(got);
    const again = message !== undefined && this.heardBy(listener).has(message);
    return this.v.fail({
      code: Codes.WRONG_RELAY,
      expected: `nothing more for ${listener.name}`,
      actual: `${again ? 'a second copy of ' : ''}a ${got.event} event ${describeArgs(got.args)}`,
      hint: again
        ? 'Each chat reaches each other member of the room once: one socket.to(room).emit per chat, and one handler per event (not one more on every join).'
        : "Send a chat only to the other members of the sender's room, and nothing else.",
    });
  }

  /** Says what is wrong with an event that arrived where `want` was due, or nothing if it is right. */
  private wrongRelay(expected: string, got: { event: string; args: unknown[] }, want: Relay, from: SocketIoTestClient, payload?: Record<string, unknown>): VerifyFailure | undefined {
    if (isRelayOf(got, want)) return undefined;
    const actual = `a ${got.event} event ${describeArgs(got.args)}`;
    const fail = (hint: string, code: string = Codes.WRONG_RELAY) => this.v.fail({ code, expected, actual, hint });
    const [relay] = got.args;
    if (got.event !== 'chat') return fail('The event is called "chat" both ways: socket.to(room).emit("chat", { sender, message }).');
    if (got.args.length !== 1 || !isObject(relay)) return fail('Every relay is one object, { sender, message }: the username from the handshake, and the message unchanged.');
    if (relay.message !== want.message) {
      return fail(
        typeof relay.message === 'string' && relay.message === want.message.trim()
          ? 'Pass the message on unchanged: no trim(). Spaces at its ends are part of what the sender wrote.'
          : 'Pass the message on as it came: the relay carries payload.message unchanged, whatever its length or script.',
      );
    }
    if (relay.sender !== want.sender) {
      if (payload?.sender !== undefined && relay.sender === payload.sender) {
        return fail('The sender is the username from the handshake, whatever the payload says: build the relay from two fields, { sender: username, message }, instead of spreading the payload into it.');
      }
      if (relay.sender === undefined && Object.values(relay).includes(want.sender)) return fail('The relay names its author in a field called "sender": { sender, message }.');
      if (this.nameless.has(from)) {
        return fail(
          `${from.name} connected without a usable username (none, "", or not a string): call it "${ANONYMOUS}", as in lesson 03, so that every relay has a sender. Check typeof username === "string" && username !== "".`,
          Codes.WRONG_SENDER,
        );
      }
      return fail(
        'The sender is the username the client gave in its handshake: io(url, { auth: { username } }) arrives as socket.handshake.auth.username (not in handshake.query, not the socket.id).',
        Codes.WRONG_SENDER,
      );
    }
    return fail('A relay is exactly { sender, message }: build it from those two, so that whatever else a payload carries stays behind.');
  }

  private heardBy(client: SocketIoTestClient): Set<string> {
    const set = this.heard.get(client) ?? new Set<string>();
    this.heard.set(client, set);
    return set;
  }
}

/** True when `got` is exactly the relay `want`: the event "chat", one argument, those two fields by value. */
function isRelayOf(got: { event: string; args: unknown[] }, want: Relay): boolean {
  return got.event === 'chat' && got.args.length === 1 && isDeepStrictEqual(got.args[0], want);
}

/** The message of a relay, if it carries a string one. */
function relayedMessage(got: { event: string; args: unknown[] }): string | undefined {
  const [payload] = got.args;
  const message = isObject(payload) ? payload.message : undefined;
  return typeof message === 'string' ? message : undefined;
}

/** What may crash the program in a step: the code and hint its death is reported with. */
interface Hazard {
  code: string;
  when: string;
  hint: string;
}

function hazard(code: string, when: string, hint: string): () => Hazard {
  return () => ({ code, when, hint });
}

/**
 * Runs a step that may crash a careless server (calling a missing ack, reading a field of null). If
 * the program dies meanwhile, the crash is reported under the code of what was sent last, with the
 * reason. (It wraps the whole step: a step ends as soon as the program dies.)
 */
async function survives(v: Verification, risk: () => Hazard, body: () => Promise<void>): Promise<void> {
  await v.blameDeath(body, risk, { cleanExits: true, servers: v.servers.slice(-1) });
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

/** Exactly one argument, { ok: true }. */
function isOk(reply: unknown[]): boolean {
  return reply.length === 1 && isDeepStrictEqual(reply[0], { ok: true });
}

/** Exactly one argument, { ok: false, error } with an error that says something. */
function isRefusal(reply: unknown[]): boolean {
  const [first] = reply;
  if (reply.length !== 1 || !isObject(first)) return false;
  const keys = Object.keys(first).sort();
  return keys.length === 2 && keys[0] === 'error' && keys[1] === 'ok' && first.ok === false && typeof first.error === 'string' && first.error.trim() !== '';
}

function describeReply(reply: unknown[]): string {
  return describeArgs(reply) || 'a call with no argument';
}

/** A message as a failure quotes it: long ones cut. */
function preview(message: string): string {
  return message.length > 40 ? `${message.slice(0, 40)}…` : message;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
