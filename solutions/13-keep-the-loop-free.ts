// Lesson 13 — Keep the event loop free: heavy work in a pool of worker threads, answers matched to
// their requests, and no more work accepted than the pool can take. One file, run twice: as the
// server in the main thread, and as each worker, in a thread of its own.
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { WebSocket, WebSocketServer } from 'ws';

// Stryker disable all: nthPrime is the starter's, as it was given; mutants of it would only be slower.
/** The n-th prime (nthPrime(1) is 2), found the slow way on purpose: it stands for any heavy work. */
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
// Stryker restore all

if (!isMainThread) {
  // A worker: it computes one n at a time, and posts the prime back. It knows nothing of sockets.
  parentPort!.on('message', (n: number) => parentPort!.postMessage(nthPrime(n)));
} else {
  serve();
}

/** A prime request accepted, and what to do with its answer. */
interface Job {
  n: number;
  answer: (prime: number) => void;
}

function serve(): void {
  const port = Number(process.env.PORT ?? 8080);
  const poolSize = Number(process.env.POOL_SIZE ?? 4);
  const queueLimit = Number(process.env.QUEUE_LIMIT ?? 8);
  const primeLimit = Number(process.env.PRIME_LIMIT ?? 50_000);

  // The pool, started once: starting a thread costs far more than one request's work.
  const workers = Array.from({ length: poolSize }, () => new Worker(new URL(import.meta.url)));
  const idle = [...workers];
  // Each worker computes one job at a time, so the job a worker is running is the one its next
  // message answers: no ids travel to the worker, and clients' ids can never mix.
  const running = new Map<Worker, Job>();
  const queue: Job[] = [];

  const start = (worker: Worker, job: Job) => {
    running.set(worker, job);
    worker.postMessage(job.n);
  };
  for (const worker of workers) {
    worker.on('message', (prime: number) => {
      running.get(worker)!.answer(prime);
      running.delete(worker);
      // The worker that just finished takes the oldest job waiting, or waits itself.
      const next = queue.shift();
      if (next) start(worker, next);
      else idle.push(worker);
    });
  }

  const wss = new WebSocketServer({ port });

  wss.on('connection', (socket) => {
    socket.on('error', (error) => console.error(`a client's connection failed: ${error.message}`));
    const reply = (answer: object) => {
      // The client may have left while its prime was computed.
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(answer));
    };

    socket.on('message', (data, isBinary) => {
      let request: unknown;
      try {
        request = isBinary ? undefined : JSON.parse(data.toString());
      } catch {
        // Not JSON: answered below, like anything else that is not a request.
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request)) {
        return reply({ type: 'error', message: 'A request is a JSON object, sent as text.' });
      }
      // Any JSON value is an id, null, 0 and "" too: the client chose it, and gets it back as it is.
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
      // Validated first, then limited: a bad request never takes a place.
      if (running.size + queue.length >= poolSize + queueLimit) return reply({ type: 'busy', id });

      const job: Job = { n, answer: (prime) => reply({ type: 'prime', id, prime }) };
      const worker = idle.pop();
      if (worker) start(worker, job);
      else queue.push(job);
    });
  });

  // A deploy sends SIGTERM. A worker keeps the process alive like a server does: end both.
  process.on('SIGTERM', () => {
    wss.close();
    for (const worker of workers) void worker.terminate();
  });

  wss.on('listening', () => console.log(`listening on port ${port}, with ${poolSize} workers`));
}
