/**
 * XLM's Dictionary (xlm/data/dictionary.py): the 14 special words then a vocabulary file's words, read with
 * read_vocab's skips and checks, or a checkpoint's dico_id2word; word <-> id and comparing two dictionaries.
 */
import * as fs from 'node:fs';
import type { SpecialIds } from './tokenizer';

/** XLM's special words at ids 0–13: `<s> </s> <pad> <unk>` then `<special0>` … `<special9>`. */
export const XLM_SPECIAL_WORDS: readonly string[] = Object.freeze([
  '<s>',
  '</s>',
  '<pad>',
  '<unk>',
  ...Array.from({ length: 10 }, (_, i) => `<special${i}>`),
]);

const UNK = 3;
/** Python's str.split() whitespace (str.isspace characters). */
// eslint-disable-next-line no-control-regex -- Python's isspace includes the separators U+001C-U+001F
const PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** A vocabulary line that read_vocab skips (it counts them in a warning). */
export interface SkippedVocabLine {
  /** 1-based line number. */
  line: number;
  /** Why: `u2028` (the line holds U+2028), `fields` (not two fields) or `duplicate` (word already in). */
  reason: 'u2028' | 'fields' | 'duplicate';
}

/** Word ids as XLM's Dictionary gives them. */
export class XlmDictionary {
  private readonly word2id = new Map<string, number>();

  private constructor(
    private readonly id2word: readonly string[],
    /** Where the words came from (a file name or a description), named in errors. */
    readonly source: string,
    /** Lines {@link XlmDictionary.load} skipped, as read_vocab does. */
    readonly skipped: readonly SkippedVocabLine[] = []
  ) {
    id2word.forEach((w, i) => {
      const first = this.word2id.get(w);
      if (first !== undefined) throw new Error(`${source}: word ${JSON.stringify(w)} at ids ${first} and ${i}`);
      this.word2id.set(w, i);
    });
  }

  /** XLM's Dictionary.read_vocab of a `word count` file (fastBPE getvocab's output). */
  static load(vocabFile: string): XlmDictionary {
    return XlmDictionary.fromText(fs.readFileSync(vocabFile, 'utf8'), vocabFile);
  }

  /**
   * read_vocab of a text: lines split as Python's text files do (`\n`, `\r\n`, `\r`); a line holding U+2028,
   * without exactly two whitespace-separated fields, or whose word is already in, is skipped; a count that is
   * not digits, or counts that grow down the file (XLM's check_valid, which skips the last word), are errors.
   */
  static fromText(text: string, source: string): XlmDictionary {
    const words = [...XLM_SPECIAL_WORDS];
    const seen = new Set(words);
    const skipped: SkippedVocabLine[] = [];
    let last = { count: Infinity, line: 0 };
    let growth: { id: number; message: string } | undefined;
    const lines = text.split(/\r\n|\r|\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    lines.forEach((line, i) => {
      const f = line.split(PY_SPACE).filter((x) => x !== '');
      const skip = line.includes('\u2028') ? 'u2028' : f.length !== 2 ? 'fields' : undefined;
      if (skip) return skipped.push({ line: i + 1, reason: skip });
      if (!/^[0-9]+$/.test(f[1])) throw new Error(`${source}:${i + 1}: expected "word count", the count is ${JSON.stringify(f[1])}`);
      if (seen.has(f[0])) return skipped.push({ line: i + 1, reason: 'duplicate' });
      const count = Number(f[1]);
      if (count > last.count && !growth) {
        const message = `${source}:${i + 1}: count ${count} of "${f[0]}" exceeds ${last.count} at line ${last.line}: XLM needs counts that do not grow`;
        growth = { id: words.length, message };
      }
      last = { count, line: i + 1 };
      words.push(f[0]);
      seen.add(f[0]);
    });
    // check_valid stops before the last word: a count that only grows there passes in XLM too.
    if (growth && growth.id < words.length - 1) throw new Error(growth.message);
    return new XlmDictionary(words, source, skipped);
  }

  /** A dictionary from words in id order, e.g. a checkpoint's `dico_id2word`; `source` names it in errors. */
  static fromWords(id2word: readonly string[], source: string): XlmDictionary {
    return new XlmDictionary([...id2word], source);
  }

  /** Number of words, specials included. */
  get size(): number {
    return this.id2word.length;
  }

  /** The words in id order. */
  get words(): readonly string[] {
    return this.id2word;
  }

  /** Ids of `<s> </s> <pad> <unk>` in this dictionary (-1 for one it lacks). */
  get specialIds(): SpecialIds {
    const id = (w: string): number => this.word2id.get(w) ?? -1;
    return { bos: id('<s>'), eos: id('</s>'), pad: id('<pad>'), unk: id('<unk>') };
  }

  /** A word's id; unknown words get `<unk>`'s id (3 in XLM's dictionaries). */
  id(word: string): number {
    return this.word2id.get(word) ?? this.word2id.get('<unk>') ?? UNK;
  }

  /** The word of an id; RangeError outside 0 … size-1. */
  word(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.id2word.length) throw new RangeError(`${this.source}: id ${id} outside 0..${this.size - 1}`);
    return this.id2word[id];
  }

  /** The ids 0–13 whose word is not XLM's special word, as `id N: "found" (expected <s>)`; empty when all are. */
  missingSpecials(): string[] {
    return XLM_SPECIAL_WORDS.flatMap((w, i) =>
      this.id2word[i] === w ? [] : [`id ${i}: ${i < this.size ? JSON.stringify(this.id2word[i]) : 'absent'} (expected ${w})`]
    );
  }

  /** Throws naming {@link XlmDictionary.source} when {@link XlmDictionary.missingSpecials} finds any. */
  assertSpecials(): void {
    const missing = this.missingSpecials();
    if (missing.length > 0)
      throw new Error(`${this.source}: not an XLM dictionary, ids 0-13 must be ${XLM_SPECIAL_WORDS.join(' ')}; ${missing.join(', ')}`);
  }

  /** Throws unless `other` has the same words at the same ids, naming the first id that differs and both words. */
  assertSameAs(other: XlmDictionary, what: string): void {
    const n = Math.max(this.size, other.size);
    for (let i = 0; i < n; i++) {
      if (this.id2word[i] === other.id2word[i]) continue;
      const show = (d: XlmDictionary): string => (i < d.size ? JSON.stringify(d.id2word[i]) : `nothing (${d.size} words)`);
      throw new Error(`${what}: ${this.source} and ${other.source} differ at id ${i}: ${show(this)} vs ${show(other)}`);
    }
  }
}
