/** Layer surgery: cutting students from a teacher's layers, and the Student facade over both student kinds. */
export { cutStudent, CUT_DEFAULTS } from './cut';
export { Student } from './student';
export type { CutOptions } from './cut';
export { chooseLayers, teacherNameFor } from './layer-map';
export type { LayerChoice, LayerStrategy } from './layer-map';
