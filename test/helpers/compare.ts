// Comparing model outputs with the reference: only the real (unpadded) positions count, since the reference
// leaves pad positions undefined.
import type { ExecutionContext } from 'ava';
import { tidy } from '../../lib';
import type { Tensor } from '../../lib';

/** Max |a - b| over the positions t < rowLens[row] of two [B, T, ...] tensors (NaN counts as Infinity). */
export function maxDiffReal(a: Tensor, b: Tensor, rowLens: number[]): number {
  let worst = 0;
  rowLens.forEach((len, row) => {
    const d = tidy(
      () =>
        a
          .narrow(0, row, 1)
          .narrow(1, 0, len)
          .sub(b.narrow(0, row, 1).narrow(1, 0, len))
          .abs()
          .max()
          .item() as number
    );
    worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
  });
  return worst;
}

/** Asserts equal shapes and {@link maxDiffReal} <= tol; returns the difference. */
export function closeReal(t: ExecutionContext, a: Tensor, b: Tensor, rowLens: number[], what: string, tol: number): number {
  t.deepEqual(a.shape, b.shape, `${what}: shape`);
  const d = maxDiffReal(a, b, rowLens);
  t.true(d <= tol, `${what}: max |diff| ${d} > ${tol}`);
  return d;
}
