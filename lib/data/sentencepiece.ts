/**
 * SentencePiece tokenizer (native/tokenizer over Debian's libsentencepiece), one of the two {@link Tokenizer}s: training with XLM's special
 * ids, loading from a .model file or from bytes (a run folder keeps its tokenizer beside the weights),
 * encoding and decoding, synchronously or off the JS thread.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type FlatIds, native, type NativeSentencePiece } from '../native';
import { writeFileAtomic } from '../io/atomic-write';
import { type SpecialIds, type TextOptions, type Tokenizer, type TokenizerKind, XLM_SPECIAL_IDS } from './tokenizer';

/** How to train; every field but the input has a default. */
export interface SentencePieceTrainOptions {
  /** A text file, one sentence per line. Give this or `sentences`. */
  input?: string;
  /** Training sentences (written to a temp file first); newlines inside one become spaces. */
  sentences?: Iterable<string> | AsyncIterable<string>;
  /** Pieces in the vocabulary, special and user-defined ones included (default 8000). */
  vocabSize?: number;
  /** Segmentation model (default 'unigram'). */
  modelType?: 'bpe' | 'unigram';
  /** Share of characters the vocabulary must cover, in [0.98, 1] (default 0.9995; 1 for small alphabets). */
  characterCoverage?: number;
  /** Pieces kept whole and never split, such as language tags `<en>`, `<de>` (default none). */
  userDefinedSymbols?: string[];
  /** Sentences sampled from the input for training; 0 = all (default 0). Otherwise more than 100. */
  inputSentenceSize?: number;
  /** Shuffle before sampling `inputSentenceSize` sentences (default true). */
  shuffle?: boolean;
  /** Seed of SentencePiece's sampling (default 0, so training is reproducible). */
  seed?: number;
  /** Trainer threads, 1–128 (default: the CPUs this process may use, at most 16). */
  numThreads?: number;
  /** Longer input lines (in bytes) are skipped (default 4192). */
  maxSentenceLength?: number;
  /** Fail when the data cannot yield `vocabSize` pieces (default true); false = train a smaller vocabulary. */
  hardVocabLimit?: boolean;
  /** Let SentencePiece log its progress to stderr (default false). */
  verbose?: boolean;
  /** Also write the trained model here (atomically), e.g. `run/tokenizer.model`. */
  modelPath?: string;
}

/** Options for {@link SentencePiece.load} and {@link SentencePiece.fromBytes}. */
export interface SentencePieceLoadOptions {
  /**
   * Refuse models whose special ids differ from XLM's (`<s>`=0, `</s>`=1, `<pad>`=2, `<unk>`=3), because
   * a model frames sentences with those ids (default true).
   */
  requireXlmIds?: boolean;
}

// Native errors start with the entry point's name ("spmEncode: ..."): say which method the caller used.
function rethrow(method: string, err: unknown): never {
  if (err instanceof Error) {
    err.message = err.message.replace(/^spm\w+: /, `SentencePiece.${method}: `);
  }
  throw err;
}

function call<R>(method: string, fn: () => R): R {
  try {
    return fn();
  } catch (err) {
    rethrow(method, err);
  }
}

async function callAsync<R>(method: string, fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    rethrow(method, err);
  }
}

/** The defaults of SentencePiece.train's vocabulary (the rest are SentencePiece's own). */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- the assertion widens the frozen default's type (typescript-eslint#12376)
export const SENTENCEPIECE_DEFAULTS = Object.freeze({ vocabSize: 8000, modelType: 'unigram' as 'unigram' | 'bpe', characterCoverage: 0.9995 });

function definedOf<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Partial<Pick<T, K>>;
}

function defaultThreads(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(16, n));
}

async function writeSentences(sentences: Iterable<string> | AsyncIterable<string>, file: string): Promise<number> {
  const out = fs.createWriteStream(file, { encoding: 'utf8' });
  let count = 0;
  let failed: Error | undefined;
  out.on('error', (e) => (failed = e));
  try {
    for await (const s of sentences as AsyncIterable<string>) {
      if (typeof s !== 'string') throw new TypeError(`SentencePiece.train: sentences[${count}] must be a string, got ${typeof s}`);
      const line = s.replace(/[\r\n]+/g, ' ').trim();
      if (line === '') continue;
      count++;
      if (!out.write(line + '\n')) await new Promise<void>((resolve) => out.once('drain', resolve));
      if (failed) throw failed;
    }
  } finally {
    await new Promise<void>((resolve) => out.end(resolve));
  }
  if (failed) throw failed;
  return count;
}

