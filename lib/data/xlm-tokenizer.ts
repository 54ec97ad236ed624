/**
 * Facebook XLM's tokenizer as a {@link Tokenizer}: Moses' normalisers and tokenizer (plus XLM's optional
 * lowercasing and accent stripping), fastBPE with the release's codes, ids from the checkpoint's dictionary; and
 * the reverse (merge `@@ `, Moses detokenization). Its files: `tokenizer.json` (the settings), `codes`, `vocab`.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FlatIds } from '../native';
import { FastBpe } from './fast-bpe';
import { MosesDetokenizer, xlmPreprocess } from './moses';
import type { SpecialIds, TextOptions, Tokenizer, TokenizerKind } from './tokenizer';
import { XlmDictionary } from './xlm-dictionary';
import { decodeOffThread, encodeOffThread, unflattenIds } from './xlm-tokenizer-pool';

/** `tokenizer.json`: what an XLM tokenizer is made of and how it treats text. */
export interface XlmTokenizerSettings {
  /** Always `'xlm-bpe'`. */
  kind: 'xlm-bpe';
  /** The BPE codes file, relative to tokenizer.json (default `'codes'`). */
  codes: string;
  /** The vocabulary (`word count` lines; ids 14 onwards in order), relative to tokenizer.json (default `'vocab'`). */
  vocab: string;
  /** Lowercase and strip accents after tokenizing, as some XLM releases were trained (default false). */
  lowercaseAndStripAccents: boolean;
  /** The languages of the model this tokenizer belongs to, in id order (XLM's `id2lang`); empty when unknown. */
  languages: string[];
}

/** The settings' file name beside a model. */
export const XLM_TOKENIZER_FILE = 'tokenizer.json';

/** A file's text and the name its errors cite. */
export interface NamedText {
  /** The file's contents. */
  text: string;
  /** Its name (a path, or a description such as `model.pth (dico_id2word)`). */
  name: string;
}

/** What {@link XlmTokenizer.fromFiles} reads. */
export interface XlmTokenizerSources {
  /** BPE codes (fastBPE's `a b count` lines). */
  codes: NamedText;
  /** Vocabulary (`word count` lines). */
  vocab: NamedText;
  /** Lowercase and strip accents (default false). */
  lowercaseAndStripAccents?: boolean;
  /** The model's languages in id order (default none). */
  languages?: string[];
}

/** XLM's tokenizer: Moses + fastBPE + XLM's dictionary. Every encode and decode needs the text's language. */
export class XlmTokenizer implements Tokenizer {
  /** Always `'xlm-bpe'`. */
  readonly kind: TokenizerKind = 'xlm-bpe';
  /** A SHA-256 of the codes, the vocabulary and the settings. */
  readonly hash: string;
  private readonly detokenizers = new Map<string, MosesDetokenizer>();

  private constructor(
    private readonly bpe: FastBpe,
    /** The dictionary: ids of words. */
    readonly dictionary: XlmDictionary,
    private readonly sources: Required<XlmTokenizerSources>
  ) {
    const h = createHash('sha256');
    h.update(sources.codes.text).update('\0').update(sources.vocab.text).update('\0');
    h.update(JSON.stringify({ lowercaseAndStripAccents: sources.lowercaseAndStripAccents }));
    this.hash = h.digest('hex');
  }

  /**
   * Builds one from the codes and vocabulary texts.
   * @throws Error naming the file and line when the codes or the vocabulary are malformed, or disagree.
   */
  static fromFiles(s: XlmTokenizerSources): XlmTokenizer {
    const dictionary = XlmDictionary.fromText(s.vocab.text, s.vocab.name);
    const bpe = FastBpe.fromText(s.codes.text, s.vocab.text, { codes: s.codes.name, vocab: s.vocab.name });
    return new XlmTokenizer(bpe, dictionary, {
      codes: s.codes,
      vocab: s.vocab,
      lowercaseAndStripAccents: s.lowercaseAndStripAccents ?? false,
      languages: s.languages ?? [],
    });
  }

