/**
 * fastBPE's `applybpe` (github.com/glample/fastBPE) in TypeScript: codes and an optional vocabulary read with
 * fastBPE's checks, merges by rank, the vocabulary limit that splits unknown subwords again, `@@ ` joins, and
 * {@link FastBpe.merge}, the reverse XLM's translate.py applies.
 */
import * as fs from 'node:fs';

const END_WORD = '</w>';
const DELIM = '@@';
const UINT = /^[0-9]+$/;

/** Options of {@link FastBpe.load} and {@link FastBpe.fromText}. */
export interface FastBpeOptions {
  /** Words whose BPE is remembered; the cache is emptied when it would grow past this (default 100000, 0 = none). */
  cacheSize?: number;
}

/** File names that {@link FastBpe.fromText}'s errors give for its texts. */
export interface FastBpeSourceNames {
  /** Name of the codes text (default `<codes>`). */
  codes?: string;
  /** Name of the vocabulary text (default `<vocab>`). */
  vocab?: string;
}

/** The lines of a text, without the empty string after a final newline. */
function linesOf(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** fastBPE's split(): fields separated by one or more spaces (tabs belong to the fields). */
function fields(line: string): string[] {
  return line.split(' ').filter((f) => f !== '');
}

/** A word's characters (code points, as fastBPE's UTF-8 lead bytes) with `</w>` after the last. */
function charsOf(word: string): string[] {
  const chars = Array.from(word);
  chars[chars.length - 1] += END_WORD;
  return chars;
}

/**
 * Byte-pair encoding exactly as fastBPE's `fast applybpe OUT IN CODES [VOCAB]` writes it: sentences of
 * space-separated (Moses) tokens in, subwords joined by `@@ ` out.
 */
export class FastBpe {
  private readonly cache = new Map<string, string>();

  private constructor(
    private readonly ranks: Map<string, number>,
    private readonly reversed: Map<string, [string, string]>,
    private readonly vocab: Set<string> | undefined,
    private readonly cacheSize: number
  ) {}

  /** Reads a codes file (`a b count` lines, fastBPE learnbpe's output) and optionally a vocabulary (`word count`). */
  static load(codesFile: string, vocabFile?: string, options: FastBpeOptions = {}): FastBpe {
    const codes = fs.readFileSync(codesFile, 'utf8');
    const vocab = vocabFile === undefined ? undefined : fs.readFileSync(vocabFile, 'utf8');
    return FastBpe.fromText(codes, vocab, { codes: codesFile, vocab: vocabFile }, options);
  }

  /** {@link FastBpe.load} from texts; `names` name them in errors. */
  static fromText(codes: string, vocab?: string, names: FastBpeSourceNames = {}, options: FastBpeOptions = {}): FastBpe {
    const codesName = names.codes ?? '<codes>';
    const ranks = new Map<string, number>();
    const reversed = new Map<string, [string, string]>();
    linesOf(codes).forEach((line, i) => {
      const f = fields(line);
      const where = `${codesName}:${i + 1}`;
      if (f.length !== 3 || !UINT.test(f[2])) throw new Error(`${where}: expected a BPE code "left right count", got ${JSON.stringify(line)}`);
      const key = `${f[0]} ${f[1]}`;
      if (ranks.has(key)) throw new Error(`${where}: duplicate pair "${key}" (first at line ${ranks.get(key)! + 1})`);
      const concat = f[0] + f[1];
      const other = reversed.get(concat);
      if (other) throw new Error(`${where}: pair "${key}" makes "${concat}", as "${other.join(' ')}" does (fastBPE needs one pair per subword)`);
      ranks.set(key, i);
      reversed.set(concat, [f[0], f[1]]);
    });
    const cacheSize = options.cacheSize ?? 100_000;
    if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new RangeError(`cacheSize must be an integer >= 0, got ${cacheSize}`);
    return new FastBpe(ranks, reversed, vocab === undefined ? undefined : FastBpe.readVocab(vocab, names.vocab ?? '<vocab>'), cacheSize);
  }

  private static readVocab(text: string, name: string): Set<string> {
    const words = new Set<string>();
    linesOf(text).forEach((line, i) => {
      const f = fields(line);
      if (f.length !== 2 || !UINT.test(f[1]))
        throw new Error(`${name}:${i + 1}: expected a vocabulary line "word count", got ${JSON.stringify(line)}`);
      if (words.has(f[0])) throw new Error(`${name}:${i + 1}: duplicate word "${f[0]}"`);
      words.add(f[0]);
    });
    return words;
  }

  /** Number of BPE codes (merges). */
  get codesCount(): number {
    return this.ranks.size;
  }

  /**
   * BPE of one line of space-separated tokens, as `fast applybpe` writes it: each token's subwords joined by
   * `@@ `; runs of spaces are kept as they are. A `\n` separates lines, as in fastBPE's input files.
   */
  apply(sentence: string): string {
    if (sentence.includes('\n'))
      return sentence
        .split('\n')
        .map((line) => this.apply(line))
        .join('\n');
    const words = sentence.split(' ');
    for (let i = 0; i < words.length; i++) if (words[i] !== '') words[i] = this.word(words[i]);
    return words.join(' ');
  }

  /** The subword tokens of `words` in order (`Ex@@`, `it`, ...); empty words are skipped. */
  applyWords(words: string[]): string[] {
    const out: string[] = [];
    for (const w of words) if (w !== '') for (const s of this.word(w).split(' ')) out.push(s);
    return out;
  }

  /** Forgets the remembered words (for cold-cache timings). */
  clearCache(): void {
    this.cache.clear();
  }

  /** The reverse of {@link FastBpe.apply}: per line, removes `@@ ` and a final `@@` (XLM: `sed -r 's/(@@ )|(@@ ?$)//g'`). */
  static merge(bpeText: string): string {
    return bpeText
      .split('\n')
      .map((line) => line.replace(/@@ |@@ ?$/g, ''))
      .join('\n');
  }

  private word(word: string): string {
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    const bpe = this.encode(word);
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) this.cache.clear();
      this.cache.set(word, bpe);
    }
    return bpe;
  }

  /** fastBPE's process_bpe: merge the adjacent pair of lowest rank everywhere, until none is a code. */
  private encode(word: string): string {
    let subwords = charsOf(word);
    while (subwords.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < subwords.length; i++) {
        const rank = this.ranks.get(subwords[i] + ' ' + subwords[i + 1]);
        if (rank !== undefined && rank < bestRank) {
          best = i;
          bestRank = rank;
        }
      }
      if (best < 0) break;
      const [a, b] = [subwords[best], subwords[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < subwords.length; i++) {
        if (i + 1 < subwords.length && subwords[i] === a && subwords[i + 1] === b) {
          merged.push(a + b);
          i++;
        } else merged.push(subwords[i]);
      }
      subwords = merged;
    }
    if (this.vocab) subwords = this.limitVocab(subwords, this.vocab);
    const joined = subwords.join(DELIM + ' ');
    return joined.slice(0, joined.length - END_WORD.length);
  }

  /** fastBPE's limitVocab: subwords not in the vocabulary (`x@@` inside a word, `x` at its end) are split again. */
  private limitVocab(subwords: string[], vocab: Set<string>): string[] {
    const out: string[] = [];
    subwords.forEach((s, i) => {
      const final = i === subwords.length - 1;
      if (vocab.has(final ? s.slice(0, -END_WORD.length) : s + DELIM)) out.push(s);
      else this.decompose(s, out, vocab, final);
    });
    return out;
  }

  /** fastBPE's decompose: undo the merge that made `s`, keeping each half the vocabulary knows. */
  private decompose(s: string, out: string[], vocab: Set<string>, final: boolean): void {
    const pair = this.reversed.get(s);
    if (!pair) {
      out.push(s); // a single character: fastBPE keeps it
      return;
    }
    const [left, right] = pair;
    if (vocab.has(left + DELIM)) out.push(left);
    else this.decompose(left, out, vocab, false);
    if (vocab.has(final ? right.slice(0, -END_WORD.length) : right + DELIM)) out.push(right);
    else this.decompose(right, out, vocab, final);
  }
}
