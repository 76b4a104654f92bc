/**
 * The one ordered list of lessons. Everything else — the menu, the CLI, the tests, the README's
 * lesson table — reads this list, and every path is derived from a lesson's slug (see src/paths.ts).
 * Add a lesson here only once its folder, solution and verifier exist: the suite checks that.
 */

/** Time limits a verifier works within. All values in milliseconds. */
export interface Timeouts {
  /** How long the learner's program may take to start listening on PORT. */
  startMs: number;
  /** How long one awaited thing (a reply, a close, a handshake) may take. */
  stepMs: number;
  /** A hard ceiling on the whole verification. */
  totalMs: number;
}

export interface Lesson {
  /** `NN-kebab-name`: the number gives the order, the rest names the folder and files. */
  slug: string;
  /** What the menu shows. */
  title: string;
  /** One line for the README's table and `list`. */
  summary: string;
  /** Progressive nudges, mildest first. A hint points the way; it never hands over the answer. */
  hints: string[];
  /**
   * Extra environment the verifier (and `run`) gives the learner's program, besides PORT.
   * problem.md names every variable listed here. Timers are shortened so a verdict comes quickly.
   */
  env?: Record<string, string>;
  /** Overrides of the default time limits. */
  timeouts?: Partial<Timeouts>;
}

/** Limits used when a lesson sets none. */
export const DEFAULT_TIMEOUTS: Timeouts = { startMs: 5000, stepMs: 2000, totalMs: 30000 };

export const lessons: readonly Lesson[] = [
  {
    slug: '01-http-vs-websocket',
    title: 'HTTP vs WebSocket',
    summary: 'One server, one port: answer an HTTP request, then push to a WebSocket without being asked.',
    hints: [
      'Create the HTTP server yourself with http.createServer, then hand it to the WebSocket server: new WebSocketServer({ server }). Both now share PORT.',
      'The HTTP handler answers GET /time once and ends the response; the WebSocket side starts a setInterval for each connection that is opened.',
      'Read the tick from process.env.TICK_MS (a number of milliseconds), and clearInterval when that socket closes, or the timer keeps sending to nobody.',
    ],
    env: { TICK_MS: '100' },
  },
  {
    slug: '02-echo-server',
    title: 'Echo server',
    summary: 'Send every message straight back: text as text, binary as binary, to the sender only.',
    hints: [
      "Listen for 'connection' on the server, then for 'message' on each socket it gives you. Reply on that same socket.",
      "In ws 8 the 'message' handler receives (data, isBinary). data is always a Buffer, even for text.",
      'Pass the flag back: socket.send(data, { binary: isBinary }). Without it, every echo leaves as a binary frame.',
    ],
    // An echo on loopback takes a millisecond; waiting longer only delays the verdict.
    timeouts: { stepMs: 1000 },
  },
];
