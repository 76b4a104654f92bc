// Lesson 17 — socket.io across nodes. Run `wsw print` to read the task again, `wsw verify` to check your work.
// This file runs twice, as node A and node B: the same code, another PORT and NODE_ID.
import { Server } from 'socket.io';
// import { createAdapter } from '@socket.io/redis-adapter';
// import { Redis } from 'ioredis';

const port = Number(process.env.PORT ?? 3000);
const node = process.env.NODE_ID ?? 'A';

// TODO: two connections to the Redis in process.env.REDIS_URL: const pub = new Redis(…), const sub = pub.duplicate().

const io = new Server(port, {
  // TODO: adapter: createAdapter(pub, sub, { key: process.env.ADAPTER_KEY }), so that rooms, counts and
  // acknowledgements span every node, not only this process.
  // TODO: cookie: { name: 'io', … }, so that a load balancer can stick each session to its node.
});

io.on('connection', (socket) => {
  console.log(`node ${node}: a client connected`);

  // TODO: socket.on('join', (room, ack) => …): a room is a string that is not empty. socket.join(room),
  // then ack({ ok: true, room, node }). Anything else: ack({ ok: false, error: '…' }).

  // TODO: socket.on('say', (payload, ack) => …): payload is { room, text }, text any string. Send
  // { room, text, node } as the event 'said' to every socket in the room, on every node (the sender too),
  // then ack({ ok: true }).

  // TODO: socket.on('count', (room, ack) => …): how many sockets are in the room on all nodes,
  // ack({ ok: true, room, count }).

  // TODO: socket.on('roll-call', (ack) => …): emit 'roll-call' to every client with a timeout of
  // Number(process.env.ROLL_CALL_MS), and ack({ ok: true, answers }) with the answers that came.

  socket.on('disconnect', (reason) => console.log(`node ${node}: a client disconnected: ${reason}`));
});

console.log(`node ${node}: socket.io listening on port ${port}`);
