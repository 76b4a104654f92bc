// Lesson 13 — Keep the event loop free. Run `wsw print` to read the task again, `wsw verify` to check your work.
// This server answers every request correctly, and computes each prime on the main thread: while it
// does, every other client waits. Move the work to a pool of worker threads.
import { WebSocket, WebSocketServer } from 'ws';

/** The n-th prime (nthPrime(1) is 2), found the slow way on purpose: it stands for any heavy work. Keep it as it is. */
function nthPrime(n: number): number {
  let found = 0;
  for (let candidate = 2; ; candidate++) {
    let prime = true;
    for (let divisor = 2; divisor * divisor <= candidate; divisor++) {
      if (candidate % divisor === 0) {
        prime = false;
        break;
      }
    }
    if (prime && ++found === n) return candidate;
  }
}

// TODO: run this same file as a worker too: import { isMainThread, parentPort, Worker } from 'node:worker_threads'.
//       When isMainThread is false, only answer the main thread: parentPort.on('message', (n) => parentPort.postMessage(nthPrime(n))),
//       and start no server.
const port = Number(process.env.PORT ?? 8080);
const primeLimit = Number(process.env.PRIME_LIMIT ?? 50_000);
// TODO: start Number(process.env.POOL_SIZE) workers once, new Worker(new URL(import.meta.url)), and keep the idle ones in a list.
// TODO: keep a queue of the jobs waiting for a worker, and answer {"type":"busy","id":…} when POOL_SIZE + QUEUE_LIMIT are in flight.

const wss = new WebSocketServer({ port });

wss.on('connection', (socket) => {
  socket.on('error', (error) => console.error(`a client's connection failed: ${error.message}`));
  const reply = (answer: object) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(answer));
  };

  socket.on('message', (data, isBinary) => {
    let request: unknown;
    try {
      request = isBinary ? undefined : JSON.parse(data.toString());
    } catch {
      // Not JSON: answered below.
    }
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return reply({ type: 'error', message: 'A request is a JSON object, sent as text.' });
    }
    if (!('id' in request)) return reply({ type: 'error', message: 'A request needs an id.' });
    const { type, id, n, text } = request as Record<string, unknown>;

    if (type === 'echo') {
      if (typeof text !== 'string') return reply({ type: 'error', id, message: 'An echo needs a text.' });
      return reply({ type: 'echo', id, text });
    }
    if (type !== 'prime') return reply({ type: 'error', id, message: 'Unknown type: use "echo" or "prime".' });
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > primeLimit) {
      return reply({ type: 'error', id, message: `n must be an integer from 1 to ${primeLimit}.` });
    }
    // TODO: this line holds the event loop for as long as the prime takes. Give the job to an idle worker
    //       instead (or queue it), and reply when that worker's 'message' comes back.
    reply({ type: 'prime', id, prime: nthPrime(n) });
  });
});

// TODO: on SIGTERM, terminate every worker as well: a worker keeps the process alive, as a server does.
process.on('SIGTERM', () => wss.close());

wss.on('listening', () => console.log(`listening on port ${port}, computing on the main thread`));
