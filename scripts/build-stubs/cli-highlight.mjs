// Stands in for cli-highlight (and the highlight.js it brings) in dist/marked-terminal.cjs: the
// workshop draws code blocks itself (src/cli/markdown/blocks.ts), so marked-terminal's highlighting is
// never called. Were it called, the code would come back as it went, unhighlighted.
export function highlight(code) {
  return code;
}
