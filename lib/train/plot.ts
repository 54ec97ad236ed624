/**
 * Loss and BLEU curves of a run, drawn from its metrics.jsonl to an SVG (lib/io/svg-chart): training loss per
 * logged step with the validation loss on the same axes, and, when validations decoded text, BLEU and chrF
 * per validation.
 */
import type * as vl from 'vega-lite';
import { writeChartSvg } from '../io/svg-chart';
import { type MetricsLine, MetricsLog } from './metrics';

/** Draws `metricsFile` (metrics.jsonl) to `svgFile`; returns false when there is nothing to draw yet. */
export async function plotMetrics(metricsFile: string, svgFile: string): Promise<boolean> {
  return writePlot(MetricsLog.read(metricsFile), svgFile);
}

/** The same from metrics lines in memory. */
async function writePlot(lines: MetricsLine[], svgFile: string): Promise<boolean> {
  const loss = lines.map((l) => ({ step: l.step, loss: l.loss, series: l.type === 'step' ? 'train loss' : 'valid loss' }));
  if (loss.length === 0) return false;
  const scores = lines.flatMap((l) =>
    l.type === 'valid' && l.bleu !== undefined
      ? [
          { step: l.step, score: l.bleu, metric: 'BLEU' },
          { step: l.step, score: l.chrf!, metric: 'chrF' },
        ]
      : []
  );
  const lossChart: vl.TopLevelSpec = {
    title: 'Loss per target token',
    width: 560,
    height: 220,
    data: { values: loss },
    mark: { type: 'line', point: loss.length < 60 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'update' },
      y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  const spec: vl.TopLevelSpec = scores.length
    ? ({
        vconcat: [
          lossChart,
          {
            title: 'Validation BLEU and chrF',
            width: 560,
            height: 180,
            data: { values: scores },
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'step', type: 'quantitative', title: 'update' },
              y: { field: 'score', type: 'quantitative', title: 'score' },
              color: { field: 'metric', type: 'nominal', title: null },
            },
          },
        ],
      } as vl.TopLevelSpec)
    : lossChart;
  await writeChartSvg(spec, svgFile);
  return true;
}
