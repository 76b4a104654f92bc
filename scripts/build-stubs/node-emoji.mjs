// Stands in for node-emoji in dist/marked-terminal.cjs: the workshop renders with `emoji: false`, so
// `:name:` stays text and marked-terminal never looks an emoji up. Were it asked, it would find none.
export function get() {
  return undefined;
}
