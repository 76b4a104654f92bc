import { TestClient, type ClientContext, type ExpectOptions } from './client.ts';
import type { ClientConnectOptions, Verification } from './session.ts';
import { Transcript, type Source, type TranscriptEntry } from './transcript.ts';

/**
 * Opens a named client whose received frames and close are written to the transcript when the
 * verifier *takes* them (with next, expectJson, expectClose, …), not when they arrive.
 *
 * When one server action reaches several clients at once (a broadcast, a close that others hear of,
 * a welcome that rides in the same TCP packet as the handshake), the order in which the operating
 * system delivers them changes from run to run, and so would a transcript written on arrival. Written
 * on reading, it follows the verifier's story, the same every run: what a golden transcript needs.
 * Whatever arrived and was never read is written out when a wait fails and at the end.
 */
export async function orderedClient(v: Verification, name: string, options: ClientConnectOptions = {}): Promise<TestClient> {
  const server = options.server ?? v.servers[0];
  if (!server) throw new Error('orderedClient() before start(): start the server first');
  const held = heldLinesOf(v);
  // Names are for people; this key tells two clients apart even if a lesson gives them the same name.
  const key = Symbol(name);
  const client = new OrderedClient(name, held, key, {
    transcript: new HoldingTranscript(v.transcript, held, key),
    stepTimeoutMs: v.timeouts.stepMs,
    programGone: v.programGone,
  });
  v.clients.push(client);
  v.defer(() => client.dispose());
  await client.connect(`${server.wsUrl}${options.path ?? '/'}`, options.ws);
  return client;
}

/** Lines held back for every ordered client of one verification, in the order they arrived. */
class HeldLines {
  private readonly lines: Array<{ client: symbol; source: Source; text: string; tone?: TranscriptEntry['tone'] }> = [];

  constructor(private readonly transcript: Transcript) {}

  hold(client: symbol, source: Source, text: string, tone?: TranscriptEntry['tone']): void {
    this.lines.push({ client, source, text, tone });
  }

  /** Writes the oldest line held for `client`: the one for the item the verifier just took. */
  releaseOne(client: symbol): void {
    const index = this.lines.findIndex((l) => l.client === client);
    if (index === -1) return;
    this.write(this.lines.splice(index, 1));
  }

  /** Writes every line still held, in arrival order. */
  releaseAll(): void {
    this.write(this.lines.splice(0));
  }

  private write(lines: HeldLines['lines']): void {
    for (const { source, text, tone } of lines) this.transcript.add(source, text, tone);
  }
}

const heldByVerification = new WeakMap<Verification, HeldLines>();

function heldLinesOf(v: Verification): HeldLines {
  let held = heldByVerification.get(v);
  if (!held) {
    const created = new HeldLines(v.transcript);
    held = created;
    heldByVerification.set(v, created);
    // Registered once, before any client's own cleanup: teardown runs cleanups in reverse order.
    v.defer(() => created.releaseAll());
  }
  return held;
}

/**
 * What TestClient writes for each item it puts in its inbox: a received frame ("← text …",
 * "← binary …"), a close frame ("← close …") or a dropped connection ("✂ connection dropped …").
 * Everything else (what it sends, "connected", pings, errors) is written at once.
 */
function isInboxLine(text: string): boolean {
  return /^← (text|binary|close) /.test(text) || text.startsWith('✂ connection dropped');
}

/** A transcript in front of the real one that holds back the lines of inbox items. */
class HoldingTranscript extends Transcript {
  constructor(
    private readonly target: Transcript,
    private readonly held: HeldLines,
    private readonly key: symbol,
  ) {
    super();
  }

  override add(source: Source, text: string, tone?: TranscriptEntry['tone']): void {
    if (isInboxLine(text)) this.held.hold(this.key, source, text, tone);
    else this.target.add(source, text, tone);
  }
}

/**
 * A TestClient that releases one held line each time the verifier takes an item from its inbox, and
 * all of them when an expectation fails.
 */
class OrderedClient extends TestClient {
  constructor(
    name: string,
    private readonly held: HeldLines,
    private readonly key: symbol,
    context: ClientContext,
  ) {
    super(name, context);
  }

  override async next(awaiting: string, options: ExpectOptions = {}): ReturnType<TestClient['next']> {
    try {
      const item = await super.next(awaiting, options);
      this.held.releaseOne(this.key);
      return item;
    } catch (error) {
      // A wait that fails shows everything that did arrive, so the failure can be understood.
      this.held.releaseAll();
      throw error;
    }
  }

  override async expectSilence(ms: number, failure: Parameters<TestClient['expectSilence']>[1]): Promise<void> {
    try {
      await super.expectSilence(ms, failure);
    } catch (error) {
      // The frame that broke the silence was never taken: show it before the verdict.
      this.held.releaseAll();
      throw error;
    }
  }
}
