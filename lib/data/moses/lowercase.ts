// XLM's tools/lowercase_and_remove_accent.py on one line: rstrip, lower(), NFD, drop category Mn, lower()
// again, with python 3.11's Unicode 14 where Node's newer tables would answer differently.
import { NEWER_CLASS, NONSPACING_MARK } from './unicode';

// Python's str.isspace() characters, which rstrip() removes (four ASCII separators among them).
// eslint-disable-next-line no-control-regex
const TRAILING_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/;
const MARK = new RegExp(NONSPACING_MARK, 'gv');
// Characters python 3.11 does not know (it neither lowercases nor decomposes them) split the text.
const NEWER = new RegExp(`(${NEWER_CLASS})`, 'v');
// Text without uppercase ASCII or non-ASCII comes out unchanged.
const CHANGES_CASE = /[A-Z\u0080-\uffff]/;

/** lower() then strip accents then lower() on text python knows; newer code points pass through. */
function lowerStripLower(s: string): string {
  if (!CHANGES_CASE.test(s)) return s;
  return s.toLowerCase().normalize('NFD').replace(MARK, '').toLowerCase();
}

/**
 * lowercase_and_remove_accent.py on one line (no newline): trailing whitespace removed, lowercased,
 * decomposed (NFD) with nonspacing marks dropped, lowercased again.
 */
export function lowercaseAndStripAccents(s: string): string {
  const t = s.replace(TRAILING_SPACE, '');
  if (!NEWER.test(t)) return lowerStripLower(t);
  // split() with a capturing group keeps the separators at odd indices.
  return t
    .split(NEWER)
    .map((part, i) => (i % 2 === 1 ? part : lowerStripLower(part)))
    .join('');
}
