/** The distributed part of the raw binding (native/distributed): a c10d process group and its collectives. */
import { NativeTensor as T } from './tensor';

/** An opaque handle to a native process group. Only lib/distributed/process-group.ts holds these. */
export interface NativeProcessGroup {
  readonly __nativeProcessGroup: unique symbol;
}

/** How to join a group (rank 0 serves the TCPStore at masterAddr:masterPort). */
export interface NativeGroupOptions {
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
}
