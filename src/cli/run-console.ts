/**
 * The learner's side of `wsw run`: lines in, transcript out. In a terminal it offers a prompt naming
 * the client that sends, with line editing and history, and keeps the prompt below whatever arrives;
 * in a pipe it reads lines plainly. Either way lines are handled one at a time, in order, so
 * `/connect` followed by a line sends that line from the new client.
 */
import readline from 'node:readline';
import type { Palette } from '../../verify/harness/report.ts';

/** Where the run's own lines go (help, errors, notes): printed as they are, without a prefix. */
export interface RunOutput {
  print: (line: string) => void;
  colour: Palette;
}

export interface RunConsoleOptions {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
  /** What the prompt says, asked again before each prompt (the current client changes). */
  prompt: () => string;
  /** Ctrl-C typed at the prompt (in a terminal, readline takes it before the process sees SIGINT). */
  onInterrupt: () => void;
}

/** Lines typed or piped into a run, and the lines printed back. */
export class RunConsole {
  /** True when both ends are a terminal: a prompt is drawn and kept below the output. */
  readonly interactive: boolean;
  private lines?: readline.Interface;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private endedResolve!: () => void;
  /** Resolves once the input has ended (Ctrl-D, end of a pipe) and every line read has been handled. */
  readonly ended = new Promise<void>((resolve) => (this.endedResolve = resolve));

  constructor(private readonly options: RunConsoleOptions) {
    this.interactive = Boolean(options.input.isTTY && options.output.isTTY);
  }

  /** Prints one line; in a terminal, above the prompt and whatever is being typed. */
  print(line: string): void {
    const { output } = this.options;
    if (!this.lines || !this.interactive || this.closed) {
      output.write(`${line}\n`);
      return;
    }
    readline.clearLine(output, 0);
    readline.cursorTo(output, 0);
    output.write(`${line}\n`);
    this.showPrompt(true);
  }

  /** Starts reading lines; each is handed to `handle` once the one before it is done. */
  start(handle: (line: string) => Promise<void>): void {
    const lines = readline.createInterface({ input: this.options.input, output: this.interactive ? this.options.output : undefined, terminal: this.interactive });
    this.lines = lines;
    lines.on('line', (line) => {
      this.queue = this.queue
        .then(async () => {
          // Lines still queued when the run ends (a pipe reads far ahead) are dropped, not sent into a teardown.
          if (this.closed) return;
          await handle(line);
        })
        // One line gone wrong must not stop the lines after it.
        .catch((error: unknown) => this.print(`! ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => this.showPrompt(false));
    });
    lines.on('SIGINT', () => this.options.onInterrupt());
    lines.once('close', () => void this.queue.then(() => this.endedResolve()));
    this.showPrompt(false);
  }

  /** Stops reading and gives the terminal back as it was (readline's raw mode off). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.interactive) {
      readline.clearLine(this.options.output, 0);
      readline.cursorTo(this.options.output, 0);
    }
    this.lines?.close();
  }

  private showPrompt(keepTyping: boolean): void {
    if (!this.lines || !this.interactive || this.closed) return;
    this.lines.setPrompt(this.options.prompt());
    this.lines.prompt(keepTyping);
  }
}
