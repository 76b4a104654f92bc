import type { RendererObject, Tokens } from 'marked';
import type { Styles } from './styles.ts';
import { CODE_SPACE } from './wrap.ts';

/**
 * Control characters from the Markdown (ESC above all) would let a text drive the terminal: colours,
 * hyperlinks, titles. They are dropped; tab and line feed stay.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00A0' };

/** Plain text as Markdown meant it: entities decoded, control characters dropped. */
export function plain(text: string): string {
  // Decoded first, so that `&#27;` cannot bring an ESC back in.
  return stripControl(text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, decodeEntity));
}

/** Text without the control characters that could drive the terminal. */
export function stripControl(text: string): string {
  return text.replace(CONTROL, '');
}

function decodeEntity(entity: string, name: string): string {
  if (name[0] !== '#') return ENTITIES[name.toLowerCase()] ?? entity;
  const hex = name[1] === 'x' || name[1] === 'X';
  const code = Number.parseInt(name.slice(hex ? 2 : 1), hex ? 16 : 10);
  return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
}

/**
 * The inline pieces marked-terminal gets wrong here. Its `text` drops the inline tokens of a tight
 * list item (`**R1**` came out with its stars), its links become OSC 8 hyperlinks whatever the
 * colour, its line breaks cannot be told from the line ends of the source, and its inline code has
 * no mark without colour. Strong, emphasis, strike-through and checkboxes stay marked-terminal's.
 */
export function inlineRenderers(styles: Styles): RendererObject {
  return {
    text(token: Tokens.Text | Tokens.Escape) {
      if ('tokens' in token && token.tokens) return this.parser.parseInline(token.tokens);
      // A line end inside a paragraph is a space: the source's lines are joined, never glued.
      return plain(token.text).replace(/[ \t]*\n[ \t]*/g, ' ');
    },
    codespan(token: Tokens.Codespan) {
      // Inside code an entity is literal text, as in CommonMark.
      return styles.codespan(stripControl(token.text).replace(/[\t\n ]/g, CODE_SPACE));
    },
    br() {
      return '\n';
    },
    link(token: Tokens.Link) {
      const text = this.parser.parseInline(token.tokens);
      const href = plain(token.href);
      // An address written out as such (an autolink) is shown once.
      if (token.text === token.href || `mailto:${token.text}` === token.href) return styles.href(text);
      return `${text} (${styles.href(href)})`;
    },
    image(token: Tokens.Image) {
      const alt = plain(token.text);
      return `${alt ? `[${alt}] ` : ''}(${styles.href(plain(token.href))})`;
    },
  };
}
