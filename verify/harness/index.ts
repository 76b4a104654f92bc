// What lesson verifiers import. Plumbing (processes, ports, output) stays behind this line.
export { CannotJudge, VerifyFailure, fail, HarnessCodes, type FailureDetails } from './failure.ts';
export { Verification, type ClientConnectOptions, type ClientStartOptions, type DeathBlame, type LessonVerifier, type PrepareRun, type RunningServer, type StartOptions } from './session.ts';
export { TestClient, type CloseEvent, type ExpectOptions, type FrameLogging } from './client.ts';
export { defineRules, ruleOfCode, type Rule, type RuleId, type Rules } from './rules.ts';
export { describeCloseCode, describeFrame, formatBytes, previewText, type Frame } from './frames.ts';
export { ControlledServer, type Attempt, type Welcome } from './client-mode/controlled-server.ts';
export { ServerConnection, type ConnectionWaitOptions } from './client-mode/server-connection.ts';
export { RunningClient } from './client-mode/learner-client.ts';
