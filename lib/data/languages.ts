/**
 * A text's language in both of its roles: the code the tokenizer needs (Moses' rules) and the id the model's
 * language embeddings need, related through the tokenizer's language list (XLM's `id2lang`).
 */
import type { Tokenizer } from './tokenizer';

/** A language given as a code (`'en'`) or as the model's language id. */
export type LanguageRef = string | number;

/** One side's language, resolved: the code for the tokenizer and the id for the model (each when known). */
export interface ResolvedLanguage {
  /** The language code, for the tokenizer. */
  code?: string;
  /** The model's id of the language, for its language embeddings. */
  id?: number;
}

/**
 * Resolves `lang` (a code or an id) against the tokenizer's language list. A code the list lacks, or an id
 * outside it, is an error naming `what` and the languages there are; without a list a code stays a code and an
 * id an id.
 */
export function resolveLanguage(tokenizer: Tokenizer, lang: LanguageRef | undefined, what: string): ResolvedLanguage {
  const list = tokenizer.languages ?? [];
  if (lang === undefined) return {};
  if (typeof lang === 'number') {
    if (!Number.isInteger(lang) || lang < 0) throw new RangeError(`${what} must be a language code or a non-negative integer id, got ${lang}`);
    if (list.length > 0 && lang >= list.length)
      throw new RangeError(`${what} ${lang} is not a language id of the model (0-${list.length - 1}: ${list.join(', ')})`);
    return { id: lang, code: list[lang] };
  }
  if (typeof lang !== 'string' || lang === '') throw new TypeError(`${what} must be a language code such as 'en', or an id`);
  if (list.length === 0) return { code: lang };
  const id = list.indexOf(lang);
  if (id < 0) throw new RangeError(`${what} '${lang}' is not one of the model's languages (${list.join(', ')})`);
  return { code: lang, id };
}
