/**
 * `xlm-kd demo`: the main job end to end on this machine's gettext catalogs (lib/pipeline/demo.ts does it),
 * printed as one table and a line per student about what distillation bought.
 */
import * as path from 'node:path';
import { checkDemoOptions, demo, DEMO_PRESETS, type DemoOptions, demoSummary } from '../pipeline/demo';
import { PREPARE_DATA_DEFAULTS } from '../pipeline/prepare-data';
import { checkFlags, flagNames, int, parseFlags, str } from './args';
import type { CliIO } from './io';

const F = DEMO_PRESETS.full;
const demoUsage = `Usage: xlm-kd demo [--quick] [--src-lang en --tgt-lang de] [--run DIR]

Distils a teacher into two students on this machine's gettext catalogs and shows what the teacher bought:
corpus -> tokenizer -> teacher (until its validation BLEU stops improving, at most ${F.teacherTraining.maxSteps} updates) ->
a cut student (${F.studentSteps.cut} updates) and a BiGRU student (${F.studentSteps.bigru}), each trained that long with the teacher
(online KD) and as long without it -> test.
Every stage is bounded by updates, so the table is the same on any machine. About 17 minutes on 2
cores (--quick: about 1). Run it again after Ctrl-C and it continues.

Options:
      --quick            a small run (tiny corpus and models) to see every stage work
      --src-lang LANG    source language (default ${PREPARE_DATA_DEFAULTS.srcLang})
      --tgt-lang LANG    target language (default ${PREPARE_DATA_DEFAULTS.tgtLang}); one side must be en
  -r, --run DIR          run folder (default runs/demo-[quick-]SRC-TGT[-seedN])
      --seed N           seed of the models, dropout and batch order (default 0; same corpus)
      --threads N        LibTorch threads (default: as configured)
      --device DEV       cpu, cuda or cuda:N: where the models train and decode (default cpu)
  -h, --help             show this help
`;

/** Runs `xlm-kd demo`. */
export async function runDemo(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(
    args,
    {
      quick: { type: 'boolean' },
      'src-lang': { type: 'string' },
      'tgt-lang': { type: 'string' },
      run: { type: 'string', short: 'r' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      device: { type: 'string' },
    },
    demoUsage,
    io
  );
  if (!v) return 0;
  const o: DemoOptions = {
    quick: v.quick === true,
    srcLang: str(v, 'src-lang'),
    tgtLang: str(v, 'tgt-lang'),
    run: str(v, 'run'),
    seed: int(v, 'seed', 0),
    threads: int(v, 'threads'),
    device: str(v, 'device') as DemoOptions['device'],
    log: (l) => io.stdout.write(l + '\n'),
  };
  checkFlags(() => checkDemoOptions('', o, flagNames()));
  const r = await demo(o);
  io.stdout.write(
    `\n${r.about}\n\n${r.table}\n\n${demoSummary(r.rows).join('\n')}\n\n` +
      `Models: ${path.join(r.run, 'models')}  (try: xlm-kd translate --model ${path.join(r.run, 'models', 'student-cut.safetensors')} < some.txt)\n` +
      `Chart: ${r.plot}   Table: ${path.join(r.run, 'results.md')}   Training curves: ${path.join(r.run, '*', 'curves.svg')}\n`
  );
  return 0;
}
