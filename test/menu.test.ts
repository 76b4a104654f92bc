// The lesson text as the menu prints it: wrapped lines joined, so the renderer never glues words.
import { describe, expect, it } from 'vitest';
import { unwrapLines } from '../src/cli/menu.ts';

describe('unwrapLines', () => {
  it('joins the lines of a paragraph and of a list item, with a space', () => {
    expect(unwrapLines('A paragraph that\nwraps.\n\n1. an item that\n   wraps too\n2. next')).toBe('A paragraph that wraps.\n\n1. an item that wraps too\n2. next');
  });

  it('leaves headings, code blocks and tables as they are', () => {
    const text = '# Title\n\n```sh\nwsw run\nwsw verify\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |';
    expect(unwrapLines(text)).toBe(text);
  });
});
