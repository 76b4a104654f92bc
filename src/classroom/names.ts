import { HttpError } from './http-body.ts';

/** Characters that change the direction text is shown in: they can make one name look like another. */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
/**
 * Characters that take no room on screen: format characters (zero-width spaces and joiners, soft
 * hyphen, tags, BOM), fillers that look blank, the combining grapheme joiner. A zero-width joiner inside
 * an emoji sequence (👩‍💻) is kept: there it is visible as part of the emoji.
 */
const INVISIBLE = /(?!(?<=\p{Extended_Pictographic}\uFE0F?)\u200D(?=\p{Extended_Pictographic}))[\p{Cf}\u034F\u115F\u1160\u3164\uFFA0\u2800]/u;

/** The most characters a name may have, so it fits on the dashboard. */
export const MAX_NAME_LENGTH = 40;

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * A learner's name as the teacher will see it: NFC (so "é" typed two ways is one name), control
 * characters and runs of spaces made one space, trimmed, 1 to 40 characters. A name with a
 * text-direction control or an invisible character is refused, with the character named, rather than
 * cleaned silently: the learner then knows exactly what to change. Shown as text, never as markup.
 */
export function parseName(value: unknown): string {
  if (typeof value !== 'string') throw new HttpError(400, 'name: 1 to 40 characters.');
  // Looked for before trimming: trim() would quietly drop a byte-order mark at either end.
  const name = value.normalize('NFC').replace(/[\p{Cc}\p{White_Space}]+/gu, ' ');
  const bidi = BIDI_CONTROLS.exec(name);
  if (bidi) throw new HttpError(400, `name: contains a text-direction control (${codePoint(bidi[0])}), which can make a name look like someone else's; leave it out.`);
  const invisible = INVISIBLE.exec(name);
  if (invisible) throw new HttpError(400, `name: contains an invisible character (${codePoint(invisible[0])}); use only characters your teacher can see.`);
  const trimmed = name.trim();
  if (!trimmed || [...trimmed].length > MAX_NAME_LENGTH) throw new HttpError(400, `name: 1 to ${MAX_NAME_LENGTH} characters.`);
  return trimmed;
}

/** What makes two names the same to a reader: compatibility forms and case do not tell people apart. */
export function nameKey(name: string): string {
  return name.normalize('NFKC').toLocaleLowerCase('en');
}
