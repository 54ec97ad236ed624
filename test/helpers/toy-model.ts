// A hand-built Seq2Seq for decoding tests: a first-order Markov chain over the vocabulary whose next-token
// distribution depends only on the previous token, so the best sequences can be worked out by hand.
import { type Batch, type DecoderState, type LoadReport, type Seq2Seq, type Tensor, tensor } from '../../lib';

class ToyState implements DecoderState {
  /** Per row: the first source token (where a source-following chain starts). */
  constructor(public firstSrc: number[]) {}
  get size(): number {
    return this.firstSrc.length;
  }
}

export class ToyMarkovModel implements Seq2Seq {
  readonly kind = 'toy-markov';
  readonly eosIndex = 1;
  readonly padIndex = 2;
  readonly vocabSize: number;
  readonly training = false;
  readonly device = 'cpu' as const;
  /** log P(next | prev) as [V, V]. */
  readonly table: Tensor;
  steps = 0;
  rowsDecoded = 0;
  maxRows = 0;

  /**
   * `probs[prev][next]`: each row is normalised here. With `startFromSource`, the first step emits the
   * source's first token with certainty, so different sources give different outputs.
   */
  constructor(
    probs: number[][],
    readonly startFromSource = false
  ) {
    this.vocabSize = probs.length;
    const rows = probs.map((r) => {
      const z = r.reduce((a, b) => a + b, 0);
      return r.map((p) => Math.log(p / z));
    });
    this.table = tensor(rows, { dtype: 'float32' });
  }
  async forwardAsync(batch: Batch): Promise<Tensor> {
    return this.forward(batch);
  }
  forward(batch: Batch): Tensor {
    const [B, T] = batch.tgtIn.shape;
    return this.table.indexSelect(0, batch.tgtIn.reshape(-1)).view(B, T, this.vocabSize);
  }
  forwardHidden(batch: Batch): Tensor {
    return this.forward(batch);
  }
  async forwardHiddenAsync(batch: Batch): Promise<Tensor> {
    return this.forward(batch);
  }
  outputProjection(): { weight: Tensor; bias: Tensor | null } {
    throw new Error('toy model has no projection');
  }
  encode(src: Tensor): DecoderState {
    const rows = src.tolist() as number[][];
    return new ToyState(rows.map((r) => r[1]));
  }
  async encodeAsync(src: Tensor): Promise<DecoderState> {
    return this.encode(src);
  }
  decodeStep(state: DecoderState, tokens: Tensor): Tensor {
    if (tokens.shape[0] !== state.size) throw new Error('toy: tokens do not match the state');
    this.steps++;
    this.rowsDecoded += state.size;
    this.maxRows = Math.max(this.maxRows, state.size);
    const next = this.table.indexSelect(0, tokens);
    if (!this.startFromSource) return next;
    const toks = tokens.tolist() as number[];
    const rows = (next.tolist() as number[][]).map((row, r) =>
      toks[r] === this.eosIndex ? row.map((_, j) => (j === (state as ToyState).firstSrc[r] ? 0 : -1e9)) : row
    );
    return tensor(rows, { dtype: 'float32' });
  }
  async decodeStepAsync(state: DecoderState, tokens: Tensor): Promise<Tensor> {
    return this.decodeStep(state, tokens);
  }
  encoderOutput(): Tensor {
    throw new Error('toy model has no encoder');
  }
  reorder(state: DecoderState, indices: Tensor): void {
    const s = state as ToyState;
    s.firstSrc = (indices.tolist() as number[]).map((i) => s.firstSrc[i]);
  }
  parameters(): Tensor[] {
    return [];
  }
  namedParameters(): Map<string, Tensor> {
    return new Map();
  }
  stateDict(): Map<string, Tensor> {
    return new Map();
  }
  loadStateDict(): LoadReport {
    return { missing: [], unexpected: [] };
  }
  train(): this {
    return this;
  }
  eval(): this {
    return this;
  }
  to(): this {
    return this;
  }
  numParameters(): number {
    return 0;
  }
  async save(): Promise<void> {}
}

/** Ids: 0 <s> (never), 1 </s>, 2 <pad> (never), 3 "a", 4 "b". From the start token: a 0.6, b 0.4;
 * after a: </s> 0.4, a 0.3, b 0.3; after b: </s> 0.9, a 0.05, b 0.05. Greedy says [a] (0.6·0.4 = 0.24),
 * the best sequence is [b] (0.4·0.9 = 0.36). */
export function greedyTrapModel(): ToyMarkovModel {
  const tiny = 1e-9;
  return new ToyMarkovModel([
    [tiny, 1, tiny, 1, 1],
    [tiny, tiny, tiny, 0.6, 0.4],
    [tiny, 1, tiny, 1, 1],
    [tiny, 0.4, tiny, 0.3, 0.3],
    [tiny, 0.9, tiny, 0.05, 0.05],
  ]);
}
