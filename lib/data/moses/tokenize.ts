// tokenizer.perl -l LANG -no-escape (Moses, without -a, -x, -penn or -protected), one line at a time:
// every substitution of its tokenize() in the same order, with perl's Unicode 14 character classes.
import { nonbreakingPrefixes, type PrefixKind } from './prefixes';
import { ALNUM, ALPHA, LL, LOWER, NUMBER, SPACE } from './unicode';

const re = (source: string, flags = 'gv'): RegExp => new RegExp(source, flags);

// Shared by every language: built once at load time.
const BLANK_LINE = re(`^${SPACE}*$`, 'v');
const SPACES = re(`${SPACE}+`);
// tokenizer.perl drops ASCII control characters ([\000-\037]) after turning spaces into " ".
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f]/g;
// eslint-disable-next-line no-control-regex
const HAS_CONTROL = /[\x00-\x1f]/;
const SPACE_RUN = / +/g;
const DOTS = /\.(\.+)/g;
const DOTMULTI_DOT_OTHER = /DOTMULTI\.([^.])/gu;
const DOTMULTI_DOT = /DOTMULTI\./g;
const DOTDOTMULTI = /DOTDOTMULTI/g;
const DOTMULTI = /DOTMULTI/g;
const COMMA_AFTER_NON_NUMBER = re(`([^${NUMBER}]),`);
const COMMA_BEFORE_NON_NUMBER = re(`,([^${NUMBER}])`);
const FINAL_COMMA_AFTER_NUMBER = re(`(${NUMBER}),$`);
const FINAL_PERIOD_QUOTE = /\.' ?$/;
const STARTS_LOWER = re(`^${LOWER}`, 'v');
const STARTS_DIGIT = /^[0-9]/;
const HAS_ALPHA = re(ALPHA, 'v');

/** "Other" special characters: everything but alphanumerics, spaces and `.'`,-` (plus per-language ones). */
const specials = (extra: string): RegExp => re(`([^${ALNUM}${SPACE}.'\`,\\-${extra}])`);
// In Finnish/Swedish ":", in Tetun "'", in Catalan "·" can sit inside a word when a lowercase letter follows.
// tokenizer.perl has no `use utf8`, so its Catalan "·" is the two characters "Â·" (its UTF-8 bytes).
const SPECIALS: Readonly<Record<string, [RegExp, RegExp | undefined]>> = {
  fi: [specials(':'), re(`(:)(?=$|[^${LL}])`)],
  sv: [specials(':'), re(`(:)(?=$|[^${LL}])`)],
  tdt: [specials(''), re(`(')(?=$|[^${LL}])`)],
  ca: [specials('\u00c2\u00b7'), re(`(\u00c2\u00b7)(?=$|[^${LL}])`)],
};
const DEFAULT_SPECIALS: [RegExp, undefined] = [specials(''), undefined];

