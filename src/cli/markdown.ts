import { Marked } from 'marked';
import { blockRenderers } from './markdown/blocks.ts';
import { deps } from './markdown/deps.ts';
import { inlineRenderers } from './markdown/inline.ts';
import { createStyles } from './markdown/styles.ts';

/** How to render: the columns the text may take, and whether the terminal shows colour. */
export interface RenderOptions {
  width: number;
  colour: boolean;
}

/** Below this many columns a list item's text would have no room at all. */
const MIN_WIDTH = 20;

/**
 * Renders Markdown (a lesson's problem.md) as text for a terminal: marked parses it, marked-terminal
 * renders it, with the pieces that must know the width (paragraphs, headings, lists, code, quotes,
 * tables) and a few inline ones replaced.
 *
 * No line is wider than `width` columns (20 at least), and none ends in spaces. Prose is wrapped at
 * spaces, the source's lines joined; a word wider than a whole line, such as a long URL, is broken
 * across lines, after a slash or a comma where it can be. Code blocks keep their lines, indented; a
 * line too wide is folded (a comment into more comment lines, anything else marked `↪`). Tables wrap
 * their cells to fit. Without colour the output holds no escape sequence at all, and inline code
 * keeps its backticks (strong and emphasis their stars); with colour, ANSI styles mark them instead.
 * Links show their address in brackets, never as terminal hyperlinks. The text ends with exactly
 * one newline.
 */
export function renderMarkdown(markdown: string, options: RenderOptions): string {
  const styles = createStyles(options.colour);
  const width = Number.isFinite(options.width) ? Math.floor(options.width) : 80;
  const room = { width: Math.max(MIN_WIDTH, width), depth: 0 };
  const marked = new Marked({ gfm: true, async: false });
  marked.use(
    deps().markedTerminal({
      strong: styles.strong,
      em: styles.em,
      del: styles.del,
      html: styles.html,
      text: (text) => text,
      // `:tick:` in a lesson is text, not an emoji.
      emoji: false,
    }),
  );
  marked.use({ renderer: { ...inlineRenderers(styles), ...blockRenderers(styles, room) } });
  const out = marked.parse(markdown.replace(/\r\n?/g, '\n')) as string;
  return `${out.replace(/^\n+/, '').trimEnd()}\n`;
}
