// detokenizer.perl -l LANG (Moses, without -u or -penn), one line at a time: de-escaping, then the
// word-by-word joining rules (quotes paired per kind, CJK runs, en/fr/it/cs/fi contractions and suffixes).
import { ALNUM, ALPHA, CURRENCY, SPACE } from './unicode';

const re = (source: string, flags = 'v'): RegExp => new RegExp(source, flags);

// Perl's "." does not match "\n" only (JS's also skips "\r", U+2028, U+2029).
const MARKUP_LINE = /^<[^\n]+>$/;
const BLANK_LINE = re(`^${SPACE}*$`);
const AGGRESSIVE_HYPHEN = / @-@ /g;
const ESCAPES: [RegExp, string][] = [
  [/&bar;/g, '|'],
  [/&#124;/g, '|'],
  [/&lt;/g, '<'],
  [/&gt;/g, '>'],
  [/&bra;/g, '['],
  [/&ket;/g, ']'],
  [/&quot;/g, '"'],
  [/&apos;/g, "'"],
  [/&#91;/g, '['],
  [/&#93;/g, ']'],
  [/&amp;/g, '&'],
];
const OPENING = re(`^[${CURRENCY}\\(\\[\\{¿¡]+$`);
const CLOSING = /^[,.?!:;\\%}\])]+$/;
const FRENCH_SPACED = /^[?!:;\\%]$/;
const APOSTROPHE_ALPHA = re(`^'${ALPHA}`);
const ENDS_ALNUM = re(`${ALNUM}$`);
const DIGITS = /^[0-9]+$/;
const PERIOD_OR_COMMA = /^[.,]$/;
const ENDS_ALPHA_APOSTROPHE = re(`${ALPHA}'$`);
const STARTS_ALPHA = re(`^${ALPHA}`);
const ENDS_ALPHA = re(`${ALPHA}$`);
const DASH = /^[-–]$/;
const LI_OR_MAIL = /^li$|^mail/iu;
const QUOTES = /^['"„“`]+$/;
const DOUBLE_QUOTES = /^[„“”]+$/;
const ENDS_S = /s$/;
const ENDS_COLON = /:$/;
const FINNISH_SUFFIX = new RegExp(
  '^(N|n|A|a|Ä|ä|ssa|Ssa|ssä|Ssä|sta|stä|Sta|Stä|hun|Hun|hyn|Hyn|han|Han|hän|Hän|hön|Hön|un|Un|yn|Yn|an|An|' +
    'än|Än|ön|Ön|seen|Seen|lla|Lla|llä|Llä|lta|Lta|ltä|Ltä|lle|Lle|ksi|Ksi|kse|Kse|tta|Tta|ine|Ine)' +
    '(ni|si|mme|nne|nsa)?(ko|kö|han|hän|pa|pä|kaan|kään|kin)?$'
);
const SPACE_RUN = / +/g;

/** detokenizer.perl's charIsCJK: Hangul, CJK, Yi, Phags-pa, compatibility and halfwidth forms, plane 2. */
function isCJK(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x11ff) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xa840 && cp <= 0xa87f) ||
    (cp >= 0xac00 && cp <= 0xd7af) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff65 && cp <= 0xffdc) ||
    (cp >= 0x20000 && cp <= 0x2ffff)
  );
}

function startsWithCJK(word: string): boolean {
  return word.length > 0 && isCJK(word.codePointAt(0) ?? 0);
}

function endsWithCJK(word: string): boolean {
  if (word.length === 0) return false;
  const last = word.charCodeAt(word.length - 1);
  // A low surrogate ends an astral character: read the pair.
  const at = last >= 0xdc00 && last <= 0xdfff && word.length > 1 ? word.length - 2 : word.length - 1;
  return isCJK(word.codePointAt(at) ?? 0);
}

/** Moses' detokenizer.perl `-l lang`, ported rule for rule. */
export class MosesDetokenizer {
  /** The language whose rules apply (perl has rules for cs, en, fr, it and fi; others get the common ones). */
  readonly lang: string;

  /** Rules for `lang`. */
  constructor(lang: string) {
    this.lang = lang;
  }

