/**
 * `xlm-kd distill`: trains a student from a teacher — a cut of the teacher's layers, a fresh transformer or
 * BiGRU, or a student file — by word-level KD online (the teacher runs beside the student), offline (the teacher's top-k
 * per token cached once) or sequence-level KD (the teacher's translations as targets), in a run folder that
 * resumes, optionally with an alpha schedule and intermediate-layer terms, and writes the student's model file
 * (lib/pipeline/student.ts does the work, and says when the student beats its teacher).
 */
import * as fs from 'node:fs';
import { INTERMEDIATE_KD_DEFAULTS, type IntermediateLayerMap } from '../loss/intermediate';
import { LOSS_DEFAULTS } from '../loss/options';
import { BIGRU_DEFAULTS } from '../models/bigru';
import { resolveTransformerStudentConfig, TRANSFORMER_STUDENT_DEFAULTS } from '../models/transformer-student';
import { describeRun } from '../pipeline/finish';
import {
  distillStudent,
  type DistillStudentOptions,
  type KdOptions,
  STUDENT_TRAINING_DEFAULTS,
  type StudentSpec,
  TRANSFORMER_ALPHA_SCHEDULE,
} from '../pipeline/student';
import { CUT_DEFAULTS } from '../surgery/cut';
import type { LayerStrategy } from '../surgery/layer-map';
import { OptionReader } from '../common/options';
import { DISTILL_DEFAULTS, type DistillMode, readKdOptions } from '../train/distill-options';
import { checkFlags, choice, flagNames, type FlagValues, int, layerPair, num, parseFlags, required, str } from './args';
import { prepareTrainingStores, tokenizerNear } from '../pipeline/training-data';
import { type CliIO, UsageError } from './io';
import { joinGroup, launchIfAsked } from './ranks';
import { runFlags, trainingFlagSpecs, trainingFlagsHelp, trainingOptions, validFlags } from './training-flags';

const B = BIGRU_DEFAULTS;
const TS = TRANSFORMER_STUDENT_DEFAULTS;
const I = INTERMEDIATE_KD_DEFAULTS;

const SD = STUDENT_TRAINING_DEFAULTS;
const AS = TRANSFORMER_ALPHA_SCHEDULE;
const distillUsage = `Usage: xlm-kd distill --teacher T.safetensors --data DIR --run DIR --student cut|transformer|bigru|FILE
                      --mode online|offline|sequence (--max-steps N | ...) [options]

Distils the teacher into a student. Loss = (1 - alpha) * cross-entropy + alpha * T^2 * KL(teacher_T || student_T)
(+ the intermediate-layer terms when asked). At the end the teacher is scored on the same validation
sentences, and a student that beats it is reported. Unless given, --lr and --warmup are the student
kind's measured best (cut and transformer ${SD.cut.lr} over ${SD.cut.warmupUpdates} warm-up updates, BiGRU ${SD.bigru.lr} over ${SD.bigru.warmupUpdates}), and a
transformer's online alpha goes ${AS.from} -> ${AS.to} over --max-steps (README, "Defaults").

Student:
  -m, --teacher FILE       the teacher; required
      --student S          cut (layer surgery from the teacher), transformer (a fresh transformer of
                           its own sizes), bigru (a fresh BiGRU seq2seq) or a student file from
                           'xlm-kd cut' / an earlier run (default cut)
      --student-layers E-D encoder and decoder layers: of a cut (default: all the teacher's encoder
                           layers, ${CUT_DEFAULTS.decoderLayers} decoder layer) or a transformer (default ${TS.encoderLayers}-${TS.decoderLayers})
      --strategy S         cut: which teacher layers it keeps: spread, first or last (default ${CUT_DEFAULTS.strategy})
      --student-dim N      transformer: model width (default ${TS.embDim})
      --student-heads N    transformer: attention heads, dividing --student-dim (default ${TS.nHeads})
      --bigru-dim N        bigru: embedding size (default ${B.embDim})
      --bigru-hidden N     bigru: hidden size (default ${B.hiddenSize})
      --bigru-layers E-D   bigru: encoder and decoder layers (default ${B.encoderLayers}-${B.decoderLayers})
Distillation:
      --mode M             online, offline (top-k cache in RUN/teacher-topk.cache) or sequence
                           (teacher beam-${DISTILL_DEFAULTS.sequenceBeam} translations in the token store RUN/sequence-kd.r*) (default ${DISTILL_DEFAULTS.mode})
      --alpha X            weight of the KD term in [0, 1]; with --alpha-to, where it starts
                           (default ${LOSS_DEFAULTS.alpha}; sequence: ${DISTILL_DEFAULTS.sequenceAlpha})
      --alpha-to X         alpha schedule: alpha moves linearly from --alpha to X over the first
                           --alpha-steps updates, then stays at X (default: alpha stays fixed)
      --alpha-steps N      updates the schedule takes (default ${DISTILL_DEFAULTS.alphaScheduleSteps}); needs --alpha-to
      --temperature X      softmax temperature of the KD term (default ${LOSS_DEFAULTS.temperature}; offline: ${DISTILL_DEFAULTS.offlineTemperature})
      --top-k N            offline: teacher entries kept per token (default ${DISTILL_DEFAULTS.topK})
Intermediate layers (cut or transformer student; online or sequence):
      --hidden-kd W        weight of the hidden-state term: each student layer's states against its
                           teacher layer's (default ${I.hidden}: off)
      --attention-kd W     weight of the attention term: the same layers' attention distributions
                           (default ${I.attention}: off)
      --layer-map MAP      the teacher layer each student layer imitates, e.g. 'enc=0,2,5;dec=5'
                           (quote it; default: a cut's own layers, else spread evenly, last on last)
${trainingFlagsHelp({ lr: "default: the student kind's, above", warmup: "default: the student kind's, above" })}  -h, --help               show this help
`;

