/**
 * The flags every decoding command shares for languages and the tokenizer: `--src-lang`/`--tgt-lang` (a code
 * such as en, which XLM's tokenizer needs, or a language id) and `--tokenizer` (default: the one beside the model).
 */
import type { LanguageRef } from '../data/languages';
import { hasTokenizerBeside, tokenizerFor } from '../data/load-tokenizer';
import type { Tokenizer } from '../data/tokenizer';
import { readDataInfo } from '../pipeline/data-folder';
import { type FlagValues, str } from './args';

/** The flags' parser specs. */
export const languageFlagSpecs = {
  'src-lang': { type: 'string' },
  'tgt-lang': { type: 'string' },
} as const;

/** The flags' lines in a command's help. */
export const languageFlagsHelp = `      --src-lang L         source language: a code (en) or the model's language id
                           (default: the data folder's; XLM's tokenizer needs it)
      --tgt-lang L         target language, as --src-lang
`;

/** The line of `--tokenizer` in a command's help. */
export const tokenizerFlagHelp = `  -t, --tokenizer FILE     tokenizer.model (SentencePiece) or tokenizer.json (XLM)
                           (default: the one beside the model)
`;

function ref(v: FlagValues, flag: 'src-lang' | 'tgt-lang'): LanguageRef | undefined {
  const s = str(v, flag);
  if (s === undefined) return undefined;
  return /^\d+$/.test(s) ? Number(s) : s;
}

/** The languages the flags give, else the data folder's (data.json). */
export function languageFlags(v: FlagValues, dataDir?: string): { srcLang?: LanguageRef; tgtLang?: LanguageRef } {
  const info = dataDir !== undefined ? readDataInfo(dataDir) : undefined;
  return { srcLang: ref(v, 'src-lang') ?? info?.srcLang, tgtLang: ref(v, 'tgt-lang') ?? info?.tgtLang };
}

/** The tokenizer `--tokenizer` names, else the one beside `modelFile`. */
export function tokenizerFlag(v: FlagValues, modelFile: string): Tokenizer {
  const explicit = str(v, 'tokenizer');
  if (explicit === undefined && !hasTokenizerBeside(modelFile)) {
    throw new Error(`no tokenizer given and none beside ${modelFile} (tokenizer.model, or XLM's tokenizer.json); pass --tokenizer FILE`);
  }
  return tokenizerFor(modelFile, explicit);
}
