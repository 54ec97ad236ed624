/** Training: sequence-level KD (and, as it lands, the trainer, schedules, checkpoints, metrics). */
export { distillSequences, readDistilledTargets } from './sequence-kd';
export type { DistillSequencesOptions, DistillSequencesResult, DistilledTarget } from './sequence-kd';
