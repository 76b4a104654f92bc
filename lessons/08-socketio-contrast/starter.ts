// Lesson 08 — socket.io, by contrast. Run `wsw print` to read the task again, `wsw verify` to check your work.
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 3000);

// socket.io creates the HTTP server, listens on the port, and answers under /socket.io/.
const io = new Server(port, {
  // TODO: turn on connection state recovery, so that a client that drops for a moment comes back
  // with its rooms and the messages it missed: connectionStateRecovery: { maxDisconnectionDuration: … }
  // (milliseconds).
});

io.on('connection', (socket) => {
  // TODO: read the username the client sent in its handshake: socket.handshake.auth.username.
  console.log('a client connected');

  // TODO: socket.on('join', (room, ack) => { … }): put the socket in that room with socket.join(room),
  // remember the room in socket.data.room, then acknowledge: ack({ ok: true }).

  // TODO: socket.on('chat', (payload, ack) => { … }): check that payload.message is a string, send
  // { sender, message } to the others in the room with socket.to(room).emit('chat', …), then ack({ ok: true }).
  // Refuse anything else with ack({ ok: false, error: '…' }). And the ack is optional: call it only if
  // it is a function.

  socket.on('disconnect', (reason) => console.log(`a client disconnected: ${reason}`));
});

console.log(`socket.io chat listening on port ${port}`);