type Rule = [RegExp, string];
const A = ALPHA;
const NOT_A = `[^${ALPHA}]`;
const SPLIT_QUOTE_ALONE: Rule[] = [
  [re(`(${NOT_A})'(${NOT_A})`), "$1 ' $2"],
  [re(`(${NOT_A})'(${A})`), "$1 ' $2"],
  [re(`(${A})'(${NOT_A})`), "$1 ' $2"],
];
// English splits "don't" as "don 't"; French, Italian, Irish and Catalan split "l'homme" as "l' homme";
// Somali and Tetun keep glottal stops; every other language splits every apostrophe off.
const SPLIT_LEFT: Rule[] = [...SPLIT_QUOTE_ALONE, [re(`(${A})'(${A})`), "$1' $2"]];
const APOSTROPHES: Readonly<Record<string, Rule[]>> = {
  en: [
    [re(`(${NOT_A})'(${NOT_A})`), "$1 ' $2"],
    [re(`([^${ALPHA}${NUMBER}])'(${A})`), "$1 ' $2"],
    [re(`(${A})'(${NOT_A})`), "$1 ' $2"],
    [re(`(${A})'(${A})`), "$1 '$2"],
    [re(`(${NUMBER})'(s)`), "$1 '$2"],
  ],
  fr: SPLIT_LEFT,
  it: SPLIT_LEFT,
  ga: SPLIT_LEFT,
  ca: SPLIT_LEFT,
  so: SPLIT_QUOTE_ALONE,
  tdt: SPLIT_QUOTE_ALONE,
};
const ALL_APOSTROPHES: Rule[] = [[/'/g, " ' "]];

/** Perl's split: fields between single spaces, trailing empty fields dropped (leading ones kept). */
function perlSplit(text: string): string[] {
  const words = text.split(' ');
  while (words.length > 0 && words[words.length - 1] === '') words.pop();
  return words;
}

/** Moses' tokenizer.perl `-l lang -no-escape`, ported rule for rule. */
export class MosesTokenizer {
  /** The language whose rules apply. */
  readonly lang: string;
  /** Whose nonbreaking-prefix list is used: `lang`, or `en` where Moses has none for `lang` (as perl). */
  readonly prefixLanguage: string;
  private readonly prefixes: ReadonlyMap<string, PrefixKind>;
  private readonly specials: [RegExp, RegExp | undefined];
  private readonly apostrophes: Rule[];

  /** Rules and prefixes for `lang` (a Moses language code such as `en`, `de`, `fr`, `ro`). */
  constructor(lang: string) {
    this.lang = lang;
    const p = nonbreakingPrefixes(lang);
    this.prefixLanguage = p.language;
    this.prefixes = p.prefixes;
    this.specials = SPECIALS[lang] ?? DEFAULT_SPECIALS;
    this.apostrophes = APOSTROPHES[lang] ?? ALL_APOSTROPHES;
  }

  /**
   * Tokens of one line, separated by single spaces. As in perl, a blank line comes back unchanged, and a
   * line ending in `.'` keeps a trailing space (`... . ' `).
   */
  tokenize(line: string): string {
    if (BLANK_LINE.test(line)) return line;
    let text = line.endsWith('\n') ? line.slice(0, -1) : line;
    text = ` ${text} `.replace(SPACES, ' ');
    if (HAS_CONTROL.test(text)) text = text.replace(CONTROL, '');
    text = text.replace(SPACE_RUN, ' ');
    if (text.startsWith(' ')) text = text.slice(1);
    if (text.endsWith(' ')) text = text.slice(0, -1);

    const [special, inWord] = this.specials;
    text = text.replace(special, ' $1 ');
    if (inWord) text = text.replace(inWord, ' $1 ');

    if (text.includes('..')) {
      text = text.replace(DOTS, ' DOTMULTI$1');
      while (text.includes('DOTMULTI.')) {
        text = text.replace(DOTMULTI_DOT_OTHER, 'DOTDOTMULTI $1').replace(DOTMULTI_DOT, 'DOTDOTMULTI');
      }
    }
    if (text.includes(',')) {
      text = text.replace(COMMA_AFTER_NON_NUMBER, '$1 , ').replace(COMMA_BEFORE_NON_NUMBER, ' , $1');
      text = text.replace(FINAL_COMMA_AFTER_NUMBER, '$1 ,');
    }
    if (text.includes("'")) for (const [pattern, to] of this.apostrophes) text = text.replace(pattern, to);

    text = this.splitFinalPeriods(perlSplit(text));
    text = text.replace(FINAL_PERIOD_QUOTE, " . ' ");
    if (text.includes('DOTMULTI')) {
      while (text.includes('DOTDOTMULTI')) text = text.replace(DOTDOTMULTI, 'DOTMULTI.');
      text = text.replace(DOTMULTI, '.');
    }
    return text;
  }

  /** Splits a word's final period unless it ends a nonbreaking prefix; joins and cleans up spaces. */
  private splitFinalPeriods(words: string[]): string {
    const last = words.length - 1;
    for (let i = 0; i <= last; i++) {
      const word = words[i];
      if (word.length < 2 || !word.endsWith('.')) continue;
      const pre = word.slice(0, -1);
      if (i === last) {
        // Last words are unlikely to be nonbreaking prefixes.
        words[i] = pre + ' .';
        continue;
      }
      const kind = this.prefixes.get(pre);
      const keep =
        (pre.includes('.') && HAS_ALPHA.test(pre)) ||
        kind === 1 ||
        STARTS_LOWER.test(words[i + 1]) ||
        (kind === 2 && STARTS_DIGIT.test(words[i + 1]));
      if (!keep) words[i] = pre + ' .';
    }
    let text = words.join(' ').replace(SPACE_RUN, ' ');
    if (text.startsWith(' ')) text = text.slice(1);
    if (text.endsWith(' ')) text = text.slice(0, -1);
    return text;
  }
}
