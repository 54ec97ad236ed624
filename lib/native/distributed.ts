/**
 * The distributed part of the raw binding (native/distributed): a c10d process group, its collectives, and
 * c10d's Reducer for data-parallel gradients.
 */
import type { NativeTensor as T } from './tensor';

/** An opaque handle to a native process group. Only lib/distributed/process-group.ts holds these. */
export interface NativeProcessGroup {
  readonly __nativeProcessGroup: unique symbol;
}

/** An opaque handle to a native c10d::Reducer bound to a model's parameters. */
export interface NativeReducer {
  readonly __nativeReducer: unique symbol;
}

/** How to join a group (rank 0 serves the TCPStore at masterAddr:masterPort). */
interface NativeGroupOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  timeoutMs: number;
}

/** Process-group entry points; every collective runs on the compute thread and resolves when it is done. */
export interface DistributedBinding {
  distInitAsync(options: NativeGroupOptions): Promise<NativeProcessGroup>;
  distRank(group: NativeProcessGroup): number;
  distWorldSize(group: NativeProcessGroup): number;
  /** In place. */
  distAllReduceAsync(group: NativeProcessGroup, tensor: T, op: string): Promise<void>;
  /** In place: every rank ends with root's values. */
  distBroadcastAsync(group: NativeProcessGroup, tensor: T, root: number): Promise<void>;
  distBarrierAsync(group: NativeProcessGroup): Promise<void>;
  /** Every rank's tensor, in rank order. */
  distAllGatherAsync(group: NativeProcessGroup, tensor: T): Promise<T[]>;
  distDestroy(group: NativeProcessGroup): void;
  /**
   * Checks every rank has the same parameters' shapes, copies rank 0's values to all, and builds the Reducer
   * over those that require grad (tied tensors once).
   */
  distReducerAsync(group: NativeProcessGroup, params: T[], names: string[], bucketMiB: number, findUnusedParameters: boolean): Promise<NativeReducer>;
  /** Arms the Reducer for the next backward (its gradients are averaged over the ranks). */
  distReducerPrepareAsync(reducer: NativeReducer, outputs?: T[]): Promise<void>;
  distReducerDispose(reducer: NativeReducer): void;
}
