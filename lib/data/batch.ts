/**
 * Batch: padded id tensors for a Seq2Seq model, built from ragged JS arrays or a PairSource with XLM's framing —
 * source `</s> w1 … wn </s>`, target input `</s> w1 … wn`, target output `w1 … wn </s>`.
 */
import type { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/create';
import type { Device } from '../tensor/dtype';
import { sameDevice } from '../tensor/device';
import { ArrayPairSource, type PairSource } from './pair-source';

/** What {@link Batch.from} takes: token ids without framing (it adds `</s>`). */
export interface BatchInput {
  /** Source token ids of each sentence. */
  src: number[][];
  /** Target token ids of each sentence (default: none, each target is a lone `</s>`). */
  tgt?: number[][];
  /** Language id of every source (one number) or per sentence. */
  srcLang?: number | number[];
  /** Language id of every target (one number) or per sentence. */
  tgtLang?: number | number[];
}

/** Ids of the special tokens used for framing and padding (XLM's: `</s>` = 1, `<pad>` = 2). */
export interface FramingOptions {
  /** Id of `</s>` (default 1). */
  eosIndex?: number;
  /** Id of `<pad>` (default 2). */
  padIndex?: number;
  /** Where the tensors are made (default cpu). */
  device?: Device;
}

/** One batch of a Seq2Seq model's input and targets, as padded int64 tensors ([B] = sentences). */
export class Batch {
  /** Takes the tensors as they are (the batch owns them); {@link Batch.from} and {@link Batch.fromSource} build them from ids. */
  constructor(
    /** [B, S] source ids, framed `</s> w1 … wn </s>` and padded. */
    readonly src: Tensor,
    /** [B] source lengths, framing included. */
    readonly srcLen: Tensor,
    /** [B, T] decoder input ids, `</s> w1 … wn`, padded. */
    readonly tgtIn: Tensor,
    /** [B, T] target ids the loss predicts, `w1 … wn </s>`, padded. */
    readonly tgtOut: Tensor,
    /** [B] target lengths (tokens that count in the loss). */
    readonly tgtLen: Tensor,
    /** [B] source language ids, for models with language embeddings. */
    readonly srcLang?: Tensor,
    /** [B] target language ids, for models with language embeddings. */
    readonly tgtLang?: Tensor
  ) {}

  /** Number of sentences. */
  get size(): number {
    return this.src.shape[0];
  }

  /** Target tokens that count in the loss (not padding). */
  get numTargetTokens(): number {
    return Number(this.tgtLen.sum().item());
  }

  /** Pads and frames ragged id lists. Without `tgt` the target side is a single `</s>` per sentence. */
  static from(input: BatchInput, opts: FramingOptions = {}): Batch {
    if (!input || !Array.isArray(input.src) || input.src.length === 0) {
      throw new TypeError("Batch.from: 'src' must be a non-empty array of token id arrays");
    }
    const B = input.src.length;
    checkIds(input.src, 'src');
    if (input.tgt !== undefined) {
      checkIds(input.tgt, 'tgt');
      if (input.tgt.length !== B) throw new RangeError(`Batch.from: 'tgt' has ${input.tgt.length} sentences, 'src' has ${B}`);
    }
    const tgt = input.tgt ?? input.src.map(() => []);
    const source = new ArrayPairSource(
      input.src.map((src, i) => ({ src, tgt: tgt[i] })),
      'Batch.from: pairs'
    );
    return Batch.fromSource(source, Int32Array.from(input.src.keys()), { ...opts, srcLang: input.srcLang, tgtLang: input.tgtLang });
  }

  /**
   * The batch of pairs `indices` of `source`, framed and padded in typed arrays (no JS array per sentence):
   * how the Batcher builds every training batch, from memory or from a token store.
   */
  static fromSource(source: PairSource, indices: ArrayLike<number>, opts: FramingOptions & Pick<BatchInput, 'srcLang' | 'tgtLang'> = {}): Batch {
    const eos = opts.eosIndex ?? 1;
    const pad = opts.padIndex ?? 2;
    const B = indices.length;
    if (B === 0) throw new TypeError("Batch.fromSource: 'indices' must name at least one pair");
    let ws = 0;
    let wt = 0;
    for (let r = 0; r < B; r++) {
      ws = Math.max(ws, source.srcLength(indices[r]) + 2);
      wt = Math.max(wt, source.tgtLength(indices[r]) + 1);
    }
    const src = new Int32Array(B * ws).fill(pad);
    const tgtIn = new Int32Array(B * wt).fill(pad);
    const tgtOut = new Int32Array(B * wt).fill(pad);
    const srcLen = new Int32Array(B);
    const tgtLen = new Int32Array(B);
    for (let r = 0; r < B; r++) {
      const i = indices[r];
      const ns = source.srcLength(i);
      const nt = source.tgtLength(i);
      // source: </s> w1 … wn </s>
      src[r * ws] = eos;
      source.copySrc(i, src, r * ws + 1);
      src[r * ws + ns + 1] = eos;
      // target out: w1 … wn </s>; target in: </s> w1 … wn
      source.copyTgt(i, tgtOut, r * wt);
      tgtIn.set(tgtOut.subarray(r * wt, r * wt + nt), r * wt + 1);
      tgtIn[r * wt] = eos;
      tgtOut[r * wt + nt] = eos;
      srcLen[r] = ns + 2;
      tgtLen[r] = nt + 1;
    }
    const device = opts.device;
    const ids = (data: Int32Array, width: number) => tensor(data, { shape: [B, width], dtype: 'int64', device });
    const lens = (data: Int32Array) => tensor(data, { dtype: 'int64', device });
    const lang = (l: number | number[] | undefined, name: string) => {
      if (l === undefined) return undefined;
      const per = typeof l === 'number' ? new Array<number>(B).fill(l) : l;
      if (!Array.isArray(per) || per.length !== B || !per.every((x) => Number.isInteger(x) && x >= 0)) {
        throw new TypeError(`Batch.from: '${name}' must be a non-negative integer or one per sentence (${B})`);
      }
      return tensor(per, { dtype: 'int64', device });
    };
    return new Batch(
      ids(src, ws),
      lens(srcLen),
      ids(tgtIn, wt),
      ids(tgtOut, wt),
      lens(tgtLen),
      lang(opts.srcLang, 'srcLang'),
      lang(opts.tgtLang, 'tgtLang')
    );
  }

  /** The batch on `device`: this batch when it is there already, else a copy there (the caller disposes it). */
  to(device: Device): Batch {
    if (sameDevice(this.src.device, device)) return this;
    const move = (t: Tensor) => t.to(device);
    const opt = (t: Tensor | undefined) => (t === undefined ? undefined : move(t));
    return new Batch(move(this.src), move(this.srcLen), move(this.tgtIn), move(this.tgtOut), move(this.tgtLen), opt(this.srcLang), opt(this.tgtLang));
  }

  /** Frees every tensor of the batch. */
  dispose(): void {
    for (const t of [this.src, this.srcLen, this.tgtIn, this.tgtOut, this.tgtLen, this.srcLang, this.tgtLang]) t?.dispose();
  }
}

function checkIds(rows: unknown, name: string): asserts rows is number[][] {
  if (!Array.isArray(rows)) throw new TypeError(`Batch.from: '${name}' must be an array of token id arrays`);
  rows.forEach((r, i) => {
    if (!Array.isArray(r)) throw new TypeError(`Batch.from: '${name}[${i}]' must be an array of token ids`);
    r.forEach((x, j) => {
      if (!Number.isInteger(x) || x < 0) {
        throw new TypeError(`Batch.from: '${name}[${i}][${j}]' must be a non-negative integer token id, got ${String(x)}`);
      }
    });
  });
}
