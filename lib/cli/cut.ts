/**
 * `xlm-kd cut`: layer surgery — a student transformer whose layers are copies of chosen teacher layers,
 * written to a new model file (the starting point for `xlm-kd distill --student FILE`).
 */
import * as fs from 'node:fs';
import { cutModel } from '../pipeline/cut';
import { CUT_DEFAULTS } from '../surgery/cut';
import type { LayerChoice, LayerStrategy } from '../surgery/layer-map';
import { choice, type FlagValues, parseFlags, required, str } from './args';
import { type CliIO, UsageError } from './io';

const cutUsage = `Usage: xlm-kd cut --teacher TEACHER.safetensors --out STUDENT.safetensors [options]

Layer surgery: copies chosen teacher layers (and the embeddings) into a smaller transformer.

Options:
  -m, --teacher FILE       the teacher; required
  -o, --out FILE           the student file to write; required (the teacher's tokenizer
                           files are written beside it)
  -e, --encoder-layers L   a count (default: all) or a list of teacher layer indices, e.g. 0,2,5
  -D, --decoder-layers L   a count (default ${CUT_DEFAULTS.decoderLayers}) or a list
  -s, --strategy S         which layers a count keeps: spread (first and last, evenly between;
                           one layer = the top one), first or last (default ${CUT_DEFAULTS.strategy})
  -h, --help               show this help
`;

function layers(v: FlagValues, name: string): LayerChoice | undefined {
  const raw = str(v, name);
  if (raw === undefined) return undefined;
  if (/^\d+$/.test(raw)) return Number(raw);
  if (/^\d+(,\d+)*$/.test(raw)) return raw.split(',').map(Number);
  throw new UsageError(`--${name} must be a count or a comma-separated list of layer indices, got '${raw}'`);
}

/** Runs `xlm-kd cut`. */
export async function runCut(args: string[], io: CliIO): Promise<number> {
  const v = parseFlags(
    args,
    {
      teacher: { type: 'string', short: 'm' },
      out: { type: 'string', short: 'o' },
      'encoder-layers': { type: 'string', short: 'e' },
      'decoder-layers': { type: 'string', short: 'D' },
      strategy: { type: 'string', short: 's' },
    },
    cutUsage,
    io
  );
  if (!v) return 0;
  const teacher = required(v, 'teacher');
  const out = required(v, 'out');
  const strategy = choice<LayerStrategy>(v, 'strategy', ['spread', 'first', 'last']);
  const opts = { encoderLayers: layers(v, 'encoder-layers'), decoderLayers: layers(v, 'decoder-layers'), strategy };
  if (!fs.existsSync(teacher)) throw new Error(`cannot read --teacher ${teacher}: no such file`);
  const r = await cutModel(teacher, out, opts);
  io.stdout.write(
    `${out}: encoder layers [${r.encoder.join(', ')}], decoder layers [${r.decoder.join(', ')}] of the teacher, ${(r.parameters / 1e6).toFixed(1)}M parameters\n`
  );
  return 0;
}
