// Public entry point of data-parallel communication (c10d process groups).
export { ProcessGroup } from './process-group';
export type { ProcessGroupOptions, ReduceOp } from './process-group';
