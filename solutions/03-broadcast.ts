// Lesson 03 — broadcast: a chat room. Each chat message goes to every other client that is open.
import { WebSocketServer, WebSocket, type RawData } from 'ws';

const port = Number(process.env.PORT ?? 8080);
const wss = new WebSocketServer({ port });

/** A chat message as a client sends it. */
interface ChatMessage {
  type: 'chat';
  username?: string;
  message: string;
}

/**
 * Reads one incoming message. Returns the chat message, or a sentence saying what is wrong with it.
 * Every message is checked: it comes from outside, and a server that trusts it can be crashed by it.
 */
function parseChat(data: RawData): ChatMessage | string {
  let value: unknown;
  try {
    value = JSON.parse(data.toString());
  } catch {
    // Without this catch, one client typing nonsense would stop the server for everybody.
    return 'Not valid JSON.';
  }
  // JSON.parse also accepts null, numbers and arrays: make sure there are fields to read first.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'Expected a JSON object.';
  const { type, username, message } = value as Record<string, unknown>;
  if (type !== 'chat') return 'Unknown type: use "chat".'; // not String(type): String({ toString: null }) throws
  if (typeof message !== 'string') return 'message must be a string.';
  if (username !== undefined && typeof username !== 'string') return 'username must be a string.';
  return { type, username, message };
}

wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const chat = parseChat(data);
    if (typeof chat === 'string') {
      // The error concerns this client alone: answer on its socket, relay nothing, stay up.
      socket.send(JSON.stringify({ type: 'error', message: chat }));
      return;
    }
    // A new object, not the text as it came: clients see only the fields the protocol promises.
    const relay = JSON.stringify({ type: 'chat', sender: chat.username || 'Anonymous', message: chat.message });

    // ws sends nothing to anyone by itself: broadcasting is this loop.
    for (const client of wss.clients) {
      // Skip the sender (it knows what it said), and any socket that is not OPEN: a client that is
      // closing stays in wss.clients until its closing handshake is over.
      if (client !== socket && client.readyState === WebSocket.OPEN) client.send(relay);
    }
  });
});

wss.on('listening', () => console.log(`chat server listening on port ${port}`));
