/** Training: the optimizer, learning-rate schedules, sequence-level KD (and, as it lands, the trainer, checkpoints, metrics). */
export { distillSequences, readDistilledTargets } from './sequence-kd';
export type { DistillSequencesOptions, DistillSequencesResult, DistilledTarget } from './sequence-kd';
export { Adam, AdamW } from './optimizer';
export type { AdamOptions, OptimizerParameters } from './optimizer';
export { inverseSqrt, linearWarmupDecay, constant } from './schedule';
export type { Schedule, InverseSqrtOptions, LinearWarmupDecayOptions } from './schedule';
export { ParameterAverage } from './average';
export { train } from './train';
export { distill } from './distill';
export type { DistillOptions, DistillMode } from './distill';
export type { TrainingOptions, TrainResult, StopReason } from './trainer';
export type { ValidationData, ValidationResult } from './validate';
export { MetricsLog } from './metrics';
export type { StepMetrics, ValidMetrics, MetricsLine } from './metrics';
export { CheckpointStore } from './checkpoint';
export type { TrainerCounters, CheckpointState } from './checkpoint';
export { plotMetrics } from './plot';
