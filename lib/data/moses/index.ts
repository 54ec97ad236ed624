// Facebook XLM's Moses preprocessing in TypeScript: the normalisers, tokenizer and detokenizer it runs
// (tools/tokenize.sh, get-data-nmt.sh), and xlmPreprocess, the whole chain for one sentence.
import { lowercaseAndStripAccents } from './lowercase';
import { normalizePunctuation, removeNonPrintingChars, replaceUnicodePunctuation } from './normalize';
import { normalizeRomanian, removeRomanianDiacritics } from './romanian';
import { MosesTokenizer } from './tokenize';

export { MosesDetokenizer } from './detokenize';
export { lowercaseAndStripAccents } from './lowercase';
export { normalizePunctuation, removeNonPrintingChars, replaceUnicodePunctuation } from './normalize';
export { mosesLanguages } from './prefixes';
export { normalizeRomanian, removeRomanianDiacritics } from './romanian';
export { MosesTokenizer } from './tokenize';

/** Options of {@link xlmPreprocess}. */
export interface XlmPreprocessOptions {
  /** Apply XLM's lowercase_and_remove_accent.py after tokenizing (as its XLM/XNLI data scripts do). */
  lowercaseAndStripAccents?: boolean;
}

const tokenizers = new Map<string, MosesTokenizer>();

/**
 * XLM's preprocessing of one sentence in language `lang`: replace-unicode-punctuation, normalize-punctuation,
 * remove-non-printing-char, for Romanian normalise-romanian and remove-diacritics (get-data-nmt.sh), then
 * tokenizer.perl -no-escape; optionally lowercase + accent removal, which XLM runs on the tokenizer's output
 * (get-data-para.sh, get-data-wiki.sh: `tokenize.sh $lg | python lowercase_and_remove_accent.py`).
 */
export function xlmPreprocess(text: string, lang: string, opts: XlmPreprocessOptions = {}): string {
  let t = removeNonPrintingChars(normalizePunctuation(replaceUnicodePunctuation(text), lang));
  if (lang === 'ro') t = removeRomanianDiacritics(normalizeRomanian(t));
  let tokenizer = tokenizers.get(lang);
  if (!tokenizer) {
    tokenizer = new MosesTokenizer(lang);
    tokenizers.set(lang, tokenizer);
  }
  t = tokenizer.tokenize(t);
  return opts.lowercaseAndStripAccents ? lowercaseAndStripAccents(t) : t;
}
