/**
 * The main job as library functions — data -> tokenizer -> teacher -> student -> distil -> evaluate -> report —
 * on data folders and run folders that resume. The CLI, the demo, bench/quality.js and the examples call these;
 * the CLI only parses flags.
 */
export { prepareData, resolvePrepareData, PREPARE_DATA_DEFAULTS } from './prepare-data';
export type { PrepareDataOptions, ResolvedPrepareData, PrepareProgress } from './prepare-data';
export { readDataInfo, readSplit, writeDataFolder, splitFiles, tokenizePairs } from './data-folder';
export type { DataInfo, SplitName, SplitFileName } from './data-folder';
export { trainTokenizer, TOKENIZER_SAMPLE_DEFAULTS } from './tokenizer';
export type { TrainTokenizerOptions, TrainedTokenizer } from './tokenizer';
export { loadTrainingData, prepareTrainingStores, VALIDATION_DEFAULTS } from './training-data';
export { openSplitStore, buildSplitStore, storeBase, SplitStore } from './token-store';
export type { SplitStoreOptions } from './token-store';
export type { TrainingData, ValidationDecoding } from './training-data';
export { trainTeacher } from './teacher';
export type { TrainTeacherOptions } from './teacher';
export {
  makeStudent,
  distillStudent,
  teacherWeakerNote,
  STUDENT_TRAINING_DEFAULTS,
  TRANSFORMER_ALPHA_SCHEDULE,
  withStudentDefaults,
  studentKind,
} from './student';
export type {
  StudentSpec,
  StudentMode,
  StudentKind,
  StudentTrainingDefaults,
  StudentDefaultsApplied,
  KdOptions,
  DistillStudentOptions,
  DistillStudentResult,
} from './student';
export { cutModel } from './cut';
export { finishRun, describeRun, InterruptedRun } from './finish';
export { stage } from './stage';
export { demo } from './demo';
export type { DemoOptions, DemoResult } from './demo';
