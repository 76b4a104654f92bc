import type { RendererObject, Token, Tokens } from 'marked';
import { stripControl } from './inline.ts';
import type { Styles } from './styles.ts';
import { renderTable } from './table.ts';
import { blockWidth, foldCode, wrap } from './wrap.ts';

/** Columns a code block is indented by, inside whatever holds it. */
const CODE_INDENT = 4;
/** Columns a top-level list is indented by; a nested list starts under its parent item's text. */
const LIST_INDENT = 2;
const BULLETS = ['•', '◦', '▪'];
const QUOTE_BAR = '│';

/** The columns left for text where the renderer is now: less inside each list item and quote. */
export interface Room {
  width: number;
  depth: number;
}

/**
 * The block pieces marked-terminal gets wrong here, all for one reason: it does not know how wide
 * the text may be where it is. Asked to wrap, it wraps everything to one width, counting characters
 * rather than columns and cutting words, and leaves list items unwrapped: lists, quotes and tables
 * overflow. Here each block wraps to the room left where it stands, and is returned with the blank
 * line that separates it from the next.
 */
export function blockRenderers(styles: Styles, room: Room): RendererObject {
  // A block with nothing to show (a paragraph of HTML comments) leaves no blank line behind either.
  const section = (lines: string[]): string =>
    lines.every((line) => line.trim() === '') ? '' : `${lines.map((line) => line.trimEnd()).join('\n')}\n\n`;
  const within = <T>(width: number, depth: number, body: () => T): T => {
    const saved = { ...room };
    room.width = Math.max(1, width);
    room.depth = depth;
    try {
      return body();
    } finally {
      Object.assign(room, saved);
    }
  };

  return {
    space() {
      return '';
    },
    paragraph(token: Tokens.Paragraph) {
      return section(wrap(this.parser.parseInline(token.tokens), room.width));
    },
    heading(token: Tokens.Heading) {
      const prefix = token.depth > 2 ? `${'#'.repeat(token.depth)} ` : '';
      const lines = wrap(prefix + this.parser.parseInline(token.tokens), room.width);
      const heading = lines.map((line) => styles.heading(token.depth, line));
      if (token.depth > 2) return section(heading);
      const rule = (token.depth === 1 ? '═' : '─').repeat(blockWidth(lines));
      return section([...heading, styles.underline(token.depth, rule)]);
    },
    hr() {
      return section([styles.decoration('─'.repeat(room.width))]);
    },
    code(token: Tokens.Code) {
      const indent = ' '.repeat(Math.min(CODE_INDENT, room.width - 1));
      const lines = commentsAbove(stripControl(token.text).split('\n').map(expandTabs), room.width - indent.length)
        .flatMap((line) => foldCode(line.trimEnd(), room.width - indent.length));
      return section(lines.map((line) => (line === '' ? '' : indent + styles.code(line))));
    },
    html(token: Tokens.HTML | Tokens.Tag) {
      // A comment is a note for the authors, not text for the reader.
      const text = stripControl(token.text).replace(/<!--[\s\S]*?-->/g, '');
      if (!token.block) return styles.html(text.replace(/\s*\n\s*/g, ' '));
      if (text.trim() === '') return '';
      const lines = text.replace(/\n+$/, '').split('\n').map(expandTabs);
      return section(lines.flatMap((line) => foldCode(line.trimEnd(), room.width)).map((line) => styles.html(line)));
    },
    blockquote(token: Tokens.Blockquote) {
      const body = within(room.width - 2, room.depth, () => this.parser.parse(token.tokens));
      const bar = styles.decoration(QUOTE_BAR);
      return section(trimBlock(body).map((line) => (line === '' ? bar : `${bar} ${line}`)));
    },
    list(token: Tokens.List) {
      const start = token.start === '' ? 1 : token.start;
      const bullet = BULLETS[room.depth % BULLETS.length]!;
      const markers = token.items.map((_, i) => (token.ordered ? `${start + i}.` : bullet));
      const markerWidth = blockWidth(markers);
      const indent = room.depth === 0 ? LIST_INDENT : 0;
      const textColumn = indent + markerWidth + 1;
      const lines = token.items.flatMap((item, i) => {
        const body = within(room.width - textColumn, room.depth + 1, () => itemBody(item, (tokens) => this.parser.parse(tokens)));
        const marker = styles.decoration(markers[i]!.padStart(markerWidth));
        return body.map((line, j) =>
          j === 0 ? `${' '.repeat(indent)}${marker} ${line}` : line === '' ? '' : ' '.repeat(textColumn) + line,
        );
      });
      return section(lines);
    },
    table(token: Tokens.Table) {
      const inline = (cell: Tokens.TableCell): string => this.parser.parseInline(cell.tokens);
      const cells = { header: token.header.map(inline), rows: token.rows.map((row) => row.map(inline)), align: token.align };
      return section(renderTable(cells, room.width, styles).split('\n'));
    },
  };
}

