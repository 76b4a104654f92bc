/* eslint-disable no-control-regex -- these tests look for escape sequences */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { marked, type Token, type Tokens } from 'marked';
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../src/cli/markdown.ts';
import { commentsAbove } from '../src/cli/markdown/blocks.ts';
import { lessons } from '../src/lessons.ts';
import { lessonPaths, ROOT } from '../src/paths.ts';

const plain = (markdown: string, width = 80): string => renderMarkdown(markdown, { width, colour: false });
const coloured = (markdown: string, width = 80): string => renderMarkdown(markdown, { width, colour: true });

const SGR = /\x1b\[[0-9;]*m/g;
const BOLD = '\x1b[1m';
const YELLOW = '\x1b[33m';
const MARKER = /^\s*(?:[•◦▪]|\d+\.) /;
const TABLE_LINE = /^\s*[┌│├└]/;

/** The lines of a rendering, without its final newline. */
function linesOf(text: string): string[] {
  return text.replace(/\n$/, '').split('\n');
}

/**
 * Columns a line takes in a terminal, measured here on its own terms rather than with the renderer's
 * measure: ANSI codes none, combining marks and joiners none, emoji and East Asian wide characters two.
 */
function columns(line: string): number {
  let total = 0;
  for (const char of line.replace(SGR, '')) {
    const code = char.codePointAt(0)!;
    if (/\p{M}/u.test(char) || (code >= 0x200b && code <= 0x200d) || code === 0xfe0f) continue;
    const wide =
      /\p{Emoji_Presentation}/u.test(char) ||
      (code >= 0x1100 && code <= 0x115f) ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0x20000 && code <= 0x3fffd);
    total += wide ? 2 : 1;
  }
  return total;
}

/** Lines wider than `width`, or ending in whitespace: each a message naming the line. */
function layoutProblems(text: string, width: number): string[] {
  return linesOf(text).flatMap((line, i) => [
    ...(columns(line) > width ? [`line ${i + 1} is ${columns(line)} columns wide: ${line}`] : []),
    ...(/\s$/.test(line.replace(SGR, '')) ? [`line ${i + 1} ends in whitespace: ${JSON.stringify(line)}`] : []),
  ]);
}

