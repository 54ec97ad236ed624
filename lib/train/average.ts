/**
 * An exponential moving average of a model's parameters (Marian's exponential smoothing): updated after each
 * optimizer step by one native call (native/optim/ema), swapped in for validation and saved beside the raw
 * weights, as students usually decode better with the averaged weights.
 */
import { native, type NativeParameterAverage } from '../native';
import { Tensor } from '../tensor';

/** An exponential moving average of a model's parameters (Marian's exponential smoothing), kept natively. */
export class ParameterAverage {
  private handle: NativeParameterAverage | undefined;
  private readonly names: string[];

  /** Starts the average at the parameters' current values. */
  constructor(params: Map<string, Tensor>) {
    this.names = [...params.keys()];
    this.handle = native().averageCreate([...params.values()].map((t) => t.native));
  }

  private get native(): NativeParameterAverage {
    if (!this.handle) throw new Error('ParameterAverage: disposed');
    return this.handle;
  }

  /** average = decay · average + (1 − decay) · parameter (Marian's default smoothing is decay = 1 − 1e-4). */
  update(decay: number): void {
    native().averageUpdate(this.native, decay);
  }

  /** Runs `fn` with the averaged values in the parameters, then puts the raw values back (even if it throws). */
  async withAveraged<R>(fn: () => Promise<R>): Promise<R> {
    native().averageSwap(this.native);
    try {
      return await fn();
    } finally {
      native().averageSwap(this.native);
    }
  }

  /** Copies of the averages under the parameters' names (a state dict of the averaged model). */
  stateDict(): Map<string, Tensor> {
    const ts = native().averageTensors(this.native);
    return new Map(this.names.map((n, i) => [n, new Tensor(ts[i])]));
  }

  /** Restores averages saved by {@link stateDict}. */
  loadStateDict(sd: Map<string, Tensor>): void {
    const missing = this.names.filter((n) => !sd.has(n));
    if (missing.length)
      throw new Error(`ParameterAverage.loadStateDict: missing ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}`);
    native().averageLoad(
      this.native,
      this.names.map((n) => sd.get(n)!.native)
    );
  }

  /** Frees the averages now; later use throws. */
  dispose(): void {
    if (this.handle) native().averageDispose(this.handle);
    this.handle = undefined;
  }
}
