// Small models and data for the training tests: a 2+2-layer, 32-wide XLM transformer with dropout, and a
// reversal task over 20 tokens, so a few dozen updates already show learning.
import type { TokenPair } from '../../lib';

export const toyTeacherConfig = {
  vocabSize: 24,
  embDim: 32,
  nHeads: 2,
  encoderLayers: 2,
  decoderLayers: 2,
  dropout: 0.1,
  attentionDropout: 0.1,
  maxPositions: 64,
};

/** `n` pairs: a source of 3–8 ids in [4, 24) and its reversal as the target (deterministic per seed). */
export function toyCopyPairs(n: number, seed: number): TokenPair[] {
  let x = seed * 7919 + 1;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x;
  };
  return Array.from({ length: n }, () => {
    const src = Array.from({ length: 3 + (next() % 6) }, () => 4 + (next() % 20));
    return { src, tgt: [...src].reverse() };
  });
}
