/**
 * A verdict of "fail", with everything a learner needs to act on it: a stable code (so tests and tools
 * can tell failures apart), what was expected and what happened, and a hint for the likely mistake.
 */
export interface FailureDetails {
  /** Stable, UPPER_SNAKE machine code, e.g. `ECHO_TEXT_BECAME_BINARY`. Never reworded. */
  code: string;
  /** What the verifier was looking for, e.g. `a text frame "hello"`. */
  expected?: string;
  /** What it got instead, e.g. `a binary frame (5 bytes)`. */
  actual?: string;
  /** Used instead of "Expected X, got Y" when the failure is not a comparison. */
  message?: string;
  /** What to change, in the learner's terms. */
  hint?: string;
  /** Extra lines shown under the message (a stack excerpt, say). */
  details?: string[];
}

/** Thrown by verifiers and the harness to fail a verification. Anything else thrown is a verifier bug. */
export class VerifyFailure extends Error {
  readonly code: string;
  readonly expected?: string;
  readonly actual?: string;
  hint?: string;
  readonly details: string[];
  /** Set by the session: the step that was running when this was thrown. */
  step?: string;

  constructor(details: FailureDetails) {
    super(
      details.message ??
        (details.expected !== undefined ? `Expected ${details.expected}, got ${details.actual ?? 'nothing'}` : details.code),
    );
    this.name = 'VerifyFailure';
    this.code = details.code;
    this.expected = details.expected;
    this.actual = details.actual;
    this.hint = details.hint;
    this.details = details.details ?? [];
  }
}

/**
 * Thrown when the verification cannot take place for a reason outside the learner's code: a tool the
 * lesson needs is missing (redis-server, say). The message says how to get it; `verify` exits 2.
 */
export class CannotJudge extends VerifyFailure {
  readonly cannotJudge = true;
}

/** Shorthand: `throw fail({ code, expected, actual, hint })`. */
export function fail(details: FailureDetails): VerifyFailure {
  return new VerifyFailure(details);
}

/**
 * Failure codes the harness itself raises, whatever the lesson. Lesson verifiers define their own,
 * prefixed by the lesson's topic (ECHO_*, HTTP_*, …).
 */
export const HarnessCodes = {
  /** The file to verify does not exist or is not a file. */
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  /** The program exited with an error before or while being verified. */
  PROGRAM_CRASHED: 'PROGRAM_CRASHED',
  /** The program exited with code 0 although a server must keep running. */
  PROGRAM_EXITED: 'PROGRAM_EXITED',
  /** The program never listened on PORT within the start timeout. */
  NEVER_LISTENED: 'NEVER_LISTENED',
  /** A client (client mode) never opened a connection to the verifier's server within the start timeout. */
  NEVER_CONNECTED: 'NEVER_CONNECTED',
  /** The program listened, but on another port than PORT. */
  WRONG_PORT: 'WRONG_PORT',
  /** A WebSocket connection could not be opened (refused, reset, timed out). */
  CONNECT_FAILED: 'CONNECT_FAILED',
  /** The server answered the upgrade request with something other than 101. */
  HANDSHAKE_REJECTED: 'HANDSHAKE_REJECTED',
  /** The server closed a connection while the verifier still expected something on it. */
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  /** The server kept sending messages nobody asked for, past what a client keeps. */
  FRAME_FLOOD: 'FRAME_FLOOD',
  /** The server sent a frame larger than the lesson allows. */
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  /** The server sent a text frame whose bytes are not UTF-8: binary data sent as text, most often. */
  TEXT_NOT_UTF8: 'TEXT_NOT_UTF8',
  /** Nothing arrived in time. */
  NO_REPLY: 'NO_REPLY',
  /** A step, or the whole verification, ran out of time. */
  TIMEOUT: 'TIMEOUT',
  /** The program did not stop on SIGTERM and had to be killed. Reported by lessons that ask for it. */
  IGNORED_SIGTERM: 'IGNORED_SIGTERM',
} as const;
