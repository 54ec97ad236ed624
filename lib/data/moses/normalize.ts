// The three Moses normalisers XLM runs before tokenizing: replace-unicode-punctuation.perl,
// normalize-punctuation.perl -l LANG and remove-non-printing-char.perl, one line (no newline) at a time.
import { OTHER } from './unicode';

// replace-unicode-punctuation.perl maps single characters, plus "。" and "．" with the spaces after them.
const UNICODE_PUNCT: Readonly<Record<string, string>> = {
  '，': ',',
  '、': ',',
  '”': '"',
  '“': '"',
  '∶': ':',
  '：': ':',
  '？': '?',
  '《': '"',
  '》': '"',
  '）': ')',
  '！': '!',
  '（': '(',
  '；': ';',
  '１': '1',
  '」': '"',
  '「': '"',
  '０': '0',
  '３': '3',
  '２': '2',
  '５': '5',
  '６': '6',
  '９': '9',
  '７': '7',
  '８': '8',
  '４': '4',
  '～': '~',
  '’': "'",
  '…': '...',
  '━': '-',
  '〈': '<',
  '〉': '>',
  '【': '[',
  '】': ']',
  '％': '%',
};
// The script's substitutions never feed one another, so one alternation in one pass gives the same text.
const UNICODE_PUNCT_RE = new RegExp(`[。．] *|[${Object.keys(UNICODE_PUNCT).join('')}]`, 'g');
// Astral characters are surrogate pairs, which this range covers too.
const NON_ASCII = /[\u0080-\uffff]/;

/** replace-unicode-punctuation.perl on one line: CJK/full-width punctuation and digits to ASCII. */
export function replaceUnicodePunctuation(s: string): string {
  if (!NON_ASCII.test(s)) return s;
  return s.replace(UNICODE_PUNCT_RE, (m) => (m.length === 1 && m !== '。' && m !== '．' ? UNICODE_PUNCT[m] : '. '));
}

// normalize-punctuation.perl reads bytes (no utf8 layer): \d is ASCII, \s is ASCII space, [a-z]/i is ASCII.
// NBSP below is U+00A0, written in the script as its two UTF-8 bytes.
const R = {
  cr: /\r/g,
  openParen: /\(/g,
  closeParen: /\)/g,
  spaces: / +/g,
  parenPunct: /\) ([.!:?;,])/g,
  parenSpace: /\( /g,
  spaceParen: / \)/g,
  digitPercent: /([0-9]) %/g,
  spaceColon: / :/g,
  spaceSemicolon: / ;/g,
  backtick: /`/g,
  twoQuotes: /''/g,
  lowQuote: /„/g,
  leftQuote: /“/g,
  rightQuote: /”/g,
  enDash: /–/g,
  emDash: /—/g,
  acute: /´/g,
  leftSingleInWord: /([a-zA-Z])‘([a-zA-Z])/g,
  rightSingleInWord: /([a-zA-Z])’([a-zA-Z])/g,
  leftSingle: /‘/g,
  lowSingle: /‚/g,
  rightSingle: /’/g,
  twoAcutes: /´´/g,
  ellipsis: /…/g,
  guillemetOpen1: /\u00a0«\u00a0/g,
  guillemetOpen2: /«\u00a0/g,
  guillemetOpen3: /«/g,
  guillemetClose1: /\u00a0»\u00a0/g,
  guillemetClose2: /\u00a0»/g,
  guillemetClose3: /»/g,
  nbspPercent: /\u00a0%/g,
  numero: /nº\u00a0/g,
  nbspColon: /\u00a0:/g,
  nbspDegrees: /\u00a0ºC/g,
  nbspCm: /\u00a0cm/g,
  nbspQuestion: /\u00a0\?/g,
  nbspBang: /\u00a0!/g,
  nbspSemicolon: /\u00a0;/g,
  commaNbsp: /,\u00a0/g,
  enQuoteComma: /"([,.]+)/g,
  quoteComma: /,"/g,
  // The script runs on lines that still end in "\n", which [^<] matches: a final `."` does become `".`.
  periodQuote: /(\.+)"([\t\n\v\f\r ]*[^<])/g,
  digitNbspDigit: /([0-9])\u00a0([0-9])/g,
};
const COMMA_DECIMAL = new Set(['de', 'es', 'cz', 'cs', 'fr']);

/** normalize-punctuation.perl -l `lang` (without -penn) on one line. */
export function normalizePunctuation(s: string, lang: string): string {
  let t = s;
  if (t.includes('\r')) t = t.replace(R.cr, '');
  t = t.replace(R.openParen, ' (').replace(R.closeParen, ') ').replace(R.spaces, ' ');
  t = t.replace(R.parenPunct, ')$1').replace(R.parenSpace, '(').replace(R.spaceParen, ')');
  t = t.replace(R.digitPercent, '$1%').replace(R.spaceColon, ':').replace(R.spaceSemicolon, ';');
  t = t.replace(R.backtick, "'").replace(R.twoQuotes, ' " ');
  if (NON_ASCII.test(t)) {
    t = t.replace(R.lowQuote, '"').replace(R.leftQuote, '"').replace(R.rightQuote, '"').replace(R.enDash, '-');
    t = t.replace(R.emDash, ' - ');
  }
  t = t.replace(R.spaces, ' ');
  if (NON_ASCII.test(t)) {
    t = t.replace(R.acute, "'").replace(R.leftSingleInWord, "$1'$2").replace(R.rightSingleInWord, "$1'$2");
    t = t.replace(R.leftSingle, "'").replace(R.lowSingle, "'").replace(R.rightSingle, '"');
  }
  t = t.replace(R.twoQuotes, '"');
  if (NON_ASCII.test(t)) {
    t = t.replace(R.twoAcutes, '"').replace(R.ellipsis, '...');
    t = t.replace(R.guillemetOpen1, ' "').replace(R.guillemetOpen2, '"').replace(R.guillemetOpen3, '"');
    t = t.replace(R.guillemetClose1, '" ').replace(R.guillemetClose2, '"').replace(R.guillemetClose3, '"');
  }
  if (t.includes('\u00a0')) {
    t = t.replace(R.nbspPercent, '%').replace(R.numero, 'nº ').replace(R.nbspColon, ':');
    t = t.replace(R.nbspDegrees, ' ºC').replace(R.nbspCm, ' cm').replace(R.nbspQuestion, '?');
    t = t.replace(R.nbspBang, '!').replace(R.nbspSemicolon, ';').replace(R.commaNbsp, ', ');
  }
  t = t.replace(R.spaces, ' ');
  if (lang === 'en') {
    t = t.replace(R.enQuoteComma, '$1"');
  } else if (lang !== 'cs' && lang !== 'cz') {
    t = t.replace(R.quoteComma, '",');
    if (t.includes('"')) t = (t + '\n').replace(R.periodQuote, '"$1$2').slice(0, -1);
  }
  // A non-breaking space between digits becomes the language's thousands separator.
  if (!t.includes('\u00a0')) return t;
  return t.replace(R.digitNbspDigit, COMMA_DECIMAL.has(lang) ? '$1,$2' : '$1.$2');
}

const OTHER_RE = new RegExp(OTHER, 'gv');

/** remove-non-printing-char.perl on one line: every `\p{C}` character (Unicode 14) becomes a space. */
export function removeNonPrintingChars(s: string): string {
  return s.replace(OTHER_RE, ' ');
}
