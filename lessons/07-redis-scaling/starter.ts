// Lesson 07 — two servers, one chat. Run `wsw print` to read the task again, `wsw verify` to check your work.
// This is the chat room of lesson 03, complete: it works for the clients of one instance. Make two
// instances share one room through Redis.
import { WebSocketServer, WebSocket, type RawData } from 'ws';
// TODO: import { Redis } from 'ioredis';

const port = Number(process.env.PORT ?? 8080);
// TODO: read REDIS_URL, CHAT_CHANNEL and INSTANCE_ID from process.env.
// TODO: open two Redis connections to REDIS_URL, one to publish and one to subscribe (a connection
//       that has subscribed cannot publish). SUBSCRIBE the second one to CHAT_CHANNEL.

const wss = new WebSocketServer({ port });

/** Sends a relay to every open client of this instance, except `skip`. */
function broadcast(sender: string, message: string, skip?: WebSocket): void {
  const relay = JSON.stringify({ type: 'chat', sender, message });
  for (const client of wss.clients) {
    if (client !== skip && client.readyState === WebSocket.OPEN) client.send(relay);
  }
}

wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const chat = parseChat(data);
    if (typeof chat === 'string') {
      socket.send(JSON.stringify({ type: 'error', message: chat }));
      return;
    }
    const sender = chat.username || 'Anonymous';
    broadcast(sender, chat.message, socket);
    // TODO: PUBLISH the chat on CHAT_CHANNEL too, with the id of this instance in it, so that the
    //       other instances can pass it on to their own clients.
  });
});

// TODO: when the subscriber receives a message, broadcast it to this instance's clients, unless it
//       carries this instance's own id: Redis hands every message back to its publisher too, and
//       this instance's clients already have it. Parse it inside try/catch, and ignore anything that
//       is not the shape you publish: anyone can publish on a channel.

wss.on('listening', () => console.log(`chat server listening on port ${port}`));

/** A chat message as a client sends it. */
interface ChatMessage {
  type: 'chat';
  username?: string;
  message: string;
}

/** Reads one incoming message: the chat message, or a sentence saying what is wrong with it. */
function parseChat(data: RawData): ChatMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(data.toString());
  } catch {
    return 'Not valid JSON.';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'Expected a JSON object.';
  const { type, username, message } = value as Record<string, unknown>;
  if (type !== 'chat') return 'Unknown type: use "chat".'; // not String(type): String({ toString: null }) throws
  if (typeof message !== 'string') return 'message must be a string.';
  if (username !== undefined && typeof username !== 'string') return 'username must be a string.';
  return { type, username, message };
}
