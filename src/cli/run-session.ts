/**
 * The session behind one `wsw run`: the verifier's own, so that servers start exactly as verify
 * starts them, except that the learner's shell has the last word on their environment (see
 * run-env.ts) and the banner says which values are theirs.
 */
import path from 'node:path';
import type { Lesson, Timeouts } from '../../lessons/manifest.ts';
import { freePort } from '../../verify/harness/ports.ts';
import { Verification, type RunningServer, type StartOptions } from '../../verify/harness/session.ts';
import type { Transcript } from '../../verify/harness/transcript.ts';
import { describeEnv, learnerEnv, learnerPort, slowerTimersTip, withLearnerValues, type ShellEnv } from './run-env.ts';

/** A Verification whose servers take the learner's values from their shell. */
export class RunSession extends Verification {
  /** The environment each server was started with (beyond PORT), the learner's values in. */
  readonly envOf = new Map<RunningServer, Record<string, string>>();
  /** The lines that replace the next start's banner, which knows nothing of the learner's values. */
  private banner?: string[];
  /** True once a server has taken the learner's PORT: the next one needs a port of its own. */
  private portTaken = false;
  /** True once the tip about short timers has been given. */
  private tipGiven = false;

  constructor(
    lesson: Lesson,
    file: string,
    transcript: Transcript,
    timeouts: Timeouts,
    private readonly shell: ShellEnv,
  ) {
    super(withLearnerValues(lesson, shell), file, transcript, timeouts);
  }

  /** Starts a server as verify does, with the learner's values (and PORT, for the first server). */
  override async start(options: StartOptions = {}): Promise<RunningServer> {
    const lines: string[] = [];
    const asked = this.portTaken ? undefined : learnerPort(this.shell);
    const theirPort = asked && 'port' in asked ? asked.port : undefined;
    const port = theirPort ?? options.port ?? (await freePort());
    const given = { ...this.lessonEnv, ...options.env };
    const values = learnerEnv(given, new Set(Object.keys(this.lesson.env ?? {})), this.shell);
    const name = options.name ?? 'your server';
    lines.push(`Starting ${name}: ${shownPath(this.file)} with ${describeEnv(port, theirPort !== undefined, values)}`);
    if (asked) {
      this.portTaken = true;
      lines.push('port' in asked ? `PORT is set in your shell, so ${name} listens on ${port}, not on a free port run picks: unset PORT to let run choose.` : asked.unusable);
    }
    const tip = this.tipGiven ? undefined : slowerTimersTip(this.lesson, this.shell);
    if (tip) lines.push(tip);
    this.tipGiven = true;
    this.banner = lines;
    try {
      const server = await super.start({ ...options, port, env: values.env });
      this.envOf.set(server, values.env);
      return server;
    } finally {
      this.banner = undefined;
    }
  }

  /** The first line a start writes is its banner: ours takes its place, with the learner's values marked. */
  override note(text: string): void {
    const banner = this.banner;
    if (banner && text.startsWith('Starting ')) {
      this.banner = undefined;
      for (const line of banner) super.note(line);
      return;
    }
    super.note(text);
  }
}

/** `./websocket-workshop/05-heartbeat.ts` under the current folder, the absolute path elsewhere. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : `./${relative}`;
}
