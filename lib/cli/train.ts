/**
 * `xlm-kd train`: trains a Teacher (an XLM transformer) with cross-entropy on a data folder, in a run folder
 * that resumes, and writes the model file (lib/pipeline/teacher.ts does the work).
 */
import * as fs from 'node:fs';
import { resolveXlmConfig, XLM_DEFAULTS, type XlmOptions } from '../models/config';
import { describeRun } from '../pipeline/finish';
import { trainTeacher, type TrainTeacherOptions } from '../pipeline/teacher';
import { checkFlags, choice, flagNames, type FlagValues, int, layerPair, num, parseFlags, str } from './args';
import { prepareTrainingStores, tokenizerNear } from '../pipeline/training-data';
import { type CliIO, UsageError } from './io';
import { joinGroup, launchIfAsked } from './ranks';
import { runFlags, trainingFlagSpecs, trainingFlagsHelp, trainingOptions, validFlags } from './training-flags';

const X = XLM_DEFAULTS;

const trainUsage = `Usage: xlm-kd train --data DIR --run DIR (--max-steps N | --max-epochs N | --max-minutes X) [options]

Trains a teacher: an XLM transformer (post-LN, GELU, tied output layer) with cross-entropy, from
scratch or, with --init, from a model file (fine-tuning, e.g. one 'xlm-kd import-xlm' wrote).

Model:
      --init FILE          start from this teacher file (its config, weights and tokenizer);
                           excludes the flags below
      --layers E-D         encoder and decoder layers (default ${X.encoderLayers}-${X.decoderLayers})
      --dim N              model width (default ${X.embDim})
      --heads N            attention heads, dividing --dim (default ${X.nHeads})
      --dropout X          dropout, also on attention weights (default ${X.dropout})
      --activation A       gelu or relu (default ${X.activation})
${trainingFlagsHelp()}  -h, --help               show this help
`;

/** The teacher's config from the flags given, checked by the library. */
function modelFlags(v: FlagValues): Omit<XlmOptions, 'vocabSize'> {
  const layers = layerPair(v, 'layers');
  const dropout = num(v, 'dropout');
  const model = {
    encoderLayers: layers?.[0],
    decoderLayers: layers?.[1],
    embDim: int(v, 'dim'),
    nHeads: int(v, 'heads'),
    dropout,
    attentionDropout: dropout,
    activation: choice(v, 'activation', ['gelu', 'relu'] as const),
  };
  const names = flagNames({
    embDim: '--dim',
    nHeads: '--heads',
    encoderLayers: '--layers',
    decoderLayers: '--layers',
    attentionDropout: '--dropout',
  });
  // The vocabulary comes from the tokenizer later; any size checks the rest now.
  checkFlags(() => resolveXlmConfig({ ...model, vocabSize: 1e6 }, '', names));
  return model;
}

/** Runs `xlm-kd train`. */
export async function runTrain(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(
    args,
    {
      ...trainingFlagSpecs,
      layers: { type: 'string' },
      dim: { type: 'string' },
      heads: { type: 'string' },
      dropout: { type: 'string' },
      activation: { type: 'string' },
      init: { type: 'string' },
    },
    trainUsage,
    io
  );
  if (!v) return 0;
  const run = runFlags(v);
  const init = str(v, 'init');
  if (init !== undefined) {
    const set = ['layers', 'dim', 'heads', 'dropout', 'activation'].filter((f) => v[f] !== undefined);
    if (set.length > 0) throw new UsageError(`--init sets the model: drop ${set.map((f) => `--${f}`).join(', ')}`);
    if (!fs.existsSync(init)) throw new Error(`cannot read --init ${init}: no such file`);
  }
  const o: TrainTeacherOptions = {
    ...run,
    tokenizer: run.tokenizer ?? (init !== undefined ? tokenizerNear(init) : undefined),
    init,
    model: init === undefined ? modelFlags(v) : undefined,
    training: trainingOptions(v),
    valid: validFlags(v),
  };
  if (!fs.existsSync(run.data)) throw new Error(`cannot read --data ${run.data}: no such folder`);
  const launched = await launchIfAsked(v, 'train', args, io, () => prepareTrainingStores(o.data, o.tokenizer, (l) => io.stderr.write(`${l}\n`)));
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
