/**
 * One CSV cell: always quoted (commas, quotes and newlines in names survive), and a leading = + - @
 * (or tab / carriage return) gets a ' in front so a spreadsheet shows the text instead of running it
 * as a formula: learner names are chosen by learners.
 */
export function csvCell(value: string | number | boolean | null | undefined): string {
  let text = value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

/** Rows of cells as CSV text, CRLF-separated as RFC 4180 asks, ending with a line break. */
export function toCsv(rows: ReadonlyArray<ReadonlyArray<string | number | boolean | null | undefined>>): string {
  return rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
