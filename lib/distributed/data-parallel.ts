/**
 * DataParallel: a model's gradients averaged over the ranks of a ProcessGroup by c10d's Reducer, as PyTorch's
 * DistributedDataParallel does it (native/distributed/reducer.cc): at creation every rank gets rank 0's
 * parameters; afterwards, each backward that follows `prepareForBackward()` allreduces the gradients in
 * buckets while backward still runs, and ends with every rank holding the same averaged gradients. Batches
 * whose backward is not prepared just accumulate locally (DDP's `no_sync`), so gradient accumulation
 * communicates once per update.
 */
import { native, type NativeReducer } from '../native';
import type { Tensor } from '../tensor/tensor';
import type { ProcessGroup } from './process-group';

/** Options of {@link DataParallel.create}. */
export interface DataParallelOptions {
  /** Bucket size of the gradient allreduce in MiB (default 25, as DDP; the first bucket is at most 1 MiB). */
  bucketMiB?: number;
  /**
   * Allow parameters that get no gradient in some backward (default false, as DDP: every parameter that
   * requires grad must get one, or the next update fails with c10d's error naming them).
   */
  findUnusedParameters?: boolean;
}

/** Gradient averaging across ranks for one model's parameters. */
export class DataParallel {
  /** @param group - the process group whose ranks average gradients. */
  private constructor(
    private handle: NativeReducer | undefined,
    readonly group: ProcessGroup
  ) {}

  /**
   * Checks that every rank has the same parameters (names' shapes and dtypes), copies rank 0's values into
   * all ranks, and binds the Reducer. Every rank must call it, with the same model.
   */
  static async create(group: ProcessGroup, params: Map<string, Tensor>, opts: DataParallelOptions = {}): Promise<DataParallel> {
    const entries = [...params];
    const handle = await native().distReducerAsync(
      group.native,
      entries.map(([, t]) => t.native),
      entries.map(([n]) => n),
      opts.bucketMiB ?? 25,
      opts.findUnusedParameters ?? false
    );
    return new DataParallel(handle, group);
  }

  /**
   * Call between the forward and the backward of a batch whose gradients must be averaged now (the last
   * batch of an update). With `findUnusedParameters`, pass the loss so unused parameters can be found.
   */
  async prepareForBackward(outputs: Tensor[] = []): Promise<void> {
    if (!this.handle) throw new Error('DataParallel: it was disposed');
    await native().distReducerPrepareAsync(this.handle, outputs.length ? outputs.map((t) => t.native) : undefined);
  }

  /** Unhooks the Reducer from the parameters. */
  dispose(): void {
    if (this.handle) native().distReducerDispose(this.handle);
    this.handle = undefined;
  }
}

/**
 * Rank `rank`'s share of an epoch's batches: every `worldSize`-th batch from its own index, cut to the same
 * count on every rank (the last `length % worldSize` batches are left out, as DistributedSampler's
 * drop_last), so all ranks take the same number of steps.
 */
export function shardOf<T>(items: readonly T[], rank: number, worldSize: number): T[] {
  const per = Math.floor(items.length / worldSize);
  return Array.from({ length: per }, (_, j) => items[j * worldSize + rank]);
}
