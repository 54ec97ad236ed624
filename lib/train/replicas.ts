/**
 * The processes a training run spans, behind one interface, so the trainer's loop has a single path: one
 * process is a group of one ({@link singleProcess}: every collective is the identity), and a ProcessGroup of
 * several ranks is data-parallel as PyTorch DDP does it ({@link dataParallelReplicas}): rank 0's weights
 * everywhere at the start, each rank its share of every epoch's batches, gradients averaged by c10d's Reducer
 * during the last backward of each update, stop decisions and early-stopping state agreed by small collectives.
 */
import { DataParallel, shardOf } from '../distributed/data-parallel';
import type { ProcessGroup } from '../distributed/process-group';
import { cuda, getRngState, type Tensor, tensor } from '../tensor';

/** Generator states, one per rank. */
interface RngStates {
  cpu: Tensor[];
  cuda?: Tensor[];
}

export interface Replicas {
  readonly rank: number;
  readonly worldSize: number;
  /** Rank 0: it alone validates, logs and writes the run folder. */
  readonly lead: boolean;
  /** This rank's share of an epoch's batches (all of them in one process). */
  shard<T>(items: readonly T[]): T[];
  /**
   * Binds gradient averaging to the parameters, once the run has resumed (every rank must resume from the same
   * step; rank 0's weights are copied to all).
   */
  start(params: Map<string, Tensor>, step: number): Promise<void>;
  /**
   * The backward of one batch's loss times `scale`; the last batch of an update (`sync`) averages the gradients
   * across ranks. It runs even for a non-finite loss: the other ranks wait for its gradients, and the averaged
   * norm is then non-finite everywhere, so every rank skips that update together.
   */
  backward(loss: Tensor, scale: Tensor, sync: boolean): Promise<void>;
  /** Element-wise sums over the ranks (the update's losses, stop votes). */
  sum(values: number[]): Promise<number[]>;
  /** Rank 0's values on every rank (its early-stopping state after it validated). */
  fromLead(values: number[]): Promise<number[]>;
  /**
   * Every rank's RNG states, in rank order (each rank resumes its own dropout stream): the CPU generator's, and
   * with a CUDA device index also that device's generator.
   */
  rngStates(cudaDevice?: number): Promise<RngStates>;
  dispose(): void;
}

/** One process: a group of one. */
function singleProcess(): Replicas {
  return {
    rank: 0,
    worldSize: 1,
    lead: true,
    shard: (items) => [...items],
    start: async () => undefined,
    backward: (loss, scale) => loss.backwardAsync(scale),
    sum: async (values) => values,
    fromLead: async (values) => values,
    rngStates: async (cudaDevice) => ({ cpu: [getRngState()], cuda: cudaDevice === undefined ? undefined : [cuda.getRngState(cudaDevice)] }),
    dispose: () => undefined,
  };
}

/** The ranks of `group`, data-parallel. */
function dataParallelReplicas(group: ProcessGroup): Replicas {
  const { rank, worldSize } = group;
  let dp: DataParallel | undefined;
  const collective = async (values: number[], op: (t: Tensor) => Promise<unknown>): Promise<number[]> => {
    const t = tensor(values, { dtype: 'float64' });
    try {
      await op(t);
      return Array.from(t.toArray() as Float64Array);
    } finally {
      t.dispose();
    }
  };
  return {
    rank,
    worldSize,
    lead: rank === 0,
    shard: (items) => shardOf(items, rank, worldSize),
    async start(params, step) {
      // The ranks must continue from one checkpoint (a run folder that only some ranks see would split them).
      const steps = await group.allGather(tensor([step], { dtype: 'float64' }));
      const seen = steps.map((t) => Number(t.item()));
      for (const t of steps) t.dispose();
      if (seen.some((s) => s !== seen[0])) {
        throw new Error(
          `train: the ranks resumed from different steps (${seen.map((s, r) => `rank ${r}: ${s}`).join(', ')}); every rank must see the same runDir`
        );
      }
      // XLM's encoder keeps a prediction layer that translation never uses: let the Reducer find such parameters.
      dp = await DataParallel.create(group, params, { findUnusedParameters: true });
    },
    async backward(loss, scale, sync) {
      try {
        if (sync) await dp!.prepareForBackward([loss]);
        await loss.backwardAsync(scale);
      } catch (e) {
        throw new Error(`train: rank ${rank} of ${worldSize}: averaging the gradients failed: ${(e as Error).message}`, { cause: e });
      }
    },
    sum: (values) => collective(values, (t) => group.allReduce(t, 'sum')),
    fromLead: (values) => collective(values, (t) => group.broadcast(t, 0)),
    rngStates: async (cudaDevice) => ({
      cpu: await group.allGather(getRngState()),
      cuda: cudaDevice === undefined ? undefined : await group.allGather(cuda.getRngState(cudaDevice)),
    }),
    dispose: () => dp?.dispose(),
  };
}

/** The replicas of a run: data-parallel over a group of several ranks, else one process. */
export function replicasOf(group: ProcessGroup | undefined): Replicas {
  return group && group.worldSize > 1 ? dataParallelReplicas(group) : singleProcess();
}
