/**
 * The sentences a beam search is decoding and one step of it: K hypotheses per sentence as rows of one decoder
 * state, scores, top-2K over K·V and the reorder on the device, one small device→host copy for the
 * bookkeeping. Sentences may be added between steps (continuous batching merges their states in) and leave
 * when finished. `beamSearch` runs one set to the end; the translation service keeps one running.
 */
import { tensor } from '../tensor/create';
import type { Device } from '../tensor/dtype';
import { native } from '../native';
import { tidy } from '../tensor/scope';
import { noGrad, startWithoutGrad } from '../tensor/runtime';
import type { DecoderState, Seq2Seq } from '../models/seq2seq';
import { applyConstraints, isForced, type RowContext } from './constraints';
import type { OutputColumns } from './common';
import { FinishedHypotheses } from './hypotheses';
import type { ResolvedDecodeOptions } from './options';
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- the target of {@link greedy} in BeamSet's doc comment
import type { greedy } from './greedy';

interface Beam {
  tokens: number[];
  tokenLogProbs: number[];
  /** Sum of log-probs so far (-Infinity for a placeholder beam). */
  sum: number;
}

/** A sentence in the set: its length cap, target language and finished hypotheses, plus what the caller keeps. */
export interface BeamSentence {
  /** Tokens allowed, the final `</s>` included. */
  cap: number;
  /** Target language id, when the model decodes into one. */
  lang?: number;
  finished: FinishedHypotheses;
}

export class BeamSet<S extends BeamSentence> {
  private live: S[] = [];
  private beams: Beam[] = [];

  /**
   * `K` hypotheses per sentence. `greedy` (K = 1 only): a sentence ends when its argmax is `</s>`, as
   * {@link greedy} decodes, rather than by beam search's rule, which may look beyond a first `</s>`.
   */
  constructor(
    private readonly model: Seq2Seq,
    readonly K: number,
    private readonly o: ResolvedDecodeOptions,
    private readonly device: Device,
    private readonly greedy = false
  ) {
    if (greedy && K !== 1) throw new RangeError(`BeamSet: greedy decoding keeps one hypothesis per sentence, not ${K}`);
  }

  /** The sentences still decoding, in row order (rows s·K .. s·K+K-1 are sentence s's beams). */
  get sentences(): readonly S[] {
    return this.live;
  }

  /** A new FinishedHypotheses for a sentence of this set. */
  finishedFor(cap: number): FinishedHypotheses {
    return new FinishedHypotheses(this.K, this.o.lengthPenalty, cap, this.o.earlyStopping);
  }

  /** Appends sentences whose K rows the state now holds after the current ones (only beam 0 live at first). */
  add(sentences: S[]): void {
    this.live.push(...sentences);
    for (const _ of sentences) {
      for (let k = 0; k < this.K; k++) this.beams.push({ tokens: [], tokenLogProbs: [], sum: k === 0 ? 0 : -Infinity });
    }
  }

  /** Drops the sentences `drop` picks (their rows leave the state); returns how many left. */
  remove(state: DecoderState, drop: (s: S) => boolean): number {
    const keep = this.live.map((s, j) => (drop(s) ? -1 : j)).filter((j) => j >= 0);
    const removed = this.live.length - keep.length;
    if (removed > 0)
      this.keep(
        state,
        keep.flatMap((j) => Array.from({ length: this.K }, (_, k) => j * this.K + k)),
        keep.map((j) => this.live[j])
      );
    return removed;
  }

  /**
   * Runs one step for every sentence. Returns the sentences that finished (they have left the set and the state);
   * the state is reordered for the next step, or, when none is left, may be dropped.
   */
  async step(state: DecoderState, columns: OutputColumns): Promise<S[]> {
    const { K, model, o, device } = this;
    const eos = model.eosIndex;
    const V = columns.size;
    const width = Math.min(2 * K, K * V);
    const beams = this.beams;
    const rowCtx: RowContext[] = beams.map((b, r) => ({ tokens: b.tokens, maxLength: this.live[Math.floor(r / K)].cap }));
    const tokens = tensor(
      beams.map((b) => (b.tokens.length > 0 ? b.tokens[b.tokens.length - 1] : eos)),
      { dtype: 'int64', device }
    );
    const langs = this.live.some((s) => s.lang !== undefined)
      ? tensor(
          this.live.flatMap((s) => new Array<number>(K).fill(s.lang ?? 0)),
          { dtype: 'int64', device }
        )
      : undefined;
    let host: Float64Array;
    try {
      const logProbs = await startWithoutGrad(() => model.decodeStepAsync(state, tokens, langs));
      try {
        host = noGrad(() =>
          tidy(() => {
            const lp = applyConstraints(logProbs, rowCtx, columns.eos, o, columns.column);
            return native().beamTopk(
              lp.native,
              Float32Array.from(beams, (b) => b.sum),
              K,
              width
            );
          })
        );
      } finally {
        logProbs.dispose();
      }
    } finally {
      tokens.dispose();
      langs?.dispose();
    }

    const done: S[] = [];
    const nextLive: S[] = [];
    const nextBeams: Beam[] = [];
    const keepRows: number[] = [];
    this.live.forEach((s, j) => {
      const base = j * 2 * width;
      const forced = isForced(rowCtx[j * K]);
      const chosen: Array<{ row: number; beam: Beam }> = [];
      const best = host[base];
      let greedyStop = false;
      for (let c = 0; c < width && chosen.length < K && !greedyStop; c++) {
        const value = host[base + c];
        if (value === -Infinity) break; // sorted: the rest are impossible too
        const flat = host[base + width + c];
        const beamIdx = Math.floor(flat / V);
        const word = columns.id(flat - beamIdx * V);
        const row = j * K + beamIdx;
        const prev = beams[row];
        const lp = value - prev.sum;
        if (word === eos || forced) {
          s.finished.add(prev.tokens, [...prev.tokenLogProbs, lp], value);
          greedyStop = this.greedy; // the argmax was </s>
        } else {
          chosen.push({ row, beam: { tokens: [...prev.tokens, word], tokenLogProbs: [...prev.tokenLogProbs, lp], sum: value } });
        }
      }
      if (forced || greedyStop || chosen.length === 0 || s.finished.isDone(best)) {
        done.push(s);
        return;
      }
      while (chosen.length < K) chosen.push({ row: j * K, beam: { tokens: [], tokenLogProbs: [], sum: -Infinity } });
      nextLive.push(s);
      for (const c of chosen) {
        keepRows.push(c.row);
        nextBeams.push(c.beam);
      }
    });
    this.live = nextLive;
    this.beams = nextBeams;
    if (nextLive.length > 0) this.reorderState(state, keepRows);
    return done;
  }

  private keep(state: DecoderState, rows: number[], sentences: S[]): void {
    this.beams = rows.map((r) => this.beams[r]);
    this.live = sentences;
    if (rows.length > 0) this.reorderState(state, rows);
  }

  private reorderState(state: DecoderState, rows: number[]): void {
    const keep = tensor(rows, { dtype: 'int64', device: this.device });
    try {
      this.model.reorder(state, keep);
    } finally {
      keep.dispose();
    }
  }
}