/** The flags of each kind of student: given with another kind, they are a usage error. */
const STUDENT_FLAGS: Record<string, readonly string[]> = {
  cut: ['student-layers', 'strategy'],
  transformer: ['student-layers', 'student-dim', 'student-heads'],
  bigru: ['bigru-dim', 'bigru-hidden', 'bigru-layers'],
  file: [],
};
const INTERMEDIATE_FLAGS = ['hidden-kd', 'attention-kd', 'layer-map'] as const;

/** The library's option paths named as the flags that set them. */
const kdNames = flagNames({
  intermediate: '--hidden-kd/--attention-kd',
  'intermediate.hidden': '--hidden-kd',
  'intermediate.attention': '--attention-kd',
  'intermediate.layerMap': '--layer-map',
  alphaSchedule: '--alpha-to/--alpha-steps',
  'alphaSchedule.to': '--alpha-to',
  'alphaSchedule.steps': '--alpha-steps',
  embDim: '--student-dim',
  nHeads: '--student-heads',
  encoderLayers: '--student-layers',
  decoderLayers: '--student-layers',
});

/** Refuses the flags of another kind of student, one line naming them. */
function checkStudentFlags(v: FlagValues, kind: StudentSpec['kind'], shown: string): void {
  const own = STUDENT_FLAGS[kind];
  const other = [...new Set(Object.values(STUDENT_FLAGS).flat())].filter((f) => !own.includes(f) && v[f] !== undefined);
  if (other.length === 0) return;
  const whose = Object.entries(STUDENT_FLAGS)
    .filter(([, flags]) => flags.includes(other[0]))
    .map(([k]) => `--student ${k}`)
    .join(' or ');
  throw new UsageError(`${other.map((f) => `--${f}`).join(', ')} ${other.length > 1 ? 'are' : 'is'} for ${whose}, not --student ${shown}`);
}

function studentFlags(v: FlagValues): StudentSpec {
  const s = str(v, 'student') ?? 'cut';
  const kind: StudentSpec['kind'] = s === 'cut' || s === 'transformer' || s === 'bigru' ? s : 'file';
  checkStudentFlags(v, kind, s);
  if (kind === 'cut') {
    const layers = layerPair(v, 'student-layers');
    return {
      kind: 'cut',
      encoderLayers: layers?.[0],
      decoderLayers: layers?.[1],
      strategy: choice<LayerStrategy>(v, 'strategy', ['spread', 'first', 'last']),
    };
  }
  if (kind === 'transformer') {
    const layers = layerPair(v, 'student-layers');
    const sizes = { encoderLayers: layers?.[0], decoderLayers: layers?.[1], embDim: int(v, 'student-dim'), nHeads: int(v, 'student-heads') };
    // The vocabulary comes from the teacher later; any size checks the rest now.
    checkFlags(() => resolveTransformerStudentConfig({ ...sizes, vocabSize: 1e6 }, '', kdNames));
    return { kind: 'transformer', ...sizes };
  }
  if (kind === 'bigru') {
    const layers = layerPair(v, 'bigru-layers');
    return { kind: 'bigru', embDim: int(v, 'bigru-dim'), hiddenSize: int(v, 'bigru-hidden'), encoderLayers: layers?.[0], decoderLayers: layers?.[1] };
  }
  if (!fs.existsSync(s)) throw new Error(`--student ${s}: not cut, transformer, bigru or an existing model file`);
  return { kind: 'file', path: s };
}

