/**
 * `xlm-kd demo`: the main job end to end on this machine's gettext catalogs (lib/pipeline/demo.ts does it),
 * printed as one table and a line per student about what distillation bought.
 */
import * as path from 'node:path';
import { checkDemoOptions, demo, DEMO_PRESETS, type DemoOptions } from '../pipeline/demo';
import { PREPARE_DATA_DEFAULTS } from '../pipeline/prepare-data';
import { checkFlags, flagNames, int, num, parseFlags, str } from './args';
import type { CliIO } from './io';

const demoUsage = `Usage: xlm-kd demo [--quick] [--src-lang en --tgt-lang de] [--run DIR] [--minutes M]

Distils a teacher into two students on this machine's gettext catalogs and compares all three:
corpus -> tokenizer -> teacher -> cut student (online KD) -> BiGRU student (online KD) -> test.
About 10 minutes on 2 cores (--quick: about 1). Run it again after Ctrl-C and it continues.

Options:
      --quick            a small run (tiny corpus and models) to see every stage work
      --src-lang LANG    source language (default ${PREPARE_DATA_DEFAULTS.srcLang})
      --tgt-lang LANG    target language (default ${PREPARE_DATA_DEFAULTS.tgtLang}); one side must be en
  -r, --run DIR          run folder (default runs/demo-[quick-]SRC-TGT)
      --minutes M        training time in all, split 60/20/20 over teacher/cut/BiGRU (default ${DEMO_PRESETS.full.minutes}; quick ${DEMO_PRESETS.quick.minutes})
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
      minutes: { type: 'string' },
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
    minutes: num(v, 'minutes'),
    threads: int(v, 'threads'),
    device: str(v, 'device') as DemoOptions['device'],
    log: (l) => io.stdout.write(l + '\n'),
  };
  checkFlags(() => checkDemoOptions('', o, flagNames()));
  const r = await demo(o);
  const [teacher, ...students] = r.rows;
  const gained = students.map(
    (s) =>
      `  ${s.name}: ${s.speedup.toFixed(2)}× the teacher's speed, ${((100 * s.parameters) / teacher.parameters).toFixed(0)} % of its parameters, ` +
      `BLEU ${s.bleu - teacher.bleu >= 0 ? '+' : '−'}${Math.abs(s.bleu - teacher.bleu).toFixed(1)}`
  );
  io.stdout.write(
    `\n${r.about}\n\n${r.table}\n\n${gained.join('\n')}\n\n` +
      `Models: ${path.join(r.run, 'models')}  (try: xlm-kd translate --model ${path.join(r.run, 'models', 'student-cut.safetensors')} < some.txt)\n` +
      `Chart: ${r.plot}   Table: ${path.join(r.run, 'results.md')}   Training curves: ${path.join(r.run, '*', 'curves.svg')}\n`
  );
  return 0;
}
