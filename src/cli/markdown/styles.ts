import pc from 'picocolors';

type Style = (text: string) => string;

/** How each piece of a lesson text is marked: with ANSI colours, or with plain characters only. */
export interface Styles {
  colour: boolean;
  strong: Style;
  em: Style;
  del: Style;
  /** Inline code. Without colour its backticks stay: code must stand out from the prose around it. */
  codespan: Style;
  /** One line of a code block. */
  code: Style;
  html: Style;
  heading: (depth: number, text: string) => string;
  /** The line drawn under a heading (`═` or `─`): a heading stays a heading without colour. */
  underline: (depth: number, text: string) => string;
  href: Style;
  /** The bar in front of a quoted line, the bullet or number of a list item, a rule, a table's border. */
  decoration: Style;
  tableHead: Style;
}

const same: Style = (text) => text;

/**
 * The styles for a terminal with or without colour. Without colour, inline marks stay as the
 * Markdown writes them (`code`, **strong**, *em*), so that nothing the author stressed is lost.
 */
export function createStyles(colour: boolean): Styles {
  if (!colour) {
    return {
      colour,
      strong: (text) => `**${text}**`,
      em: (text) => `*${text}*`,
      del: (text) => `~~${text}~~`,
      codespan: (text) => `\`${text}\``,
      code: same,
      html: same,
      heading: (_depth, text) => text,
      underline: (_depth, text) => text,
      href: same,
      decoration: same,
      tableHead: same,
    };
  }
  const c = pc.createColors(true);
  const headingColour = (depth: number): Style => (depth === 1 ? c.magenta : depth === 2 ? c.green : c.cyan);
  return {
    colour,
    strong: c.bold,
    em: c.italic,
    del: (text) => c.dim(c.strikethrough(text)),
    codespan: c.yellow,
    code: c.yellow,
    html: c.gray,
    heading: (depth, text) => c.bold(headingColour(depth)(text)),
    underline: (depth, text) => c.dim(headingColour(depth)(text)),
    href: (text) => c.blue(c.underline(text)),
    decoration: c.gray,
    tableHead: c.bold,
  };
}
