/**
 * Batch: padded id tensors for a Seq2Seq model, built from ragged JS arrays with XLM's framing —
 * source `</s> w1 … wn </s>`, target input `</s> w1 … wn`, target output `w1 … wn </s>`.
 */
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/create';
import { Device } from '../tensor/dtype';
import { sameDevice } from '../tensor/device';

/** What {@link Batch.from} takes: token ids without framing (it adds `</s>`). */
export interface BatchInput {
  src: number[][];
  tgt?: number[][];
  /** Language id of every source (one number) or per sentence. */
  srcLang?: number | number[];
  tgtLang?: number | number[];
}

/** Ids of the special tokens used for framing and padding (XLM's: `</s>` = 1, `<pad>` = 2). */
export interface FramingOptions {
  eosIndex?: number;
  padIndex?: number;
  device?: Device;
}

export class Batch {
  /** @param src [B, S] int64; srcLen [B]; tgtIn/tgtOut [B, T]; tgtLen [B]; languages [B] or undefined. */
  constructor(
    readonly src: Tensor,
    readonly srcLen: Tensor,
    readonly tgtIn: Tensor,
    readonly tgtOut: Tensor,
    readonly tgtLen: Tensor,
    readonly srcLang?: Tensor,
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
    const eos = opts.eosIndex ?? 1;
    const pad = opts.padIndex ?? 2;
    if (!input || !Array.isArray(input.src) || input.src.length === 0) {
      throw new TypeError("Batch.from: 'src' must be a non-empty array of token id arrays");
    }
    const B = input.src.length;
    checkIds(input.src, 'src');
    if (input.tgt !== undefined) {
      checkIds(input.tgt, 'tgt');
      if (input.tgt.length !== B) throw new RangeError(`Batch.from: 'tgt' has ${input.tgt.length} sentences, 'src' has ${B}`);
    }
    const src = input.src.map((s) => [eos, ...s, eos]);
    const tgt = input.tgt ?? input.src.map(() => []);
    const tgtIn = tgt.map((s) => [eos, ...s]);
    const tgtOut = tgt.map((s) => [...s, eos]);
    const dev = { device: opts.device };
    const ids = (rows: number[][]) => tensor(padRows(rows, pad), { dtype: 'int64', ...dev });
    const lens = (rows: number[][]) => tensor(rows.map((r) => r.length), { dtype: 'int64', ...dev });
    const lang = (l: number | number[] | undefined, name: string) => {
      if (l === undefined) return undefined;
      const per = typeof l === 'number' ? new Array<number>(B).fill(l) : l;
      if (!Array.isArray(per) || per.length !== B || !per.every((x) => Number.isInteger(x) && x >= 0)) {
        throw new TypeError(`Batch.from: '${name}' must be a non-negative integer or one per sentence (${B})`);
      }
      return tensor(per, { dtype: 'int64', ...dev });
    };
    return new Batch(ids(src), lens(src), ids(tgtIn), ids(tgtOut), lens(tgtIn), lang(input.srcLang, 'srcLang'), lang(input.tgtLang, 'tgtLang'));
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

function padRows(rows: number[][], pad: number): number[][] {
  const width = Math.max(...rows.map((r) => r.length));
  return rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(pad)]);
}
