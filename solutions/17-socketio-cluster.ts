// Lesson 17 — socket.io across nodes: one program, started once per node, sharing rooms through Redis.
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

/** What every acknowledgement says: done (with what was asked), or why not. */
type Reply = Record<string, unknown> & ({ ok: true } | { ok: false; error: string });
type Ack = (reply: Reply) => void;

const port = Number(process.env.PORT ?? 3000);
// Which node this is. Every answer carries it, so a client (and you, in the logs) can see where it landed.
const node = process.env.NODE_ID ?? 'A';
// How long a roll call waits for the clients' answers, in milliseconds.
const rollCallMs = Number(process.env.ROLL_CALL_MS ?? 1000);

// Two connections to Redis: once a connection has subscribed it can do nothing else (lesson 07), so the
// adapter publishes on one and listens on its duplicate.
const pub = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const sub = pub.duplicate();

const io = new Server(port, {
  // The adapter is what makes the nodes one: io.to(room).emit, fetchSockets and acks with a timeout
  // then go through Redis to every node, not only to this process's sockets. The key names its
  // channels: nodes of one app share it, another app on the same Redis uses another.
  adapter: createAdapter(pub, sub, { key: process.env.ADAPTER_KEY ?? 'socket.io' }),
  // A cookie on the handshake's answer, named io and holding the session id: a load balancer can stick
  // on it, so that every HTTP long-polling request of the session reaches the node that holds it.
  cookie: { name: 'io', httpOnly: true, sameSite: 'lax', path: '/' },
});

/** A room is any string that is not empty. */
function isRoom(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

io.on('connection', (socket) => {
  console.log(`node ${node}: ${socket.id} connected over ${socket.conn.transport.name}`);

  socket.on('join', (room: unknown, ack: Ack) => {
    if (!isRoom(room)) return ack({ ok: false, error: 'room must be a non-empty string' });
    void socket.join(room);
    ack({ ok: true, room, node });
  });

  socket.on('say', (payload: unknown, ack: Ack) => {
    // Anything can arrive: check it before anything is sent.
    const { room, text } = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
    if (!isRoom(room)) return ack({ ok: false, error: 'room must be a non-empty string' });
    if (typeof text !== 'string') return ack({ ok: false, error: 'text must be a string' });
    // io.to(room) is every socket in the room, on every node, the sender too when it is a member: the
    // adapter publishes the packet, and each node delivers it to its own members.
    io.to(room).emit('said', { room, text, node });
    ack({ ok: true });
  });

  socket.on('count', async (room: unknown, ack: Ack) => {
    if (!isRoom(room)) return ack({ ok: false, error: 'room must be a non-empty string' });
    // fetchSockets asks every node (through Redis) for its members of the room, and waits for them all.
    const sockets = await io.in(room).fetchSockets();
    ack({ ok: true, room, count: sockets.length });
  });

  socket.on('roll-call', (ack: Ack) => {
    // An emit with a timeout waits for an answer from every client on every node. A client that does
    // not answer in time gives err; the answers that did come are still there.
    io.timeout(rollCallMs).emit('roll-call', (err: Error | null, answers: unknown[]) => {
      ack({ ok: true, answers });
    });
  });
});

console.log(`node ${node}: socket.io listening on port ${port}`);