/**
 * The lines of a list item: its blocks one under the other. A blank line stands between two of them
 * only where the source has one (a code block set off from the text around it), never between
 * items, so that an item reads as one. A tight item's text comes as bare `text` tokens, rendered
 * (and wrapped) here as the paragraphs they are.
 */
function itemBody(item: Tokens.ListItem, parse: (tokens: Token[]) => string): string[] {
  const lines: string[] = [];
  let blank = false;
  // A tight task item's checkbox comes as a token of its own: it goes in front of the text after it.
  let checkbox: Token[] = [];
  for (const token of item.tokens) {
    if (token.type === 'space') {
      blank = lines.length > 0;
      continue;
    }
    if (token.type === 'checkbox') {
      checkbox = [token];
      continue;
    }
    const block = token.type === 'text' ? { ...token, type: 'paragraph', tokens: [...checkbox, ...(token.tokens ?? [{ ...token }])] } : token;
    checkbox = [];
    const rendered = parse([block as Token]);
    if (rendered === '') continue;
    if (blank) lines.push('');
    lines.push(...trimBlock(rendered));
    // Some blocks (a table) take the blank line after them into their own source.
    blank = /\n[ \t]*\n$/.test(token.raw);
  }
  return lines.length > 0 ? lines : [''];
}

/** A rendered block's lines, without the blank lines around it. */
function trimBlock(text: string): string[] {
  return text.replace(/^\n+|\n+$/g, '').split('\n');
}

/** Tabs become spaces up to the next multiple of four: a tab's width is the terminal's guess. */
function expandTabs(line: string): string {
  let column = 0;
  return line.replace(/[^\t]*\t|[^\t]+$/g, (run) => {
    if (!run.endsWith('\t')) return run;
    const text = run.slice(0, -1);
    column += text.length;
    const pad = 4 - (column % 4);
    column += pad;
    return text + ' '.repeat(pad);
  });
}

/** A code line that ends in a comment after a space or more: `wsw run   # starts it`, `f(); // why`. */
const TRAILING_COMMENT = /^(\s*)(\S.*?)(\s+)((?:#|\/\/) .*)$/;
/** Columns a folded comment needs beside its code to stay readable; with fewer it goes above. */
const COMMENT_ROOM = 24;

/**
 * A comment too wide for the terminal is folded under itself (see foldCode), unless it starts so far
 * right that little room is left: after the long `node …/websocket-workshop.js` form of `wsw`, say.
 * Then every commented line of the block gets its comment on a line of its own, above it, so the
 * block's comments stay alike and no command is folded in the middle.
 */
export function commentsAbove(lines: string[], width: number): string[] {
  const cramped = lines.some((line) => {
    const match = TRAILING_COMMENT.exec(line.trimEnd());
    if (!match || line.trimEnd().length <= width) return false;
    return width - (match[1]!.length + match[2]!.length + match[3]!.length) < COMMENT_ROOM;
  });
  if (!cramped) return lines;
  return lines.flatMap((line) => {
    const match = TRAILING_COMMENT.exec(line.trimEnd());
    return match ? [match[1]! + match[4]!, match[1]! + match[2]!] : [line];
  });
}