/** The words of a text: its letters and digits, with every mark of Markdown or of layout left out. */
function wordsOf(text: string): string[] {
  return text.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

/** Every list token of a document, at any depth outside other lists. */
function topLevel(tokens: Token[], type: string): Token[] {
  return tokens.flatMap((token) => (token.type === type ? [token] : 'tokens' in token && token.tokens ? topLevel(token.tokens, type) : []));
}

/** Every table of a document, lists' items included, in order. */
function tablesOf(tokens: Token[]): Tokens.Table[] {
  const tables: Tokens.Table[] = [];
  marked.walkTokens(tokens, (token) => {
    if (token.type === 'table') tables.push(token as Tokens.Table);
  });
  return tables;
}

/**
 * The cells of each table drawn in a rendering, read back from its borders: for each table, its rows
 * (header first), each cell's lines joined. Rows end at a border line; in a table with no border
 * between its body's rows, each line of the body is a row.
 */
function drawnTables(text: string): string[][][] {
  const blocks: string[][] = [];
  let block: string[] | undefined;
  for (const line of linesOf(text.replace(SGR, ''))) {
    if (!TABLE_LINE.test(line)) block = undefined;
    else if (line.trim().startsWith('┌')) blocks.push((block = []));
    else block?.push(line.trim());
  }
  return blocks.map((lines) => {
    const compact = lines.filter((line) => line.startsWith('├')).length <= 1;
    const rows: string[][][] = [[]];
    for (const line of lines) {
      if (/^[├└]/.test(line) || (compact && rows.length > 1 && rows.at(-1)!.length > 0)) rows.push([]);
      if (/^[├└]/.test(line)) continue;
      line
        .slice(1, -1)
        .split('│')
        .forEach((cell, c) => (rows.at(-1)![c] ??= []).push(cell.trim()));
    }
    return rows.filter((row) => row.length > 0).map((row) => row.map((cell) => cell.join(' ')));
  });
}

describe('renderMarkdown: wrapping', () => {
  const prose =
    'A WebSocket is one TCP connection, kept open. It starts as an ordinary HTTP request that asks to upgrade; ' +
    'once the server agrees, HTTP is over on that connection.';

  it('wraps prose to the width at spaces, every word whole and in order', () => {
    const out = plain(prose, 30);
    expect(layoutProblems(out, 30)).toEqual([]);
    expect(linesOf(out).length).toBeGreaterThan(3);
    expect(linesOf(out).join(' ').split(' ')).toEqual(prose.split(' '));
  });

  it('fills each line: a line is broken only where the next word would not fit', () => {
    const lines = linesOf(plain(prose, 30));
    for (let i = 0; i + 1 < lines.length; i++) {
      expect(columns(lines[i]!) + 1 + columns(lines[i + 1]!.split(' ')[0]!)).toBeGreaterThan(30);
    }
  });

  it('joins the lines of a paragraph with a space, never gluing words together', () => {
    expect(plain('the client must\nget an answer,\n  and a second one')).toBe('the client must get an answer, and a second one\n');
  });

  it('keeps a hard line break', () => {
    expect(plain('first line  \nsecond line\\\nthird line')).toBe('first line\nsecond line\nthird line\n');
  });

  it('counts emoji and wide characters as two columns', () => {
    const out = plain(Array(12).fill('🍳').join(' '), 20);
    expect(layoutProblems(out, 20)).toEqual([]);
    // Seven take 7 × 2 + 6 spaces = 20 columns: counted as one column each, ten would have gone in.
    expect(linesOf(out)[0]).toBe(Array(7).fill('🍳').join(' '));
    expect(layoutProblems(plain('中文字符 '.repeat(20), 25), 25)).toEqual([]);
  });

  it('breaks a word only when it is wider than a whole line, on a line of its own, after a slash or dash', () => {
    const url = 'https://example.com/websocket-workshop/lessons/07-redis-scaling/problem';
    expect(linesOf(plain(`See ${url}`, 30))).toEqual([
      'See',
      'https://example.com/websocket-',
      'workshop/lessons/07-redis-',
      'scaling/problem',
    ]);
  });

  it('keeps a number with its unit on one line', () => {
    expect(linesOf(plain('ask who: plainly, with an extra field and spaces around it, and in 80 KiB.', 70))).toEqual([
      'ask who: plainly, with an extra field and spaces around it, and in',
      '80 KiB.',
    ]);
  });

  it('keeps a piece of inline code on one line when it fits', () => {
    const out = plain('Attach it with the one call `new WebSocketServer({ server })` and nothing else.', 40);
    expect(linesOf(out)).toContain('`new WebSocketServer({ server })` and');
  });

  it('leaves no line ending in whitespace', () => {
    const out = plain('Trailing spaces   \nhere.   \n\n-   \n- item   \n\n```\ncode   \n\n  more\n```\n\n> quote\n>\n> more\n');
    expect(layoutProblems(out, 80)).toEqual([]);
  });
});

describe('renderMarkdown: headings', () => {
  it('underlines the first two levels, and keeps the marks of the others, without colour', () => {
    expect(plain('# Echo server\n\n## Why it matters\n\n### Details\n\ntext')).toBe(
      'Echo server\n═══════════\n\nWhy it matters\n──────────────\n\n### Details\n\ntext\n',
    );
  });

  it('makes headings bold with colour', () => {
    const out = coloured('# Echo server\n\n## Why it matters');
    expect(out).toContain(BOLD);
    expect(out.replace(SGR, '')).toBe('Echo server\n═══════════\n\nWhy it matters\n──────────────\n');
  });
});

describe('renderMarkdown: lists', () => {
  it('marks items with bullets or numbers, indented', () => {
    expect(plain('- one\n- two')).toBe('  • one\n  • two\n');
    expect(plain('1. one\n2. two')).toBe('  1. one\n  2. two\n');
    expect(plain('3. three\n4. four')).toBe('  3. three\n  4. four\n');
  });

  it('aligns the numbers of a list of ten or more, and the text after them', () => {
    const source = Array.from({ length: 11 }, (_, i) => `${i + 1}. step`).join('\n');
    const lines = linesOf(plain(source));
    expect(lines[8]).toBe('   9. step');
    expect(lines[9]).toBe('  10. step');
  });

  it('aligns continuation lines under the text of their item', () => {
    const lines = linesOf(plain('- a list item long enough to be wrapped over several lines of text', 24));
    expect(lines[0]).toBe('  • a list item long');
    expect(lines.slice(1).every((line) => /^ {4}\S/.test(line))).toBe(true);
    expect(layoutProblems(lines.join('\n'), 24)).toEqual([]);
  });

  it('indents nested lists under the text of their parent, continuation lines too', () => {
    const out = plain('- parent\n  - a child item long enough to be wrapped\n    - grandchild\n- next', 30);
    expect(linesOf(out)).toEqual([
      '  • parent',
      '    ◦ a child item long enough',
      '      to be wrapped',
      '      ▪ grandchild',
      '  • next',
    ]);
  });

  it('shows **R1** in bold with colour, and keeps its stars without', () => {
    const source = '- **R1** Listen on the port in `process.env.PORT`.\n- **R2** Answer.';
    expect(coloured(source)).toContain(`${BOLD}R1\x1b[22m Listen`);
    expect(plain(source)).toBe('  • **R1** Listen on the port in `process.env.PORT`.\n  • **R2** Answer.\n');
  });

  it('keeps inline code with a star in it literally', () => {
    expect(plain('- `a*b` and `*` and `**`\n- *em*')).toBe('  • `a*b` and `*` and `**`\n  • *em*\n');
    expect(coloured('- `a*b` then')).toContain(`${YELLOW}a*b\x1b[39m then`);
  });

  it('keeps a code block inside an item as code, indented under the item, not re-wrapped', () => {
    const source = '- **R3** Join a room, then\n\n  ```ts\n  socket.emit(\'join\', \'lobby\',   (reply) => {});\n  ```\n\n  and carry on.\n- **R4** Next.';
    expect(plain(source, 60)).toBe(
      [
        '  • **R3** Join a room, then',
        '',
        "        socket.emit('join', 'lobby',   (reply) => {});",
        '',
        '    and carry on.',
        '  • **R4** Next.',
        '',
      ].join('\n'),
    );
  });

  it('packs items together: no blank line between items, nor inside a wrapped item', () => {
    const source = '- first item, with text long enough to wrap\n\n- second item, with text long enough to wrap\n  over lines\n\n- third';
    const lines = linesOf(plain(source, 24));
    expect(lines).not.toContain('');
    expect(lines.filter((line) => MARKER.test(line))).toHaveLength(3);
  });

  it('shows the checkbox of a task item before its text', () => {
    expect(plain('- [x] done\n- [ ] to do')).toBe('  • [X] done\n  • [ ] to do\n');
  });

  it('fits a table inside an item to the room the item leaves', () => {
    const source = '- A socket has a state:\n\n  | value | name | meaning |\n  | --- | --- | --- |\n  | 0 | `CONNECTING` | the handshake is not done yet: you cannot send |\n\n  Then more text.';
    const out = plain(source, 50);
    expect(layoutProblems(out, 50)).toEqual([]);
    expect(linesOf(out).filter((line) => TABLE_LINE.test(line)).every((line) => line.startsWith('    '))).toBe(true);
  });
});

describe('renderMarkdown: tables', () => {
  const wide =
    '| What you did by hand with `ws` | What socket.io gives you |\n| --- | --- |\n' +
    '| A broadcast loop over `wss.clients`, skipping the sender, checking `readyState === OPEN` (03) | **Rooms**: `socket.join(\'lobby\')`, then `socket.to(\'lobby\').emit(…)` reaches every socket in the room but the sender |\n' +
    '| Reconnection: none | **socket.io-client reconnects by itself** |\n';

  it('wraps cells so that the table fits the width, losing no word of any cell', () => {
    for (const width of [40, 60, 80]) {
      const out = plain(wide, width);
      expect(layoutProblems(out, width)).toEqual([]);
      const [table] = drawnTables(out);
      const source = tablesOf(marked.lexer(wide))[0]!;
      const cells = [source.header, ...source.rows].map((row) => row.map((cell) => wordsOf(cell.text).join('')));
      expect(table!.map((row) => row.map((cell) => wordsOf(cell).join('')))).toEqual(cells);
    }
  });

  it('leaves a table that fits as it is, one line a row', () => {
    expect(plain('| code | meaning |\n| --- | --- |\n| 1000 | normal |\n| 1001 | going away |')).toBe(
      [
        '┌──────┬────────────┐',
        '│ code │ meaning    │',
        '├──────┼────────────┤',
        '│ 1000 │ normal     │',
        '│ 1001 │ going away │',
        '└──────┴────────────┘',
        '',
      ].join('\n'),
    );
  });

  it('shows a table with too many columns for the width as one record a row', () => {
    const source = '| lesson | mutants | killed | survived | score |\n| - | - | - | - | - |\n| 01-http-vs-websocket | 29 | 24 | 0 | 100.0% |';
    expect(plain(source, 24)).toBe('lesson:\n  01-http-vs-websocket\nmutants: 29\nkilled: 24\nsurvived: 0\nscore: 100.0%\n');
  });
});

describe('renderMarkdown: quotes and code', () => {
  it('puts a bar before each line of a quote, wrapped to the width', () => {
    const out = plain('> A quoted remark, long enough to be wrapped over two lines.\n>\n> Another.', 32);
    expect(linesOf(out)).toEqual(['│ A quoted remark, long enough', '│ to be wrapped over two lines.', '│', '│ Another.']);
  });

  it('indents a code block and keeps its lines as they are', () => {
    const code = 'wsw run            # starts your server\n\n  indented   spacing kept\nwsw verify';
    expect(plain(`Try:\n\n\`\`\`sh\n${code}\n\`\`\`\n\nDone.`, 60)).toBe(
      `Try:\n\n${code
        .split('\n')
        .map((line) => (line ? `    ${line}` : ''))
        .join('\n')}\n\nDone.\n`,
    );
  });

  it('folds a line of code too wide for the width, marking the continuation, losing nothing', () => {
    const line = "socket.emit('chat', { message: 'hello, lobby' }, (reply) => { console.log(reply); });";
    const lines = linesOf(plain(`\`\`\`ts\n${line}\n\`\`\``, 60));
    expect(layoutProblems(lines.join('\n'), 60)).toEqual([]);
    expect(lines).toEqual(["    socket.emit('chat', { message: 'hello, lobby' },", '    ↪ (reply) => { console.log(reply); });']);
  });

  it('folds a comment too wide for the width into more comment lines, aligned under it', () => {
    const line = 'wsw run            # starts your server with TICK_MS=100 and connects a client: watch the ticks';
    expect(linesOf(plain(`\`\`\`sh\n${line}\n\`\`\``, 60))).toEqual([
      '    wsw run            # starts your server with TICK_MS=100',
      '                       # and connects a client: watch the',
      '                       # ticks',
    ]);
  });
  it('puts a comment that would start too far right on a line of its own above its command, for every comment of the block', () => {
    const long = 'node /home/learner/websocket-workshop/bin/websocket-workshop.js';
    const code = `${long} run            # starts your server\n${long} verify         # judges your file\necho done`;
    const lines = linesOf(plain(`\`\`\`sh\n${code}\n\`\`\``, 80));
    expect(lines).toEqual([
      '    # starts your server',
      `    ${long} run`,
      '    # judges your file',
      `    ${long} verify`,
      '    echo done',
    ]);
    expect(layoutProblems(lines.join('\n'), 80)).toEqual([]);
  });
});

describe('renderMarkdown: colour', () => {
  const sample =
    '# Title\n\n**bold** *em* ~~gone~~ `code` [the RFC](https://www.rfc-editor.org/rfc/rfc6455) <https://example.com>\n\n' +
    '- item\n\n> quote\n\n```js\nconst x = 1;\n```\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\n---\n';

  it('writes no escape sequence at all without colour, nor a terminal hyperlink', () => {
    const saved = process.env.FORCE_HYPERLINK;
    process.env.FORCE_HYPERLINK = '1';
    try {
      const out = plain(sample, 120);
      expect(out).not.toMatch(/[\x1b\x9b\x07]/);
      expect(out).toContain('the RFC (https://www.rfc-editor.org/rfc/rfc6455) https://example.com');
      expect(out).toContain('**bold** *em* ~~gone~~ `code`');
    } finally {
      if (saved === undefined) delete process.env.FORCE_HYPERLINK;
      else process.env.FORCE_HYPERLINK = saved;
    }
  });

  it('colours with ANSI when asked, still without hyperlinks, and drops the backticks', () => {
    const out = coloured(sample, 120);
    expect(out).toMatch(SGR);
    expect(out).not.toContain('\x1b]8;');
    expect(out).toContain(`${YELLOW}code\x1b[39m`);
    expect(out.replace(SGR, '')).toContain('bold em gone code the RFC (https://www.rfc-editor.org/rfc/rfc6455)');
  });

  it('closes a style at the end of each line it spans, and opens it again on the next', () => {
    const lines = linesOf(coloured('- **a bold phrase long enough to be wrapped over lines**', 20));
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines.slice(1)) expect(line).toMatch(/^ {4}\x1b\[1m/);
    for (const line of lines.slice(0, -1)) expect(line).toMatch(/\x1b\[0m$/);
  });

  it('drops control characters written in the Markdown, so that a text cannot drive the terminal', () => {
    expect(plain('red \x1b[31mtext\x1b]8;;http://x\x07 `co\x1bde` &#27;[31m &#x9b;31m')).not.toMatch(/[\x1b\x07\x9b]/);
  });
});

describe('renderMarkdown: the end of the text', () => {
  it('ends with exactly one newline, whatever the last block', () => {
    for (const source of ['', 'text', 'text\n\n\n', '- item\n', '```\ncode\n```\n\n', '| a |\n| - |\n| 1 |\n', '# Title']) {
      expect(plain(source)).toMatch(/(^|[^\n])\n$/);
    }
  });
});

describe('renderMarkdown: loading', () => {
  it('loads marked-terminal, and highlight.js with it, on the first render, not on import', () => {
    const script = [
      "import { createRequire } from 'node:module';",
      'const require = createRequire(import.meta.url);',
      "const loaded = () => Object.keys(require.cache).some((file) => file.includes('marked-terminal'));",
      "const { renderMarkdown } = await import('./src/cli/markdown.ts');",
      'const before = loaded();',
      "renderMarkdown('# Title', { width: 80, colour: false });",
      'console.log(JSON.stringify([before, loaded()]));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([false, true]);
  });
});

describe('renderMarkdown: the lessons', () => {
  const sources = lessons.map((lesson) => ({ slug: lesson.slug, markdown: fs.readFileSync(lessonPaths(lesson.slug).problem, 'utf8') }));

  it.each(sources)('$slug reads as its golden text at 80 columns', async ({ slug, markdown }) => {
    await expect(plain(markdown, 80)).toMatchFileSnapshot(`golden/lessons/${slug}.80.txt`);
  });

  for (const width of [60, 80, 120]) {
    describe(`at ${width} columns`, () => {
      it.each(sources)('$slug fits, with no trailing space', ({ markdown }) => {
        expect(layoutProblems(plain(markdown, width), width)).toEqual([]);
        expect(layoutProblems(coloured(markdown, width), width)).toEqual([]);
      });

      it.each(sources)('$slug keeps its lists packed: a blank line only where the source has one in an item', ({ markdown }) => {
        for (const list of topLevel(marked.lexer(markdown), 'list')) {
          const lines = linesOf(plain(list.raw, width));
          lines.forEach((line, i) => {
            if (line === '') expect(lines[i + 1], `blank line before an item in:\n${lines.join('\n')}`).not.toMatch(MARKER);
          });
          const outsideCode = list.raw.replace(/^\s*```[\s\S]*?^\s*```/gm, '');
          const sourceBlanks = linesOf(outsideCode.trim()).filter((line) => line.trim() === '').length;
          expect(lines.filter((line) => line === '').length).toBeLessThanOrEqual(sourceBlanks);
        }
      });

      it.each(sources)('$slug loses no word: prose and code in order, every table cell whole', ({ markdown }) => {
        const out = plain(markdown, width);
        const withoutTables = (text: string, line: RegExp): string => linesOf(text).filter((l) => !line.test(l)).join('\n');
        // A code block's language is not shown: it is the fence's, not the text's. A comment that would
        // start too far right moves above its line (see commentsAbove): in order, it comes first.
        const source = withoutTables(markdown, /^\s*\|/)
          .replace(/^(\s*```)\S+/gm, '$1')
          .replace(/^```\n([\s\S]*?)\n```$/gm, (_block, code: string) => `\`\`\`\n${commentsAbove(code.split('\n'), width - 4).join('\n')}\n\`\`\``);
        expect(wordsOf(withoutTables(out, TABLE_LINE))).toEqual(wordsOf(source));
        const expected = tablesOf(marked.lexer(markdown)).map((table) =>
          [table.header, ...table.rows].map((row) => row.map((cell) => wordsOf(cell.text).join(''))),
        );
        expect(drawnTables(out).map((table) => table.map((row) => row.map((cell) => wordsOf(cell).join(''))))).toEqual(expected);
      });
    });
  }
});
