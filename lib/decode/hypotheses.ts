/**
 * The finished hypotheses of one sentence in beam search (XLM's rule): the best `beamSize` by normalised
 * score, and when no live hypothesis can still beat the worst of them.
 */

/** One decoded output. */
export interface Hypothesis {
  /** Generated token ids, without the start `</s>` and the final `</s>`. */
  tokens: number[];
  /** Sum of log-probs (the final `</s>` included) / (tokens.length + 1)^lengthPenalty. */
  score: number;
  /** Log-prob of each generated token, the final `</s>` last (so one longer than `tokens` when finished). */
  tokenLogProbs: number[];
}

/** Normalised score: the length counts the start token and the words, not the final `</s>` (as XLM). */
export function normalise(sumLogProb: number, numWords: number, lengthPenalty: number): number {
  return sumLogProb / Math.pow(numWords + 1, lengthPenalty);
}

export class FinishedHypotheses {
  private readonly items: Hypothesis[] = [];

  constructor(
    private readonly capacity: number,
    private readonly lengthPenalty: number,
    private readonly maxLength: number,
    private readonly earlyStopping: boolean
  ) {}

  get size(): number {
    return this.items.length;
  }

  private get worst(): number {
    return this.items.length === 0 ? -Infinity : this.items[this.items.length - 1].score;
  }

  add(tokens: number[], tokenLogProbs: number[], sumLogProb: number): void {
    const score = normalise(sumLogProb, tokens.length, this.lengthPenalty);
    if (this.items.length >= this.capacity && score <= this.worst) return;
    this.items.push({ tokens, tokenLogProbs, score });
    this.items.sort((x, y) => y.score - x.score);
    if (this.items.length > this.capacity) this.items.pop();
  }

  /**
   * Done when full and the best live sum of log-probs, even stretched to the longest allowed length, cannot
   * beat the worst finished score (or at once with earlyStopping).
   */
  isDone(bestLiveSumLogProb: number): boolean {
    if (this.items.length < this.capacity) return false;
    if (this.earlyStopping || !Number.isFinite(bestLiveSumLogProb)) return true;
    return this.worst >= bestLiveSumLogProb / Math.pow(this.maxLength, this.lengthPenalty);
  }

  best(n: number): Hypothesis[] {
    return this.items.slice(0, n);
  }
}
