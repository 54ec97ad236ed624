/**
 * `xlm-kd distill`: trains a student from a teacher — a cut of the teacher's layers, a fresh BiGRU, or a
 * student file — by word-level KD online (the teacher runs beside the student), offline (the teacher's top-k
 * per token cached once) or sequence-level KD (the teacher's translations as targets), in a run folder that
 * resumes, and writes the student's model file (lib/pipeline/student.ts does the work).
 */
import * as fs from 'node:fs';
import { LOSS_DEFAULTS } from '../loss/options';
import { BIGRU_DEFAULTS } from '../models/bigru';
import { describeRun } from '../pipeline/finish';
import { distillStudent, type DistillStudentOptions, type KdOptions, type StudentSpec } from '../pipeline/student';
import { CUT_DEFAULTS } from '../surgery/cut';
import type { LayerStrategy } from '../surgery/layer-map';
import { OptionReader } from '../common/options';
import { DISTILL_DEFAULTS, type DistillMode, readKdKnobs } from '../train/distill-options';
import { checkFlags, choice, flagNames, type FlagValues, int, layerPair, num, parseFlags, required, str } from './args';
import { prepareTrainingStores, tokenizerNear } from '../pipeline/training-data';
import type { CliIO } from './io';
import { joinGroup, launchIfAsked } from './ranks';
import { runFlags, trainingFlagSpecs, trainingFlagsHelp, trainingOptions, validFlags } from './training-flags';

const B = BIGRU_DEFAULTS;

const distillUsage = `Usage: xlm-kd distill --teacher T.safetensors --data DIR --run DIR --student cut|bigru|FILE
                      --mode online|offline|sequence (--max-steps N | ...) [options]

Distils the teacher into a student. Loss = (1 - alpha) * cross-entropy + alpha * T^2 * KL(teacher_T || student_T).

Student and method:
  -m, --teacher FILE       the teacher; required
      --student S          cut (layer surgery from the teacher), bigru (a fresh BiGRU seq2seq) or a
                           student file from 'xlm-kd cut' / an earlier run (default cut)
      --student-layers E-D layers of a cut student (default: all encoder layers, ${CUT_DEFAULTS.decoderLayers} decoder layer)
      --strategy S         which teacher layers a cut keeps: spread, first or last (default ${CUT_DEFAULTS.strategy})
      --bigru-dim N        BiGRU embedding size (default ${B.embDim})
      --bigru-hidden N     BiGRU hidden size (default ${B.hiddenSize})
      --bigru-layers E-D   BiGRU encoder and decoder layers (default ${B.encoderLayers}-${B.decoderLayers})
      --mode M             online, offline (top-k cache in RUN/teacher-topk.cache) or sequence
                           (teacher beam-${DISTILL_DEFAULTS.sequenceBeam} translations in the token store RUN/sequence-kd.r*) (default ${DISTILL_DEFAULTS.mode})
      --alpha X            weight of the KD term in [0, 1] (default ${LOSS_DEFAULTS.alpha}; sequence: ${DISTILL_DEFAULTS.sequenceAlpha})
      --temperature X      softmax temperature of the KD term (default ${LOSS_DEFAULTS.temperature}; offline: ${DISTILL_DEFAULTS.offlineTemperature})
      --top-k N            offline: teacher entries kept per token (default ${DISTILL_DEFAULTS.topK})
${trainingFlagsHelp}  -h, --help               show this help
`;

function studentFlags(v: FlagValues): StudentSpec {
  const s = str(v, 'student') ?? 'cut';
  if (s === 'cut') {
    const layers = layerPair(v, 'student-layers');
    return {
      kind: 'cut',
      encoderLayers: layers?.[0],
      decoderLayers: layers?.[1],
      strategy: choice<LayerStrategy>(v, 'strategy', ['spread', 'first', 'last']),
    };
  }
  if (s === 'bigru') {
    const layers = layerPair(v, 'bigru-layers');
    return { kind: 'bigru', embDim: int(v, 'bigru-dim'), hiddenSize: int(v, 'bigru-hidden'), encoderLayers: layers?.[0], decoderLayers: layers?.[1] };
  }
  if (!fs.existsSync(s)) throw new Error(`--student ${s}: not cut, bigru or an existing model file`);
  return { kind: 'file', path: s };
}

/** Runs `xlm-kd distill`. */
export async function runDistill(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(
    args,
    {
      ...trainingFlagSpecs,
      teacher: { type: 'string', short: 'm' },
      student: { type: 'string' },
      'student-layers': { type: 'string' },
      strategy: { type: 'string' },
      'bigru-dim': { type: 'string' },
      'bigru-hidden': { type: 'string' },
      'bigru-layers': { type: 'string' },
      mode: { type: 'string' },
      alpha: { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
    },
    distillUsage,
    io
  );
  if (!v) return 0;
  const teacher = required(v, 'teacher');
  const mode = choice<DistillMode>(v, 'mode', ['online', 'offline', 'sequence']) ?? DISTILL_DEFAULTS.mode;
  const kd: KdOptions = { alpha: num(v, 'alpha'), temperature: num(v, 'temperature'), topK: int(v, 'top-k') };
  checkFlags(() => readKdKnobs(new OptionReader('', { ...kd, mode }, undefined, flagNames())));
  const run = runFlags(v);
  const o: DistillStudentOptions = {
    ...run,
    tokenizer: run.tokenizer ?? tokenizerNear(teacher),
    teacher,
    student: studentFlags(v),
    mode,
    kd,
    training: trainingOptions(v),
    valid: validFlags(v),
  };
  if (!fs.existsSync(teacher)) throw new Error(`cannot read --teacher ${teacher}: no such file`);
  const launched = await launchIfAsked(v, 'distill', args, io, () => prepareTrainingStores(o.data, o.tokenizer, (l) => io.stderr.write(`${l}\n`)));
  if (launched !== undefined) return launched;
  const group = await joinGroup(v);
  try {
    const { result, weights } = await distillStudent({ ...o, training: { ...o.training, group } });
    if (weights !== undefined) io.stdout.write(`${o.out}: ${o.student.kind} student, ${o.mode} KD, ${describeRun(result, weights)}\n`);
  } finally {
    group?.destroy();
  }
  return 0;
}
