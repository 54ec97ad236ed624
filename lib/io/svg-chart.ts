/**
 * Vega-Lite specs rendered headless to SVG files (no browser or canvas needed): the one way this package
 * draws charts (training curves, BLEU against speed).
 */
import type * as vega from 'vega';
import type * as vl from 'vega-lite';
import { writeFileAtomic } from './atomic-write';

export type ChartSpec = vl.TopLevelSpec;

/** Renders `spec` and writes the SVG atomically to `file`. */
export async function writeChartSvg(spec: ChartSpec, file: string): Promise<void> {
  // Loaded on first use: Vega is large, and most processes that load this package never draw.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (above)
  const { View, parse } = require('vega') as typeof vega;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (above)
  const { compile } = require('vega-lite') as typeof vl;
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  await writeFileAtomic(file, svg);
}