  /**
   * Loads `tokenizer.json` (or the folder holding it) and the codes and vocabulary it names.
   * @throws Error naming the file when one is missing or malformed.
   */
  static load(file: string): XlmTokenizer {
    const settingsFile = fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, XLM_TOKENIZER_FILE) : file;
    const settings = readSettings(settingsFile);
    const dir = path.dirname(settingsFile);
    const read = (name: string, what: string) => {
      const f = path.join(dir, name);
      if (!fs.existsSync(f)) throw new Error(`${settingsFile}: its ${what} ${f} does not exist`);
      return { text: fs.readFileSync(f, 'utf8'), name: f };
    };
    return XlmTokenizer.fromFiles({
      codes: read(settings.codes, 'BPE codes'),
      vocab: read(settings.vocab, 'vocabulary'),
      lowercaseAndStripAccents: settings.lowercaseAndStripAccents,
      languages: settings.languages,
    });
  }

  /** Ids in the dictionary: 14 specials, then the vocabulary's words. */
  get vocabSize(): number {
    return this.dictionary.size;
  }

  /** The dictionary's `<s>`, `</s>`, `<pad>`, `<unk>` ids. */
  get specialIds(): SpecialIds {
    return this.dictionary.specialIds;
  }

  /** Whether text is lowercased and stripped of accents after tokenizing. */
  get lowercaseAndStripAccents(): boolean {
    return this.sources.lowercaseAndStripAccents;
  }

  /** The model's languages in id order (empty when not recorded). */
  get languages(): readonly string[] {
    return this.sources.languages;
  }

  /** The Moses tokenization of `text` followed by BPE: the space-separated words whose ids {@link encode} gives. */
  segment(text: string, opts: TextOptions = {}): string {
    const lang = this.language('segment', opts);
    const tokenized = xlmPreprocess(text, lang, { lowercaseAndStripAccents: this.sources.lowercaseAndStripAccents });
    return tokenized === '' ? '' : this.bpe.apply(tokenized);
  }

  /** Ids of one text. @throws TypeError when `opts.lang` is missing. */
  encode(text: string, opts?: TextOptions): number[];
  /** Ids of each text. */
  encode(texts: string[], opts?: TextOptions): number[][];
  encode(input: string | string[], opts: TextOptions = {}): number[] | number[][] {
    if (typeof input === 'string') return this.encodeOne(input, opts);
    if (!Array.isArray(input)) throw new TypeError("XlmTokenizer.encode: argument 'text' must be a string or an array of strings");
    return input.map((t, i) => {
      if (typeof t !== 'string') throw new TypeError(`XlmTokenizer.encode: texts[${i}] must be a string, got ${typeof t}`);
      return this.encodeOne(t, opts);
    });
  }

  private encodeOne(text: string, opts: TextOptions): number[] {
    const words = this.segment(text, opts);
    if (words === '') return [];
    return words.split(' ').map((w) => this.dictionary.id(w));
  }

  /** {@link encode} off the JS thread (worker threads, one per core, when there are enough texts to share). */
  encodeAsync(text: string, opts?: TextOptions): Promise<number[]>;
  /** {@link encode} off the JS thread. */
  encodeAsync(texts: string[], opts?: TextOptions): Promise<number[][]>;
  async encodeAsync(input: string | string[], opts: TextOptions = {}): Promise<number[] | number[][]> {
    if (typeof input === 'string') return this.encodeOne(input, opts);
    return unflattenIds(await this.encodeFlatAsync(input, opts));
  }

  /** The ids of many texts in two flat arrays (the token store's form), encoded by worker threads. */
  async encodeFlatAsync(texts: string[], opts: TextOptions = {}): Promise<FlatIds> {
    if (!Array.isArray(texts)) throw new TypeError("XlmTokenizer.encodeFlatAsync: argument 'texts' must be an array of strings");
    const lang = this.language('encodeFlatAsync', opts);
    return encodeOffThread(this, texts, lang);
  }

  /** Encodes on this thread into the flat form (what each worker runs). */
  encodeFlat(texts: string[], opts: TextOptions = {}): FlatIds {
    const sizes = new Int32Array(texts.length);
    const all: number[] = [];
    texts.forEach((t, i) => {
      if (typeof t !== 'string') throw new TypeError(`XlmTokenizer.encodeFlat: texts[${i}] must be a string, got ${typeof t}`);
      const ids = this.encodeOne(t, opts);
      sizes[i] = ids.length;
      for (const id of ids) all.push(id);
    });
    return { ids: Int32Array.from(all), sizes };
  }

  /** Text of one id sequence: words, `@@ ` merged, Moses-detokenized. Control ids decode to nothing. */
  decode(ids: number[], opts?: TextOptions): string;
  /** Text of each id sequence. */
  decode(ids: number[][], opts?: TextOptions): string[];
  decode(ids: number[] | number[][], opts: TextOptions = {}): string | string[] {
    if (!Array.isArray(ids)) throw new TypeError("XlmTokenizer.decode: argument 'ids' must be an array of ids or of id arrays");
    const lang = this.language('decode', opts);
    const detok = this.detokenizers.get(lang) ?? new MosesDetokenizer(lang);
    this.detokenizers.set(lang, detok);
    const one = (seq: number[]) => detok.detokenize(FastBpe.merge(this.words(seq).join(' ')));
    if (ids.length > 0 && Array.isArray(ids[0])) return (ids as number[][]).map(one);
    return one(ids as number[]);
  }

  /** {@link decode} of many id sequences, by worker threads when there are enough of them. */
  async decodeAsync(ids: number[][], opts: TextOptions = {}): Promise<string[]> {
    if (!Array.isArray(ids)) throw new TypeError("XlmTokenizer.decodeAsync: argument 'ids' must be an array of id arrays");
    return decodeOffThread(this, ids, this.language('decodeAsync', opts));
  }

  private words(seq: number[]): string[] {
    const { bos, eos, pad } = this.specialIds;
    const out: string[] = [];
    for (const id of seq) {
      if (id === bos || id === eos || id === pad) continue;
      out.push(this.dictionary.word(id));
    }
    return out;
  }

  /** The id of a BPE word (the unk id when the dictionary lacks it). */
  pieceToId(piece: string): number {
    return this.dictionary.id(piece);
  }

  /** The word of `id`. @throws RangeError outside the dictionary. */
  idToPiece(id: number): string {
    return this.dictionary.word(id);
  }

  /** `tokenizer.json`, `codes` and `vocab`, as they sit beside a model. */
  files(): Record<string, Buffer> {
    const settings: XlmTokenizerSettings = {
      kind: 'xlm-bpe',
      codes: 'codes',
      vocab: 'vocab',
      lowercaseAndStripAccents: this.sources.lowercaseAndStripAccents,
      languages: this.sources.languages,
    };
    return {
      [XLM_TOKENIZER_FILE]: Buffer.from(JSON.stringify(settings, null, 2) + '\n'),
      codes: Buffer.from(this.sources.codes.text),
      vocab: Buffer.from(this.sources.vocab.text),
    };
  }

  /** What a worker thread needs to rebuild this tokenizer. */
  get workerSources(): Required<XlmTokenizerSources> {
    return this.sources;
  }

  private language(method: string, opts: TextOptions): string {
    const lang = opts?.lang;
    if (typeof lang !== 'string' || lang === '') {
      throw new TypeError(`XlmTokenizer.${method}: option 'lang' must name the text's language (Moses' rules depend on it), e.g. { lang: 'en' }`);
    }
    const known = this.sources.languages;
    if (known.length > 0 && !known.includes(lang)) {
      throw new RangeError(`XlmTokenizer.${method}: language '${lang}' is not one of the model's (${known.join(', ')})`);
    }
    return lang;
  }
}

function readSettings(file: string): XlmTokenizerSettings {
  if (!fs.existsSync(file)) throw new Error(`cannot read the XLM tokenizer ${file}: no such file`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const o = raw as Partial<XlmTokenizerSettings> | null;
  if (o === null || typeof o !== 'object' || o.kind !== 'xlm-bpe') throw new Error(`${file}: not an XLM tokenizer (expected "kind": "xlm-bpe")`);
  const str = (k: 'codes' | 'vocab') => {
    const v = o[k] ?? k;
    if (typeof v !== 'string' || v === '') throw new Error(`${file}: "${k}" must be a file name`);
    return v;
  };
  const languages = o.languages ?? [];
  if (!Array.isArray(languages) || languages.some((l) => typeof l !== 'string'))
    throw new Error(`${file}: "languages" must be an array of language codes`);
  return {
    kind: 'xlm-bpe',
    codes: str('codes'),
    vocab: str('vocab'),
    lowercaseAndStripAccents: o.lowercaseAndStripAccents === true,
    languages,
  };
}
