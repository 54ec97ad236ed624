/**
 * Several models side by side on one test set: BLEU, chrF, parameters, size on disk, decoding speed and
 * speed-up against the first (the reference, usually the teacher) — the table `xlm-kd evaluate` and the demo
 * print — and the BLEU-against-speed chart.
 */
import * as fs from 'node:fs';
import type { Seq2Seq } from '../models/seq2seq';
import { writeChartSvg } from '../io/svg-chart';
import { evaluateTranslation, type EvaluateTranslationOptions } from './evaluate';

/** One model to compare: a display name, the model, and its file (for the size on disk). */
export interface ModelEntry {
  /** Name shown in the table. */
  name: string;
  /** The model to evaluate. */
  model: Seq2Seq;
  /** The model's file, for its size on disk. */
  file?: string;
}

/** One row of the comparison. */
export interface ModelComparison {
  /** The model's name. */
  name: string;
  /** Number of parameters. */
  parameters: number;
  /** Bytes of the model file (undefined without a file). */
  fileBytes?: number;
  /** Corpus BLEU in [0, 100]. */
  bleu: number;
  /** Corpus chrF in [0, 100]. */
  chrf: number;
  /** Sentences translated per second, tokenization included. */
  sentencesPerSecond: number;
  /** sentencesPerSecond over the first model's. */
  speedup: number;
  /** The model's translations, in source order. */
  hypotheses: string[];
  /**
   * For a student trained with a teacher: its BLEU minus that of the same student trained as many updates
   * without the teacher (set by the caller; shown as a "KD gain" column when any row has it).
   */
  kdGain?: number;
}

/** Evaluates each model in turn with the same options (beam 5 unless `beamSize` says otherwise). */
export async function compareModels(
  models: ModelEntry[],
  options: EvaluateTranslationOptions,
  onModel?: (row: ModelComparison, index: number) => void
): Promise<ModelComparison[]> {
  if (!Array.isArray(models) || models.length === 0) throw new TypeError('compareModels: give at least one model');
  const rows: ModelComparison[] = [];
  for (const [i, m] of models.entries()) {
    const row = await scoreModel(m, options);
    row.speedup = rows.length ? row.sentencesPerSecond / rows[0].sentencesPerSecond : 1;
    rows.push(row);
    onModel?.(row, i);
  }
  return rows;
}

/** One model's row on its own (speed-up 1): for callers that evaluate models at different times. */
export async function scoreModel(m: ModelEntry, options: EvaluateTranslationOptions): Promise<ModelComparison> {
  m.model.eval();
  const s = await evaluateTranslation(m.model, options);
  return {
    name: m.name,
    parameters: m.model.numParameters(),
    fileBytes: m.file ? fs.statSync(m.file).size : undefined,
    bleu: s.bleu,
    chrf: s.chrf,
    sentencesPerSecond: s.sentencesPerSecond,
    speedup: 1,
    hypotheses: s.hypotheses,
  };
}

/** A plain-text table of the rows (for a terminal), or Markdown with `markdown: true`. */
export function formatComparison(rows: ModelComparison[], opts: { markdown?: boolean } = {}): string {
  const gains = rows.some((r) => r.kdGain !== undefined);
  const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
  const head = ['model', 'BLEU', 'chrF', ...(gains ? ['KD gain'] : []), 'parameters', 'size MB', 'sent/s', 'speed-up'];
  const body = rows.map((r) => [
    r.name,
    r.bleu.toFixed(1),
    r.chrf.toFixed(1),
    ...(gains ? [r.kdGain === undefined ? '–' : signed(r.kdGain)] : []),
    `${(r.parameters / 1e6).toFixed(1)}M`,
    r.fileBytes === undefined ? '–' : (r.fileBytes / 2 ** 20).toFixed(1),
    r.sentencesPerSecond.toFixed(1),
    `${r.speedup.toFixed(2)}×`,
  ]);
  if (opts.markdown) {
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [
      line(head),
      `|---|${head
        .slice(1)
        .map(() => '---:')
        .join('|')}|`,
      ...body.map(line),
    ].join('\n');
  }
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** BLEU against decoding speed, one labelled point per model, written as SVG. */
export async function plotComparison(rows: ModelComparison[], svgFile: string, title = 'BLEU against decoding speed'): Promise<void> {
  const values = rows.map((r) => ({ model: r.name, bleu: r.bleu, speed: r.sentencesPerSecond, mb: (r.fileBytes ?? 0) / 2 ** 20 }));
  await writeChartSvg(
    {
      title,
      width: 480,
      height: 300,
      data: { values },
      layer: [
        { mark: { type: 'point', filled: true, size: 90 }, encoding: { color: { field: 'model', type: 'nominal', legend: null } } },
        { mark: { type: 'text', dx: 8, align: 'left' }, encoding: { text: { field: 'model', type: 'nominal' } } },
      ],
      encoding: {
        x: { field: 'speed', type: 'quantitative', title: 'sentences per second (higher is faster)', scale: { zero: false, padding: 20 } },
        y: { field: 'bleu', type: 'quantitative', title: 'test BLEU', scale: { zero: false, padding: 20 } },
      },
    },
    svgFile
  );
}
