import { createRequire } from 'node:module';
import type { MarkedExtension } from 'marked';

/** The options of marked-terminal this renderer passes: the styles of the pieces it keeps. */
export interface TerminalOptions {
  strong: (text: string) => string;
  em: (text: string) => string;
  del: (text: string) => string;
  html: (text: string) => string;
  text: (text: string) => string;
  emoji: boolean;
}

/** What rendering needs beyond marked itself. */
export interface Deps {
  markedTerminal: (options: TerminalOptions) => MarkedExtension;
  /** Columns a string takes in a terminal: ANSI codes count 0, wide characters and emoji 2. */
  stringWidth: (text: string) => number;
}

let loaded: Deps | undefined;

/**
 * The compiled CLI finds beside itself a build of marked-terminal without highlight.js and the emoji
 * table (scripts/build.mjs), which this renderer never calls: a sixteenth of the package's own file to
 * load. Run from the sources, there is none, and the package is loaded as it is.
 */
function slimMarkedTerminal(require: NodeJS.Require): string | undefined {
  try {
    return require.resolve('./marked-terminal.cjs');
  } catch {
    return undefined;
  }
}

/**
 * Loads marked-terminal and string-width, once, on the first render. marked-terminal brings
 * highlight.js in with it, whatever it is asked to do: loaded on import, it would slow every command,
 * not only the ones that show a lesson. Its CommonJS build is one file, quicker to load than the ES
 * module's tree. string-width measures columns (wide characters, emoji) as a terminal draws them.
 */
export function deps(): Deps {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    const terminalPath = slimMarkedTerminal(require) ?? require.resolve('marked-terminal');
    loaded = {
      markedTerminal: (require(terminalPath) as { markedTerminal: Deps['markedTerminal'] }).markedTerminal,
      stringWidth: require('string-width') as Deps['stringWidth'],
    };
  }
  return loaded;
}