/** `enc=0,2,5;dec=5` -> { encoder: [0, 2, 5], decoder: [5] } (the library checks it against the models). */
function parseLayerMap(raw: string): IntermediateLayerMap {
  const map: Partial<IntermediateLayerMap> = {};
  const bad = () => new UsageError(`--layer-map must be enc=LIST;dec=LIST of teacher layer indices such as 'enc=0,2,5;dec=5', got '${raw}'`);
  for (const part of raw.split(';')) {
    const m = /^\s*(enc|dec)\s*=\s*(\d+(?:\s*,\s*\d+)*)\s*$/.exec(part);
    if (!m) throw bad();
    const side = m[1] === 'enc' ? 'encoder' : 'decoder';
    if (map[side]) throw bad();
    map[side] = m[2].split(',').map((x) => Number(x.trim()));
  }
  if (!map.encoder || !map.decoder) throw bad();
  return { encoder: map.encoder, decoder: map.decoder };
}

/** The KD options the flags give (only what was given), checked by the library's reader. */
function kdFlags(v: FlagValues, mode: DistillMode, student: StudentSpec): KdOptions {
  if (v['top-k'] !== undefined && mode !== 'offline') throw new UsageError(`--top-k applies to --mode offline only, not ${mode}`);
  const inter = INTERMEDIATE_FLAGS.filter((f) => v[f] !== undefined);
  if (inter.length > 0 && student.kind === 'bigru') {
    throw new UsageError(
      `${inter.map((f) => `--${f}`).join(', ')} ${inter.length > 1 ? 'need' : 'needs'} a transformer student (cut, transformer or such a file), not --student bigru`
    );
  }
  const to = num(v, 'alpha-to');
  const steps = int(v, 'alpha-steps');
  const layerMap = str(v, 'layer-map');
  const kd: KdOptions = {
    alpha: num(v, 'alpha'),
    temperature: num(v, 'temperature'),
    topK: int(v, 'top-k'),
    alphaSchedule: to === undefined && steps === undefined ? undefined : ({ to, steps } as KdOptions['alphaSchedule']),
    intermediate:
      inter.length === 0
        ? undefined
        : { hidden: num(v, 'hidden-kd'), attention: num(v, 'attention-kd'), layerMap: layerMap === undefined ? undefined : parseLayerMap(layerMap) },
  };
  checkFlags(() => readKdOptions(new OptionReader('', { ...kd, mode }, undefined, kdNames)));
  return kd;
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
      'student-dim': { type: 'string' },
      'student-heads': { type: 'string' },
      'bigru-dim': { type: 'string' },
      'bigru-hidden': { type: 'string' },
      'bigru-layers': { type: 'string' },
      mode: { type: 'string' },
      alpha: { type: 'string' },
      'alpha-to': { type: 'string' },
      'alpha-steps': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'hidden-kd': { type: 'string' },
      'attention-kd': { type: 'string' },
      'layer-map': { type: 'string' },
    },
    distillUsage,
    io
  );
  if (!v) return 0;
  const teacher = required(v, 'teacher');
  const mode = choice<DistillMode>(v, 'mode', ['online', 'offline', 'sequence']) ?? DISTILL_DEFAULTS.mode;
  const student = studentFlags(v);
  const kd = kdFlags(v, mode, student);
  const run = runFlags(v);
  const o: DistillStudentOptions = {
    ...run,
    tokenizer: run.tokenizer ?? tokenizerNear(teacher),
    teacher,
    student,
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
    const { result, weights, teacherValidBleu, notes } = await distillStudent({ ...o, training: { ...o.training, group } });
    if (weights !== undefined) {
      const teacherScore = teacherValidBleu === undefined ? '' : ` (teacher ${teacherValidBleu.toFixed(2)})`;
      io.stdout.write(`${o.out}: ${o.student.kind} student, ${o.mode} KD, ${describeRun(result, weights)}${teacherScore}\n`);
      for (const note of notes) io.stdout.write(`note: ${note}\n`);
    }
  } finally {
    group?.destroy();
  }
  return 0;
}
