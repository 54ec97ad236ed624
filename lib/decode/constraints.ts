/**
 * Per-step constraints on next-token log-probs, shared by beam search and greedy/sampling: `</s>` forced
 * at a sentence's length cap, `</s>` banned before minLength, and no repeated n-grams. Built from small
 * host arrays and applied as two tensor ops, so no [N, V] data crosses from the host.
 */
import type { Tensor } from '../tensor/tensor';
import { arange, tensor } from '../tensor/create';
import type { ResolvedDecodeOptions } from './options';

/** What the constraints need to know about each live row. */
export interface RowContext {
  /** Tokens generated so far by the row's hypothesis (without the start token). */
  tokens: number[];
  /** The row sentence's length cap (tokens incl. the final `</s>`). */
  maxLength: number;
}

/** Tokens that would complete an n-gram the hypothesis already contains. */
function bannedByNgram(tokens: number[], n: number): number[] {
  if (n <= 0 || tokens.length < n - 1) return [];
  if (n === 1) return [...new Set(tokens)];
  const prefix = tokens.slice(tokens.length - (n - 1));
  const banned: number[] = [];
  for (let i = 0; i + n - 1 < tokens.length; i++) {
    let match = true;
    for (let k = 0; k < n - 1 && match; k++) match = tokens[i + k] === prefix[k];
    if (match) banned.push(tokens[i + n - 1]);
  }
  return banned;
}

/** Whether the row must emit `</s>` at this step (its next token is the last one allowed). */
export function isForced(row: RowContext): boolean {
  return row.tokens.length + 1 >= row.maxLength;
}

/**
 * Returns `logProbs` [N, V] with forbidden tokens at -Infinity: a new tensor when a constraint applies, else
 * `logProbs` itself (never modified in place).
 */
export function applyConstraints(
  logProbs: Tensor,
  rows: RowContext[],
  eos: number,
  o: ResolvedDecodeOptions,
  /** The column of a token id when the columns are a shortlist's (undefined: left out, nothing to ban). */
  column: (id: number) => number | undefined = (id) => id
): Tensor {
  const V = logProbs.shape[1];
  const flat: number[] = [];
  const forced: boolean[] = rows.map(isForced);
  rows.forEach((row, r) => {
    if (forced[r]) return;
    if (row.tokens.length < o.minLength) flat.push(r * V + eos);
    for (const tok of bannedByNgram(row.tokens, o.noRepeatNgram)) {
      const c = column(tok);
      if (c !== undefined && c !== eos) flat.push(r * V + c);
    }
  });
  let out = logProbs;
  if (flat.length > 0) {
    const idx = tensor(flat, { dtype: 'int64', device: logProbs.device });
    out = out.reshape(-1).indexFill(0, idx, -Infinity).view(logProbs.shape);
  }
  if (forced.some(Boolean)) {
    const rowMask = tensor(forced, { device: logProbs.device }).unsqueeze(1);
    const notEos = arange(V, undefined, 1, { device: logProbs.device }).ne(eos).unsqueeze(0);
    out = out.maskedFill(rowMask.mul(notEos), -Infinity);
  }
  return out;
}