  /** One line of space-separated tokens as text. Blank lines and `<...>` lines come back unchanged. */
  detokenize(tokens: string): string {
    if (MARKUP_LINE.test(tokens) || BLANK_LINE.test(tokens)) return tokens;
    const lang = this.lang;
    let text = ` ${tokens.endsWith('\n') ? tokens.slice(0, -1) : tokens} `;
    if (text.includes(' @-@ ')) text = text.replace(AGGRESSIVE_HYPHEN, '-');
    if (text.includes('&')) for (const [pattern, to] of ESCAPES) text = text.replace(pattern, to);

    const words = text.split(' ');
    while (words.length > 0 && words[words.length - 1] === '') words.pop();
    const n = words.length;
    text = '';
    const quoteCount = new Map<string, number>([
      ["'", 0],
      ['"', 0],
    ]);
    let prependSpace = ' ';
    for (let i = 0; i < n; i++) {
      const word = words[i];
      if (startsWithCJK(word)) {
        // Consecutive CJK words join (except in Korean).
        const join = i > 0 && endsWithCJK(words[i - 1]) && lang !== 'ko';
        text += join ? word : prependSpace + word;
        prependSpace = ' ';
      } else if (OPENING.test(word)) {
        text += prependSpace + word;
        prependSpace = '';
      } else if (CLOSING.test(word)) {
        // perl's comment: these take a non-breaking space in French; the script adds a plain one.
        if (lang === 'fr' && FRENCH_SPACED.test(word)) text += ' ';
        text += word;
        prependSpace = ' ';
      } else if (lang === 'en' && i > 0 && APOSTROPHE_ALPHA.test(word) && ENDS_ALNUM.test(words[i - 1])) {
        text += word;
        prependSpace = ' ';
      } else if (lang === 'cs' && i > 1 && DIGITS.test(words[i - 2]) && PERIOD_OR_COMMA.test(words[i - 1]) && DIGITS.test(word)) {
        text += word;
        prependSpace = ' ';
      } else if ((lang === 'fr' || lang === 'it') && i <= n - 2 && ENDS_ALPHA_APOSTROPHE.test(word) && STARTS_ALPHA.test(words[i + 1])) {
        text += prependSpace + word;
        prependSpace = '';
      } else if (lang === 'cs' && i < n - 3 && ENDS_ALPHA.test(word) && DASH.test(words[i + 1]) && LI_OR_MAIL.test(words[i + 2])) {
        text += prependSpace + word + words[i + 1];
        i++;
        prependSpace = '';
      } else if (QUOTES.test(word)) {
        const quote = DOUBLE_QUOTES.test(word) ? '"' : word;
        let count = quoteCount.get(quote) ?? 0;
        // In Czech „ always opens and “ usually closes.
        if (lang === 'cs' && word === '„') count = 0;
        if (lang === 'cs' && word === '“') count = 1;
        if (count % 2 === 0) {
          if (lang === 'en' && word === "'" && i > 0 && ENDS_S.test(words[i - 1])) {
            // Possessive of a word ending in s ("the Jones' house"): no count.
            text += word;
            prependSpace = ' ';
          } else {
            text += prependSpace + word;
            prependSpace = '';
            count++;
          }
        } else {
          text += word;
          prependSpace = ' ';
          count++;
        }
        quoteCount.set(quote, count);
      } else if (lang === 'fi' && ENDS_COLON.test(words[i > 0 ? i - 1 : n - 1]) && FINNISH_SUFFIX.test(word)) {
        // Perl's $words[-1] is the last word: at i = 0 the "previous" word is the line's last.
        text += word.toLowerCase();
        prependSpace = ' ';
      } else {
        text += prependSpace + word;
        prependSpace = ' ';
      }
    }

    text = text.replace(SPACE_RUN, ' ');
    if (text.includes('\n')) text = text.replace(/\n /g, '\n').replace(/ \n/g, '\n');
    if (text.startsWith(' ')) text = text.slice(1);
    if (text.endsWith(' ')) text = text.slice(0, -1);
    return text;
  }
}
