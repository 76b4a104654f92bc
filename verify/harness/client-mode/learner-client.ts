import { HarnessCodes, VerifyFailure } from '../failure.ts';
import { previewText } from '../frames.ts';
import type { LearnerProgram } from '../program.ts';
import type { Transcript } from '../transcript.ts';
import type { Attempt, ControlledServer } from './controlled-server.ts';

/** How long after a connection to another port the verdict waits for one to the right port. */
const WRONG_PORT_GRACE_MS = 300;

/** A learner's client, started against the verifier's server. */
export class RunningClient {
  constructor(
    readonly program: LearnerProgram,
    readonly server: ControlledServer,
    /** The SERVER_URL it was given. */
    readonly url: string,
    private readonly transcript: Transcript,
  ) {}

  /** Types a line on the client's stdin, shown in the transcript as typed. */
  writeLine(text: string): void {
    this.transcript.add({ kind: 'client', name: 'stdin' }, `⌨ ${previewText(text)}`);
    this.program.writeLine(text);
  }
}

/**
 * Waits for the client's first attempt at the server: that is when a client is ready, as a server is
 * when it listens. Fails with the program's exit when it exits first, and with NEVER_CONNECTED when no
 * attempt comes within `timeoutMs`, or soon after it opened a connection to another port instead.
 */
export async function firstAttempt(client: RunningClient, timeoutMs: number, after = 0): Promise<Attempt> {
  const { program, server } = client;
  const deadline = Date.now() + timeoutMs;
  let elsewhereSince: number | undefined;
  for (;;) {
    const attempt = server.attempts[after];
    if (attempt) return attempt;
    if (program.exitInfo) throw program.exitFailure('before it connected');
    const elsewhere = program.connects.find((r) => r.type === 'tcp-connect' && r.port !== server.port);
    if (elsewhere) elsewhereSince ??= Date.now();
    if (elsewhere && Date.now() - elsewhereSince! >= WRONG_PORT_GRACE_MS) {
      throw new VerifyFailure({
        code: HarnessCodes.NEVER_CONNECTED,
        expected: `your client to connect to ${client.url} (the SERVER_URL environment variable)`,
        actual: `it connected to port ${elsewhere.port ?? 'unknown'} instead`,
        hint: 'Do not hard-code the address: connect to process.env.SERVER_URL, exactly as it is given. The verifier picks a free port each run.',
      });
    }
    if (Date.now() >= deadline) {
      throw new VerifyFailure({
        code: HarnessCodes.NEVER_CONNECTED,
        message: `Your client did not connect to ${client.url} within ${timeoutMs} ms.`,
        hint: 'A client must open a WebSocket to process.env.SERVER_URL as soon as it starts: new WebSocket(process.env.SERVER_URL). Check that nothing before it waits forever.',
      });
    }
    await Promise.race([program.exited, server.changed(Math.min(40, deadline - Date.now()))]);
  }
}
