/** Layer surgery: cutting students from a teacher's layers. */
export { CutStudent } from './cut';
export type { CutOptions } from './cut';
export { chooseLayers, teacherNameFor } from './layer-map';
export type { LayerChoice, LayerMap, LayerStrategy } from './layer-map';
