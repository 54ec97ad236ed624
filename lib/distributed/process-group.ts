/**
 * ProcessGroup: data-parallel communication between Node processes on PyTorch's own engine (c10d with the
 * Gloo backend, native/distributed), joined the way torchrun starts its workers: RANK, WORLD_SIZE,
 * MASTER_ADDR, MASTER_PORT (and LOCAL_RANK) from the environment, or the same as options. Collectives run off
 * the JS thread and work in place on CPU tensors; a failed or timed-out peer rejects with an Error naming
 * the operation and the rank.
 */
import { native, type NativeProcessGroup } from '../native';
import { Tensor } from '../tensor/tensor';

/** How to join; every field defaults to torchrun's environment variable. */
export interface ProcessGroupOptions {
  /** This process's rank in [0, worldSize) (default $RANK, else 0). */
  rank?: number;
  /** Processes in the group (default $WORLD_SIZE, else 1). */
  worldSize?: number;
  /** Where rank 0 serves the rendezvous store (default $MASTER_ADDR, else 127.0.0.1). */
  masterAddr?: string;
  /** Its port (default $MASTER_PORT, else 29500). */
  masterPort?: number;
  /** Rank on this machine (default $LOCAL_RANK, else rank). */
  localRank?: number;
  /**
   * Longest wait for the rendezvous and for any collective, in ms (default $XLM_KD_DIST_TIMEOUT_MS, else 5
   * minutes). A killed peer fails a collective at once; a frozen one only after this. Work that one rank does
   * while the others wait (validation, building a teacher cache) must fit in it.
   */
  timeoutMs?: number;
}

/** How {@link ProcessGroup.allReduce} combines the ranks' tensors. */
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min' | 'product';

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new TypeError(`ProcessGroup.init: environment variable ${name} must be a whole number, got '${raw}'`);
  return v;
}

/** A joined group. */
export class ProcessGroup {
  private constructor(
    private handle: NativeProcessGroup | undefined,
    /** This process's rank in the group (0 … worldSize-1). */
    readonly rank: number,
    /** Ranks in the group. */
    readonly worldSize: number,
    /** This process's rank on its machine (e.g. to pick its GPU). */
    readonly localRank: number
  ) {}

  /** Joins the group; resolves once every rank has joined (or rejects after `timeoutMs`). */
  static async init(opts: ProcessGroupOptions = {}): Promise<ProcessGroup> {
    const rank = opts.rank ?? envInt('RANK', 0);
    const worldSize = opts.worldSize ?? envInt('WORLD_SIZE', 1);
    const options = {
      rank,
      worldSize,
      masterAddr: opts.masterAddr ?? process.env.MASTER_ADDR ?? '127.0.0.1',
      masterPort: opts.masterPort ?? envInt('MASTER_PORT', 29500),
      timeoutMs: opts.timeoutMs ?? (envInt('XLM_KD_DIST_TIMEOUT_MS', 0) || 300_000),
    };
    const handle = await native().distInitAsync(options);
    return new ProcessGroup(handle, rank, worldSize, opts.localRank ?? envInt('LOCAL_RANK', rank));
  }

  private get group(): NativeProcessGroup {
    if (!this.handle) throw new Error('ProcessGroup: the group was destroyed');
    return this.handle;
  }

  /** @internal The native group, for the Reducer (lib/distributed/data-parallel.ts). */
  get native(): NativeProcessGroup {
    return this.group;
  }

  /** Reduces `tensor` across ranks in place ('avg' = sum / worldSize, as DDP averages gradients). */
  async allReduce(tensor: Tensor, op: ReduceOp = 'sum'): Promise<Tensor> {
    await native().distAllReduceAsync(this.group, tensor.native, op);
    return tensor;
  }

  /** Copies `root`'s values into `tensor` on every rank, in place. */
  async broadcast(tensor: Tensor, root = 0): Promise<Tensor> {
    await native().distBroadcastAsync(this.group, tensor.native, root);
    return tensor;
  }

  /** Resolves when every rank has reached it. */
  async barrier(): Promise<void> {
    await native().distBarrierAsync(this.group);
  }

  /** Every rank's `tensor` (same shape on all ranks), in rank order. */
  async allGather(tensor: Tensor): Promise<Tensor[]> {
    return (await native().distAllGatherAsync(this.group, tensor.native)).map((h) => new Tensor(h));
  }

  /** Leaves the group (the connection closes once no collective uses it). */
  destroy(): void {
    if (this.handle) native().distDestroy(this.handle);
    this.handle = undefined;
  }
}
