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
  // TODO: read the username the client sent in its handshake, socket.handshake.auth.username (a client
  // may send none: check it is a string).
  console.log('a client connected');

  // TODO: socket.on('join', (room, ack) => { … }): leave the room the socket was in (if it is another
  // one), put it in this one with socket.join(room), remember the room in socket.data.room (not in a
  // variable here: a recovered socket gets its socket.data back, not this handler's variables), then
  // acknowledge: ack({ ok: true }).

  // TODO: socket.on('chat', (payload, ack) => { … }): anything can arrive, as in lesson 03. Check that
  // payload is an object and payload.message a string (any string, even ""), then send exactly
  // { sender, message } to the others in the room with socket.to(room).emit('chat', …), and ack({ ok: true }).
  // Refuse anything else with ack({ ok: false, error: '…' }), before relaying anything.

  // The ack is optional, in both handlers: a client may emit without one, or with something else in its
  // place. Do the work all the same, and call ack only if typeof ack === 'function'.

  socket.on('disconnect', (reason) => console.log(`a client disconnected: ${reason}`));
});

console.log(`socket.io chat listening on port ${port}`);
