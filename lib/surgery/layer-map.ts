/**
 * Which teacher layers a cut student keeps: explicit lists, or a count with a strategy ("spread" keeps the
 * first and the last and spaces the rest evenly, as Hugging Face's make_student: 6→3 [0, 2, 5],
 * 6→2 [0, 5], 6→1 [0]; "first"; "last").
 */

export type LayerStrategy = 'spread' | 'first' | 'last';

/** Layers for one side: an explicit sorted list of teacher layer indices, or a count. */
export type LayerChoice = number[] | number;

import type { LayerMap } from '../models/cut-student';

export type { LayerMap };

/**
 * Resolves a count or a list into teacher layer indices for a side with `teacherLayers` layers.
 * Errors name the side and what was wrong: zero layers, out of range, duplicate or unsorted indices.
 */
export function chooseLayers(choice: LayerChoice, teacherLayers: number, strategy: LayerStrategy, side: string): number[] {
  const where = `layer surgery (${side})`;
  if (teacherLayers < 1) throw new RangeError(`${where}: the teacher has no ${side} layers to copy`);
  if (typeof choice === 'number') {
    if (!Number.isInteger(choice) || choice < 1) throw new RangeError(`${where}: the layer count must be an integer >= 1, got ${choice}`);
    if (choice > teacherLayers) throw new RangeError(`${where}: asked for ${choice} layers but the teacher has ${teacherLayers}`);
    switch (strategy) {
      case 'first':
        return Array.from({ length: choice }, (_, i) => i);
      case 'last':
        return Array.from({ length: choice }, (_, i) => teacherLayers - choice + i);
      case 'spread':
        // One layer: the top one, whose output is what the next part reads (the tied output projection, or
        // the decoder's cross-attention). Seen in the quality run's 6-1 cut: with decoder layer 0 alone the
        // student still ignored its source after 400 updates; with the top layer it translated.
        if (choice === 1) return [teacherLayers - 1];
        // Evenly spaced with both ends kept, rounding down (6→3: 0, 2.5→2, 5; 6→4: 0, 1, 3, 5).
        return Array.from({ length: choice }, (_, i) => Math.floor((i * (teacherLayers - 1)) / (choice - 1)));
      default:
        throw new TypeError(`${where}: unknown strategy '${String(strategy)}', expected 'spread', 'first' or 'last'`);
    }
  }
  if (!Array.isArray(choice)) throw new TypeError(`${where}: layers must be a count or an array of teacher layer indices`);
  if (choice.length === 0) throw new RangeError(`${where}: a student needs at least one layer`);
  choice.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l >= teacherLayers) {
      throw new RangeError(`${where}: layer index ${String(l)} is out of range [0, ${teacherLayers - 1}]`);
    }
    if (i > 0 && l === choice[i - 1]) throw new RangeError(`${where}: layer ${l} is listed twice`);
    if (i > 0 && l < choice[i - 1]) throw new RangeError(`${where}: layer indices must be sorted ascending, got [${choice.join(', ')}]`);
  });
  return [...choice];
}

// Parameter names whose second component is a layer index (XLM's layout).
const LAYERED = /^(encoder|decoder)\.(attentions|layer_norm1|ffns|layer_norm2|layer_norm15|encoder_attn)\.(\d+)\.(.+)$/;

/** The teacher parameter a student parameter copies: layer-indexed names are remapped, the rest shared. */
export function teacherNameFor(studentName: string, map: LayerMap): string {
  const m = LAYERED.exec(studentName);
  if (!m) return studentName;
  const side = m[1] as 'encoder' | 'decoder';
  const teacherLayer = map[side][Number(m[3])];
  if (teacherLayer === undefined) throw new RangeError(`layer surgery: student parameter ${studentName} has no layer in the map`);
  return `${side}.${m[2]}.${teacherLayer}.${m[4]}`;
}
