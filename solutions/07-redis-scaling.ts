// Lesson 07 — two servers, one chat. The chat room of lesson 03, run as several instances that hear
// each other through Redis pub/sub: every instance publishes what its own clients say, and passes on
// what the others publish.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { WebSocketServer, WebSocket, type RawData } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const channel = process.env.CHAT_CHANNEL ?? 'chat';
// A name no other instance has: it is how an instance recognises its own messages when Redis hands
// them back. In production the host name (a pod's name) serves; a random id works everywhere.
const instanceId = process.env.INSTANCE_ID ?? randomUUID();

// Two connections, not one: once a connection has subscribed, Redis accepts nothing on it but
// (un)subscribing and PING, since it may push a message at any moment. Publishing needs its own.
const publisher = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);
// ioredis reconnects by itself; without a listener, each failed attempt would print a warning.
publisher.on('error', (error) => console.error('redis publisher:', error.message));
subscriber.on('error', (error) => console.error('redis subscriber:', error.message));

/** A chat message as a client sends it. */
interface ChatMessage {
  type: 'chat';
  username?: string;
  message: string;
}

/** What goes through Redis: the chat, and the instance it comes from. */
interface Published {
  origin: string;
  sender: string;
  message: string;
}

const wss = new WebSocketServer({ port });

/** Sends a relay to every client of *this* instance that is open, except `skip`. */
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
      // Bad input concerns this client alone: it is answered here and never published.
      socket.send(JSON.stringify({ type: 'error', message: chat }));
      return;
    }
    const sender = chat.username || 'Anonymous';
    // This instance's clients hear it at once, as in lesson 03, the sender excepted…
    broadcast(sender, chat.message, socket);
    // …and every other instance hears it through Redis. Pub/sub is fire-and-forget: an instance that
    // is down (or not subscribed yet) simply never gets this message.
    const published: Published = { origin: instanceId, sender, message: chat.message };
    publisher.publish(channel, JSON.stringify(published)).catch((error: Error) => console.error('publish failed:', error.message));
  });
});

subscriber.on('message', (_channel: string, text: string) => {
  const published = parsePublished(text);
  // Redis hands a message to every subscriber, the instance that published it included: that
  // instance's clients already have it, and the sender must not get it back.
  if (!published || published.origin === instanceId) return;
  broadcast(published.sender, published.message);
});

subscriber
  .subscribe(channel)
  .then(() => console.log(`instance ${instanceId} subscribed to ${channel}`))
  .catch((error: Error) => console.error('subscribe failed:', error.message));

wss.on('listening', () => console.log(`chat server listening on port ${port}`));

/**
 * Reads one incoming message. Returns the chat message, or a sentence saying what is wrong with it.
 * Every message is checked: it comes from outside, and a server that trusts it can be crashed by it.
 */
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

/** Reads what another instance published; anything else on the channel is ignored, not trusted. */
function parsePublished(text: string): Published | undefined {
  try {
    const value = JSON.parse(text) as Partial<Published> | null;
    if (typeof value?.origin === 'string' && typeof value.sender === 'string' && typeof value.message === 'string') {
      return { origin: value.origin, sender: value.sender, message: value.message };
    }
  } catch {
    // Not ours: something else published on the channel.
  }
  return undefined;
}
