// Public entry point of data-parallel training (c10d process groups, the Reducer, the local launcher).
export { ProcessGroup } from './process-group';
export type { ProcessGroupOptions, ReduceOp } from './process-group';
export { DataParallel, shardOf } from './data-parallel';
export type { DataParallelOptions } from './data-parallel';
export { launchRanks, freePort } from './launch';
export type { LaunchOptions, LaunchResult } from './launch';
