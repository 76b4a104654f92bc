import { TestClient } from './client.ts';
import type { ClientConnectOptions, Verification } from './session.ts';
import { Transcript } from './transcript.ts';

/**
 * Opens a named client whose frames are not written to the transcript: for the crowds a lesson needs
 * (dozens of clients coming and going, a load test) whose every frame would drown the story. It is a
 * full TestClient otherwise: its expectations fail with its name, it waits no longer than a step, it
 * stops waiting when the learner's program dies, and it is released at the end of the verification.
 * The verifier says in a note what the crowd did, so the transcript still tells it.
 */
export async function quietClient(v: Verification, name: string, options: ClientConnectOptions = {}): Promise<TestClient> {
  const server = options.server ?? v.servers[0];
  if (!server) throw new Error('quietClient() before start(): start the server first');
  // A transcript of its own that nobody reads: the client logs as usual, and nothing is shown.
  const client = new TestClient(name, {
    transcript: new Transcript(),
    stepTimeoutMs: v.timeouts.stepMs,
    programGone: v.programGone,
  });
  v.defer(() => client.dispose());
  await client.connect(`${server.wsUrl}${options.path ?? '/'}`, options.ws);
  return client;
}
