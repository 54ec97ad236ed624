/**
 * `xlm-kd train`: trains a Teacher (an XLM transformer) with cross-entropy on a data folder, in a run folder
 * that resumes, and writes the model file.
 */
import * as fs from 'node:fs';
import { Teacher } from '../models/teacher';
import { manualSeed } from '../tensor/create';
import { train } from '../train/train';
import { TrainingOptions, TrainResult } from '../train/trainer';
import { FlagValues, int, layerPair, num, parseFlags, choice } from './args';
import { CliIO } from './io';
import { joinGroup, launchIfAsked } from './ranks';
import { describeRun, finishRun, loadTrainingData, runFlags, trainingFlagSpecs, trainingFlagsHelp, trainingOptions, validFlags } from './training-flags';

export const trainUsage = `Usage: xlm-kd train --data DIR --run DIR (--max-steps N | --max-epochs N | --max-minutes X) [options]

Trains a teacher: an XLM transformer (post-LN, GELU, tied output layer) with cross-entropy.

Model:
      --layers E-D         encoder and decoder layers (default 6-6)
      --dim N              model width (default 512)
      --heads N            attention heads, dividing --dim (default 8)
      --dropout X          dropout, also on attention weights (default 0.1)
      --activation A       gelu or relu (default gelu)
${trainingFlagsHelp}  -h, --help               show this help
`;

/** What {@link trainTeacher} takes. */
export interface TrainTeacherOptions {
  data: string;
  run: string;
  out: string;
  tokenizer?: string;
  model?: { encoderLayers?: number; decoderLayers?: number; embDim?: number; nHeads?: number; dropout?: number; activation?: 'gelu' | 'relu' };
  training: Omit<TrainingOptions, 'data'>;
  valid?: { sentences: number; beam: number };
}

/**
 * Trains (or resumes) a teacher and writes it to `out`; resolves to the result and the weights' source. As one
 * rank of several (`training.group`), only rank 0 writes `out` (the others resolve with `weights` undefined).
 */
export async function trainTeacher(o: TrainTeacherOptions): Promise<{ result: TrainResult; weights?: string; model: Teacher }> {
  const data = await loadTrainingData(o.data, o.tokenizer, o.valid?.sentences, o.valid?.beam);
  const m = o.model ?? {};
  manualSeed(o.training.seed ?? 0);
  const model = Teacher.create({
    vocabSize: data.tokenizer.vocabSize, encoderLayers: m.encoderLayers ?? 6, decoderLayers: m.decoderLayers ?? 6, embDim: m.embDim ?? 512,
    nHeads: m.nHeads ?? 8, dropout: m.dropout ?? 0.1, attentionDropout: m.dropout ?? 0.1, activation: m.activation ?? 'gelu',
  });
  const result = await train(model, { ...o.training, data: data.train, valid: data.valid, runDir: o.run });
  if (o.training.group && o.training.group.rank !== 0) return { result, model };
  const weights = await finishRun(result, o.run, o.out, data.tokenizerPath);
  return { result, weights, model };
}

function modelFlags(v: FlagValues): TrainTeacherOptions['model'] {
  const [encoderLayers, decoderLayers] = layerPair(v, 'layers', [6, 6]);
  return {
    encoderLayers, decoderLayers, embDim: int(v, 'dim', 8, 512), nHeads: int(v, 'heads', 1, 8), dropout: num(v, 'dropout', 0.1, 0, 0.99),
    activation: choice(v, 'activation', ['gelu', 'relu'] as const, 'gelu'),
  };
}

/** Runs `xlm-kd train`. */
export async function runTrain(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(args, {
    ...trainingFlagSpecs, layers: { type: 'string' }, dim: { type: 'string' }, heads: { type: 'string' }, dropout: { type: 'string' },
    activation: { type: 'string' },
  }, trainUsage, io);
  if (!v) return 0;
  const run = runFlags(v);
  const o: TrainTeacherOptions = { ...run, model: modelFlags(v), training: trainingOptions(v), valid: validFlags(v) };
  if (!fs.existsSync(run.data)) throw new Error(`cannot read --data ${run.data}: no such folder`);
  const launched = await launchIfAsked(v, 'train', args, io);
  if (launched !== undefined) return launched;
  const group = await joinGroup(v);
  try {
    const { result, weights } = await trainTeacher({ ...o, training: { ...o.training, group } });
    if (weights !== undefined) io.stdout.write(`${run.out}: teacher, ${describeRun(result, weights)}\n`);
  } finally {
    group?.destroy();
  }
  return 0;
}