/**
 * A loaded SentencePiece model. Ids follow XLM (`<s>`=0, `</s>`=1, `<pad>`=2, `<unk>`=3) for models
 * trained here; {@link Batch.from} adds the `</s>` framing, so `encode` returns the bare pieces.
 */
export class SentencePiece implements Tokenizer {
  /** Always `'sentencepiece'`. */
  readonly kind: TokenizerKind = 'sentencepiece';

  private constructor(private readonly handle: NativeSentencePiece) {}

  /**
   * Trains a model off the JS thread from a text file (`input`) or from `sentences`.
   * @throws Error when the input is missing or empty, or `vocabSize` does not fit the data.
   */
  static async train(opts: SentencePieceTrainOptions): Promise<SentencePiece> {
    if (opts === null || typeof opts !== 'object') throw new TypeError("SentencePiece.train: argument 'opts' must be an object");
    const hasInput = opts.input !== undefined;
    const hasSentences = opts.sentences !== undefined;
    if (hasInput === hasSentences) {
      throw new TypeError("SentencePiece.train: give exactly one of 'input' (a text file) and 'sentences'");
    }
    let tmpDir: string | undefined;
    try {
      let input = opts.input as string;
      if (hasSentences) {
        tmpDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'xlm-kd-spm-'));
        input = path.join(tmpDir, 'sentences.txt');
        const n = await writeSentences(opts.sentences as Iterable<string> | AsyncIterable<string>, input);
        if (n === 0) throw new Error("SentencePiece.train: 'sentences' has no non-empty sentence");
      }
      const bytes = await callAsync('train', () =>
        native().spmTrain({
          input,
          ...SENTENCEPIECE_DEFAULTS,
          ...definedOf(opts, ['vocabSize', 'modelType', 'characterCoverage']),
          userDefinedSymbols: opts.userDefinedSymbols ?? [],
          inputSentenceSize: opts.inputSentenceSize ?? 0,
          shuffle: opts.shuffle ?? true,
          seed: opts.seed ?? 0,
          numThreads: opts.numThreads ?? defaultThreads(),
          maxSentenceLength: opts.maxSentenceLength ?? 4192,
          hardVocabLimit: opts.hardVocabLimit ?? true,
          verbose: opts.verbose ?? false,
        })
      );
      const sp = SentencePiece.fromBytes(bytes);
      if (opts.modelPath !== undefined) await sp.save(opts.modelPath);
      return sp;
    } finally {
      if (tmpDir !== undefined) await fs.promises.rm(tmpDir, { recursive: true, force: true });
    }
  }

  /**
   * Loads a `.model` file.
   * @throws Error naming the file when it is missing or not a SentencePiece model.
   */
  static load(file: string, opts: SentencePieceLoadOptions = {}): SentencePiece {
    if (typeof file !== 'string') throw new TypeError("SentencePiece.load: argument 'file' must be a path string");
    return new SentencePiece(call('load', () => native().spmLoad(file))).checked('load', file, opts);
  }

  /** Loads a model from its serialized bytes (as {@link serialize} returns or a `.model` file holds). */
  static fromBytes(bytes: Uint8Array | ArrayBuffer, opts: SentencePieceLoadOptions = {}): SentencePiece {
    return new SentencePiece(call('fromBytes', () => native().spmFromBytes(bytes))).checked('fromBytes', 'the model', opts);
  }

  private checked(method: string, what: string, opts: SentencePieceLoadOptions): this {
    if (opts.requireXlmIds ?? true) {
      const ids = this.specialIds;
      const want = XLM_SPECIAL_IDS;
      if (ids.bos !== want.bos || ids.eos !== want.eos || ids.pad !== want.pad || ids.unk !== want.unk) {
        throw new Error(
          `SentencePiece.${method}: ${what} has special ids <s>=${ids.bos} </s>=${ids.eos} <pad>=${ids.pad} <unk>=${ids.unk}, ` +
            "not XLM's 0/1/2/3 (train it with SentencePiece.train, or pass { requireXlmIds: false })"
        );
      }
    }
    return this;
  }

  /** Pieces in the vocabulary (special ones included). */
  get vocabSize(): number {
    return native().spmVocabSize(this.handle);
  }

  /** The model's special ids. */
  get specialIds(): SpecialIds {
    return native().spmSpecialIds(this.handle);
  }

  /** Ids of one text (no `<s>`/`</s>` added); the language does not matter to SentencePiece. */
  encode(text: string, opts?: TextOptions): number[];
  /** Ids of each text. */
  encode(texts: string[], opts?: TextOptions): number[][];
  encode(input: string | string[]): number[] | number[][] {
    if (typeof input === 'string') return call('encode', () => native().spmEncode(this.handle, [input]))[0];
    return call('encode', () => native().spmEncode(this.handle, input));
  }

  /** {@link encode} off the JS thread (worth it for thousands of sentences). */
  encodeAsync(text: string, opts?: TextOptions): Promise<number[]>;
  encodeAsync(texts: string[], opts?: TextOptions): Promise<number[][]>;
  async encodeAsync(input: string | string[]): Promise<number[] | number[][]> {
    if (typeof input === 'string') return (await callAsync('encodeAsync', () => native().spmEncodeAsync(this.handle, [input])))[0];
    return callAsync('encodeAsync', () => native().spmEncodeAsync(this.handle, input));
  }

  /**
   * The ids of many texts in two flat arrays (`ids` one text after another, `sizes[i]` text i's count), encoded
   * off the JS thread over every core: the token store's form, which makes no JS array per sentence.
   */
  async encodeFlatAsync(texts: string[], _opts?: TextOptions): Promise<FlatIds> {
    if (!Array.isArray(texts)) throw new TypeError("SentencePiece.encodeFlatAsync: argument 'texts' must be an array of strings");
    return callAsync('encodeFlatAsync', () => native().spmEncodeFlatAsync(this.handle, texts));
  }

  /** A SHA-256 of the model's bytes: what a token store records to know which tokenizer made it. */
  get hash(): string {
    return createHash('sha256').update(this.serialize()).digest('hex');
  }

  /** Text of one id sequence. Control ids (`<s>`, `</s>`, `<pad>`) decode to nothing. */
  decode(ids: number[], opts?: TextOptions): string;
  /** Text of each id sequence. */
  decode(ids: number[][], opts?: TextOptions): string[];
  decode(ids: number[] | number[][]): string | string[] {
    if (!Array.isArray(ids)) throw new TypeError("SentencePiece.decode: argument 'ids' must be an array of ids or of id arrays");
    if (ids.length > 0 && Array.isArray(ids[0])) return call('decode', () => native().spmDecode(this.handle, ids as number[][]));
    return call('decode', () => native().spmDecode(this.handle, [ids as number[]]))[0];
  }

  /** {@link decode} of many id sequences off the JS thread. */
  async decodeAsync(ids: number[][], _opts?: TextOptions): Promise<string[]> {
    if (!Array.isArray(ids)) throw new TypeError("SentencePiece.decodeAsync: argument 'ids' must be an array of id arrays");
    return callAsync('decodeAsync', () => native().spmDecodeAsync(this.handle, ids));
  }

  /** The id of `piece` (e.g. `'<en>'` or `'▁the'`), or the unk id (3) when the vocabulary lacks it. */
  pieceToId(piece: string): number {
    return call('pieceToId', () => native().spmPieceToId(this.handle, piece));
  }

  /** The piece of `id`. @throws RangeError when `id` is outside the vocabulary. */
  idToPiece(id: number): string {
    return call('idToPiece', () => native().spmIdToPiece(this.handle, id));
  }

  /** The model's bytes: what a `.model` file holds and {@link fromBytes} reads. */
  serialize(): Buffer {
    return native().spmSerializedModel(this.handle);
  }

  /** The model's one file, `tokenizer.model`, as it sits beside a model. */
  files(): Record<string, Buffer> {
    return { 'tokenizer.model': this.serialize() };
  }

  /** Writes the model to `file` atomically (a crash never leaves half a model under that name). */
  async save(file: string): Promise<void> {
    await writeFileAtomic(file, this.serialize());
  }
}
