// Lesson 08 — the chat of lesson 03 again, with socket.io: rooms, acknowledgements, and recovery.
import { Server } from 'socket.io';

/** What every acknowledgement says: done, or why not. */
type Reply = { ok: true } | { ok: false; error: string };

/** Events a client may emit. The types describe the protocol; they check nothing on the wire. */
interface ClientToServerEvents {
  join: (room: unknown, ack?: (reply: Reply) => void) => void;
  chat: (payload: unknown, ack?: (reply: Reply) => void) => void;
}

/** Events the server emits. */
interface ServerToClientEvents {
  chat: (relay: { sender: string; message: string }) => void;
}

/** What the server keeps on each socket. socket.data survives a recovered disconnection. */
interface SocketData {
  room?: string;
}

const port = Number(process.env.PORT ?? 3000);

const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(port, {
  // Without this, a client that drops for a second comes back as a stranger: new id, no rooms, and
  // every message sent meanwhile lost. With it, socket.io keeps the session (id, rooms, socket.data)
  // and the room messages it missed, for as long as this window, and replays them when it returns.
  connectionStateRecovery: { maxDisconnectionDuration: 2 * 60 * 1000 },
});

io.on('connection', (socket) => {
  // The username comes with the handshake (io(url, { auth: { username } })). socket.io-client sends
  // it again on every reconnection, so the server knows who is back without being told twice.
  const given: unknown = socket.handshake.auth.username;
  const username = typeof given === 'string' && given !== '' ? given : 'Anonymous';

  // 'connection' fires again for a recovered client. Its rooms and socket.data are back; the
  // variables of the previous call of this handler are not: keep per-socket state in socket.data.
  console.log(socket.recovered ? `${username} is back, still in ${socket.data.room}` : `${username} connected`);

  socket.on('join', (room, ack) => {
    // A client may emit without a callback: calling a missing ack would throw and end the process.
    const reply = typeof ack === 'function' ? ack : () => {};
    if (typeof room !== 'string' || room === '') return reply({ ok: false, error: 'room must be a non-empty string' });
    // One room at a time, as in a chat app's channels.
    if (socket.data.room) void socket.leave(socket.data.room);
    void socket.join(room);
    socket.data.room = room;
    reply({ ok: true });
  });

  socket.on('chat', (payload, ack) => {
    const reply = typeof ack === 'function' ? ack : () => {};
    // Anything can arrive, as in lesson 03. The ack answers *this* message: no separate error event.
    const message = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>).message : undefined;
    if (typeof message !== 'string') return reply({ ok: false, error: 'message must be a string' });
    const room = socket.data.room;
    if (!room) return reply({ ok: false, error: 'join a room first' });

    // socket.to(room) is every socket in the room except this one: no loop, no readyState check.
    // It goes through socket.io's broadcast, which is what connection state recovery records.
    socket.to(room).emit('chat', { sender: username, message });
    reply({ ok: true });
  });

  socket.on('disconnect', (reason) => console.log(`${username} disconnected: ${reason}`));
});

console.log(`socket.io chat listening on port ${port}`);
