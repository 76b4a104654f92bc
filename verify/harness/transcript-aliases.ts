import type { Transcript } from './transcript.ts';

/**
 * From now on, every line written to `transcript` shows `value` as `alias`: for a value that differs on
 * every run (a temporary folder, say), so that a verification's transcript reads the same each time and
 * its golden copy can be compared. The value itself is untouched wherever it is used; only its display
 * changes. Returns a function that stops the substitution.
 */
export function showAs(transcript: Transcript, value: string, alias: string): () => void {
  const add = transcript.add;
  transcript.add = function addShowingAlias(this: Transcript, source, text, tone) {
    return add.call(this, source, text.split(value).join(alias), tone);
  };
  return () => {
    transcript.add = add;
  };
}
